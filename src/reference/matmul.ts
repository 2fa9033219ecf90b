// Reference for shaders/matmul*.wgsl: Y = act(X · Wᵀ + b) with W in HF Linear layout (N, K),
// accumulated in float64, plus the float64 erf the gelu reference needs and the f16 rounding
// helpers (Math.f16round is not in Node 20) used to build and check f16 weights.

import type { Activation } from '../kernels/matmul.js';

const TWO_OVER_SQRT_PI = 1.1283791670955126;

/** erfc(z) for z >= 2 by its continued fraction, evaluated bottom-up (converges fast there). */
function erfcContinuedFraction(z: number): number {
  // erfc(z) = exp(-z²)/√π · 1/(z + (1/2)/(z + 1/(z + (3/2)/(z + 2/(z + …)))))
  let f = z;
  for (let n = 120; n >= 1; n--) f = z + n / 2 / f;
  return Math.exp(-z * z) / Math.sqrt(Math.PI) / f;
}

/** erf(z) for |z| < 3 by the all-positive series erf(z) = 2/√π·e^(-z²)·Σ 2ⁿz^(2n+1)/(1·3·…·(2n+1)). */
function erfSeries(z: number): number {
  let term = z;
  let sum = z;
  const z2 = 2 * z * z;
  for (let n = 1; n < 200; n++) {
    term *= z2 / (2 * n + 1);
    sum += term;
    if (Math.abs(term) < 1e-17 * Math.abs(sum)) break;
  }
  return TWO_OVER_SQRT_PI * Math.exp(-z * z) * sum;
}

/** Complementary error function, accurate to ~1e-15 relative over the whole real line. */
export function erfc(x: number): number {
  if (Number.isNaN(x)) return NaN;
  if (x < 0) return 2 - erfc(-x);
  if (x < 2) return 1 - erfSeries(x);
  if (x > 27) return 0;
  return erfcContinuedFraction(x);
}

/** Error function in float64. */
export function erf(x: number): number {
  if (Math.abs(x) < 2) return erfSeries(x);
  return x > 0 ? 1 - erfc(x) : erfc(-x) - 1;
}

/** The fused epilogue of the matmul kernels, in float64. */
export function applyActivation(v: number, act: Activation = 'none'): number {
  switch (act) {
    case 'none':
      return v;
    case 'gelu_erf': // x·Φ(x); the erfc form keeps the negative tail's relative accuracy
      return 0.5 * v * erfc(-v / Math.SQRT2);
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

const f32Scratch = new Float32Array(1);
const u32Scratch = new Uint32Array(f32Scratch.buffer);

/** IEEE half bits of the float32 value nearest `v`, rounded to nearest even (overflow → ±Inf). */
export function f32ToF16Bits(v: number): number {
  f32Scratch[0] = v;
  const x = u32Scratch[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant !== 0 ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    // Subnormal half: value = m·2⁻²⁴ with m = mantissa (implicit bit included) >> (14 - e).
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    if (rem > mid || (rem === mid && (half & 1) === 1)) half++;
    return sign | half; // a carry lands on the smallest normal, which is the right encoding
  }
  let half = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (half & 1) === 1)) half++; // may carry into Inf: correct
  return sign | half;
}

/** The float value of IEEE half bits `h`. */
export function f16BitsToF32(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 31) return mant === 0 ? sign * Infinity : NaN;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

/** `v` rounded to the nearest half-precision value (what an f16 weight holds). */
export function f16Round(v: number): number {
  return f16BitsToF32(f32ToF16Bits(v));
}

/** Half bits of every value, for uploading f16 weights. */
export function toF16Bits(values: ArrayLike<number>): Uint16Array {
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = f32ToF16Bits(values[i]);
  return out;
}

/** Every value rounded to half precision (the weights the f16 kernel actually multiplies). */
export function roundToF16(values: ArrayLike<number>): Float32Array {
  const out = new Float32Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = f16Round(values[i]);
  return out;
}
