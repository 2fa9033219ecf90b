// Float64 reference for shaders/layernorm.wgsl: y = LayerNorm(x + residual) · gamma + beta per
// row of C, with the biased variance (as torch.nn.LayerNorm) and eps inside the square root.
// beta null: no bias (LayerNorm(bias=False)).

export interface LayernormRefArgs {
  x: ArrayLike<number>; // (rows, C)
  residual?: ArrayLike<number> | null; // (rows, C)
  gamma: ArrayLike<number>; // (C)
  beta: ArrayLike<number> | null; // (C); null: no bias
  rows: number;
  C: number;
  eps: number;
}

/** LayerNorm of one row `v` (already summed) into `out` at `outOffset`. */
export function layernormRow(v: Float64Array, gamma: ArrayLike<number>, beta: ArrayLike<number> | null, eps: number, out: Float64Array, outOffset: number): void {
  const C = v.length;
  let s = 0;
  for (let c = 0; c < C; c++) s += v[c];
  const mean = s / C;
  let q = 0;
  for (let c = 0; c < C; c++) q += (v[c] - mean) ** 2;
  const rstd = 1 / Math.sqrt(q / C + eps);
  for (let c = 0; c < C; c++) out[outOffset + c] = (v[c] - mean) * rstd * gamma[c] + (beta ? beta[c] : 0);
}

/** (rows, C) → (rows, C), in float64. */
export function layernormRef(a: LayernormRefArgs): Float64Array {
  const { rows, C } = a;
  const y = new Float64Array(rows * C);
  const v = new Float64Array(C);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < C; c++) v[c] = a.x[r * C + c] + (a.residual ? a.residual[r * C + c] : 0);
    layernormRow(v, a.gamma, a.beta, a.eps, y, r * C);
  }
  return y;
}

/** x + residual in float64 (what `sumOut` stores), (rows, C). */
export function residualSumRef(x: ArrayLike<number>, residual: ArrayLike<number>): Float64Array {
  return Float64Array.from(x, (v, i) => v + residual[i]);
}
