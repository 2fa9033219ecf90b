// Float64 references for shaders/gelu.wgsl, and an accurate float64 erf / erfc that other
// references reuse. erf: a positive-term series (no cancellation) for |x| < 1; erfc: Laplace's
// continued fraction for x >= 1. Both are accurate to a few ulp of float64 (checked against
// mpmath values in test/kernels/gelu.test.ts).

const TWO_OVER_SQRT_PI = 1.1283791670955126; // 2/√π
const INV_SQRT_PI = 0.5641895835477563; // 1/√π
const SERIES_MAX = 1;

/**
 * erf(x) = 2/√π · e^{-x²} · Σ_{n≥0} 2ⁿ x^{2n+1} / (1·3·5···(2n+1)), every term positive.
 * Used for 0 <= x < 1, where ~25 terms suffice.
 */
function erfSeries(x: number): number {
  const x2 = x * x;
  let term = x;
  let sum = x;
  for (let n = 1; n < 200; n++) {
    term *= (2 * x2) / (2 * n + 1);
    sum += term;
    if (term < sum * 1e-17) break;
  }
  return TWO_OVER_SQRT_PI * Math.exp(-x2) * sum;
}

/**
 * erfc(x) for x >= 1 by Laplace's continued fraction
 * √π e^{x²} erfc(x) = 1 / (x + (1/2) / (x + (2/2) / (x + (3/2) / (x + ...)))),
 * evaluated from the tail; 250 levels converge to float64 precision for x >= 1
 * (200 already agree with mpmath to the last bit at x = 1).
 */
function erfcFraction(x: number): number {
  let k = 0;
  for (let n = 250; n >= 1; n--) k = n / 2 / (x + k);
  return (INV_SQRT_PI * Math.exp(-x * x)) / (x + k);
}

/** The error function in float64. */
export function erf64(x: number): number {
  if (Number.isNaN(x)) return NaN;
  const ax = Math.abs(x);
  const r = ax < SERIES_MAX ? erfSeries(ax) : 1 - erfcFraction(ax);
  return x < 0 ? -r : r;
}

/** The complementary error function 1 - erf(x) in float64, relatively accurate for large x. */
export function erfc64(x: number): number {
  if (Number.isNaN(x)) return NaN;
  if (x >= SERIES_MAX) return erfcFraction(x);
  if (x <= -SERIES_MAX) return 2 - erfcFraction(-x);
  return 1 - erf64(x);
}

/** Standard normal CDF Φ(x) = erfc(-x/√2) / 2, relatively accurate in both tails. */
export function normalCdf64(x: number): number {
  return 0.5 * erfc64(-x * Math.SQRT1_2);
}

export type GeluKind = 'gelu_erf' | 'gelu_tanh';

/** GELU of one value: 'gelu_erf' = x·Φ(x) (HF "gelu"), 'gelu_tanh' = 0.5x(1 + tanh(√(2/π)(x + 0.044715x³))) (HF "gelu_new"). */
export function gelu64(x: number, kind: GeluKind): number {
  if (kind === 'gelu_erf') return x * normalCdf64(x);
  const u = Math.sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x);
  // 0.5(1 + tanh u) = 1 / (1 + e^{-2u}): the same value without cancellation for u << 0.
  return x / (1 + Math.exp(-2 * u));
}

export interface GeluRefArgs {
  x: ArrayLike<number>;
  kind: GeluKind;
}

/** y = GELU(x) elementwise, in float64. */
export function geluRef(a: GeluRefArgs): Float64Array {
  const y = new Float64Array(a.x.length);
  for (let i = 0; i < y.length; i++) y[i] = gelu64(a.x[i], a.kind);
  return y;
}
