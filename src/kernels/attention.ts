// Host side of shaders/attention.wgsl and attention_sg.wgsl: self-attention over a packed batch,
// fused (flash-style, scores never leave the workgroup) and unfused (scores → softmax → P·V, the
// GPU reference path), with grouped KV heads and an optional causal / sliding-window mask.
// Layouts: qkv (N, (NH + 2·NKV)·HD) = [q heads | k heads | v heads] per row (NKV = NH: (N, 3C)),
// seqs (B, 2) u32 (start, len), out (N, C), C = NH·HD. With `keyLens`, seqs holds B more u32
// after the pairs: sequence b's rows attend only to its first keyLens[b] rows (Hugging Face's
// attention_mask on trailing keys, e.g. ColBERT's unattended [MASK] expansion; every row still
// gets an output).

import type { Gpu } from '../gpu/device.js';
import { chosenVariants } from '../gpu/variants.js';
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
  /** Query heads. */
  NH: number;
  HD: number;
  /** Logit scale; default 1/sqrt(HD). */
  scale?: number;
  /** KV heads (grouped-query attention; NH % NKV == 0, query head h reads KV head ⌊h / (NH/NKV)⌋); default NH. */
  NKV?: number;
  /** Token i sees only keys j <= i of its own sequence; default false. */
  causal?: boolean;
  /**
   * Sliding window W (ModernBERT's `local_attention`): token i sees keys j with |i - j| <= ⌊W/2⌋;
   * 0 (default) = no window. Combines with `causal` (then i - ⌊W/2⌋ <= j <= i).
   */
  window?: number;
  /** seqs is (B, 2) then (B) key lengths, each in 1..len: keys past them are masked out. */
  keyLens?: boolean;
}

/** qkv row stride in floats: (NH + 2·NKV)·HD. */
export function attentionQkvStride(NH: number, HD: number, NKV = NH): number {
  return (NH + 2 * NKV) * HD;
}

const UNBOUNDED = 0xffffffff;

/** The mask band (key j visible to query i when i - left <= j <= i + right) and whether any is set. */
function band(a: AttentionArgs): { mask: boolean; left: number; right: number } {
  const half = a.window ? Math.floor(a.window / 2) : UNBOUNDED;
  return { mask: !!a.causal || !!a.window, left: half, right: a.causal ? 0 : half };
}

/** Readable pipeline-key suffix for the mask; empty for the default (no mask). */
function maskKey(a: AttentionArgs): string {
  return (band(a).mask ? ',mask=1' : '') + (a.keyLens ? ',keys=1' : '');
}

/** Head dims the shaders' register arrays hold (MAX_HD4 vec4s). */
export const ATTENTION_MAX_HD = 128;


export interface FusedTiles {
  /** Invocations per workgroup. */
  WG: number;
  /** Query rows per invocation; a workgroup covers BQ = WG·RQ query rows. */
  RQ: number;
  /** K/V rows per workgroup-memory tile. */
  BK: number;
}

/**
 * Tile shape of the fused kernels (BK: tiled only). On CPU adapters an invocation is one SIMD
 * lane and every K/V read is a per-lane gather or shuffle, so an invocation takes several query
 * rows to reuse each read. Tiled, measured on lavapipe, B=8 T=128 NH=12 HD=64: RQ=1 222 ms,
 * RQ=2 112 ms, RQ=4 97 ms, but the uncached shader compile grows 4.5 s → 17 s → 49 s; hence
 * RQ=2 (RQ=1 past HD=64, where Mesa stops unrolling the register arrays). Subgroup, B=2 T=512
 * NH=12 HD=64, medians of 21 in one run: WG=32 RQ=2 217 ms, WG=32 RQ=3 196 ms, WG=8 RQ=3
 * 183 ms, WG=16 RQ=3 173 ms; RQ=4 at HD=64 was 4x slower (the q / acc arrays spill). At HD=32
 * RQ=4 beat RQ=2 by 1.4x but its uncached compile takes minutes, so RQ=3 up to HD=64. GPUs get
 * one row per invocation (registers are scarcer).
 */
export function attentionTiles(gpu: Gpu, HD: number, kernel: AttentionKernel = 'tiled'): FusedTiles {
  const hd4 = Math.ceil(HD / 4);
  let t: FusedTiles;
  if (!gpu.cpu) t = { WG: 64, RQ: 1, BK: 32 };
  else if (kernel === 'subgroup') t = { WG: 16, RQ: hd4 <= 16 ? 3 : 1, BK: 32 };
  else t = { WG: 32, RQ: hd4 <= 16 ? 2 : 1, BK: 32 };
  while (t.BK > 4 && 2 * t.BK * hd4 * 16 > gpu.limits.maxComputeWorkgroupStorageSize) t.BK /= 2;
  return t;
}

/** The MASK override, only when set (so default pipelines keep their constants). */
function maskConst(a: AttentionArgs): Record<string, number> {
  return { ...(band(a).mask ? { MASK: 1 } : {}), ...keysConst(a) };
}

/** The KEYS override (key lengths after the pairs in seqs), only when set. */
function keysConst(a: AttentionArgs): Record<string, number> {
  return a.keyLens ? { KEYS: 1 } : {};
}

/** Unfused kernels: invocations per workgroup and rows per staged tile. */
const UNFUSED = { WG: 64, BK: 32 };

function checkArgs(gpu: Gpu, a: AttentionArgs): void {
  if (!(a.HD >= 1 && a.HD <= ATTENTION_MAX_HD)) throw new Error(`attention: HD ${a.HD} outside 1..${ATTENTION_MAX_HD}`);
  if (!(a.NH >= 1 && a.NH <= gpu.limits.maxComputeWorkgroupsPerDimension)) throw new Error(`attention: NH ${a.NH} out of range`);
  if (a.NKV !== undefined && !(Number.isInteger(a.NKV) && a.NKV >= 1 && a.NH % a.NKV === 0)) {
    throw new Error(`attention: NKV ${a.NKV} must be a positive divisor of NH ${a.NH} (query heads per KV head = NH / NKV)`);
  }
  if (a.window !== undefined && !(Number.isInteger(a.window) && a.window >= 0 && a.window < UNBOUNDED)) {
    throw new Error(`attention: window ${a.window} must be a non-negative integer token count (0 = no window)`);
  }
  if (!(a.B >= 0 && a.B <= gpu.limits.maxComputeWorkgroupsPerDimension)) {
    throw new Error(`attention: B ${a.B} over ${gpu.limits.maxComputeWorkgroupsPerDimension} sequences per call`);
  }
}

function uniformFor(gpu: Gpu, label: string, a: AttentionArgs): GPUBuffer {
  const scale = a.scale ?? 1 / Math.sqrt(a.HD);
  const NKV = a.NKV ?? a.NH, C = a.NH * a.HD;
  const { left, right } = band(a);
  return gpu.uniform(
    label,
    packUniform([
      ['u32', a.N], ['u32', a.B], ['u32', a.maxLen], ['u32', a.NH], ['u32', C], ['f32', scale],
      ['u32', attentionQkvStride(a.NH, a.HD, NKV)], ['u32', C], ['u32', C + NKV * a.HD], ['u32', a.NH / NKV],
      ['u32', left], ['u32', right],
    ]),
  );
}

/**
 * The two fused kernels: `tiled` (attention.wgsl `fused`: K/V tiles in workgroup memory, the
 * portable one) and `subgroup` (attention_sg.wgsl: K/V passed between lanes by subgroup shuffles).
 */
export type AttentionKernel = 'tiled' | 'subgroup';

/**
 * The kernel attention() runs by default: `subgroup` on CPU adapters with subgroups of at least
 * 8 lanes (lavapipe, NH=12 HD=64: B=32 T=128 190-270 ms against 435 ms tiled; B=8 T=512 580 ms
 * against 1690 ms), else `tiled`. GPUs keep the workgroup-memory kernel.
 */
export function attentionKernel(gpu: Gpu): AttentionKernel {
  // The load-time timed choice (gpu/variants.ts) when it has run; else the adapter-kind default.
  const chosen = chosenVariants(gpu)?.attention;
  if (chosen) return chosen === 'sg' && attentionSubgroupUsable(gpu) ? 'subgroup' : 'tiled';
  return gpu.cpu && attentionSubgroupUsable(gpu) ? 'subgroup' : 'tiled';
}

/** Whether the subgroup kernel can run: subgroups of at least 8 lanes that divide its workgroup. */
export function attentionSubgroupUsable(gpu: Gpu): boolean {
  if (!gpu.features.subgroups) return false;
  const info = gpu.device.adapterInfo as GPUAdapterInfo | undefined;
  const min = info?.subgroupMinSize ?? 0, max = info?.subgroupMaxSize ?? 0;
  return min >= 8 && max > 0 && attentionTiles(gpu, 64, 'subgroup').WG % max === 0;
}

/**
 * Fused flash-style attention: online softmax over K/V tiles in workgroup memory, f32 accumulation; scores never hit memory.
 * `kernel` picks the variant (default attentionKernel(gpu)); `subgroup` needs attentionSubgroupUsable(gpu).
 */
export function attention(gpu: Gpu, args: AttentionArgs, kernel: AttentionKernel = attentionKernel(gpu)): KernelCall {
  checkArgs(gpu, args);
  const HD = args.HD;
  const bindings: BindingKind[] = ['uniform', 'read', 'read', 'write'];
  const { WG, RQ, BK } = attentionTiles(gpu, HD, kernel);
  let p;
  if (kernel === 'subgroup') {
    if (!attentionSubgroupUsable(gpu)) throw new Error('attention: the subgroup kernel needs subgroups of 8+ lanes dividing its workgroup');
    p = gpu.pipelines.get({
      key: `attention_sg|BQ=${WG * RQ},RQ=${RQ},HD=${HD}${maskKey(args)}`,
      shader: 'attention_sg',
      entryPoint: 'main',
      constants: { WG, RQ, HD, ...maskConst(args) },
      bindings,
    });
  } else {
    p = gpu.pipelines.get({
      key: `attention|BQ=${WG * RQ},RQ=${RQ},BK=${BK},HD=${HD}${maskKey(args)}`,
      shader: 'attention',
      entryPoint: 'fused',
      constants: { WG, RQ, BK, HD, ...maskConst(args) },
      bindings,
    });
  }
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
  const pScores = pipe('scores', ['uniform', 'read', 'read', 'write'], { WG, BK, HD, ...keysConst(args) });
  const pSoftmax = pipe('softmax', ['uniform', 'read', 'read', 'write'], { WG, ...maskConst(args) });
  const pPv = pipe('pv', ['uniform', 'read', 'read', 'write', 'read'], { WG, BK, HD, ...keysConst(args) });
  const blocks: [number, number, number] = [Math.ceil(args.maxLen / WG), args.NH, args.B];
  const u = [0, 1, 2].map((k) => uniformFor(gpu, `attention_unfused${k}`, args));
  return [
    makeCall(gpu.device, pScores, [u[0], args.qkv, args.seqs, args.scores], blocks, [u[0]]),
    makeCall(gpu.device, pSoftmax, [u[1], args.qkv, args.seqs, args.scores], grid2D(Math.ceil((args.B * args.NH * args.maxLen) / WG)), [u[1]]),
    makeCall(gpu.device, pPv, [u[2], args.qkv, args.seqs, args.out, args.scores], blocks, [u[2]]),
  ];
}

/**
 * Useful floating-point operations of attention over sequences of `lens`: 4·HD·NH·Σ (visible
 * (i, j) pairs) (QKᵀ and PV, an FMA = 2); without a mask the pairs are T².
 */
export function attentionFlops(lens: number[], NH: number, HD: number, mask: { causal?: boolean; window?: number } = {}): number {
  const half = mask.window ? Math.floor(mask.window / 2) : Infinity;
  let s = 0;
  for (const T of lens) {
    if (!mask.causal && half === Infinity) { s += T * T; continue; }
    for (let i = 0; i < T; i++) s += Math.min(T - 1, mask.causal ? i : i + half) - Math.max(0, i - half) + 1;
  }
  return 4 * s * HD * NH;
}
