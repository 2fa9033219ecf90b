// Float64 references for shaders/rmsnorm.wgsl: RMSNorm over rows (Qwen3RMSNorm: v · 1/√(mean(v²)
// + eps) · weight, v = x + residual), and the per-head q_norm / k_norm over a packed qkv buffer.

export interface RmsnormRefArgs {
  x: ArrayLike<number>; // (rows, C)
  residual?: ArrayLike<number> | null; // (rows, C)
  weight: ArrayLike<number>; // (C)
  rows: number;
  C: number;
  eps: number;
}

/** RMSNorm of `n` values of `src` from `off`, times weight, into `out` at the same offset. */
function rmsRow(src: ArrayLike<number>, off: number, n: number, weight: ArrayLike<number>, eps: number, out: Float64Array): void {
  let q = 0;
  for (let c = 0; c < n; c++) q += src[off + c] ** 2;
  const r = 1 / Math.sqrt(q / n + eps);
  for (let c = 0; c < n; c++) out[off + c] = src[off + c] * r * weight[c];
}

/** (rows, C) → (rows, C), in float64. */
export function rmsnormRef(a: RmsnormRefArgs): Float64Array {
  const v = Float64Array.from(a.x, (x, i) => x + (a.residual ? a.residual[i] : 0));
  const y = new Float64Array(a.rows * a.C);
  for (let r = 0; r < a.rows; r++) rmsRow(v, r * a.C, a.C, a.weight, a.eps, y);
  return y;
}

export interface RmsnormHeadsRefArgs {
  qkv: ArrayLike<number>; // (N, (NH + 2·NKV)·HD)
  qWeight: ArrayLike<number>; // (HD)
  kWeight: ArrayLike<number>; // (HD)
  N: number;
  NH: number;
  NKV: number;
  HD: number;
  eps: number;
}

/** The whole qkv buffer after q_norm / k_norm (v heads unchanged), in float64. */
export function rmsnormHeadsRef(a: RmsnormHeadsRefArgs): Float64Array {
  const out = Float64Array.from(a.qkv);
  const stride = (a.NH + 2 * a.NKV) * a.HD;
  for (let n = 0; n < a.N; n++) {
    for (let h = 0; h < a.NH + a.NKV; h++) {
      rmsRow(a.qkv, n * stride + h * a.HD, a.HD, h < a.NH ? a.qWeight : a.kWeight, a.eps, out);
    }
  }
  return out;
}
