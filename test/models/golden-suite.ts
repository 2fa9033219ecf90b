// The golden checks every architecture's fixture runs (test/models/golden-<family>.test.ts): load
// from the real file layout, token ids, last hidden states, the sentence-transformers embedding,
// query × document scores, and batch independence (packed results equal one-at-a-time results).
// Fixture-specific checks (ModernBERT's window texts, Qwen3's prompts) live in each test file.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { dot, loadModel, type Model } from '../../src/index.node.js';
import { cosine, expectClose, expectRowCosine } from '../util/compare.js';
import { fixtureFiles } from '../util/fixture-files.js';
import { FIXTURES, goldenTensor, readGolden, type Golden } from '../util/golden.js';

export interface SuiteText {
  group: string;
  index: number;
  text: string;
}

/**
 * golden.json `id_inputs`: long token-id sequences (past sentence_bert_config's max_seq_length)
 * checked through hiddenStates on the model loaded without that file, against `ids/i/hidden`.
 */
export function longIdsCheck(name: string): void {
  it('long token-id sequences (length cap lifted) match their hidden states', async () => {
    const g = readGolden(name);
    const inputs = (g as unknown as { id_inputs: { ids: number[] }[] }).id_inputs;
    expect(inputs.length).toBeGreaterThan(0);
    const model = await loadModel(fixtureFiles(name, ['sentence_bert_config.json']));
    try {
      expect(model.info.maxLength).toBeGreaterThan(Math.max(...inputs.map((x) => x.ids.length)));
      const out = await model.hiddenStates(inputs.map((x) => x.ids));
      inputs.forEach((x, i) => {
        const ref = goldenTensor(g, 'ids', i, 'hidden');
        expect(out[i].shape).toEqual(ref.shape);
        // As the text goldens: f32 through 2–3 layers, 1e-4 of the largest value (longer softmax
        // sums add ~log2(T) ulps, far below that).
        expectClose(out[i].data, ref.data, { rtolMax: 1e-4, shape: ref.shape, label: `${name} ids/${i} (${x.ids.length} tokens)` });
      });
    } finally {
      model.dispose();
    }
  });
}

export function allTexts(g: Golden): SuiteText[] {
  return Object.entries(g.groups).flatMap(([group, items]) => items.map((t, index) => ({ group, index, text: t.text })));
}

/** Runs the common golden checks on `name`; `extra(get)` adds the fixture's own `it`s. */
export function goldenSuite(name: string, family: string, extra?: (get: () => { model: Model; g: Golden }) => void): void {
  describe(`golden ${name} (${family}, f32 math)`, () => {
    const g = readGolden(name);
    const texts = allTexts(g);
    let model: Model;
    const logs: string[] = [];
    beforeAll(async () => {
      model = await loadModel(join(FIXTURES, name), { log: (m) => logs.push(m) });
    });
    afterAll(() => model?.dispose());

    it('loads every checkpoint key and reports its configuration', () => {
      // Strict loading: nothing in these checkpoints is unused.
      expect(logs.filter((l) => l.startsWith('unused checkpoint keys'))).toEqual([]);
      expect(model.info.architecture).toBe(family);
      expect(model.info.maxLength).toBe(g.max_len);
      expect(model.info.pooling).toBe(g.pooling === 'lasttoken' ? 'last' : g.pooling);
      expect(model.info.normalize).toBe(g.normalize);
    });

    it('tokenize matches golden ids (after truncation) for every text', async () => {
      const ids = await model.tokenize(texts.map((t) => t.text));
      texts.forEach((t, i) => expect(ids[i], `${t.group}/${t.index}`).toEqual(g.groups[t.group][t.index].ids));
    });

    it('hiddenStates matches last_hidden_state for every text', async () => {
      const out = await model.hiddenStates(texts.map((t) => t.text));
      let worst = { rel: 0, at: '' };
      texts.forEach((t, i) => {
        const ref = goldenTensor(g, t.group, t.index, 'hidden');
        expect(out[i].shape).toEqual(ref.shape);
        // f32 math through 2–3 layers against float64 (test/fixtures/README.md): final norms keep
        // values O(1); f32 rounding is ~1e-6 per layer, so 1e-4 of the tensor's largest value.
        const w = expectClose(out[i].data, ref.data, { rtolMax: 1e-4, shape: ref.shape, label: `${name} hidden ${t.group}/${t.index}` });
        const rel = w.error / (w.bound / 1e-4);
        if (rel > worst.rel) worst = { rel, at: `${t.group}/${t.index}` };
      });
      console.log(`[golden] ${name} hidden: worst |err| / max|expected| = ${worst.rel.toExponential(2)} (${worst.at})`);
    });

    it('embed matches the sentence-transformers pipeline (pooling + normalize)', async () => {
      const out = await model.embed(texts.map((t) => t.text), { prompt: '' });
      texts.forEach((t, i) => {
        const ref = goldenTensor(g, t.group, t.index, 'dense');
        // Unit vectors: entries ≤ 1, f32 error well under 1e-5; cosine > 0.99999 (README).
        expectClose(out[i], ref.data, { atol: 2e-5, label: `${name} dense ${t.group}/${t.index}` });
        expect(cosine(out[i], ref.data)).toBeGreaterThan(0.99999);
      });
    });

    it('dense scores match golden cosine scores', async () => {
      const q = await model.embed(g.groups.queries.map((t) => t.text), { prompt: '' });
      const d = await model.embed(g.groups.documents.map((t) => t.text), { prompt: '' });
      const got = q.flatMap((qv) => d.map((dv) => dot(qv, dv)));
      // Dot products of unit vectors accurate to ~1e-5 each.
      expectClose(got, g.scores.dense.flat(), { atol: 3e-5, shape: [q.length, d.length], label: `${name} dense scores` });
    });

    it('results do not depend on batch composition or order (packed = one at a time)', async () => {
      const all = texts.map((t) => t.text);
      const together = await model.embed(all, { prompt: '' });
      const reversed = (await model.embed([...all].reverse(), { prompt: '' })).reverse();
      const alone: Float32Array[] = [];
      for (const t of all) alone.push((await model.embed([t], { prompt: '' }))[0]);
      const hTogether = await model.hiddenStates(all);
      const hAlone: Float32Array[] = [];
      for (const t of all.slice(0, 6)) hAlone.push((await model.hiddenStates([t]))[0].data);
      // Each sequence's math is the same whatever shares its batch: equal to float rounding.
      all.forEach((_, i) => expectClose(reversed[i], together[i], { atol: 1e-6, label: `${name} reversed ${i}` }));
      all.forEach((_, i) => expectClose(alone[i], together[i], { atol: 1e-6, label: `${name} alone ${i}` }));
      hAlone.forEach((h, i) => expectClose(h, hTogether[i].data, { atol: 1e-5, label: `${name} hidden alone ${i}` }));
    });

    extra?.(() => ({ model, g }));
  });

  describe(`golden ${name} (${family}, f16 weights)`, () => {
    const g = readGolden(name);
    const texts = allTexts(g);
    let model: Model;
    beforeAll(async () => {
      model = await loadModel(join(FIXTURES, name), { dtype: 'f16' });
    });
    afterAll(() => model?.dispose());

    it('dense and per-token outputs keep cosine ≥ 0.999', async () => {
      expect(model.info.dtype).toBe('f16');
      const dense = await model.embed(texts.map((t) => t.text), { prompt: '' });
      const hidden = await model.hiddenStates(texts.map((t) => t.text));
      texts.forEach((t, i) => {
        // f16 weights carry ~5e-4 relative rounding; through 2–3 layers cosine stays ≥ 0.999 (issue #7).
        expect(cosine(dense[i], goldenTensor(g, t.group, t.index, 'dense').data), `${name} f16 dense ${t.group}/${t.index}`).toBeGreaterThanOrEqual(0.999);
        const ref = goldenTensor(g, t.group, t.index, 'hidden');
        expectRowCosine(hidden[i].data, ref.data, ref.shape[1], 0.999, `${name} f16 hidden ${t.group}/${t.index}`);
      });
    });
  });
}
