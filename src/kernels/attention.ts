// Host side of shaders/attention.wgsl: encoder self-attention over a packed batch, fused
// (flash-style, scores never leave the workgroup) and unfused (scores → softmax → P·V, the GPU
// reference path). Layouts: qkv (N, 3C), seqs (B, 2) u32 (start, len), out (N, C), C = NH·HD.

import type { Gpu } from '../gpu/device.js';
import { grid2D, makeCall, packUniform, type BindingKind, type BufferBinding, type KernelCall } from '../gpu/pipelines.js';

export interface AttentionArgs {
  qkv: BufferBinding;
  out: BufferBinding;
  seqs: BufferBinding;
  /** Rows of qkv / out. */
  N: number;
  /** Sequences in `seqs`. */
  B: number;
  /** Longest sequence length (sizes the grid; shorter sequences' extra workgroups exit at once). */
  maxLen: number;
  NH: number;
  HD: number;
  /** Logit scale; default 1/sqrt(HD). */
  scale?: number;
}

/** Head dims the shaders' register arrays hold (MAX_HD4 vec4s). */
export const ATTENTION_MAX_HD = 128;

/** True for WebGPU on the CPU (Mesa's lavapipe / llvmpipe, SwiftShader). */
function isCpuAdapter(gpu: Gpu): boolean {
  const a = gpu.adapter;
  return a.architecture === 'software' || /llvmpipe|lavapipe|swiftshader/i.test(`${a.device} ${a.description}`);
}

export interface FusedTiles {
  /** Invocations per workgroup. */
  WG: number;
  /** Query rows per invocation; a workgroup covers BQ = WG·RQ query rows. */
  RQ: number;
  /** K/V rows per workgroup-memory tile. */
  BK: number;
}

/**
 * Tile shape of the fused kernel. On CPU adapters an invocation is one SIMD lane and every K/V
 * read of a tile is a per-lane gather, so each invocation takes several query rows (RQ) to reuse
 * each read (measured on lavapipe: RQ = 4 is ~2-3x faster than RQ = 1 at HD = 64; RQ·HD/4 must
 * stay <= 64 or Mesa stops unrolling the register arrays). GPUs get one row per invocation.
 */
export function attentionTiles(gpu: Gpu, HD: number, maxLen: number): FusedTiles {
  const hd4 = Math.ceil(HD / 4);
  let t: FusedTiles;
  if (isCpuAdapter(gpu)) {
    const RQ = Math.max(1, Math.min(4, Math.floor(64 / hd4)));
    let WG = 32;
    while (WG > 8 && WG * RQ >= 2 * maxLen) WG /= 2;
    t = { WG, RQ, BK: 32 };
  } else {
    t = { WG: 64, RQ: 1, BK: 32 };
  }
  while (t.BK > 4 && 2 * t.BK * hd4 * 16 > gpu.limits.maxComputeWorkgroupStorageSize) t.BK /= 2;
  return t;
}

/** Unfused kernels: invocations per workgroup and rows per staged tile. */
const UNFUSED = { WG: 64, BK: 32 };

function checkArgs(gpu: Gpu, a: AttentionArgs): void {
  if (!(a.HD >= 1 && a.HD <= ATTENTION_MAX_HD)) throw new Error(`attention: HD ${a.HD} outside 1..${ATTENTION_MAX_HD}`);
  if (!(a.NH >= 1 && a.NH <= gpu.limits.maxComputeWorkgroupsPerDimension)) throw new Error(`attention: NH ${a.NH} out of range`);
  if (!(a.B >= 0 && a.B <= gpu.limits.maxComputeWorkgroupsPerDimension)) {
    throw new Error(`attention: B ${a.B} over ${gpu.limits.maxComputeWorkgroupsPerDimension} sequences per call`);
  }
}

function uniformFor(gpu: Gpu, label: string, a: AttentionArgs): GPUBuffer {
  const scale = a.scale ?? 1 / Math.sqrt(a.HD);
  return gpu.uniform(
    label,
    packUniform([['u32', a.N], ['u32', a.B], ['u32', a.maxLen], ['u32', a.NH], ['u32', a.NH * a.HD], ['f32', scale]]),
  );
}

/** Fused flash-style attention: online softmax over K/V tiles in workgroup memory, f32 accumulation; scores never hit memory. */
export function attention(gpu: Gpu, args: AttentionArgs): KernelCall {
  checkArgs(gpu, args);
  const { WG, RQ, BK } = attentionTiles(gpu, args.HD, args.maxLen);
  const HD = args.HD;
  const p = gpu.pipelines.get({
    key: `attention|BQ=${WG * RQ},RQ=${RQ},BK=${BK},HD=${HD}`,
    shader: 'attention',
    entryPoint: 'fused',
    constants: { WG, RQ, BK, HD },
    bindings: ['uniform', 'read', 'read', 'write'],
  });
  const u = uniformFor(gpu, 'attention', args);
  const wg: [number, number, number] = [Math.ceil(args.maxLen / (WG * RQ)), args.NH, args.B];
  return makeCall(gpu.device, p, [u, args.qkv, args.seqs, args.out], wg, [u]);
}

/** Bytes the unfused path's `scores` buffer needs: (B, NH, maxLen, maxLen) f32. */
export function attentionScoresBytes(B: number, NH: number, maxLen: number): number {
  return B * NH * maxLen * maxLen * 4;
}

/** Unfused reference path on the GPU: scores = Q·Kᵀ·scale (B, NH, T, T) into `scores`, softmax in place, then P·V. */
export function attentionUnfused(gpu: Gpu, args: AttentionArgs & { scores: BufferBinding }): KernelCall[] {
  checkArgs(gpu, args);
  const need = attentionScoresBytes(args.B, args.NH, args.maxLen);
  if (need > gpu.limits.maxStorageBufferBindingSize) {
    throw new Error(`attentionUnfused: scores need ${need} bytes, over maxStorageBufferBindingSize ${gpu.limits.maxStorageBufferBindingSize}; use attention()`);
  }
  const { WG } = UNFUSED;
  let { BK } = UNFUSED;
  const HD = args.HD;
  while (BK > 4 && 2 * BK * Math.ceil(HD / 4) * 16 > gpu.limits.maxComputeWorkgroupStorageSize) BK /= 2;
  const pipe = (entryPoint: string, bindings: BindingKind[], constants: Record<string, number>) => {
    const tail = Object.entries(constants).map(([k, v]) => `${k}=${v}`).join(',');
    return gpu.pipelines.get({ key: `attention_${entryPoint}|${tail}`, shader: 'attention', entryPoint, constants, bindings });
  };
  const pScores = pipe('scores', ['uniform', 'read', 'read', 'write'], { WG, BK, HD });
  const pSoftmax = pipe('softmax', ['uniform', 'read', 'read', 'write'], { WG });
  const pPv = pipe('pv', ['uniform', 'read', 'read', 'write', 'read'], { WG, BK, HD });
  const blocks: [number, number, number] = [Math.ceil(args.maxLen / WG), args.NH, args.B];
  const u = [0, 1, 2].map((k) => uniformFor(gpu, `attention_unfused${k}`, args));
  return [
    makeCall(gpu.device, pScores, [u[0], args.qkv, args.seqs, args.scores], blocks, [u[0]]),
    makeCall(gpu.device, pSoftmax, [u[1], args.qkv, args.seqs, args.scores], grid2D(Math.ceil((args.B * args.NH * args.maxLen) / WG)), [u[1]]),
    makeCall(gpu.device, pPv, [u[2], args.qkv, args.seqs, args.out, args.scores], blocks, [u[2]]),
  ];
}

/** Floating-point operations of attention over sequences of `lens`: 4·Σ T²·HD·NH (QKᵀ and PV, an FMA = 2). */
export function attentionFlops(lens: number[], NH: number, HD: number): number {
  let s = 0;
  for (const T of lens) s += T * T;
  return 4 * s * HD * NH;
}
