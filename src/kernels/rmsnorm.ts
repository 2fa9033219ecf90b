// Host side of shaders/rmsnorm.wgsl: RMSNorm over rows of C (Qwen3RMSNorm: y = v · rsqrt(mean(v²)
// + eps) · weight in f32, v = x + residual), with the pre-norm `sumOut` option that also stores
// v, and the per-head form Qwen3 applies to q and k (q_norm / k_norm) in a packed qkv buffer.

import type { Gpu } from '../gpu/device.js';
import { dummyStorage, outputSlot, overlap, rowWorkgroupSize } from '../gpu/bindings.js';
import { grid2D, makeCall, packUniform, type BufferBinding, type KernelCall } from '../gpu/pipelines.js';

export interface RmsnormArgs {
  x: BufferBinding; // (rows, C)
  residual?: BufferBinding | null; // (rows, C), added to x before normalizing
  weight: BufferBinding; // (C)
  y: BufferBinding; // (rows, C); may be x or residual (in place)
  /** (rows, C): also store x + residual here; may be x or residual (not y). Needs a residual. */
  sumOut?: BufferBinding | null;
  rows: number;
  C: number;
  eps: number;
}

export interface RmsnormHeadsArgs {
  qkv: BufferBinding; // (N, (NH + 2·NKV)·HD) f32: rows [q heads | k heads | v heads]; normalized in place
  qWeight: BufferBinding; // (HD) f32, q_norm.weight
  kWeight: BufferBinding; // (HD) f32, k_norm.weight
  N: number;
  NH: number;
  NKV: number;
  HD: number;
  eps: number;
}

const SLOT = ['buf', 'x', 'res'] as const;

/**
 * y = RMSNorm(x + residual) · weight over `rows` rows of C f32. `y` and `sumOut` may each be x or
 * the residual (in place), but not the same buffer.
 */
export function rmsnorm(gpu: Gpu, a: RmsnormArgs): KernelCall {
  const residual = a.residual ?? null;
  const sumOut = a.sumOut ?? null;
  if (sumOut && !residual) throw new Error('rmsnorm: sumOut stores x + residual, so it needs a residual (pass residual, or drop sumOut)');
  if (residual && overlap(a.x, residual) !== 'none') throw new Error('rmsnorm: residual overlaps x');
  if (sumOut && overlap(a.y, sumOut) !== 'none') throw new Error('rmsnorm: y and sumOut overlap; give them different buffers');
  const yAt = outputSlot('rmsnorm', 'y', a.y, a.x, residual);
  const sumAt = sumOut ? outputSlot('rmsnorm', 'sumOut', sumOut, a.x, residual) : 0;
  const vec4 = a.C % 4 === 0;
  const WG = rowWorkgroupSize(gpu, vec4 ? a.C / 4 : a.C);
  const p = gpu.pipelines.get({
    key: `rmsnorm|WG=${WG},vec4=${+vec4},residual=${+!!residual},sumout=${sumOut ? SLOT[sumAt] : 0},y=${SLOT[yAt]}`,
    shader: 'rmsnorm',
    entryPoint: vec4 ? 'main4' : 'main',
    constants: { WG, RES: +!!residual, SUM: +!!sumOut, SUM_AT: sumAt, Y_AT: yAt },
    bindings: ['uniform', 'write', 'write', 'read', 'write', 'write'],
  });
  const u = gpu.uniform('rmsnorm', packUniform([['u32', a.rows], ['u32', a.C], ['f32', a.eps]]));
  const owned = [u];
  const dummy = (what: string) => {
    const d = dummyStorage(gpu, `rmsnorm_${what}`);
    owned.push(d);
    return d;
  };
  const res = residual ?? dummy('res');
  const y = yAt === 0 ? a.y : dummy('y');
  const s = sumOut && sumAt === 0 ? sumOut : dummy('sum');
  return makeCall(gpu.device, p, [u, a.x, res, a.weight, y, s], grid2D(a.rows), owned);
}

/**
 * Qwen3's q_norm / k_norm: RMSNorm of each HD-long head vector of the first NH + NKV heads (q,
 * then k) of every packed qkv row, in place; q heads use `qWeight`, k heads `kWeight`.
 */
export function rmsnormHeads(gpu: Gpu, a: RmsnormHeadsArgs): KernelCall {
  for (const [name, w] of [['qWeight', a.qWeight], ['kWeight', a.kWeight]] as const) {
    if (overlap(a.qkv, w) !== 'none') throw new Error(`rmsnormHeads: ${name} overlaps qkv`);
  }
  const vec4 = a.HD % 4 === 0;
  const unit = vec4 ? 4 : 1;
  // Invocations per head vector: one on CPU adapters (no lanes to share a vector across), else
  // up to 8 (HD = 128: 4 vec4s each); 64 per workgroup.
  const TPH = gpu.cpu ? 1 : Math.min(8, 2 ** Math.floor(Math.log2(a.HD / unit)));
  const WG = 64;
  const p = gpu.pipelines.get({
    key: `rmsnorm_heads|WG=${WG},TPH=${TPH},vec4=${+vec4}`,
    shader: 'rmsnorm',
    entryPoint: vec4 ? 'heads4' : 'heads',
    constants: { WG, TPH },
    bindings: ['uniform', 'write', 'read', 'read'],
  });
  const heads = a.NH + a.NKV;
  const count = a.N * heads;
  const stride = (a.NH + 2 * a.NKV) * a.HD;
  const u = gpu.uniform('rmsnorm_heads', packUniform([
    ['u32', count], ['u32', heads], ['u32', a.NH], ['u32', a.HD / unit], ['u32', stride / unit], ['f32', a.eps],
  ]));
  return makeCall(gpu.device, p, [u, a.qkv, a.qWeight, a.kWeight], grid2D(Math.ceil(count / (WG / TPH))), [u]);
}

/** Bytes read plus written by one rmsnorm call (x, residual, y, sumOut, weight once each). */
export function rmsnormBytes(rows: number, C: number, residual: boolean, sumOut = false): number {
  return rows * C * 4 * ((residual ? 3 : 2) + (sumOut ? 1 : 0)) + C * 4;
}

/** Bytes read plus written by one rmsnormHeads call. */
export function rmsnormHeadsBytes(N: number, NH: number, NKV: number, HD: number): number {
  return N * (NH + NKV) * HD * 8 + 2 * HD * 4;
}
