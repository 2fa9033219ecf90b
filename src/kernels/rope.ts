// Host side of shaders/rope.wgsl: rotary position embedding (rotate-half form, HF `rotate_half`)
// in place on the q and k heads of a packed qkv buffer, with per-token positions, a per-call
// theta (ModernBERT's global and local layers differ) and a rotary dim <= HD (NomicBERT's
// rotary_emb_fraction: the dims past it are left alone).

import type { Gpu } from '../gpu/device.js';
import { overlap } from '../gpu/bindings.js';
import { grid2D, makeCall, packUniform, type BufferBinding, type KernelCall } from '../gpu/pipelines.js';

export interface RopeArgs {
  qkv: BufferBinding; // (N, (NH + 2·NKV)·HD) f32: rows [q heads | k heads | v heads]; q, k rotated in place
  posIds: BufferBinding; // (N) u32 position of each token
  N: number;
  NH: number;
  NKV: number;
  HD: number;
  /** Leading dims of each head that rotate: even, <= HD (HD · rotary_emb_fraction). */
  rotaryDim: number;
  /** Base of the frequencies (rope_theta, global_rope_theta / local_rope_theta, rotary_emb_base). */
  theta: number;
}

const WG = 64;

/**
 * inv_freq[i] = 1 / theta^(2i / rotaryDim), i < rotaryDim / 2, computed in float64 and rounded to
 * f32 (HF computes it in f32: the two agree to an ulp or two).
 */
export function ropeInvFreq(theta: number, rotaryDim: number): Float32Array {
  return Float32Array.from({ length: rotaryDim / 2 }, (_, i) => 1 / theta ** ((2 * i) / rotaryDim));
}

/** Rotates the first rotaryDim dims of every q and k head of each qkv row by its token's position. */
export function rope(gpu: Gpu, a: RopeArgs): KernelCall {
  const { HD, rotaryDim: R } = a;
  if (!Number.isInteger(R) || R <= 0 || R % 2 !== 0 || R > HD) {
    throw new Error(`rope: rotaryDim must be an even integer in [2, HD = ${HD}], got ${R}`);
  }
  if (!(a.theta > 0) || !Number.isFinite(a.theta)) throw new Error(`rope: theta must be a positive number, got ${a.theta}`);
  if (overlap(a.qkv, a.posIds) !== 'none') throw new Error('rope: posIds overlaps qkv');
  const vec4 = (R / 2) % 4 === 0 && HD % 4 === 0;
  const unit = vec4 ? 4 : 1;
  const p = gpu.pipelines.get({
    key: `rope|WG=${WG},vec4=${+vec4}`,
    shader: 'rope',
    entryPoint: vec4 ? 'main4' : 'main',
    constants: { WG },
    bindings: ['uniform', 'write', 'read', 'read'],
  });
  const heads = a.NH + a.NKV, half = R / 2 / unit;
  const count = a.N * heads * half;
  const u = gpu.uniform('rope', packUniform([
    ['u32', count], ['u32', heads], ['u32', half], ['u32', HD / unit], ['u32', ((a.NH + 2 * a.NKV) * HD) / unit],
  ]));
  const invFreq = gpu.storageFrom('rope_inv_freq', ropeInvFreq(a.theta, R));
  return makeCall(gpu.device, p, [u, a.qkv, a.posIds, invFreq], grid2D(Math.ceil(count / WG)), [u, invFreq]);
}

/** Bytes read plus written by one rope call (the rotated dims twice, positions once per token). */
export function ropeBytes(N: number, NH: number, NKV: number, rotaryDim: number): number {
  return N * (NH + NKV) * rotaryDim * 8 + N * 4;
}
