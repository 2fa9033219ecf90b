// Float64 reference for shaders/normalize.wgsl: y[r, 0:dims] = x[r, 0:dims] / max(||x[r, 0:dims]||₂, 1e-12).

export interface NormalizeRefArgs {
  x: ArrayLike<number>; // (rows, C)
  rows: number;
  C: number;
  dims: number;
}

export function l2normalizeRef(a: NormalizeRefArgs): Float64Array {
  const { rows, C, dims } = a;
  const y = new Float64Array(rows * dims);
  for (let r = 0; r < rows; r++) {
    let s = 0;
    for (let c = 0; c < dims; c++) s += a.x[r * C + c] ** 2;
    const k = 1 / Math.max(Math.sqrt(s), 1e-12);
    for (let c = 0; c < dims; c++) y[r * dims + c] = a.x[r * C + c] * k;
  }
  return y;
}
