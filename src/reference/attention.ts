// Float64 reference of self-attention over a packed batch (shaders/attention.wgsl): per sequence,
// query head h and query i, out_i = softmax_j(q_i·k_j·scale) · v_j over the keys j of the same
// sequence that i sees (all of them; with `causal` only j <= i; with `window` W only
// |i - j| <= ⌊W/2⌋), k and v from KV head ⌊h / (NH/NKV)⌋.
// qkv (N, (NH + 2·NKV)·HD) with row n = [q heads | k heads | v heads]; seqs (B, 2) (start, len).
// `keyLens` (B), when given, limits sequence b's keys to its first keyLens[b] rows.

export interface AttentionRefOptions {
  /** Logit scale; default 1/sqrt(HD). */
  scale?: number;
  /** KV heads; default NH. */
  NKV?: number;
  causal?: boolean;
  /** Sliding window in tokens, 0 = none. */
  window?: number;
  /** Keys of sequence b: its first keyLens[b] rows (1..len); default all. */
  keyLens?: ArrayLike<number>;
  /** Compute only query positions [from, to) of each sequence (others stay 0); for spot checks of long inputs. */
  queries?: [number, number];
}

/**
 * Returns out (N, NH·HD) in float64. Rows outside every sequence are 0. The softmax subtracts
 * each row's max, so large logits are exact to float64.
 */
export function attentionRef(
  qkv: ArrayLike<number>,
  seqs: ArrayLike<number>,
  NH: number,
  HD: number,
  opts: AttentionRefOptions = {},
): Float64Array {
  const scale = opts.scale ?? 1 / Math.sqrt(HD);
  const NKV = opts.NKV ?? NH;
  if (NH % NKV !== 0) throw new Error(`attentionRef: NH ${NH} is not a multiple of NKV ${NKV}`);
  const G = NH / NKV;
  const half = opts.window ? Math.floor(opts.window / 2) : Infinity;
  const C = NH * HD, S = (NH + 2 * NKV) * HD;
  const N = Math.floor(qkv.length / S);
  const out = new Float64Array(N * C);
  const B = Math.floor(seqs.length / 2);
  let s = new Float64Array(0);
  const q = new Float64Array(HD);
  const acc = new Float64Array(HD);
  for (let b = 0; b < B; b++) {
    const start = seqs[2 * b], T = seqs[2 * b + 1];
    if (start + T > N) throw new Error(`attentionRef: sequence ${b} (${start}, ${T}) past N = ${N}`);
    if (s.length < T) s = new Float64Array(T);
    const K = opts.keyLens ? opts.keyLens[b] : T;
    if (!(K >= 1 && K <= T)) throw new Error(`attentionRef: key length ${K} of sequence ${b} outside 1..${T}`);
    for (let h = 0; h < NH; h++) {
      const kc = C + Math.floor(h / G) * HD, vc = C + NKV * HD + Math.floor(h / G) * HD;
      for (let i = Math.max(0, opts.queries?.[0] ?? 0); i < Math.min(T, opts.queries?.[1] ?? T); i++) {
        const lo = Math.max(0, i - half), hi = Math.min(K - 1, opts.causal ? i : i + half);
        const qo = (start + i) * S + h * HD;
        for (let d = 0; d < HD; d++) q[d] = qkv[qo + d];
        let m = -Infinity;
        for (let j = lo; j <= hi; j++) {
          const ko = (start + j) * S + kc;
          let dot = 0;
          for (let d = 0; d < HD; d++) dot += q[d] * qkv[ko + d];
          s[j] = dot * scale;
          if (s[j] > m) m = s[j];
        }
        acc.fill(0);
        let l = 0;
        for (let j = lo; j <= hi; j++) {
          const p = Math.exp(s[j] - m);
          l += p;
          const vo = (start + j) * S + vc;
          for (let d = 0; d < HD; d++) acc[d] += p * qkv[vo + d];
        }
        const oo = (start + i) * C + h * HD;
        for (let d = 0; d < HD; d++) out[oo + d] = acc[d] / l;
      }
    }
  }
  return out;
}
