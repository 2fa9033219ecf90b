// Host side of shaders/pool.wgsl: sequence pooling of a packed batch (cls, mean, last token).

import type { Gpu } from '../gpu/device.js';
import { grid2D, makeCall, packUniform, type BufferBinding, type KernelCall } from '../gpu/pipelines.js';

export interface PoolArgs {
  hidden: BufferBinding; // (N, C) f32 packed tokens
  seqs: BufferBinding; // (B, 2) u32 (start, len)
  out: BufferBinding; // (B, C) f32
  B: number;
  C: number;
  mode: 'cls' | 'mean' | 'last';
}

const WG = 64;
const MODES = { cls: 0, mean: 1, last: 2 } as const;

/** out[b] = first token, mean over the len tokens, or last token of sequence b (zeros if len = 0). */
export function pool(gpu: Gpu, a: PoolArgs): KernelCall {
  const vec4 = a.C % 4 === 0;
  const units = vec4 ? a.C / 4 : a.C;
  const wpr = Math.ceil(units / WG);
  const p = gpu.pipelines.get({
    key: `pool|WG=${WG},mode=${a.mode},vec4=${+vec4}`,
    shader: 'pool',
    entryPoint: vec4 ? 'main4' : 'main',
    constants: { WG, MODE: MODES[a.mode] },
    bindings: ['uniform', 'read', 'read', 'write'],
  });
  const u = gpu.uniform('pool', packUniform([['u32', a.B], ['u32', units], ['u32', wpr]]));
  return makeCall(gpu.device, p, [u, a.hidden, a.seqs, a.out], grid2D(a.B * wpr), [u]);
}

/** Bytes read plus written by one pool call over N packed tokens (mean reads every token). */
export function poolBytes(N: number, B: number, C: number, mode: 'cls' | 'mean' | 'last'): number {
  return (mode === 'mean' ? N : B) * C * 4 + B * 8 + B * C * 4;
}
