// Host side of shaders/layernorm.wgsl: y = LayerNorm(x + residual) · gamma + beta per row of C,
// one workgroup per row. "y is x" (or residual) becomes an in-place pipeline, since WebGPU
// forbids binding one range twice when one binding is writable (see gpu/bindings.ts).

import type { Gpu } from '../gpu/device.js';
import { dummyStorage, overlap, rowWorkgroupSize } from '../gpu/bindings.js';
import { grid2D, makeCall, packUniform, type BufferBinding, type KernelCall } from '../gpu/pipelines.js';

export interface LayernormArgs {
  x: BufferBinding; // (rows, C)
  residual?: BufferBinding | null; // (rows, C), added to x before normalizing
  gamma: BufferBinding; // (C)
  beta: BufferBinding; // (C)
  y: BufferBinding; // (rows, C); may be x or residual (in place)
  rows: number;
  C: number;
  eps: number;
}

/**
 * LayerNorm(x + residual) · gamma + beta over `rows` rows of C f32. `y` may be `x` or `residual`
 * (in place); LN(x + r) is symmetric in x and r, so y === residual swaps the two.
 */
export function layernorm(gpu: Gpu, a: LayernormArgs): KernelCall {
  let x = a.x;
  let residual = a.residual ?? null;
  if (residual && overlap(a.y, residual) === 'same') [x, residual] = [residual, x];
  for (const [name, b] of [['x', x], ['residual', residual]] as const) {
    if (b && overlap(a.y, b) === 'partial') throw new Error(`layernorm: y partly overlaps ${name}`);
  }
  // x is bound writable (for the in-place case), so nothing else may overlap it.
  if (residual && overlap(x, residual) !== 'none') throw new Error('layernorm: residual overlaps x');
  const inplace = overlap(a.y, x) === 'same';
  const vec4 = a.C % 4 === 0;
  const WG = rowWorkgroupSize(gpu, vec4 ? a.C / 4 : a.C);
  const hasRes = residual !== null;
  const p = gpu.pipelines.get({
    key: `layernorm|WG=${WG},vec4=${+vec4},residual=${+hasRes},inplace=${+inplace}`,
    shader: 'layernorm',
    entryPoint: vec4 ? 'main4' : 'main',
    constants: { WG, RES: +hasRes, INPLACE: +inplace },
    bindings: ['uniform', 'write', 'read', 'read', 'read', 'write'],
  });
  const u = gpu.uniform('layernorm', packUniform([['u32', a.rows], ['u32', a.C], ['f32', a.eps]]));
  const owned = [u];
  let y = a.y;
  if (inplace) owned.push((y = dummyStorage(gpu, 'layernorm')));
  // Without a residual, gamma stands in for the unused (read-only) residual binding.
  return makeCall(gpu.device, p, [u, x, residual ?? a.gamma, a.gamma, a.beta, y], grid2D(a.rows), owned);
}

/** Bytes read plus written by one layernorm call (x, residual, y, gamma, beta once each). */
export function layernormBytes(rows: number, C: number, residual: boolean): number {
  return rows * C * 4 * (residual ? 3 : 2) + 2 * C * 4;
}
