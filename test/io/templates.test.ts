// Special-token templates from tokenizer.json post_processors and LongestFirst truncation
// (huggingface/tokenizers utils/truncation.rs), checked against hand-worked cases and the
// cross-encoder fixtures' golden pairs.

import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { specialTemplate, truncateLongestFirst } from '../../src/io/templates.js';
import { FIXTURES } from '../util/golden.js';

const seq = (n: number, base = 0) => Array.from({ length: n }, (_, i) => base + i);

describe('truncateLongestFirst', () => {
  it('single text: keeps the first maxLength', () => {
    expect(truncateLongestFirst(seq(5), null, 3)[0]).toEqual([0, 1, 2]);
    expect(truncateLongestFirst(seq(2), null, 3)[0]).toEqual([0, 1]);
  });

  it('pair: the shorter kept whole when it fits in half, else both halved (odd extra to the longer)', () => {
    const len = (a: number, b: number, m: number) => truncateLongestFirst(seq(a), seq(b), m).map((x) => x!.length);
    expect(len(7, 50, 21)).toEqual([7, 14]); // case 2: only the longer cut
    expect(len(50, 7, 21)).toEqual([14, 7]);
    expect(len(18, 11, 21)).toEqual([11, 10]); // case 3: both cut, the longer gets the odd token
    expect(len(11, 18, 21)).toEqual([10, 11]);
    expect(len(30, 30, 20)).toEqual([10, 10]);
    expect(len(3, 4, 20)).toEqual([3, 4]); // fits
    expect(len(25, 30, 4)).toEqual([2, 2]);
  });

  it('reproduces every golden cross-encoder pair', () => {
    for (const name of ['cross-encoder-bert-tiny', 'cross-encoder-xlmr-tiny']) {
      const g = JSON.parse(readFileSync(join(FIXTURES, name, 'golden.json'), 'utf8'));
      const added = name.includes('xlmr') ? 4 : 3;
      for (const p of g.pairs) {
        const [a, b] = truncateLongestFirst(seq(p.lengths_untruncated[0]), seq(p.lengths_untruncated[1]), g.max_length - added);
        expect([a.length, b!.length], `${name} pair ${p.query},${p.document}`).toEqual(p.lengths);
      }
    }
  });
});

describe('specialTemplate', () => {
  const pp = (name: string) => JSON.parse(readFileSync(join(FIXTURES, name, 'tokenizer.json'), 'utf8')).post_processor;

  it('TemplateProcessing (BERT): [CLS] A [SEP] B [SEP], type 1 on B [SEP]', () => {
    const t = specialTemplate(pp('bert-mean'), 'bert-mean');
    expect([t.addedSingle, t.addedPair]).toEqual([2, 3]);
    expect(t.single([7, 8])).toEqual({ ids: [2, 7, 8, 3], typeIds: [0, 0, 0, 0] });
    expect(t.pair([7], [9, 10])).toEqual({ ids: [2, 7, 3, 9, 10, 3], typeIds: [0, 0, 0, 1, 1, 1] });
  });

  it('RobertaProcessing (XLM-R): <s> A </s></s> B </s>, every type 0', () => {
    const t = specialTemplate(pp('bge-m3-tiny'), 'bge-m3-tiny');
    expect([t.addedSingle, t.addedPair]).toEqual([2, 4]);
    expect(t.pair([7], [9])).toEqual({ ids: [0, 7, 2, 2, 9, 2], typeIds: [0, 0, 0, 0, 0, 0] });
  });

  it('BertProcessing, a Sequence around it, none; unknown types refused', () => {
    const bert = { type: 'BertProcessing', sep: ['[SEP]', 102], cls: ['[CLS]', 101] };
    expect(specialTemplate(bert, 'x').pair([5], [6])).toEqual({ ids: [101, 5, 102, 6, 102], typeIds: [0, 0, 0, 1, 1] });
    expect(specialTemplate({ type: 'Sequence', processors: [{ type: 'ByteLevel' }, bert] }, 'x').single([5]).ids).toEqual([101, 5, 102]);
    expect(specialTemplate(null, 'x').single([5])).toEqual({ ids: [5], typeIds: [0] });
    expect(() => specialTemplate({ type: 'Mystery' }, 'here')).toThrow(/here.*Mystery/);
  });
});
