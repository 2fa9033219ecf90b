// Golden test: qwen3-embed-tiny (Qwen3 in Qwen/Qwen3-Embedding-0.6B's layout: BF16 weights, GQA,
// causal attention, last-token pooling of the appended <|endoftext|>) against the float64 port of
// transformers' modeling_qwen3.py (scripts/fixtures/gen_qwen3.py): the common checks of
// golden-suite.ts, plus queries with the instruction prompt (by name and as literal text).

import { expect, it } from 'vitest';
import { dot, loadModel } from '../../src/index.node.js';
import { cosine, expectClose } from '../util/compare.js';
import { goldenTensor } from '../util/golden.js';
import { fixtureFiles } from '../util/fixture-files.js';
import { goldenSuite, longIdsCheck } from './golden-suite.js';

interface Instructed {
  text: string;
  query: string;
  prompt_name: string;
  ids: number[];
}

const NAME = 'qwen3-embed-tiny';

goldenSuite(NAME, 'qwen3', (get) => {
  it('every sequence ends in the <|endoftext|> its tokenizer appends (the pooled token)', async () => {
    const { model, g } = get();
    const eot = g.groups.edge[0].ids; // the empty text is just <|endoftext|>
    expect(eot.length).toBe(1);
    const ids = await model.tokenize(['a', g.groups.long[0].text]);
    expect(ids.map((x) => x[x.length - 1])).toEqual([eot[0], eot[0]]);
    expect(ids[1].length).toBe(g.max_len);
  });

  it('embed with { prompt } prepends the instruction as sentence-transformers does', async () => {
    const { model, g } = get();
    const items = g.groups.instructed as unknown as Instructed[];
    expect(model.info.prompts.query).toBe(items[0].text.slice(0, items[0].text.length - items[0].query.length));
    const queries = items.map((t) => t.query);
    const byName = await model.embed(queries, { prompt: 'query' });
    const literal = await model.embed(queries, { prompt: model.info.prompts.query });
    const ids = await model.tokenize(queries.map((q) => model.info.prompts.query + q));
    items.forEach((t, i) => {
      expect(ids[i], `instructed/${i} ids`).toEqual(t.ids);
      const ref = goldenTensor(g, 'instructed', i, 'dense');
      // Unit vectors, f32 error well under 1e-5 (as the plain dense check).
      expectClose(byName[i], ref.data, { atol: 2e-5, label: `instructed/${i} by name` });
      expectClose(literal[i], ref.data, { atol: 2e-5, label: `instructed/${i} literal` });
      expect(cosine(byName[i], ref.data)).toBeGreaterThan(0.99999);
    });
    const docs = await model.embed(g.groups.documents.map((t) => t.text));
    const scores = byName.flatMap((q) => docs.map((d) => dot(q, d)));
    expectClose(scores, g.scores.dense_instructed.flat(), { atol: 3e-5, shape: [byName.length, docs.length], label: 'instructed scores' });
    // No default_prompt_name: without a prompt nothing is prepended.
    const plain = await model.embed([queries[0]]);
    expectClose(plain[0], goldenTensor(g, 'queries', 0, 'dense').data, { atol: 2e-5, label: 'no prompt by default' });
  });

  it('matryoshka dimensions keep the first features, renormalized', async () => {
    const { model, g } = get();
    const ref = goldenTensor(g, 'documents', 0, 'hidden');
    const C = ref.shape[1];
    const last = ref.data.slice((ref.shape[0] - 1) * C, ref.shape[0] * C).slice(0, 16);
    const norm = Math.hypot(...last);
    const [v] = await model.embed([g.groups.documents[0].text], { dimensions: 16 });
    expect(v.length).toBe(16);
    // Last-token hidden state (f32 error ~1e-5 of O(1) values), truncated and renormalized.
    expectClose(v, Array.from(last, (x) => x / norm), { atol: 5e-5, label: 'dimensions 16' });
  });
  it('default_prompt_name applies when no prompt is given; prompt: "" turns it off; a bad prompt is a TypeError', async () => {
    const { g } = get();
    const files = fixtureFiles(NAME);
    const st = JSON.parse(new TextDecoder().decode(files['config_sentence_transformers.json']));
    files['config_sentence_transformers.json'] = new TextEncoder().encode(JSON.stringify({ ...st, default_prompt_name: 'query' }));
    const model = await loadModel(files);
    try {
      const items = g.groups.instructed as unknown as Instructed[];
      const [withDefault] = await model.embed([items[0].query]);
      expectClose(withDefault, goldenTensor(g, 'instructed', 0, 'dense').data, { atol: 2e-5, label: 'default prompt' });
      const [off] = await model.embed([items[0].query], { prompt: '' });
      expectClose(off, goldenTensor(g, 'queries', 0, 'dense').data, { atol: 2e-5, label: 'prompt off' });
      // The 'document' prompt is "" in Qwen3-Embedding's file: documents go in as they are.
      const [doc] = await model.embed([g.groups.documents[0].text], { prompt: 'document' });
      expectClose(doc, goldenTensor(g, 'documents', 0, 'dense').data, { atol: 2e-5, label: 'document prompt' });
      await expect(model.embed(['x'], { prompt: 3 as unknown as string })).rejects.toThrow(/prompt must be a string/);
    } finally {
      model.dispose();
    }
  });

  // Past one attention tile: the local window (ModernBERT) / causal mask (Qwen3) across tiles.
  longIdsCheck(NAME);
});
