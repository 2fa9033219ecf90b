// The coalescer on its own, against a recording fake engine (no GPU): concurrent requests share
// one engine call, the token budget splits batches, results go back to the right request, pooling
// options never mix, a failing batch fails only the request that caused it, and a full queue
// answers QueueFullError (HTTP 503).

import { describe, expect, it } from 'vitest';
import { Batcher } from '../../src/server/batcher.js';
import type { EncodeOptions, Encoded, ServerEngine } from '../../src/server/engine.js';
import { QueueFullError } from '../../src/server/errors.js';

/** Dense vector of an input = [first id, length]; token id 666 makes a batch throw. */
function fakeEngine() {
  const calls: { inputs: number[][]; opts: EncodeOptions }[] = [];
  let gate: Promise<void> = Promise.resolve();
  const engine: ServerEngine = {
    info: { maxLength: 64, normalize: true, outputs: { dense: 2, tokens: 2, tokensHead: 'hidden', sparse: false } },
    vocabSize: 1000,
    tokenize: (texts) => texts.map((t) => [1, ...Array.from(t, (c) => c.charCodeAt(0)), 2]),
    async encode(inputs, opts): Promise<Encoded> {
      calls.push({ inputs, opts });
      await gate;
      if (inputs.some((x) => x.includes(666))) throw new Error('poisoned input');
      return { dense: inputs.map((x) => Float32Array.of(x[0]!, x.length)), tokenCounts: inputs.map((x) => x.length) };
    },
    dispose() {},
  };
  return {
    engine,
    calls,
    hold() {
      let open!: () => void;
      gate = new Promise((r) => (open = r));
      return () => open();
    },
  };
}

const ids = (first: number, len: number) => [first, ...new Array(len - 1).fill(5)];

describe('Batcher', () => {
  it('merges requests that arrive together into one engine call and splits the results back', async () => {
    const f = fakeEngine();
    const b = new Batcher(f.engine, { maxBatchTokens: 1000, maxQueueInputs: 100 });
    const reqs = Array.from({ length: 10 }, (_, r) => b.submit([ids(r * 10, 3), ids(r * 10 + 1, 4)], { dense: true, normalize: true }));
    const res = await Promise.all(reqs);
    expect(f.calls.length).toBe(1);
    expect(f.calls[0]!.inputs.length).toBe(20);
    res.forEach((e, r) => {
      expect(Array.from(e.dense![0]!)).toEqual([r * 10, 3]);
      expect(Array.from(e.dense![1]!)).toEqual([r * 10 + 1, 4]);
      expect(e.tokenCounts).toEqual([3, 4]);
    });
  });

  it('queues requests while a batch runs, then runs them together (continuous batching)', async () => {
    const f = fakeEngine();
    const b = new Batcher(f.engine, { maxBatchTokens: 1000, maxQueueInputs: 100 });
    const open = f.hold();
    const first = b.submit([ids(1, 2)], { dense: true });
    await new Promise((r) => setTimeout(r, 5)); // first batch is now in the engine
    const later = Array.from({ length: 5 }, (_, r) => b.submit([ids(100 + r, 2)], { dense: true }));
    expect(b.depth).toBe(5);
    open();
    await Promise.all([first, ...later]);
    expect(f.calls.map((c) => c.inputs.length)).toEqual([1, 5]);
    expect(b.depth).toBe(0);
  });

  it('keeps batches within the token budget, splitting a request across batches when needed', async () => {
    const f = fakeEngine();
    const b = new Batcher(f.engine, { maxBatchTokens: 10, maxQueueInputs: 100 });
    const r1 = b.submit([ids(1, 4), ids(2, 4), ids(3, 4)], { dense: true });
    const r2 = b.submit([ids(4, 6)], { dense: true });
    const [a, c] = await Promise.all([r1, r2]);
    for (const call of f.calls) expect(call.inputs.reduce((s, x) => s + x.length, 0)).toBeLessThanOrEqual(10);
    expect(f.calls.map((c) => c.inputs.map((x) => x[0]))).toEqual([[1, 2], [3, 4]]);
    expect(a.dense!.map((v) => v[0])).toEqual([1, 2, 3]);
    expect(c.dense!.map((v) => v[0])).toEqual([4]);
  });

  it('never mixes different pooling options in one call, and asks for the union of outputs', async () => {
    const f = fakeEngine();
    const b = new Batcher(f.engine, { maxBatchTokens: 1000, maxQueueInputs: 100 });
    await Promise.all([
      b.submit([ids(1, 2)], { dense: true, normalize: true }),
      b.submit([ids(2, 2)], { dense: true, normalize: true, dimensions: 1 }),
      b.submit([ids(3, 2)], { tokens: true, normalize: true }),
      b.submit([ids(4, 2)], { dense: true, normalize: false }),
    ]);
    const byFirst = f.calls.map((c) => ({ firsts: c.inputs.map((x) => x[0]), o: c.opts }));
    expect(byFirst.length).toBe(3);
    expect(byFirst[0]).toEqual({ firsts: [1, 3], o: { dense: true, sparse: false, tokens: true, normalize: true, dimensions: undefined } });
    expect(byFirst[1]!.firsts).toEqual([2]);
    expect(byFirst[1]!.o.dimensions).toBe(1);
    expect(byFirst[2]!.firsts).toEqual([4]);
    expect(byFirst[2]!.o.normalize).toBe(false);
  });

  it('a failing batch fails only the request that poisoned it', async () => {
    const f = fakeEngine();
    const b = new Batcher(f.engine, { maxBatchTokens: 1000, maxQueueInputs: 100 });
    const good1 = b.submit([ids(1, 3)], { dense: true });
    const bad = b.submit([ids(2, 3), [666, 1]], { dense: true });
    const good2 = b.submit([ids(3, 3)], { dense: true });
    await expect(bad).rejects.toThrow('poisoned input');
    expect((await good1).dense![0]![0]).toBe(1);
    expect((await good2).dense![0]![0]).toBe(3);
    // One merged call that failed, then one call per request.
    expect(f.calls.map((c) => c.inputs.length)).toEqual([4, 1, 2, 1]);
  });

  it('refuses work past the queue bound with QueueFullError (503 + Retry-After)', async () => {
    const f = fakeEngine();
    const b = new Batcher(f.engine, { maxBatchTokens: 1000, maxQueueInputs: 3, retryAfterS: 2 });
    const open = f.hold();
    const running = b.submit([ids(1, 2)], { dense: true });
    await new Promise((r) => setTimeout(r, 5));
    const queued = b.submit([ids(2, 2), ids(3, 2)], { dense: true });
    let err: unknown;
    try {
      void b.submit([ids(4, 2), ids(5, 2)], { dense: true });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(QueueFullError);
    expect((err as QueueFullError).status).toBe(503);
    expect((err as QueueFullError).headers['retry-after']).toBe('2');
    open();
    await Promise.all([running, queued]);
    await b.idle();
    expect(b.depth).toBe(0);
  });
});
