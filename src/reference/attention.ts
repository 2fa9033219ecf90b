// Float64 reference of encoder self-attention over a packed batch (shaders/attention.wgsl):
// per sequence, head and query i, out_i = softmax_j(q_i·k_j·scale) · v_j over j in the same
// sequence. qkv (N, 3C) with row n = [q | k | v], C = NH·HD; seqs (B, 2) (start, len).
// `keyLens` (B), when given, limits sequence b's keys to its first keyLens[b] rows.

/**
 * Returns out (N, C) in float64. Rows outside every sequence are 0. `scale` defaults to
 * 1/sqrt(HD). The softmax subtracts each row's max, so large logits are exact to float64.
 */
export function attentionRef(
  qkv: ArrayLike<number>,
  seqs: ArrayLike<number>,
  NH: number,
  HD: number,
  scale = 1 / Math.sqrt(HD),
  keyLens?: ArrayLike<number>,
): Float64Array {
  const C = NH * HD;
  const N = Math.floor(qkv.length / (3 * C));
  const out = new Float64Array(N * C);
  const B = Math.floor(seqs.length / 2);
  let s = new Float64Array(0);
  const q = new Float64Array(HD);
  const acc = new Float64Array(HD);
  for (let b = 0; b < B; b++) {
    const start = seqs[2 * b], T = seqs[2 * b + 1];
    const K = keyLens ? keyLens[b] : T;
    if (!(K >= 1 && K <= T)) throw new Error(`attentionRef: key length ${K} of sequence ${b} outside 1..${T}`);
    if (start + T > N) throw new Error(`attentionRef: sequence ${b} (${start}, ${T}) past N = ${N}`);
    if (s.length < T) s = new Float64Array(T);
    for (let h = 0; h < NH; h++) {
      for (let i = 0; i < T; i++) {
        const qo = (start + i) * 3 * C + h * HD;
        for (let d = 0; d < HD; d++) q[d] = qkv[qo + d];
        let m = -Infinity;
        for (let j = 0; j < K; j++) {
          const ko = (start + j) * 3 * C + C + h * HD;
          let dot = 0;
          for (let d = 0; d < HD; d++) dot += q[d] * qkv[ko + d];
          s[j] = dot * scale;
          if (s[j] > m) m = s[j];
        }
        acc.fill(0);
        let l = 0;
        for (let j = 0; j < K; j++) {
          const p = Math.exp(s[j] - m);
          l += p;
          const vo = (start + j) * 3 * C + 2 * C + h * HD;
          for (let d = 0; d < HD; d++) acc[d] += p * qkv[vo + d];
        }
        const oo = (start + i) * C + h * HD;
        for (let d = 0; d < HD; d++) out[oo + d] = acc[d] / l;
      }
    }
  }
  return out;
}
