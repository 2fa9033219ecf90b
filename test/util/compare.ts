// Whole-tensor comparisons for golden and kernel tests. Every element is checked; a failure
// names the worst element (flat index and, when a shape is given, its coordinates).

export interface CloseOptions {
  /** Absolute tolerance. */
  atol?: number;
  /** Tolerance relative to the largest |expected| in the whole tensor. */
  rtolMax?: number;
  /** Row-major shape, for reporting coordinates. */
  shape?: number[];
  label?: string;
}

export interface Worst {
  index: number;
  actual: number;
  expected: number;
  error: number;
  bound: number;
}

function coords(index: number, shape?: number[]): string {
  if (!shape) return `[${index}]`;
  const c: number[] = [];
  for (let d = shape.length - 1; d >= 0; d--) {
    c.unshift(index % shape[d]);
    index = Math.floor(index / shape[d]);
  }
  return `[${c.join(', ')}]`;
}

/** Finds the element with the largest error/bound ratio; NaN anywhere is an automatic failure. */
export function worstElement(actual: ArrayLike<number>, expected: ArrayLike<number>, opts: CloseOptions): Worst {
  let maxAbs = 0;
  for (let i = 0; i < expected.length; i++) maxAbs = Math.max(maxAbs, Math.abs(expected[i]));
  const bound = (opts.atol ?? 0) + (opts.rtolMax ?? 0) * maxAbs;
  let worst: Worst = { index: -1, actual: 0, expected: 0, error: 0, bound };
  for (let i = 0; i < expected.length; i++) {
    const e = Math.abs(actual[i] - expected[i]);
    const err = Number.isNaN(e) ? Infinity : e;
    if (worst.index < 0 || err > worst.error) worst = { index: i, actual: actual[i], expected: expected[i], error: err, bound };
  }
  return worst;
}

/** Throws unless every |actual - expected| <= atol + rtolMax * max|expected|. */
export function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, opts: CloseOptions): Worst {
  const label = opts.label ?? 'tensor';
  if (actual.length !== expected.length) {
    throw new Error(`${label}: length ${actual.length} != expected ${expected.length}`);
  }
  const w = worstElement(actual, expected, opts);
  if (!(w.error <= w.bound)) {
    throw new Error(
      `${label}: worst element ${coords(w.index, opts.shape)} = ${w.actual}, expected ${w.expected} ` +
        `(|err| ${w.error.toExponential(3)} > bound ${w.bound.toExponential(3)}; ${actual.length} elements)`,
    );
  }
  return w;
}

/** Cosine similarity of two vectors, in float64. */
export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let ab = 0, aa = 0, bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += a[i] * b[i];
    aa += a[i] * a[i];
    bb += b[i] * b[i];
  }
  return ab / Math.sqrt(aa * bb);
}

/** Throws unless every row's cosine to its expected row is >= minCos; reports the worst row. */
export function expectRowCosine(actual: ArrayLike<number>, expected: ArrayLike<number>, rowLen: number, minCos: number, label = 'rows'): number {
  if (actual.length !== expected.length) throw new Error(`${label}: length ${actual.length} != expected ${expected.length}`);
  let worstRow = -1, worstCos = 2;
  for (let r = 0; r * rowLen < expected.length; r++) {
    const c = cosine(
      Array.prototype.slice.call(actual, r * rowLen, (r + 1) * rowLen),
      Array.prototype.slice.call(expected, r * rowLen, (r + 1) * rowLen),
    );
    const cc = Number.isNaN(c) ? -2 : c;
    if (cc < worstCos) { worstCos = cc; worstRow = r; }
  }
  if (!(worstCos >= minCos)) throw new Error(`${label}: worst row ${worstRow} has cosine ${worstCos} < ${minCos}`);
  return worstCos;
}
