// Host side of shaders/maxsim.wgsl: ColBERT-style late-interaction scores of every query
// against every document, one workgroup per (query, document) pair.

import type { Gpu } from '../gpu/device.js';
import { grid2D, makeCall, packUniform, type BufferBinding, type KernelCall } from '../gpu/pipelines.js';

export interface MaxSimArgs {
  q: BufferBinding; // (Nq, D) f32 packed query token vectors
  qSeqs: BufferBinding; // (Q, 2) u32 (start, len)
  d: BufferBinding; // (Nd, D) f32 packed document token vectors
  dSeqs: BufferBinding; // (Dn, 2) u32 (start, len)
  scores: BufferBinding; // (Q, Dn) f32
  Q: number;
  Dn: number;
  D: number;
  reduce: 'mean' | 'sum';
}

/**
 * scores[a, b] = Σ_{i in query a} max_{j in doc b} q_i · d_j (÷ query length for 'mean').
 * An empty query or document scores 0.
 */
export function maxsim(gpu: Gpu, a: MaxSimArgs): KernelCall {
  const vec4 = a.D % 4 === 0;
  const p = gpu.pipelines.get({
    key: `maxsim|reduce=${a.reduce},vec4=${+vec4}`,
    shader: 'maxsim',
    entryPoint: vec4 ? 'main4' : 'main',
    constants: { MEAN: a.reduce === 'mean' ? 1 : 0 },
    bindings: ['uniform', 'read', 'read', 'read', 'read', 'write'],
  });
  const u = gpu.uniform('maxsim', packUniform([['u32', a.Q], ['u32', a.Dn], ['u32', vec4 ? a.D / 4 : a.D]]));
  return makeCall(gpu.device, p, [u, a.q, a.qSeqs, a.d, a.dSeqs, a.scores], grid2D(a.Q * a.Dn), [u]);
}

/** Unique bytes one maxsim call reads plus writes (each token vector once; caches serve the rest). */
export function maxsimBytes(Nq: number, Nd: number, D: number, Q: number, Dn: number): number {
  return (Nq + Nd) * D * 4 + (Q + Dn) * 8 + Q * Dn * 4;
}

/** Floating-point operations of one maxsim call when every query meets every document: 2·Nq·Nd·D. */
export function maxsimFlops(Nq: number, Nd: number, D: number): number {
  return 2 * Nq * Nd * D;
}
