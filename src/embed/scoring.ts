// Scores between outputs: MaxSim late interaction (on the CPU for one pair, on the GPU for a
// [queries × docs] matrix), BGE-M3's lexical matching score, and dot products.

import type { Gpu } from '../gpu/device.js';
import { submitCalls, releaseCalls } from '../gpu/calls.js';
import { maxsim } from '../kernels/maxsim.js';

export interface TokenVectors {
  data: Float32Array;
  shape: [number, number];
}

/**
 * MaxSim: for each query vector, the best dot product against the document's vectors, summed
 * (vLLM, PyLate) or averaged over query vectors (`reduce: 'mean'`, FlagEmbedding's colbert_score).
 */
export function maxSim(query: TokenVectors, doc: TokenVectors, opts: { reduce?: 'mean' | 'sum' } = {}): number {
  const [nq, D] = query.shape;
  const [nd, D2] = doc.shape;
  if (D !== D2) throw new RangeError(`maxSim: query dim ${D} != document dim ${D2}`);
  let total = 0;
  for (let i = 0; i < nq; i++) {
    let best = -Infinity;
    for (let j = 0; j < nd; j++) {
      let s = 0;
      for (let k = 0; k < D; k++) s += query.data[i * D + k] * doc.data[j * D + k];
      if (s > best) best = s;
    }
    total += nd > 0 ? best : 0;
  }
  return (opts.reduce ?? 'sum') === 'mean' ? total / Math.max(nq, 1) : total;
}

/** For each query token, the index of the document token it matched best and that score. */
export function maxSimAlignment(query: TokenVectors, doc: TokenVectors): { best: Int32Array; scores: Float32Array; sim: Float32Array } {
  const [nq, D] = query.shape;
  const [nd] = doc.shape;
  const sim = new Float32Array(nq * nd);
  const best = new Int32Array(nq).fill(-1);
  const scores = new Float32Array(nq).fill(-Infinity);
  for (let i = 0; i < nq; i++) {
    for (let j = 0; j < nd; j++) {
      let s = 0;
      for (let k = 0; k < D; k++) s += query.data[i * D + k] * doc.data[j * D + k];
      sim[i * nd + j] = s;
      if (s > scores[i]) {
        scores[i] = s;
        best[i] = j;
      }
    }
  }
  return { best, scores, sim };
}

/** BGE-M3 lexical matching score: Σ over shared token ids of w_query · w_doc. */
export function lexicalScore(query: Record<string, number>, doc: Record<string, number>): number {
  let s = 0;
  for (const [id, w] of Object.entries(query)) if (id in doc) s += w * doc[id];
  return s;
}

/** Dot product (the cosine for normalized vectors). */
export function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new RangeError(`dot: lengths ${a.length} and ${b.length} differ`);
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

/** One input's outputs as `encode` returns them (any subset). */
export interface HybridParts {
  dense?: ArrayLike<number>;
  sparse?: Record<string, number>;
  tokens?: TokenVectors;
}

/** BGE-M3's model-card weights for [dense, sparse, colbert]. */
export const BGE_M3_WEIGHTS: readonly [number, number, number] = [0.4, 0.2, 0.4];

/**
 * FlagEmbedding's hybrid score (BGEM3FlagModel.compute_score, mode "colbert+sparse+dense"):
 * (w_dense·dense + w_sparse·sparse + w_colbert·colbert) / (w_dense + w_sparse + w_colbert), where
 * dense is the dot product, sparse the lexical matching score and colbert the MaxSim mean
 * (colbert_score). A part whose weight is 0 is not needed.
 */
export function hybridScore(query: HybridParts, doc: HybridParts, weights: readonly [number, number, number] = BGE_M3_WEIGHTS): number {
  const [wd, ws, wc] = weights;
  if (![wd, ws, wc].every((w) => Number.isFinite(w) && w >= 0) || wd + ws + wc <= 0) {
    throw new RangeError(`hybridScore: weights must be three non-negative numbers with a positive sum, got [${weights.join(', ')}]`);
  }
  const need = (part: keyof HybridParts, w: number) => {
    if (w > 0 && (query[part] === undefined || doc[part] === undefined)) {
      throw new TypeError(`hybridScore: weight ${w} on "${part}" but the query or document has no ${part} output; encode with { ${part}: true } or give it weight 0`);
    }
    return w > 0;
  };
  let s = 0;
  if (need('dense', wd)) s += wd * dot(query.dense!, doc.dense!);
  if (need('sparse', ws)) s += ws * lexicalScore(query.sparse!, doc.sparse!);
  if (need('tokens', wc)) s += wc * maxSim(query.tokens!, doc.tokens!, { reduce: 'mean' });
  return s / (wd + ws + wc);
}

function packVectors(items: TokenVectors[], D: number, what: string): { data: Float32Array; seqs: Uint32Array } {
  const total = items.reduce((a, t) => a + t.shape[0], 0);
  const data = new Float32Array(Math.max(total * D, 4));
  const seqs = new Uint32Array(Math.max(items.length * 2, 4));
  let start = 0;
  items.forEach((t, i) => {
    if (t.shape[1] !== D) throw new RangeError(`maxSimMatrix: ${what}[${i}] has dim ${t.shape[1]}, expected ${D}`);
    data.set(t.data.subarray(0, t.shape[0] * D), start * D);
    seqs[2 * i] = start;
    seqs[2 * i + 1] = t.shape[0];
    start += t.shape[0];
  });
  return { data, seqs };
}

/** The GPU ranker behind Model.maxSimMatrix: documents go in chunks that fit one binding. */
export async function maxSimMatrixGpu(gpu: Gpu, queries: TokenVectors[], docs: TokenVectors[], reduce: 'mean' | 'sum'): Promise<Float32Array[]> {
  const Q = queries.length;
  const rows = Array.from({ length: Q }, () => new Float32Array(docs.length));
  if (Q === 0 || docs.length === 0) return rows;
  const D = queries[0].shape[1];
  const limit = gpu.limits.maxStorageBufferBindingSize;
  const q = packVectors(queries, D, 'queries');
  if (q.data.byteLength > limit) throw new RangeError(`maxSimMatrix: the queries' vectors (${q.data.byteLength} bytes) exceed one binding (${limit}); pass fewer queries`);
  const qBuf = gpu.storageFrom('maxsim q', q.data);
  const qSeqs = gpu.storageFrom('maxsim qSeqs', q.seqs);
  try {
    for (let d0 = 0; d0 < docs.length; ) {
      let d1 = d0, bytes = 0;
      while (d1 < docs.length && (d1 === d0 || bytes + docs[d1].shape[0] * D * 4 <= limit)) bytes += docs[d1++].shape[0] * D * 4;
      const d = packVectors(docs.slice(d0, d1), D, 'docs');
      const Dn = d1 - d0;
      const dBuf = gpu.storageFrom('maxsim d', d.data);
      const dSeqs = gpu.storageFrom('maxsim dSeqs', d.seqs);
      const scores = gpu.storage('maxsim scores', Q * Dn * 4);
      const call = maxsim(gpu, { q: qBuf, qSeqs, d: dBuf, dSeqs, scores, Q, Dn, D, reduce });
      try {
        submitCalls(gpu, [call], 'maxsim');
        const out = await gpu.readF32(scores, Q * Dn);
        for (let i = 0; i < Q; i++) rows[i].set(out.subarray(i * Dn, (i + 1) * Dn), d0);
      } finally {
        releaseCalls(gpu, [call]);
        for (const b of [dBuf, dSeqs, scores]) gpu.destroyBuffer(b);
      }
      d0 = d1;
    }
  } finally {
    gpu.destroyBuffer(qBuf);
    gpu.destroyBuffer(qSeqs);
  }
  return rows;
}
