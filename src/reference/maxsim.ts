// Float64 reference for shaders/maxsim.wgsl: late-interaction scores
// s[a, b] = Σ_{i in query a} max_{j in doc b} q_i · d_j (÷ query length for 'mean'); 0 when the
// query or the document is empty.

export interface MaxSimRefArgs {
  q: ArrayLike<number>; // (Nq, D)
  qSeqs: ArrayLike<number>; // (Q, 2) (start, len)
  d: ArrayLike<number>; // (Nd, D)
  dSeqs: ArrayLike<number>; // (Dn, 2) (start, len)
  Q: number;
  Dn: number;
  D: number;
  reduce: 'mean' | 'sum';
}

export function maxsimRef(a: MaxSimRefArgs): Float64Array {
  const { Q, Dn, D } = a;
  const s = new Float64Array(Q * Dn);
  for (let qa = 0; qa < Q; qa++) {
    const qs = a.qSeqs[2 * qa], ql = a.qSeqs[2 * qa + 1];
    for (let db = 0; db < Dn; db++) {
      const ds = a.dSeqs[2 * db], dl = a.dSeqs[2 * db + 1];
      if (ql === 0 || dl === 0) continue;
      let total = 0;
      for (let i = 0; i < ql; i++) {
        let best = -Infinity;
        for (let j = 0; j < dl; j++) {
          let dot = 0;
          for (let k = 0; k < D; k++) dot += a.q[(qs + i) * D + k] * a.d[(ds + j) * D + k];
          best = Math.max(best, dot);
        }
        total += best;
      }
      s[qa * Dn + db] = a.reduce === 'mean' ? total / ql : total;
    }
  }
  return s;
}
