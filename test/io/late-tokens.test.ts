// ColBERT / PyLate input building (src/embed/late.ts) without a GPU, on bert-mean's WordPiece
// tokenizer: the variants the fixtures do not cover (no query expansion, no marker, attended
// expansion, lower-casing, a skiplist word missing from the vocabulary, a Stanford pad id in a
// document) and the load-time refusals.

import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { folderFiles } from '../../src/io/sources.node.js';
import { loadTokenizer } from '../../src/io/tokenizer.js';
import { parseConfig } from '../../src/models/config.js';
import { PUNCTUATION, type LateSettings } from '../../src/models/late-config.js';
import { lateTokenizer } from '../../src/embed/late.js';
import { FIXTURES } from '../util/golden.js';

const files = folderFiles(join(FIXTURES, 'bert-mean'));
const tok = await loadTokenizer(files, parseConfig(await files.json('config.json'), 'bert-mean'));
const [CLS, SEP, MASK, PAD, UNK, U0, U1] = [2, 3, 4, 0, 1, 5, 6];
const base: LateSettings = {
  source: 'pylate', queryLength: 8, documentLength: 8, queryPrefix: '[unused0]', documentPrefix: '[unused1]',
  doQueryExpansion: true, attendToExpansionTokens: false, skiplistWords: PUNCTUATION, skiplistRule: 'token', strip: true, lowerCase: false,
};
const ids = (t: string) => tok.encodePieces(t);

describe('lateTokenizer', () => {
  it('query: marker, [MASK] expansion as unattended keys; attended when the model says so', () => {
    const l = lateTokenizer(base, tok, 128, 'x');
    const q = l.encode('  paris  ', 'query');
    expect(q.ids).toEqual([CLS, U0, ...ids('paris'), SEP, MASK, MASK, MASK, MASK]);
    expect(q.keyLen).toBe(4);
    expect(q.expansion).toEqual([false, false, false, false, true, true, true, true]);
    expect(q.keep.every(Boolean)).toBe(true);
    expect(lateTokenizer({ ...base, attendToExpansionTokens: true }, tok, 128, 'x').encode('paris', 'query').keyLen).toBe(8);
  });

  it('no query expansion, no marker (PyLate prefix ""), truncation to the length', () => {
    const l = lateTokenizer({ ...base, doQueryExpansion: false, queryPrefix: null }, tok, 128, 'x');
    expect(l.encode('paris', 'query')).toEqual({ ids: [CLS, ...ids('paris'), SEP], keyLen: 3, keep: [true, true, true], expansion: [false, false, false] });
    const long = l.encode('the capital of france is paris and the city is large', 'query');
    expect(long.ids).toEqual([CLS, ...ids('the capital of france is paris and the city is large').slice(0, 6), SEP]);
  });

  it('document: skiplist removed; PyLate maps a word missing from the vocabulary to [UNK]; Stanford drops pad ids', () => {
    const l = lateTokenizer({ ...base, skiplistWords: ['.', 'zzzz'] }, tok, 128, 'x');
    expect(l.skiplist).toEqual(new Set([ids('.')[0], UNK]));
    const d = l.encode('paris. 🚀', 'document');
    expect(d.ids).toEqual([CLS, U1, ...ids('paris. 🚀'), SEP]);
    expect(d.ids.filter((_, i) => d.keep[i])).toEqual([CLS, U1, ...ids('paris'), SEP]);
    const colbert = lateTokenizer({ ...base, source: 'colbert', skiplistRule: 'first-piece', strip: false }, tok, 128, 'x');
    const p = colbert.encode('paris [PAD]', 'document');
    expect(p.ids).toContain(PAD);
    expect(p.ids.filter((_, i) => p.keep[i])).not.toContain(PAD);
  });

  it('lower-cases when sentence-transformers does (do_lower_case)', () => {
    const l = lateTokenizer({ ...base, lowerCase: true }, tok, 128, 'x');
    expect(l.encode('PARIS', 'document').ids).toEqual(l.encode('paris', 'document').ids);
  });

  it('refuses a marker missing from the tokenizer and lengths past the positions', () => {
    expect(() => lateTokenizer({ ...base, queryPrefix: '[Q] ' }, tok, 128, 'here')).toThrow(
      'config_sentence_transformers.json in here: the query marker "[Q] " is not a token of tokenizer.json; the model was not trained with it',
    );
    expect(() => lateTokenizer({ ...base, documentLength: 300 }, tok, 128, 'here')).toThrow(/document length 300 is more than the encoder's 128 positions/);
    expect(() => lateTokenizer({ ...base, queryLength: 2 }, tok, 128, 'here')).toThrow(/query length 2 leaves no room for the special tokens/);
  });
});
