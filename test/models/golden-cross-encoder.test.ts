// Cross-encoders against their float64 goldens (scripts/fixtures/gen_cross_encoder.py):
// test/fixtures/cross-encoder-bert-tiny (BertForSequenceClassification: pooler + classifier, token
// type 1 on the document) and cross-encoder-xlmr-tiny (XLMRobertaForSequenceClassification:
// classifier.dense + out_proj, every token type 0). Pair ids and LongestFirst truncation, raw
// logits, sigmoid, rerank order.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { loadModel, type Model } from '../../src/index.node.js';
import { encodePair } from '../../src/embed/rerank.js';
import { FIXTURES, readGoldenAs } from '../util/golden.js';
import { expectClose } from '../util/compare.js';

interface CrossGolden {
  model: string;
  architecture: string;
  max_length: number;
  queries: string[];
  documents: string[];
  pairs: { query: number; document: number; ids: number[]; token_type_ids: number[]; truncated: boolean }[];
  scores: { logits: number[][]; sigmoid: number[][] };
  rank: number[][];
  tensors: Map<string, { shape: number[]; data: Float32Array }>;
}

for (const name of ['cross-encoder-bert-tiny', 'cross-encoder-xlmr-tiny']) {
  const g = readGoldenAs<CrossGolden>(name);
  describe(`golden ${name} (${g.architecture})`, () => {
    let model: Model;
    beforeAll(async () => {
      model = await loadModel(join(FIXTURES, name));
    });
    afterAll(() => model?.dispose());

    it('loads as a cross-encoder', () => {
      expect(model.info.task).toBe('score');
      expect(model.info.scoreActivation).toBe('sigmoid');
      expect(model.info.maxLength).toBe(g.max_length);
    });

    it('builds pairs as the tokenizer does, LongestFirst-truncated to the max length', () => {
      for (const p of g.pairs) {
        const e = encodePair(model.tokenizer, g.queries[p.query], g.documents[p.document], model.info.maxLength);
        expect(e.ids, `pair ${p.query},${p.document}`).toEqual(p.ids);
        expect(e.typeIds, `pair ${p.query},${p.document}`).toEqual(p.token_type_ids);
      }
      // Both LongestFirst cases occur: only the document cut, and both texts cut.
      expect(g.pairs.filter((p) => p.truncated).length).toBeGreaterThanOrEqual(2);
    });

    it('raw logits and sigmoid match the float64 goldens', async () => {
      for (const [q, query] of g.queries.entries()) {
        const logits = await model.score(query, g.documents);
        // Logits of about -2.5 from a 2-layer f32 forward, tanh and a ‖w‖ ≈ 4 classifier:
        // 2e-5 absolute (measured on lavapipe: ≤ 2.8e-6 on both fixtures).
        expectClose(logits, g.scores.logits[q], { atol: 2e-5, shape: [g.documents.length], label: `logits of query ${q}` });
        const probs = await model.score(query, g.documents, { activation: 'sigmoid' });
        // σ' ≤ 1/4 scales the logit error down: 5e-6 (measured ≤ 2e-7).
        expectClose(probs, g.scores.sigmoid[q], { atol: 5e-6, shape: [g.documents.length], label: `sigmoid of query ${q}` });
      }
    });

    it('rerank: best first, topK', async () => {
      for (const [q, query] of g.queries.entries()) {
        const ranked = await model.rerank(query, g.documents);
        expect(ranked.map((r) => r.index)).toEqual(g.rank[q]);
        const top = await model.rerank(query, g.documents, { topK: 2 });
        expect(top).toEqual(ranked.slice(0, 2));
      }
      await expect(model.rerank('a', ['b'], { topK: 0 })).rejects.toThrow(/topK/);
    });

    it('embedding calls are refused with a message naming score and rerank', async () => {
      await expect(model.embed(['a'])).rejects.toThrow(/score or rerank/);
      await expect(model.embedTokens(['a'])).rejects.toThrow(/score or rerank/);
    });
  });
}
