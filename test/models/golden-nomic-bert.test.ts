// Golden test: nomic-bert-tiny (NomicBERT in nomic-ai/nomic-embed-text-v1.5's layout) against the
// float64 port of contrastors' modeling_hf_nomic_bert.py (scripts/fixtures/gen_nomic_bert.py): the
// common checks of golden-suite.ts; queries and documents carry the task prefixes in their text.

import { expect, it } from 'vitest';
import { goldenSuite } from './golden-suite.js';

goldenSuite('nomic-bert-tiny', 'nomic_bert', (get) => {
  it('task prefixes are part of the text the user passes', () => {
    const { g, model } = get();
    expect(g.groups.queries.every((t) => t.text.startsWith('search_query: '))).toBe(true);
    expect(g.groups.documents.every((t) => t.text.startsWith('search_document: '))).toBe(true);
    // nomic-embed-text ships no prompts: nothing is prepended by default.
    expect(model.info.prompts).toEqual({});
  });
});
