// Float64 reference for shaders/pool.wgsl: cls / mean / last-token pooling of a packed batch;
// an empty sequence pools to zeros.

export interface PoolRefArgs {
  hidden: ArrayLike<number>; // (N, C)
  seqs: ArrayLike<number>; // (B, 2) (start, len)
  B: number;
  C: number;
  mode: 'cls' | 'mean' | 'last';
}

export function poolRef(a: PoolRefArgs): Float64Array {
  const { B, C } = a;
  const y = new Float64Array(B * C);
  for (let b = 0; b < B; b++) {
    const start = a.seqs[2 * b], len = a.seqs[2 * b + 1];
    if (len === 0) continue;
    for (let c = 0; c < C; c++) {
      let v: number;
      if (a.mode === 'mean') {
        v = 0;
        for (let t = 0; t < len; t++) v += a.hidden[(start + t) * C + c];
        v /= len;
      } else {
        v = a.hidden[(a.mode === 'cls' ? start : start + len - 1) * C + c];
      }
      y[b * C + c] = v;
    }
  }
  return y;
}
