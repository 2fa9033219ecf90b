// Host side of shaders/gelu.wgsl: standalone elementwise GELU (exact-erf "gelu" or tanh
// "gelu_new"), vec4 when n % 4 == 0, in place when y is x.

import type { Gpu } from '../gpu/device.js';
import { grid2D, makeCall, packUniform, type BufferBinding, type KernelCall } from '../gpu/pipelines.js';
import { dummyStorage, overlap } from '../gpu/bindings.js';

export interface GeluArgs {
  x: BufferBinding; // (n) f32
  y: BufferBinding; // (n) f32; may be x (in place)
  n: number;
  kind: 'gelu_erf' | 'gelu_tanh';
}

const WG = 256;

/** y = GELU(x) over n f32 values. */
export function gelu(gpu: Gpu, a: GeluArgs): KernelCall {
  const ov = overlap(a.x, a.y);
  if (ov === 'partial') throw new Error('gelu: y partly overlaps x');
  const inplace = ov === 'same';
  const vec4 = a.n % 4 === 0;
  const p = gpu.pipelines.get({
    key: `gelu|WG=${WG},kind=${a.kind},vec4=${+vec4},inplace=${+inplace}`,
    shader: 'gelu',
    entryPoint: vec4 ? 'main4' : 'main',
    constants: { WG, TANH: a.kind === 'gelu_tanh' ? 1 : 0, INPLACE: +inplace },
    bindings: ['uniform', 'write', 'write'],
  });
  // main4: one vec4 per invocation; main: 4 scalars per invocation.
  const u = gpu.uniform('gelu', packUniform([['u32', vec4 ? a.n / 4 : a.n]]));
  const owned = [u];
  let y = a.y;
  if (inplace) owned.push((y = dummyStorage(gpu, 'gelu')));
  return makeCall(gpu.device, p, [u, a.x, y], grid2D(Math.ceil(a.n / 4 / WG)), owned);
}

/** Bytes read plus written by one gelu call. */
export function geluBytes(n: number): number {
  return 8 * n;
}
