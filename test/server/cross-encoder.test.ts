// The server on real models of the new kinds: a cross-encoder (cross-encoder-xlmr-tiny) answers
// /score and /rerank with its own logits (checked against the fixture's float64 goldens), and an
// embedding model is not mistaken for one (Model.score exists on every model, but engineFromModel
// exposes it only for info.task === 'score').

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Model } from '../../src/index.node.js';
import { readGoldenAs } from '../util/golden.js';
import { engineFromModel, loadFixture, post, startServer, type Running } from './helpers.js';

interface CrossGolden {
  queries: string[];
  documents: string[];
  scores: { logits: number[][] };
  rank: number[][];
  tensors: Map<string, { shape: number[]; data: Float32Array }>;
}

describe('server with a real cross-encoder (cross-encoder-xlmr-tiny)', () => {
  const g = readGoldenAs<CrossGolden>('cross-encoder-xlmr-tiny');
  let model: Model;
  let srv: Running;
  beforeAll(async () => {
    model = await loadFixture('cross-encoder-xlmr-tiny');
    srv = await startServer(engineFromModel(model));
  });
  afterAll(async () => {
    await srv?.close();
    model?.dispose();
  });

  it('/score and /rerank give the model logits, in golden order', async () => {
    // The server refuses inputs longer than the model's max length (as vLLM does without
    // truncate_prompt_tokens), so the fixture's long document stays out.
    const docs = g.documents.slice(0, 3);
    const s = await post(srv.url, '/score', { text_1: g.queries[0], text_2: docs });
    expect(s.status, JSON.stringify(s.json)).toBe(200);
    const scores: number[] = s.json.data.map((x: { score: number }) => x.score);
    expect(scores).toEqual(await model.score(g.queries[0], docs));
    // As in test/models/golden-cross-encoder.test.ts: 2e-5 on logits.
    scores.forEach((v, d) => expect(Math.abs(v - g.scores.logits[0][d])).toBeLessThan(2e-5));
    const r = await post(srv.url, '/rerank', { query: g.queries[1], documents: docs });
    expect(r.status, JSON.stringify(r.json)).toBe(200);
    expect(r.json.results.map((x: { index: number }) => x.index)).toEqual(g.rank[1].filter((d) => d < 3));
  });

  it('an embedding model stays an embedding model', async () => {
    const emb = await loadFixture('bert-mean');
    try {
      expect(engineFromModel(emb).score).toBeUndefined();
      expect(engineFromModel(model).score).toBeTypeOf('function');
    } finally {
      emb.dispose();
    }
  });
});
