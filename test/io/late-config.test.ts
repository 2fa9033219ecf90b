// Late-interaction and cross-encoder configuration: which head config.json asks for, PyLate's
// modules.json (token-level Dense modules, no Pooling), the settings of artifact.metadata and
// config_sentence_transformers.json with the libraries' defaults, and the refusals.

import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { mapFiles } from '../../src/io/sources.js';
import { folderFiles } from '../../src/io/sources.node.js';
import { headFromArchitectures, parseConfig } from '../../src/models/config.js';
import { readPipelineConfig } from '../../src/models/pipeline.js';
import { PUNCTUATION, readColbertSettings, readPylateSettings } from '../../src/models/late-config.js';
import { FIXTURES } from '../util/golden.js';

const enc = (x: unknown) => new TextEncoder().encode(typeof x === 'string' ? x : JSON.stringify(x));

describe('late-interaction and cross-encoder configs', () => {
  it('picks the head from config.json architectures', async () => {
    expect(headFromArchitectures(['HF_ColBERT'])).toBe('colbert');
    expect(headFromArchitectures(['BertForSequenceClassification'])).toBe('sequence-classification');
    expect(headFromArchitectures(['XLMRobertaForSequenceClassification'])).toBe('sequence-classification');
    expect(headFromArchitectures(['BertModel'])).toBe('embedding');
    const cfg = async (d: string) => parseConfig(await folderFiles(join(FIXTURES, d)).json('config.json'), d);
    expect(await cfg('cross-encoder-bert-tiny')).toMatchObject({ family: 'bert', numLabels: 1, typeVocabSize: 2 });
    expect(await cfg('cross-encoder-xlmr-tiny')).toMatchObject({ family: 'xlm-roberta', numLabels: 1, typeVocabSize: 1 });
    // Without model_type, the architecture names the family.
    expect(parseConfig({ architectures: ['HF_ColBERT'], hidden_size: 8, num_attention_heads: 2, num_hidden_layers: 1, intermediate_size: 8, vocab_size: 10, max_position_embeddings: 8 }, 'x').family).toBe('bert');
  });

  it('reads a PyLate modules.json: Dense modules straight after the Transformer', async () => {
    const p = await readPipelineConfig(folderFiles(join(FIXTURES, 'pylate-tiny')));
    expect(p.tokenDense).toEqual([
      { dir: '1_Dense', inFeatures: 32, outFeatures: 48, bias: true, activation: 'identity' },
      { dir: '2_Dense', inFeatures: 48, outFeatures: 16, bias: false, activation: 'identity' },
    ]);
    expect(p.dense).toEqual([]);
    const mods = (...m: [string, string][]) => enc(m.map(([type, path], idx) => ({ idx, name: String(idx), path, type })));
    const dense = enc({ in_features: 8, out_features: 4, bias: false, activation_function: 'torch.nn.modules.linear.Identity', use_residual: true });
    const err = await readPipelineConfig(mapFiles({
      'modules.json': mods(['sentence_transformers.models.Transformer', ''], ['pylate.models.Dense.Dense', '1_Dense']),
      '1_Dense/config.json': dense,
    }, 'picked')).catch((e: Error) => e.message);
    expect(err).toBe('1_Dense/config.json in picked: "use_residual": true (PyLate residual Dense) is not supported');
  });

  it('reads artifact.metadata (ColBERTConfig) and falls back to the defaults without it', async () => {
    expect(await readColbertSettings(folderFiles(join(FIXTURES, 'colbertv2-tiny')))).toEqual({
      source: 'colbert', queryLength: 12, documentLength: 20, queryPrefix: '[unused0]', documentPrefix: '[unused1]',
      doQueryExpansion: true, attendToExpansionTokens: false, skiplistWords: PUNCTUATION, skiplistRule: 'first-piece', strip: false, lowerCase: false,
    });
    // No artifact.metadata: PyLate's fallback for Stanford checkpoints (lengths 32 / 180).
    expect(await readColbertSettings(mapFiles({}, 'empty'))).toMatchObject({ queryLength: 32, documentLength: 180, queryPrefix: '[unused0]', attendToExpansionTokens: false });
    // A "config" wrapper and mask_punctuation false (no skiplist).
    const wrapped = await readColbertSettings(mapFiles({ 'artifact.metadata': enc({ config: { query_maxlen: 64, mask_punctuation: false, attend_to_mask_tokens: true } }) }, 'w'));
    expect(wrapped).toMatchObject({ queryLength: 64, documentLength: 220, skiplistWords: [], attendToExpansionTokens: true });
    const bad = await readColbertSettings(mapFiles({ 'artifact.metadata': enc({ query_maxlen: '32' }) }, 'b')).catch((e: Error) => e.message);
    expect(bad).toBe('artifact.metadata in b: "query_maxlen" must be an integer ≥ 4, got "32"');
  });

  it('reads config_sentence_transformers.json (PyLate) with its defaults', async () => {
    expect(await readPylateSettings(folderFiles(join(FIXTURES, 'pylate-tiny')), '')).toEqual({
      source: 'pylate', queryLength: 10, documentLength: 16, queryPrefix: '[Q] ', documentPrefix: '[D] ',
      doQueryExpansion: true, attendToExpansionTokens: true, skiplistWords: PUNCTUATION, skiplistRule: 'token', strip: true, lowerCase: false,
    });
    expect(await readPylateSettings(mapFiles({}, 'e'), '')).toMatchObject({ queryLength: 32, documentLength: 180, queryPrefix: '[Q] ', documentPrefix: '[D] ', attendToExpansionTokens: false });
    // An empty prefix means no marker; no query expansion means no attending to expansion tokens.
    const s = await readPylateSettings(mapFiles({ 'config_sentence_transformers.json': enc({ query_prefix: '', do_query_expansion: false, attend_to_expansion_tokens: true }) }, 'n'), '');
    expect(s).toMatchObject({ queryPrefix: null, doQueryExpansion: false, attendToExpansionTokens: false });
  });
});
