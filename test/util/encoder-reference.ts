// Float64 reference forward of an XLM-RoBERTa / BERT encoder and BGE-M3's heads, one sequence at a
// time, composed from the kernel references in src/reference/ and following Hugging Face's
// modeling_xlm_roberta.py (and test/fixtures/README.md's definitions):
//   h = LayerNorm(word[id] + position[pos] + token_type[0]), pos = positionOffset + 0..T-1
//   per layer: a = LayerNorm(h + O·Attn(QKV·h)), h = LayerNorm(a + W2·gelu_erf(W1·a))
//   dense = normalize(h[0]) (CLS pooling + Normalize); colbert = normalize(colbert_linear(h[1:]));
//   sparse = relu(sparse_linear(h)); lexical weights = max per id, special ids and zeros dropped.

import { attentionRef } from '../../src/reference/attention.js';
import { embeddingsSumRef } from '../../src/reference/embeddings.js';
import { layernormRef } from '../../src/reference/layernorm.js';
import { matmulRef } from '../../src/reference/matmul.js';
import { l2normalizeRef } from '../../src/reference/normalize.js';

/** What the reference reads: sizes, and the checkpoint's tensors by key (without prefix). */
export interface ReferenceWeights {
  shape: { hidden: number; layers: number; heads: number; ffn: number };
  eps: number;
  tensor(key: string): ArrayLike<number>;
  /** One row of embeddings.word_embeddings.weight. */
  wordRow(id: number): ArrayLike<number>;
  colbert: { weight: ArrayLike<number>; bias: ArrayLike<number> };
  sparse: { weight: ArrayLike<number>; bias: ArrayLike<number> };
}

export interface ReferenceOutputs {
  hidden: Float64Array; // (T, C) last_hidden_state
  dense: Float64Array; // (C) normalize(h[0])
  colbert: Float64Array; // (T-1, C') normalize(colbert_linear(h[1:]))
  sparse: Float64Array; // (T) relu(sparse_linear(h))
  lexical: Map<number, number>; // id → max weight, specials and zeros dropped
}

/** The last hidden state (T, C) of one sequence `ids`; positions count from `positionOffset`. */
export function encoderReference(w: ReferenceWeights, ids: number[], positionOffset: number): Float64Array {
  const { hidden: C, layers, heads: NH, ffn: I } = w.shape;
  const T = ids.length;
  const eps = w.eps;
  const words = new Float64Array(T * C);
  ids.forEach((id, t) => words.set(w.wordRow(id), t * C));
  let h = embeddingsSumRef({
    words, posIds: ids.map((_, t) => t + positionOffset), N: T, C, eps,
    posTable: w.tensor('embeddings.position_embeddings.weight'),
    typeTable: w.tensor('embeddings.token_type_embeddings.weight'),
    gamma: w.tensor('embeddings.LayerNorm.weight'),
    beta: w.tensor('embeddings.LayerNorm.bias'),
  }); // (T, C)
  for (let l = 0; l < layers; l++) {
    const p = (k: string) => w.tensor(`encoder.layer.${l}.${k}`);
    // query, key and value stacked along output rows: (3C, C), so qkv row t = [q | k | v].
    const qkvW = new Float64Array(3 * C * C), qkvB = new Float64Array(3 * C);
    ['query', 'key', 'value'].forEach((n, i) => {
      qkvW.set(p(`attention.self.${n}.weight`), i * C * C);
      qkvB.set(p(`attention.self.${n}.bias`), i * C);
    });
    const qkv = matmulRef(h, qkvW, qkvB, T, 3 * C, C); // (T, 3C)
    const ctx = attentionRef(qkv, [0, T], NH, C / NH); // (T, C)
    const attnOut = matmulRef(ctx, p('attention.output.dense.weight'), p('attention.output.dense.bias'), T, C, C); // (T, C)
    const a = layernormRef({ x: attnOut, residual: h, gamma: p('attention.output.LayerNorm.weight'), beta: p('attention.output.LayerNorm.bias'), rows: T, C, eps });
    const inter = matmulRef(a, p('intermediate.dense.weight'), p('intermediate.dense.bias'), T, I, C, 'gelu_erf'); // (T, I)
    const out = matmulRef(inter, p('output.dense.weight'), p('output.dense.bias'), T, C, I); // (T, C)
    h = layernormRef({ x: out, residual: a, gamma: p('output.LayerNorm.weight'), beta: p('output.LayerNorm.bias'), rows: T, C, eps });
  }
  return h;
}

/** Every BGE-M3 output of one sequence. `specialIds` are dropped from the lexical weights. */
export function bgeM3Reference(w: ReferenceWeights, ids: number[], positionOffset: number, specialIds: number[]): ReferenceOutputs {
  const C = w.shape.hidden;
  const T = ids.length;
  const hidden = encoderReference(w, ids, positionOffset);
  const dense = l2normalizeRef({ x: hidden, rows: 1, C, dims: C });
  const D = w.colbert.bias.length;
  const proj = matmulRef(hidden.subarray(C), w.colbert.weight, w.colbert.bias, T - 1, D, C); // (T-1, D)
  const colbert = l2normalizeRef({ x: proj, rows: T - 1, C: D, dims: D });
  const sparse = matmulRef(hidden, w.sparse.weight, w.sparse.bias, T, 1, C, 'relu'); // (T)
  const skip = new Set(specialIds);
  const lexical = new Map<number, number>();
  ids.forEach((id, t) => {
    if (skip.has(id) || !(sparse[t] > 0)) return;
    lexical.set(id, Math.max(lexical.get(id) ?? 0, sparse[t]));
  });
  return { hidden, dense, colbert, sparse, lexical };
}
