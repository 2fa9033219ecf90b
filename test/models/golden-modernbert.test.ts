// Golden test: modernbert-tiny (ModernBERT in nomic-ai/modernbert-embed-base's layout) against the
// float64 port of transformers' modeling_modernbert.py (scripts/fixtures/gen_modernbert.py): the
// common checks of golden-suite.ts, plus texts around the local attention window.

import { expect, it } from 'vitest';
import { expectClose } from '../util/compare.js';
import { goldenTensor } from '../util/golden.js';
import { goldenSuite, longIdsCheck } from './golden-suite.js';

const NAME = 'modernbert-tiny';

goldenSuite(NAME, 'modernbert', (get) => {
  it('alternates global and local layers and covers the local window boundary', async () => {
    const { model, g } = get();
    const gj = g as unknown as { local_attention: number; layer_types: string[] };
    expect(gj.layer_types).toEqual(['full_attention', 'sliding_attention', 'full_attention']);
    expect(gj.local_attention).toBe(8);
    const window = g.groups.window;
    // 5 tokens: the farthest pair is exactly |i − j| = 4 (nothing masked); 6: first masked pair;
    // 9: the middle token sees all; 10: every token misses some.
    expect(window.map((t) => t.ids.length)).toEqual([5, 6, 9, 10]);
    // Texts longer than the window: most documents and the long text (48 tokens).
    expect(g.groups.long[0].ids.length).toBe(48);
    const out = await model.hiddenStates(window.map((t) => t.text));
    window.forEach((t, i) => {
      const ref = goldenTensor(g, 'window', i, 'hidden');
      expectClose(out[i].data, ref.data, { rtolMax: 1e-4, shape: ref.shape, label: `window ${t.ids.length} tokens` });
    });
  });
  // Past one attention tile: the local window (ModernBERT) / causal mask (Qwen3) across tiles.
  longIdsCheck(NAME);
});
