// model.encode: every output from one encoder pass per packed batch (FlagEmbedding's
// BGEM3FlagModel.encode with return_dense / return_sparse / return_colbert_vecs), equal to the
// single-output calls and to the float64 goldens; token-id inputs; the hybrid score.

import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { join } from 'node:path';
import { BGE_M3_WEIGHTS, hybridScore, loadModel, type Model } from '../../src/index.node.js';
import { Forward } from '../../src/embed/forward.js';
import { chosenVariants } from '../../src/gpu/variants.js';
import { FIXTURES, goldenTensor, readGolden } from '../util/golden.js';
import { expectClose, expectRowCosine } from '../util/compare.js';

const g = readGolden('bge-m3-tiny');
const texts = Object.entries(g.groups).flatMap(([group, items]) => items.map((t, index) => ({ group, index, text: t.text })));

describe('encode (bge-m3-tiny)', () => {
  let model: Model;
  beforeAll(async () => {
    model = await loadModel(join(FIXTURES, 'bge-m3-tiny'));
  });
  afterAll(() => model?.dispose());

  it('runs the encoder once per packed batch for all three outputs', async () => {
    const run = vi.spyOn(Forward.prototype, 'run');
    try {
      const out = await model.encode(texts.map((t) => t.text), { dense: true, sparse: true, tokens: true });
      // Every fixture text fits one token budget: one packed batch, so exactly one forward.
      expect(run).toHaveBeenCalledTimes(1);
      expect(out.dense).toHaveLength(texts.length);
      expect(out.sparse).toHaveLength(texts.length);
      expect(out.tokens).toHaveLength(texts.length);
    } finally {
      run.mockRestore();
    }
  });

  it('equals embed, sparse and embedTokens exactly (same kernels, same arithmetic)', async () => {
    const t = texts.map((x) => x.text);
    const all = await model.encode(t, { dense: true, sparse: true, tokens: true });
    const [dense, sparse, tokens] = [await model.embed(t), await model.sparse(t), await model.embedTokens(t)];
    t.forEach((_, i) => {
      expect(all.dense![i]).toEqual(dense[i]);
      expect(all.sparse![i]).toEqual(sparse[i]);
      expect(all.tokens![i].shape).toEqual(tokens[i].shape);
      expect(all.tokens![i].data).toEqual(tokens[i].data);
      expect(all.tokens![i].tokenIds).toEqual(tokens[i].tokenIds);
    });
    expect(all.tokenCounts).toEqual(texts.map((x) => g.groups[x.group][x.index].ids.length));
  });

  it('matches the float64 goldens (dense, colbert, lexical weights)', async () => {
    const all = await model.encode(texts.map((x) => x.text), { dense: true, sparse: true, tokens: true });
    texts.forEach((t, i) => {
      const d = goldenTensor(g, t.group, t.index, 'dense');
      // Normalized f32 outputs of a 2-layer f32 forward: 2e-5 absolute, as the golden tests.
      expectClose(all.dense![i], d.data, { atol: 2e-5, shape: d.shape, label: `dense ${t.group}/${t.index}` });
      const c = goldenTensor(g, t.group, t.index, 'colbert');
      expectClose(all.tokens![i].data, c.data, { atol: 2e-5, shape: c.shape, label: `colbert ${t.group}/${t.index}` });
      expectRowCosine(all.tokens![i].data, c.data, c.shape[1], 0.99999, `colbert ${t.group}/${t.index}`);
      const ref = g.groups[t.group][t.index].lexical_weights!;
      expect(Object.keys(all.sparse![i]).sort()).toEqual(Object.keys(ref).sort());
      const keys = Object.keys(ref);
      // Weights are relu outputs of O(1) size: 1e-4 absolute.
      expectClose(keys.map((k) => all.sparse![i][k]), keys.map((k) => ref[k]), { atol: 1e-4, label: `lexical ${t.group}/${t.index}` });
    });
  });

  it('takes token ids as inputs (used as given) next to texts', async () => {
    const ids = g.groups.queries[0].ids;
    const byText = await model.encode([g.groups.queries[0].text], { dense: true, tokens: true });
    const mixed = await model.encode([ids, g.groups.documents[0].text], { dense: true, tokens: true });
    expect(mixed.dense![0]).toEqual(byText.dense![0]);
    expect(mixed.tokens![0].data).toEqual(byText.tokens![0].data);
    expect(mixed.tokenCounts[0]).toBe(ids.length);
    await expect(model.encode([[1, 2, 10_000_000]])).rejects.toThrow(/inputs\[0\]\[2\] = 10000000 is not a token id/);
    await expect(model.encode([[]])).rejects.toThrow(/non-empty array of token ids/);
  });

  it('reports the kernel forms the load-time probe chose', () => {
    const v = chosenVariants(model.gpu)!;
    expect(v).toBeDefined();
    expect(model.info.kernels).toEqual({ matmul: v.matmul, attention: v.attention });
    // Where subgroups work, both forms were timed and the faster won (gpu/variants.ts).
    if (model.gpu.features.subgroups) expect(Object.keys(v.timings.matmul).sort()).toEqual(['sg', 'tiled']);
  });

  it('dense only by default; [] gives []', async () => {
    const out = await model.encode(['hello']);
    expect(Object.keys(out).sort()).toEqual(['dense', 'tokenCounts']);
    expect((await model.encode([], { dense: true, sparse: true })).dense).toEqual([]);
  });

  it('hybridScore is FlagEmbedding compute_score over the golden dense, sparse and colbert scores', async () => {
    const q = await model.encode(g.groups.queries.map((t) => t.text), { dense: true, sparse: true, tokens: true });
    const d = await model.encode(g.groups.documents.map((t) => t.text), { dense: true, sparse: true, tokens: true });
    const part = (o: typeof q, i: number) => ({ dense: o.dense![i], sparse: o.sparse![i], tokens: o.tokens![i] });
    const got: number[] = [];
    const want: number[] = [];
    const [wd, ws, wc] = BGE_M3_WEIGHTS;
    g.groups.queries.forEach((_, i) =>
      g.groups.documents.forEach((_, j) => {
        got.push(hybridScore(part(q, i), part(d, j)));
        want.push((wd * g.scores.dense[i][j] + ws * g.scores.sparse[i][j] + wc * g.scores.colbert[i][j]) / (wd + ws + wc));
      }),
    );
    // Each part is within 1e-4 of its golden score (see the golden tests), so the mix is too.
    expectClose(got, want, { atol: 1e-4, label: 'hybrid scores' });
    expect(() => hybridScore({ dense: q.dense![0] }, { dense: d.dense![0] })).toThrow(/weight 0.2 on "sparse"/);
    expect(hybridScore({ dense: q.dense![0] }, { dense: d.dense![0] }, [1, 0, 0])).toBeCloseTo(g.scores.dense[0][0], 4);
  });
});
