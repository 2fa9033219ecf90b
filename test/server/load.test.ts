// Bounded load test on loopback: autocannon sends a fixed number of /v1/embeddings requests over
// many connections at once; every response must be 200 and hold the vector model.embed gives for
// the text that request sent (nothing dropped, nothing mixed up between coalesced requests), and
// the batcher must have merged requests (fewer engine batches than requests).

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import autocannon from 'autocannon';
import type { Model } from '../../src/index.node.js';
import { engineFromModel, fixtureTexts, loadFixture, startServer, type Running } from './helpers.js';

const REQUESTS = 240;
const CONNECTIONS = 24;

describe('bounded load test (autocannon, 127.0.0.1)', () => {
  let model: Model;
  let srv: Running;
  beforeAll(async () => {
    model = await loadFixture('bge-m3-tiny');
    srv = await startServer(engineFromModel(model));
  });
  afterAll(async () => {
    await srv?.close();
    model?.dispose();
  });

  it(`${REQUESTS} requests over ${CONNECTIONS} connections: all 200, each with its own text's vector`, async () => {
    const texts = fixtureTexts('bge-m3-tiny');
    const expected = await model.embed(texts);
    let sent = 0;
    let checked = 0;
    const wrong: string[] = [];
    const result = await autocannon({
      url: srv.url,
      connections: CONNECTIONS,
      amount: REQUESTS,
      timeout: 30,
      requests: [
        {
          method: 'POST',
          path: '/v1/embeddings',
          headers: { 'content-type': 'application/json' },
          setupRequest: (req, context: object) => {
            const i = sent++ % texts.length;
            (context as { i: number }).i = i;
            return { ...req, body: JSON.stringify({ input: texts[i], model: 'test-model' }) };
          },
          onResponse: (status, body, context: object) => {
            const i = (context as { i: number }).i;
            checked++;
            if (status !== 200) return void wrong.push(`text ${i}: status ${status} ${body}`);
            const got: number[] = JSON.parse(body).data[0].embedding;
            const want = expected[i]!;
            let worst = 0;
            for (let k = 0; k < want.length; k++) worst = Math.max(worst, Math.abs(got[k]! - want[k]!));
            // 1e-6: same kernels as model.embed; only the batch neighbours differ (see server.test.ts).
            if (!(got.length === want.length && worst <= 1e-6)) wrong.push(`text ${i}: worst |Δ| ${worst}`);
          },
        },
      ],
    });
    expect(wrong).toEqual([]);
    expect(checked).toBe(REQUESTS);
    expect(result.errors).toBe(0);
    expect(result.timeouts).toBe(0);
    expect(result.non2xx).toBe(0);
    expect(result['2xx']).toBe(REQUESTS);
    const stats = srv.app.ctx.batcher.stats;
    expect(stats.inputs).toBe(REQUESTS);
    expect(stats.batches).toBeLessThan(REQUESTS);
    console.log(`load: ${REQUESTS} requests in ${stats.batches} batches, ${result.requests.average.toFixed(0)} req/s, p50 ${result.latency.p50} ms, p99 ${result.latency.p99} ms`);
  });
});
