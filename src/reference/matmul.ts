// Reference for shaders/matmul*.wgsl: Y = act(X · Wᵀ + b) with W in HF Linear layout (N, K),
// accumulated in float64, plus array helpers that build and check f16 weights.

import type { Activation } from '../kernels/matmul.js';
import { f16round, f32ArrayToF16Bits } from '../io/half.js';
import { erfc64 } from './gelu.js';

/** The fused epilogue of the matmul kernels, in float64. */
export function applyActivation(v: number, act: Activation = 'none'): number {
  switch (act) {
    case 'none':
      return v;
    case 'gelu_erf': // x·Φ(x); the erfc form keeps the negative tail's relative accuracy
      return 0.5 * v * erfc64(-v / Math.SQRT2);
    case 'gelu_tanh':
      return 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v * v * v)));
    case 'relu':
      return Math.max(v, 0);
    case 'tanh':
      return Math.tanh(v);
    default:
      throw new Error(`unknown activation "${act as string}"`);
  }
}

/**
 * Y[m, n] = act(Σ_k X[m, k]·W[n, k] + b[n]) in float64. x is (M, K), w is (N, K), y is (M, N),
 * all row-major.
 */
export function matmulRef(
  x: ArrayLike<number>,
  w: ArrayLike<number>,
  b: ArrayLike<number> | null | undefined,
  M: number,
  N: number,
  K: number,
  act: Activation = 'none',
): Float64Array {
  if (x.length < M * K) throw new Error(`matmulRef: x has ${x.length} values, need M·K = ${M * K}`);
  if (w.length < N * K) throw new Error(`matmulRef: w has ${w.length} values, need N·K = ${N * K}`);
  if (b && b.length < N) throw new Error(`matmulRef: b has ${b.length} values, need N = ${N}`);
  const y = new Float64Array(M * N);
  const wrow = new Float64Array(K);
  for (let n = 0; n < N; n++) {
    for (let k = 0; k < K; k++) wrow[k] = w[n * K + k];
    const bias = b ? b[n] : 0;
    for (let m = 0; m < M; m++) {
      let s = 0;
      const xo = m * K;
      for (let k = 0; k < K; k++) s += x[xo + k] * wrow[k];
      y[m * N + n] = applyActivation(s + bias, act);
    }
  }
  return y;
}

/**
 * Absolute tolerance for comparing an f32 kernel with matmulRef: f32 accumulation of K products
 * errs like sqrt(K)·eps·Σ_k|x·w| (factor 4 for the spread over many outputs), times 1.13 for the
 * steepest activation slope (gelu), plus 1e-6 of the output scale for the epilogue (erfc fit
 * 1.2e-7 relative, exp/tanh a few ulp). `rows` limits the Σ|x·w| scan to some rows of X.
 */
export function matmulTolerance(
  x: ArrayLike<number>,
  w: ArrayLike<number>,
  b: ArrayLike<number> | null | undefined,
  M: number,
  N: number,
  K: number,
  ref: ArrayLike<number>,
  rows: number[] = Array.from({ length: Math.min(M, 16) }, (_, i) => Math.floor((i * M) / Math.min(M, 16))),
): number {
  let scale = 0;
  for (let n = 0; n < N; n++) {
    for (const m of rows) {
      let s = b ? Math.abs(b[n]) : 0;
      for (let k = 0; k < K; k++) s += Math.abs(x[m * K + k] * w[n * K + k]);
      scale = Math.max(scale, s);
    }
  }
  let maxRef = 0;
  for (let i = 0; i < ref.length; i++) maxRef = Math.max(maxRef, Math.abs(ref[i]));
  return 4 * Math.sqrt(Math.max(K, 1)) * 2 ** -24 * scale * 1.13 + 1e-6 * (1 + maxRef);
}

/** Half bits of every value, for uploading f16 weights. */
export const toF16Bits = f32ArrayToF16Bits;

/** Every value rounded to half precision (the weights the f16 kernel actually multiplies). */
export function roundToF16(values: ArrayLike<number>): Float32Array {
  const out = new Float32Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = f16round(values[i]);
  return out;
}
