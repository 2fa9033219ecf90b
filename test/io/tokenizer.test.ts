// The tokenizer wrapper: every golden id sequence of the three fixtures (all groups, truncation
// included), max length and special ids from the config files, and its errors.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ModelFileError } from '../../src/io/errors.js';
import { mapFiles, type ModelFiles } from '../../src/io/sources.js';
import { folderFiles } from '../../src/io/sources.node.js';
import { loadTokenizer } from '../../src/io/tokenizer.js';
import { parseConfig, type EncoderConfig } from '../../src/models/config.js';
import { readPipelineConfig } from '../../src/models/pipeline.js';

const FIX = join(import.meta.dirname, '../fixtures');

interface Golden { max_len: number; groups: Record<string, { text: string; ids: number[]; tokens_untruncated: number }[]> }

async function setup(dir: string) {
  const files = folderFiles(join(FIX, dir));
  const config = parseConfig(await files.json('config.json'), files.origin);
  const pipeline = await readPipelineConfig(files);
  const golden = JSON.parse(readFileSync(join(FIX, dir, 'golden.json'), 'utf8')) as Golden;
  return { files, config, golden, tok: await loadTokenizer(files, config, pipeline.maxSeqLength) };
}

/** The fixture folder with some files replaced or removed (undefined). */
function variant(dir: string, changes: Record<string, unknown>): ModelFiles {
  const names = ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json'];
  const out: Record<string, Uint8Array> = {};
  for (const n of names) {
    if (n in changes) {
      if (changes[n] !== undefined) out[n] = new TextEncoder().encode(JSON.stringify(changes[n]));
    } else out[n] = readFileSync(join(FIX, dir, n));
  }
  return mapFiles(out, dir);
}

describe('golden token ids', () => {
  for (const [dir, special, tokens] of [
    ['bert-mean', { cls: 2, eos: 3, pad: 0, unk: 1, mask: 4 }, ['[CLS]', '[SEP]', '[PAD]', '[UNK]']],
    ['bert-cls-f16', { cls: 2, eos: 3, pad: 0, unk: 1, mask: 4 }, ['[CLS]', '[SEP]', '[PAD]', '[UNK]']],
    ['bge-m3-tiny', { cls: 0, eos: 2, pad: 1, unk: 3, mask: 315 }, ['<s>', '</s>', '<pad>', '<unk>']],
  ] as const) {
    it(`${dir}: reproduces every group's ids exactly, max_len and special ids`, async () => {
      const { tok, golden } = await setup(dir);
      expect(tok.maxLen).toBe(golden.max_len);
      expect(tok.specialIds).toEqual(special);
      expect([special.cls, special.eos, special.pad, special.unk].map((id) => tok.tokenText(id))).toEqual(tokens);
      let n = 0;
      for (const [group, items] of Object.entries(golden.groups)) {
        const got = tok.encode(items.map((i) => i.text));
        items.forEach((item, i) => expect(got[i], `${group}/${i} ${JSON.stringify(item.text).slice(0, 40)}`).toEqual(item.ids));
        n += items.length;
      }
      expect(n).toBe(20);
      const long = golden.groups.long[0];
      expect(long.tokens_untruncated).toBeGreaterThan(golden.max_len); // the long text really was truncated
      const ids = tok.encode([long.text])[0];
      expect(ids.length).toBe(golden.max_len);
      expect(ids[ids.length - 1]).toBe(special.eos);
      expect(tok.tokenText(100000)).toBeNull();
    });
  }
});

describe('max length and special tokens', () => {
  it('takes the minimum of model_max_length, usable positions and maxSeqLength; ignores 1e30', async () => {
    const bge = JSON.parse(readFileSync(join(FIX, 'bge-m3-tiny/config.json'), 'utf8'));
    const cfg: EncoderConfig = parseConfig(bge, 'o');
    const tc = JSON.parse(readFileSync(join(FIX, 'bge-m3-tiny/tokenizer_config.json'), 'utf8'));
    const huge = variant('bge-m3-tiny', { 'tokenizer_config.json': { ...tc, model_max_length: 1e30 } });
    expect((await loadTokenizer(huge, cfg)).maxLen).toBe(128); // 130 positions − (padding_idx + 1)
    expect((await loadTokenizer(huge, cfg, 16)).maxLen).toBe(16);
    const short = await loadTokenizer(variant('bge-m3-tiny', { 'tokenizer_config.json': { ...tc, model_max_length: 8 } }), cfg);
    expect(short.maxLen).toBe(8);
    const ids = short.encode(['The president of the United States is the head of state'])[0];
    expect(ids.length).toBe(8);
    expect([ids[0], ids[7]]).toEqual([0, 2]);
  });

  it('reads AddedToken objects, falls back to special_tokens_map.json, and uses sep_token as eos for BERT', async () => {
    const cfg = parseConfig(JSON.parse(readFileSync(join(FIX, 'bert-mean/config.json'), 'utf8')), 'o');
    const objects = variant('bert-mean', {
      'tokenizer_config.json': { model_max_length: 128, cls_token: { __type: 'AddedToken', content: '[CLS]', lstrip: false }, sep_token: { content: '[SEP]' } },
    });
    expect((await loadTokenizer(objects, cfg)).specialIds).toEqual({ cls: 2, eos: 3, pad: 0, unk: 1, mask: 4 }); // mask from special_tokens_map.json
    const none = variant('bert-mean', { 'tokenizer_config.json': undefined, 'special_tokens_map.json': undefined });
    const t = await loadTokenizer(none, cfg);
    expect(t.specialIds).toEqual({ cls: null, eos: null, pad: null, unk: null, mask: null });
    expect(t.maxLen).toBe(128);
  });
});

describe('errors', () => {
  it('missing tokenizer.json, broken tokenizer.json, non-string input, ids outside the model vocabulary', async () => {
    const { config, tok } = await setup('bert-mean');
    const missing = variant('bert-mean', { 'tokenizer.json': undefined });
    await expect(loadTokenizer(missing, config)).rejects.toThrow(ModelFileError);
    await expect(loadTokenizer(missing, config)).rejects.toThrow(
      'model file tokenizer.json not found in bert-mean (webgpu-embed needs the fast-tokenizer file tokenizer.json; vocab.txt or sentencepiece.bpe.model alone are not enough.',
    );
    await expect(loadTokenizer(variant('bert-mean', { 'tokenizer.json': { model: { type: 'Nope' } } }), config)).rejects.toThrow(/^tokenizer\.json in bert-mean could not be loaded: /);
    expect(() => tok.encode(['ok', 'fine', 'x', 3 as unknown as string])).toThrow(new TypeError('texts[3] must be a string, got number'));
    expect(() => tok.encode([null as unknown as string])).toThrow(new TypeError('texts[0] must be a string, got null'));
    expect(() => tok.encode('text' as unknown as string[])).toThrow(new TypeError('texts must be an array of strings, got string'));
    const small = await loadTokenizer(folderFiles(join(FIX, 'bert-mean')), { ...config, vocabSize: 10 });
    expect(() => small.encode(['hello'])).toThrow(/^tokenizer\.json in .* produced token id \d+, outside the model's vocabulary of 10$/);
  });
});
