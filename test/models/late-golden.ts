// Shared golden checks of the late-interaction fixtures (colbertv2-tiny, pylate-tiny; see
// test/fixtures/README.md): query vectors with the [MASK] expansion, document vectors with the
// skiplist removed, the token ids of both, and MaxSim sums, against float64 goldens from
// scripts/fixtures/gen_colbert.py / gen_pylate.py.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { loadModel, maxSim, type Model, type TokenEmbeddings } from '../../src/index.node.js';
import { FIXTURES, readGoldenAs } from '../util/golden.js';
import { expectClose, expectRowCosine } from '../util/compare.js';

type Tensors = Map<string, { shape: number[]; data: Float32Array }>;

export interface LateGolden {
  model: string;
  family: 'colbert' | 'pylate';
  settings: {
    query_length: number; document_length: number; dim: number; query_prefix_id: number; document_prefix_id: number;
    mask_id: number; attend_to_expansion_tokens: boolean; do_query_expansion: boolean; skiplist_ids: number[];
  };
  groups: {
    queries: { text: string; ids: number[]; attention_mask: number[]; expansion: number[] }[];
    documents: { text: string; ids: number[]; kept: number[]; kept_ids: number[] }[];
  };
  scores: { maxsim: number[][] };
  tensors: Tensors;
}

function tensor(g: LateGolden, key: string): { shape: number[]; data: Float32Array } {
  const t = g.tensors.get(key);
  if (!t) throw new Error(`golden ${g.model} has no tensor ${key}`);
  return t;
}

export function lateGoldenSuite(name: string, what: string): void {
  const g = readGoldenAs<LateGolden>(name);
  const s = g.settings;
  const queries = g.groups.queries.map((q) => q.text);
  const documents = g.groups.documents.map((d) => d.text);

  describe(`golden ${name} (${what})`, () => {
    let model: Model;
    let q: TokenEmbeddings[];
    let d: TokenEmbeddings[];
    beforeAll(async () => {
      model = await loadModel(join(FIXTURES, name));
      q = await model.embedTokens(queries, { kind: 'query' });
      d = await model.embedTokens(documents); // 'document' is the default for ColBERT models
    });
    afterAll(() => model?.dispose());

    it('reads the late-interaction settings', () => {
      expect(model.info.task).toBe('embed');
      expect(model.info.lateInteraction).toEqual({
        source: g.family, queryLength: s.query_length, documentLength: s.document_length,
        doQueryExpansion: s.do_query_expansion, attendToExpansionTokens: s.attend_to_expansion_tokens,
      });
      expect(model.info.outputs.tokens).toBe(s.dim);
      expect(model.info.outputs.tokensHead).toBe('colbert');
    });

    it('query token ids: marker after [CLS], text cut, [MASK] expansion to the query length', () => {
      g.groups.queries.forEach((gq, i) => {
        expect(Array.from(q[i].tokenIds), gq.text).toEqual(gq.ids);
        expect(q[i].tokenIds[1]).toBe(s.query_prefix_id);
        expect(q[i].shape).toEqual([s.query_length, s.dim]);
        expect(Array.from(q[i].expansion!), gq.text).toEqual(gq.expansion);
      });
    });

    it('query vectors, the [MASK] expansion vectors included, match the float64 goldens', () => {
      g.groups.queries.forEach((gq, i) => {
        const ref = tensor(g, `queries/${i}/vectors`);
        // Normalized f32 outputs of a 2-layer f32 forward: 2e-5 absolute (as the BGE-M3 goldens).
        expectClose(q[i].data, ref.data, { atol: 2e-5, shape: ref.shape, label: `query ${i} vectors` });
        expectRowCosine(q[i].data, ref.data, s.dim, 0.99999, `query ${i}`);
      });
    });

    it('document token ids: marker after [CLS], text cut to the document length, skiplisted tokens gone', () => {
      const skip = new Set(s.skiplist_ids);
      g.groups.documents.forEach((gd, j) => {
        expect(Array.from(d[j].tokenIds), gd.text).toEqual(gd.kept_ids);
        expect(d[j].tokenIds[1]).toBe(s.document_prefix_id);
        expect(Array.from(d[j].tokenIds).filter((t) => skip.has(t)), gd.text).toEqual([]);
        expect(d[j].expansion).toBeUndefined();
      });
      // The fixture's documents do contain punctuation, and one is cut.
      expect(g.groups.documents.some((gd) => gd.kept.includes(0))).toBe(true);
      expect(g.groups.documents.some((gd) => gd.ids.length === s.document_length)).toBe(true);
    });

    it('document vectors (skiplisted rows removed) match the float64 goldens', () => {
      g.groups.documents.forEach((gd, j) => {
        const ref = tensor(g, `documents/${j}/vectors`);
        expectClose(d[j].data, ref.data, { atol: 2e-5, shape: ref.shape, label: `document ${j} vectors` });
        expectRowCosine(d[j].data, ref.data, s.dim, 0.99999, `document ${j}`);
      });
    });

    it('MaxSim sums (ColBERT colbert_score, PyLate colbert_scores), GPU matrix and CPU', async () => {
      const m = await model.maxSimMatrix(q, d); // sum is the default for ColBERT / PyLate models
      // Sums of query_length (10-12) maxima of unit-vector dot products: 2e-5 absolute
      // (measured on lavapipe: ≤ 9e-7 for both fixtures).
      g.scores.maxsim.forEach((row, i) => {
        expectClose(m[i], row, { atol: 2e-5, shape: [row.length], label: `maxsim row ${i}` });
        row.forEach((ref, j) => expect(Math.abs(maxSim(q[i], d[j]) - ref), `cpu maxSim ${i},${j}`).toBeLessThan(2e-5));
      });
    });

    it('embed and sparse are refused with a message naming embedTokens', async () => {
      await expect(model.embed(['a'])).rejects.toThrow(/embedTokens/);
      await expect(model.sparse(['a'])).rejects.toThrow(/embedTokens/);
    });
  });
}
