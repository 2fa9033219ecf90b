// Host side of shaders/normalize.wgsl: per-row L2 normalization with matryoshka truncation
// (the first `dims` of C columns), as torch F.normalize (eps 1e-12).

import type { Gpu } from '../gpu/device.js';
import { grid2D, makeCall, packUniform, type BufferBinding, type KernelCall } from '../gpu/pipelines.js';
import { dummyStorage, overlap, rowWorkgroupSize } from '../gpu/bindings.js';

export interface NormalizeArgs {
  x: BufferBinding; // (rows, C) f32
  y: BufferBinding; // (rows, dims) f32; may be x when dims == C
  rows: number;
  C: number;
  dims: number;
}

/** y[r, 0:dims] = x[r, 0:dims] / max(||x[r, 0:dims]||₂, 1e-12). */
export function l2normalize(gpu: Gpu, a: NormalizeArgs): KernelCall {
  if (!(a.dims >= 1 && a.dims <= a.C)) throw new Error(`l2normalize: dims ${a.dims} outside 1..C (${a.C})`);
  const ov = overlap(a.x, a.y);
  if (ov === 'partial' || (ov === 'same' && a.dims !== a.C)) {
    throw new Error('l2normalize: y may alias x only exactly and only when dims == C');
  }
  const inplace = ov === 'same';
  const vec4 = a.C % 4 === 0 && a.dims % 4 === 0;
  const f = vec4 ? 4 : 1;
  const WG = rowWorkgroupSize(gpu, a.dims / f);
  const p = gpu.pipelines.get({
    key: `l2normalize|WG=${WG},vec4=${+vec4},inplace=${+inplace}`,
    shader: 'normalize',
    entryPoint: vec4 ? 'main4' : 'main',
    constants: { WG, INPLACE: +inplace },
    bindings: ['uniform', 'write', 'write'],
  });
  const u = gpu.uniform('l2normalize', packUniform([['u32', a.rows], ['u32', a.C / f], ['u32', a.dims / f]]));
  const owned = [u];
  let y = a.y;
  if (inplace) owned.push((y = dummyStorage(gpu, 'l2normalize')));
  return makeCall(gpu.device, p, [u, a.x, y], grid2D(a.rows), owned);
}

/** Bytes read plus written by one l2normalize call. */
export function l2normalizeBytes(rows: number, dims: number): number {
  return rows * dims * 4 * 2;
}
