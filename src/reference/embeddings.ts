// Float64 references for shaders/embeddings.wgsl: chunked row gather, and the embeddings sum
// (words + position + token type, each optional) followed by LayerNorm (beta optional).

import { layernormRow } from './layernorm.js';

export interface GatherRefArgs {
  table: ArrayLike<number>; // (rowCount, C): rows rowStart .. rowStart + rowCount of the full table
  ids: ArrayLike<number>; // (N)
  /** What `out` holds before the call, (N, C): rows whose id is outside the chunk keep it. */
  out: ArrayLike<number>;
  N: number;
  C: number;
  rowStart: number;
  rowCount: number;
}

export function gatherRowsRef(a: GatherRefArgs): Float64Array {
  const { N, C } = a;
  const y = Float64Array.from(a.out);
  for (let i = 0; i < N; i++) {
    const r = a.ids[i] - a.rowStart;
    if (r < 0 || r >= a.rowCount) continue;
    for (let c = 0; c < C; c++) y[i * C + c] = a.table[r * C + c];
  }
  return y;
}

export interface EmbeddingsRefArgs {
  words: ArrayLike<number>; // (N, C)
  posIds?: ArrayLike<number> | null; // (N)
  posTable: ArrayLike<number> | null; // (P, C); null: no position term
  typeTable: ArrayLike<number> | null; // (types, C), row 0 used unless typeIds; null: no type term
  typeIds?: ArrayLike<number> | null; // (N)
  gamma: ArrayLike<number>;
  beta: ArrayLike<number> | null;
  N: number;
  C: number;
  eps: number;
}

export function embeddingsSumRef(a: EmbeddingsRefArgs): Float64Array {
  const { N, C } = a;
  const y = new Float64Array(N * C);
  const v = new Float64Array(C);
  for (let i = 0; i < N; i++) {
    const p = a.posTable ? a.posIds![i] : 0, t = a.typeIds ? a.typeIds[i] : 0;
    for (let c = 0; c < C; c++) {
      v[c] = a.words[i * C + c] + (a.posTable ? a.posTable[p * C + c] : 0) + (a.typeTable ? a.typeTable[t * C + c] : 0);
    }
    layernormRow(v, a.gamma, a.beta, a.eps, y, i * C);
  }
  return y;
}
