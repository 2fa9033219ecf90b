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

describe('server with a ColBERT model (colbertv2-tiny): queries and documents encoded as such', () => {
  interface LateG {
    groups: { queries: { text: string }[]; documents: { text: string; ids: number[] }[] };
    tensors: Map<string, { shape: number[]; data: Float32Array }>;
    scores: { maxsim: number[][] };
    max_len?: number;
  }
  const g = readGoldenAs<LateG>('colbertv2-tiny');
  let model: Model;
  let srv: Running;
  beforeAll(async () => {
    model = await loadFixture('colbertv2-tiny');
    srv = await startServer(engineFromModel(model));
  });
  afterAll(async () => {
    await srv?.close();
    model?.dispose();
  });

  it('/rerank and /score give ColBERT MaxSim sums (query markers + [MASK] expansion, document skiplist)', async () => {
    // Documents short enough for the server's max-length check (it refuses longer inputs, as vLLM).
    const maxLen = model.info.maxLength;
    const docIdx = g.groups.documents.map((d, j) => ({ d, j })).filter(({ d }) => d.ids.length < maxLen).map(({ j }) => j);
    expect(docIdx.length).toBeGreaterThan(1);
    const docs = docIdx.map((j) => g.groups.documents[j].text);
    for (let i = 0; i < g.groups.queries.length; i++) {
      const s = await post(srv.url, '/score', { text_1: g.groups.queries[i].text, text_2: docs });
      expect(s.status, JSON.stringify(s.json)).toBe(200);
      const got: number[] = s.json.data.map((x: { score: number }) => x.score);
      // As the ColBERT golden test: MaxSim sums within 2e-5 of the float64 reference.
      got.forEach((v, k) => expect(Math.abs(v - g.scores.maxsim[i][docIdx[k]]), `query ${i} doc ${docIdx[k]}`).toBeLessThan(2e-5));
    }
    const r = await post(srv.url, '/rerank', { query: g.groups.queries[0].text, documents: docs, top_n: 2 });
    expect(r.status, JSON.stringify(r.json)).toBe(200);
    const want = docIdx.map((j, k) => ({ k, s: g.scores.maxsim[0][j] })).sort((a, b) => b.s - a.s).slice(0, 2);
    expect(r.json.results.map((x: { index: number }) => x.index)).toEqual(want.map((w) => w.k));
  });
});
