// The HTTP server over real fixture models on 127.0.0.1: the official OpenAI client (float and
// base64) gets model.embed's vectors; /pooling, /score, /rerank, /v1/models, /health, /metrics
// answer vLLM's shapes with the engine's values; errors and limits (400, 401, 404, 413, 503)
// come in OpenAI's error shape; a bad request never disturbs the good ones batched with it.
//
// Tolerance: the server runs the same engine and kernels as model.embed, but a request's inputs
// may be packed with other requests' inputs; per-token work does not depend on the neighbours,
// so vectors are compared at 1e-6 absolute (float32 unit roundoff on unit vectors), which holds
// whether or not the GPU's reductions are bit-identical across batch shapes.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import OpenAI from 'openai';
import { maxSim, type Model } from '../../src/index.node.js';
import type { ServerEngine } from '../../src/server/engine.js';
import { expectClose } from '../util/compare.js';
import { engineFromModel, errorMessage, fixtureTexts, loadFixture, longText, post, startServer, type Running } from './helpers.js';

const TOL = { atol: 1e-6 };

describe('server over bge-m3-tiny (dense + ColBERT + sparse heads)', () => {
  let model: Model;
  let srv: Running;
  let client: OpenAI;
  const texts = fixtureTexts('bge-m3-tiny');

  beforeAll(async () => {
    model = await loadFixture('bge-m3-tiny');
    srv = await startServer(engineFromModel(model), { maxInputsPerRequest: 64 });
    client = new OpenAI({ baseURL: `${srv.url}/v1`, apiKey: 'unused', maxRetries: 0 });
  });
  afterAll(async () => {
    await srv?.close();
    model?.dispose();
  });

  it('OpenAI client, encoding_format float: vectors equal model.embed', async () => {
    const expected = await model.embed(texts);
    const res = await client.embeddings.create({ model: 'test-model', input: texts, encoding_format: 'float' });
    expect(res.object).toBe('list');
    expect(res.model).toBe('test-model');
    expect(res.data.map((d) => d.index)).toEqual(texts.map((_, i) => i));
    res.data.forEach((d, i) => {
      expect(d.object).toBe('embedding');
      expectClose(d.embedding, expected[i]!, { ...TOL, label: `text ${i}` });
    });
    const ids = await model.tokenize(texts);
    const n = ids.reduce((a, x) => a + x.length, 0);
    expect(res.usage).toEqual({ prompt_tokens: n, total_tokens: n, completion_tokens: 0, prompt_tokens_details: null });
  });

  it('OpenAI client, encoding_format base64 (little-endian f32): same vectors as float', async () => {
    const floats = await post(srv.url, '/v1/embeddings', { input: texts.slice(0, 5), encoding_format: 'float' });
    const res = await client.embeddings.create({ model: 'test-model', input: texts.slice(0, 5), encoding_format: 'base64' });
    // The client returns the base64 string when asked for base64; decode it as the client does by default.
    res.data.forEach((d, i) => {
      const bytes = Buffer.from(d.embedding as unknown as string, 'base64');
      const v = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4);
      expect(Array.from(v)).toEqual(floats.json.data[i].embedding);
    });
    // With no encoding_format the client asks for base64 itself and decodes it to numbers.
    const auto = await client.embeddings.create({ model: 'test-model', input: texts.slice(0, 5) });
    auto.data.forEach((d, i) => expect(d.embedding).toEqual(floats.json.data[i].embedding));
  });

  it('token-id inputs (one list or a list of lists) embed like the text they came from', async () => {
    const ids = await model.tokenize(texts.slice(0, 3));
    const expected = await model.embed(texts.slice(0, 3));
    const many = await client.embeddings.create({ model: 'test-model', input: ids, encoding_format: 'float' });
    many.data.forEach((d, i) => expectClose(d.embedding, expected[i]!, TOL));
    const one = await client.embeddings.create({ model: 'test-model', input: ids[1]!, encoding_format: 'float' });
    expect(one.data.length).toBe(1);
    expectClose(one.data[0]!.embedding, expected[1]!, TOL);
    expect(one.usage.prompt_tokens).toBe(ids[1]!.length);
  });

  it('dimensions: the first k features, renormalized (as model.embed does)', async () => {
    const expected = await model.embed(texts.slice(0, 2), { dimensions: 16 });
    const res = await client.embeddings.create({ model: 'test-model', input: texts.slice(0, 2), dimensions: 16, encoding_format: 'float' });
    res.data.forEach((d, i) => {
      expect(d.embedding.length).toBe(16);
      expectClose(d.embedding, expected[i]!, TOL);
    });
    const tooWide = await post(srv.url, '/v1/embeddings', { input: 'a', dimensions: 65 });
    expect(errorMessage(tooWide.json, 400)).toMatch(/dimensions must be at most 64/);
  });

  it('over-long inputs: 400 as vLLM says it, unless truncate_prompt_tokens asks for truncation', async () => {
    const long = longText('bge-m3-tiny');
    const refused = await post(srv.url, '/v1/embeddings', { input: ['short', long.text] });
    expect(refused.status).toBe(400);
    expect(errorMessage(refused.json, 400)).toContain(`maximum context length is ${long.maxLen} tokens. However, you requested ${long.untruncated} tokens`);
    // -1: truncate to the model's maximum, exactly as model.embed truncates.
    const [expected] = await model.embed([long.text]);
    const cut = await post(srv.url, '/v1/embeddings', { input: long.text, truncate_prompt_tokens: -1 });
    expect(cut.status).toBe(200);
    expect(cut.json.usage.prompt_tokens).toBe(long.maxLen);
    expectClose(cut.json.data[0].embedding, expected!, TOL);
    // k: keep the first k - 1 tokens and the final </s>.
    const ids = (await model.tokenize([long.text]))[0]!;
    const ten = [...ids.slice(0, 9), ids[ids.length - 1]!];
    const byIds = await post(srv.url, '/v1/embeddings', { input: ten });
    const k = await post(srv.url, '/v1/embeddings', { input: long.text, truncate_prompt_tokens: 10 });
    expect(k.json.usage.prompt_tokens).toBe(10);
    expect(k.json.data[0].embedding).toEqual(byIds.json.data[0].embedding);
    const tooBig = await post(srv.url, '/v1/embeddings', { input: 'a', truncate_prompt_tokens: 500 });
    expect(errorMessage(tooBig.json, 400)).toMatch(/truncate_prompt_tokens value \(500\) is greater than max_model_len \(128\)/);
  });

  it('/pooling: embed, token_embed (= model.embedTokens) and sparse (= model.sparse)', async () => {
    const some = texts.slice(0, 4);
    const dense = await model.embed(some);
    const tok = await model.embedTokens(some);
    const sparse = await model.sparse(some);
    const e = await post(srv.url, '/pooling', { input: some, task: 'embed' });
    expect(e.status).toBe(200);
    expect(e.json).toMatchObject({ object: 'list', model: 'test-model', usage: { prompt_tokens: expect.any(Number) } });
    expect(e.json.id).toMatch(/^pool-/);
    e.json.data.forEach((d: any, i: number) => {
      expect(d).toMatchObject({ index: i, object: 'pooling' });
      expectClose(d.data, dense[i]!, TOL);
    });
    const t = await post(srv.url, '/pooling', { input: some, task: 'token_embed' });
    t.json.data.forEach((d: any, i: number) => {
      expect([d.data.length, d.data[0].length]).toEqual(tok[i]!.shape);
      expectClose(d.data.flat(), tok[i]!.data, TOL);
    });
    const tb = await post(srv.url, '/pooling', { input: some, task: 'token_embed', encoding_format: 'base64' });
    tb.json.data.forEach((d: any, i: number) => {
      const b = Buffer.from(d.data, 'base64');
      expect(Array.from(new Float32Array(b.buffer, b.byteOffset, b.length / 4))).toEqual(t.json.data[i].data.flat());
    });
    const s = await post(srv.url, '/pooling', { input: some, task: 'sparse' });
    s.json.data.forEach((d: any, i: number) => {
      expect(Object.keys(d.data).sort()).toEqual(Object.keys(sparse[i]!).sort());
      for (const k of Object.keys(d.data)) expect(Math.abs(d.data[k] - sparse[i]![k]!)).toBeLessThanOrEqual(1e-6);
    });
  });

  it('/score and /rerank with a ColBERT head: MaxSim summed over query tokens (vLLM)', async () => {
    const query = 'What is the capital of France?';
    const docs = texts.slice(7, 12);
    const [q, ...d] = await model.embedTokens([query, ...docs]);
    const expected = d.map((x) => maxSim(q!, x, { reduce: 'sum' }));
    const s = await post(srv.url, '/score', { text_1: query, text_2: docs });
    expect(s.status).toBe(200);
    expect(s.json).toMatchObject({ object: 'list', model: 'test-model' });
    expect(s.json.id).toMatch(/^score-/);
    s.json.data.forEach((x: any, i: number) => {
      expect(x).toMatchObject({ index: i, object: 'score' });
      expect(Math.abs(x.score - expected[i]!)).toBeLessThanOrEqual(1e-5);
    });
    const ids = await model.tokenize([query, ...docs]);
    const tokens = ids.slice(1).reduce((a, x) => a + x.length + ids[0]!.length, 0);
    expect(s.json.usage.prompt_tokens).toBe(tokens);

    const order = expected.map((v, i) => [v, i] as const).sort((a, b) => b[0] - a[0]);
    for (const path of ['/rerank', '/v1/rerank']) {
      const r = await post(srv.url, path, { query, documents: docs, top_n: 3 });
      expect(r.status).toBe(200);
      expect(Object.keys(r.json).sort()).toEqual(['id', 'model', 'results', 'usage']);
      expect(r.json.usage).toEqual({ prompt_tokens: tokens, total_tokens: tokens });
      expect(r.json.results.map((x: any) => x.index)).toEqual(order.slice(0, 3).map((o) => o[1]));
      r.json.results.forEach((x: any) => {
        expect(x.document).toEqual({ text: docs[x.index] });
        expect(Math.abs(x.relevance_score - expected[x.index]!)).toBeLessThanOrEqual(1e-5);
      });
    }
    // N:N pairs, and vLLM's length rule.
    const nn = await post(srv.url, '/score', { queries: [query, docs[0]], documents: [docs[1], docs[2]] });
    expect(nn.json.data.length).toBe(2);
    const bad = await post(srv.url, '/score', { text_1: ['a', 'b'], text_2: ['c', 'd', 'e'] });
    expect(errorMessage(bad.json, 400)).toBe('Input lengths must be either 1:1, 1:N or N:N');
  });

  it('a bad request never disturbs the good requests batched with it', async () => {
    const long = longText('bge-m3-tiny');
    const expected = await model.embed(texts);
    const good = texts.map((t) => post(srv.url, '/v1/embeddings', { input: t }));
    const bad = [
      post(srv.url, '/v1/embeddings', { input: long.text }),
      post(srv.url, '/v1/embeddings', { input: [[1, 2, 99999]] }),
      post(srv.url, '/v1/embeddings', { input: [] }),
      post(srv.url, '/v1/embeddings', { input: 'x', dimensions: 0 }),
      post(srv.url, '/v1/embeddings', '{"input": "unterminated'),
      post(srv.url, '/v1/embeddings', { input: 'x', model: 'other-model' }),
    ];
    const goodRes = await Promise.all(good);
    goodRes.forEach((r, i) => {
      expect(r.status).toBe(200);
      expectClose(r.json.data[0].embedding, expected[i]!, TOL);
    });
    const badRes = await Promise.all(bad);
    expect(badRes.map((r) => r.status)).toEqual([400, 400, 400, 400, 400, 404]);
    badRes.forEach((r) => errorMessage(r.json, r.status));
    expect(errorMessage(badRes[5]!.json, 404)).toBe('The model `other-model` does not exist.');
    expect(errorMessage(badRes[2]!.json, 400)).toMatch(/input must be a non-empty string/);
  });

  it('/v1/models, /health and /metrics', async () => {
    const models = await client.models.list();
    expect(models.data.length).toBe(1);
    expect(models.data[0]).toMatchObject({ id: 'test-model', object: 'model', owned_by: 'webgpu-embed', max_model_len: 128 });
    const h = await fetch(`${srv.url}/health`);
    expect(h.status).toBe(200);
    const m = await fetch(`${srv.url}/metrics`);
    expect(m.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await m.text();
    expect(text).toMatch(/webgpu_embed_requests_total\{endpoint="\/v1\/embeddings",status="200"\} \d+/);
    expect(text).toMatch(/webgpu_embed_requests_total\{endpoint="\/v1\/embeddings",status="400"\} \d+/);
    expect(text).toMatch(/webgpu_embed_prompt_tokens_total\{endpoint="\/v1\/embeddings"\} \d+/);
    expect(text).toMatch(/webgpu_embed_queue_inputs 0/);
    expect(text).toMatch(/webgpu_embed_batch_inputs_count \d+/);
    expect(text).toMatch(/webgpu_embed_request_duration_seconds_bucket\{le="0\.1",endpoint="\/score"\} \d+/);
  });

  it('limits: inputs per request (400), body size (413), unknown route (404)', async () => {
    const many = await post(srv.url, '/v1/embeddings', { input: new Array(65).fill('a') });
    expect(errorMessage(many.json, 400)).toMatch(/too many inputs: input has 65; this server takes at most 64/);
    const huge = await post(srv.url, '/v1/embeddings', { input: 'a'.repeat(9 * 1024 * 1024) });
    expect(huge.status).toBe(413);
    errorMessage(huge.json, 413);
    const none = await post(srv.url, '/v1/chat/completions', { messages: [] });
    expect(errorMessage(none.json, 404)).toMatch(/no route POST \/v1\/chat\/completions/);
  });
});

describe('server over bert-mean (dense only): cosine scores', () => {
  let model: Model;
  let srv: Running;
  beforeAll(async () => {
    model = await loadFixture('bert-mean');
    srv = await startServer(engineFromModel(model));
  });
  afterAll(async () => {
    await srv?.close();
    model?.dispose();
  });

  it('/score and /rerank give the cosine of the dense embeddings', async () => {
    const texts = fixtureTexts('bert-mean');
    const query = texts[4]!;
    const docs = texts.slice(7, 13);
    const [q, ...d] = await model.embed([query, ...docs]);
    const expected = d.map((x) => x.reduce((a, v, i) => a + v * q![i]!, 0));
    const s = await post(srv.url, '/score', { text_1: query, text_2: docs });
    s.json.data.forEach((x: any, i: number) => expect(Math.abs(x.score - expected[i]!)).toBeLessThanOrEqual(1e-5));
    const r = await post(srv.url, '/rerank', { query, documents: docs });
    expect(r.json.results.length).toBe(docs.length);
    const sorted = [...expected].sort((a, b) => b - a);
    r.json.results.forEach((x: any, i: number) => expect(Math.abs(x.relevance_score - sorted[i]!)).toBeLessThanOrEqual(1e-5));
  });

  it('/pooling task sparse on a model without a sparse head: 400 naming the fix', async () => {
    const r = await post(srv.url, '/pooling', { input: 'a', task: 'sparse' });
    expect(errorMessage(r.json, 400)).toMatch(/needs a model with a sparse head/);
  });

  it('--api-key: 401 without the Bearer key, 200 with it; /health stays open', async () => {
    const locked = await startServer(engineFromModel(model), { apiKey: 'sekret' });
    try {
      const none = await post(locked.url, '/v1/embeddings', { input: 'a' });
      expect(none.status).toBe(401);
      expect(errorMessage(none.json, 401)).toMatch(/Missing API key/);
      const wrong = await post(locked.url, '/v1/embeddings', { input: 'a' }, { authorization: 'Bearer nope' });
      expect(errorMessage(wrong.json, 401)).toMatch(/Incorrect API key/);
      const client = new OpenAI({ baseURL: `${locked.url}/v1`, apiKey: 'sekret', maxRetries: 0 });
      const ok = await client.embeddings.create({ model: 'test-model', input: 'a', encoding_format: 'float' });
      expect(ok.data[0]!.embedding.length).toBe(model.info.outputs.dense);
      const bad = new OpenAI({ baseURL: `${locked.url}/v1`, apiKey: 'wrong', maxRetries: 0 });
      await expect(bad.embeddings.create({ model: 'test-model', input: 'a' })).rejects.toMatchObject({ status: 401 });
      expect((await fetch(`${locked.url}/health`)).status).toBe(200);
    } finally {
      await locked.close();
    }
  });

  it('queue full: 503 with Retry-After while the engine is busy; queued requests still finish', async () => {
    // The real engine behind a gate, so the queue fills deterministically.
    const real = engineFromModel(model);
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    const gated: ServerEngine = { ...real, encode: async (inputs, o) => (await gate, real.encode(inputs, o)) };
    const busy = await startServer(gated, { maxQueueInputs: 2 });
    try {
      const first = post(busy.url, '/v1/embeddings', { input: 'first' }); // taken into the (blocked) batch
      await new Promise((r) => setTimeout(r, 100));
      const queued = post(busy.url, '/v1/embeddings', { input: ['second', 'third'] }); // fills the queue
      await new Promise((r) => setTimeout(r, 100));
      const refused = await post(busy.url, '/v1/embeddings', { input: 'fourth' });
      expect(refused.status).toBe(503);
      expect(refused.headers.get('retry-after')).toBe('1');
      expect(errorMessage(refused.json, 503)).toMatch(/server is busy: 2 inputs are queued \(limit 2\)/);
      open();
      const [a, b] = await Promise.all([first, queued]);
      expect([a.status, b.status]).toEqual([200, 200]);
      const expected = await model.embed(['first', 'second', 'third']);
      expectClose(a.json.data[0].embedding, expected[0]!, TOL);
      expectClose(b.json.data[1].embedding, expected[2]!, TOL);
    } finally {
      open();
      await busy.close();
    }
  });
});

describe('server with a cross-encoder (fake engine: model.score is not on main yet)', () => {
  it('/score and /rerank use engine.score (its logits), not embeddings', async () => {
    const calls: Array<[string, string[]]> = [];
    const engine: ServerEngine = {
      info: { maxLength: 32, normalize: false, outputs: { dense: 4, tokens: 4, tokensHead: 'hidden', sparse: false }, task: 'score' },
      vocabSize: 100,
      tokenize: (ts) => ts.map((t) => [1, ...Array.from(t, () => 5), 2]),
      encode: async () => {
        throw new Error('a cross-encoder must not be asked for embeddings here');
      },
      score: async (q, docs) => {
        calls.push([q, docs]);
        return docs.map((d) => d.length - q.length);
      },
      dispose() {},
    };
    const srv = await startServer(engine);
    try {
      const s = await post(srv.url, '/score', { text_1: 'abc', text_2: ['a', 'abcdef', 'abcd'] });
      expect(s.json.data.map((x: any) => x.score)).toEqual([-2, 3, 1]);
      expect(s.json.usage.prompt_tokens).toBe(3 * 5 + 3 + 8 + 6);
      const r = await post(srv.url, '/rerank', { query: 'abc', documents: ['a', 'abcdef', 'abcd'], top_n: 2 });
      expect(r.json.results).toEqual([
        { index: 1, document: { text: 'abcdef' }, relevance_score: 3 },
        { index: 2, document: { text: 'abcd' }, relevance_score: 1 },
      ]);
      const nn = await post(srv.url, '/score', { text_1: ['ab', 'a'], text_2: ['abc', 'abcde'] });
      expect(nn.json.data.map((x: any) => x.score)).toEqual([1, 4]);
      expect(calls).toEqual([
        ['abc', ['a', 'abcdef', 'abcd']],
        ['abc', ['a', 'abcdef', 'abcd']],
        ['ab', ['abc']],
        ['a', ['abcde']],
      ]);
    } finally {
      await srv.close();
    }
  });
});
