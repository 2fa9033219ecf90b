// config.json → EncoderConfig and modules.json → PipelineConfig: the three fixtures, activation and
// architecture mapping, and every unsupported or malformed setting with its message.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ModelFileError } from '../../src/io/errors.js';
import { mapFiles } from '../../src/io/sources.js';
import { folderFiles } from '../../src/io/sources.node.js';
import { parseConfig } from '../../src/models/config.js';
import { readPipelineConfig } from '../../src/models/pipeline.js';

const FIX = join(import.meta.dirname, '../fixtures');
const bertJson = JSON.parse(readFileSync(join(FIX, 'bert-mean/config.json'), 'utf8')) as Record<string, unknown>;
const enc = (v: unknown) => new TextEncoder().encode(typeof v === 'string' ? v : JSON.stringify(v));

async function errorOf(fn: () => unknown): Promise<string> {
  try {
    await fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ModelFileError);
    return (err as Error).message;
  }
  throw new Error('expected a ModelFileError');
}

describe('parseConfig', () => {
  it('reads the three fixtures', async () => {
    const cfg = async (d: string) => parseConfig(await folderFiles(join(FIX, d)).json('config.json'), d);
    expect(await cfg('bert-mean')).toEqual({
      family: 'bert', architectures: ['BertModel'], modelType: 'bert', vocabSize: 222, hiddenSize: 64, numLayers: 2, numHeads: 4, headDim: 16,
      intermediateSize: 256, hiddenAct: 'gelu_erf', maxPositions: 128, typeVocabSize: 2, layerNormEps: 1e-12, padTokenId: 0, positionOffset: 0,
      numLabels: 2, // transformers' PretrainedConfig default; only classifiers use it
    });
    expect(await cfg('bert-cls-f16')).toMatchObject({ family: 'bert', hiddenSize: 60, numHeads: 3, headDim: 20, intermediateSize: 100, numLayers: 3, hiddenAct: 'gelu_tanh', maxPositions: 64 });
    expect(await cfg('bge-m3-tiny')).toEqual({
      family: 'xlm-roberta', architectures: ['XLMRobertaModel'], modelType: 'xlm-roberta', vocabSize: 316, hiddenSize: 64, numLayers: 2, numHeads: 4, headDim: 16,
      intermediateSize: 128, hiddenAct: 'gelu_erf', maxPositions: 130, typeVocabSize: 1, layerNormEps: 1e-5, padTokenId: 1, positionOffset: 2,
      numLabels: 2,
    });
  });

  it('maps hidden_act names precisely and families from model_type or architectures', () => {
    const act = (hidden_act: string) => parseConfig({ ...bertJson, hidden_act }, 'o').hiddenAct;
    expect(['gelu', 'gelu_python'].map(act)).toEqual(['gelu_erf', 'gelu_erf']);
    expect(['gelu_new', 'gelu_fast', 'gelu_pytorch_tanh', 'gelu_accurate'].map(act)).toEqual(Array(4).fill('gelu_tanh'));
    expect(act('relu')).toBe('relu');
    expect(parseConfig({ ...bertJson, model_type: 'roberta', architectures: ['RobertaModel'] }, 'o')).toMatchObject({ family: 'xlm-roberta', positionOffset: 1 });
    const { model_type: _, ...noType } = bertJson;
    expect(parseConfig({ ...noType, architectures: ['XLMRobertaModel'], pad_token_id: 1 }, 'o')).toMatchObject({ family: 'xlm-roberta', positionOffset: 2, modelType: '' });
    // a reranker checkpoint still has a BERT encoder
    expect(parseConfig({ ...bertJson, architectures: ['BertForSequenceClassification'] }, 'o').family).toBe('bert');
    // defaults from transformers' BertConfig when optional keys are absent
    const { hidden_act: _a, layer_norm_eps: _e, type_vocab_size: _t, pad_token_id: _p, ...minimal } = bertJson;
    expect(parseConfig(minimal, 'o')).toMatchObject({ hiddenAct: 'gelu_erf', layerNormEps: 1e-12, typeVocabSize: 2, padTokenId: 0 });
  });

  it('refuses unknown architectures, activations and bad numbers with a clear message', async () => {
    expect(await errorOf(() => parseConfig({ ...bertJson, model_type: 't5', architectures: ['T5EncoderModel'] }, '/m'))).toBe(
      'config.json in /m: unsupported model (model_type "t5", architectures ["T5EncoderModel"]). Supported: model_type bert, xlm-roberta, roberta, modernbert, nomic_bert, qwen3; ' +
        'architectures BertModel, XLMRobertaModel, RobertaModel, ModernBertModel, NomicBertModel, Qwen3Model, Qwen3ForCausalLM, ' +
        'HF_ColBERT, BertForSequenceClassification, XLMRobertaForSequenceClassification, RobertaForSequenceClassification',
    );
    const { model_type: _, ...noType } = bertJson;
    expect(await errorOf(() => parseConfig({ ...noType, architectures: ['T5EncoderModel'] }, '/m'))).toContain('unsupported model (model_type null, architectures ["T5EncoderModel"])');
    expect(await errorOf(() => parseConfig({ ...bertJson, hidden_act: 'quick_gelu' }, '/m'))).toBe(
      'config.json in /m: unsupported hidden_act "quick_gelu" (supported: gelu, gelu_python, gelu_new, gelu_fast, gelu_pytorch_tanh, gelu_accurate, relu)',
    );
    expect(await errorOf(() => parseConfig({ ...bertJson, num_attention_heads: 5 }, '/m'))).toBe('config.json in /m: hidden_size 64 is not a multiple of num_attention_heads 5');
    expect(await errorOf(() => parseConfig({ ...bertJson, hidden_size: '64' }, '/m'))).toBe('config.json in /m: "hidden_size" must be an integer ≥ 1, got "64"');
    const { vocab_size: _v, ...noVocab } = bertJson;
    expect(await errorOf(() => parseConfig(noVocab, '/m'))).toBe('config.json in /m: "vocab_size" is missing');
    expect(await errorOf(() => parseConfig({ ...bertJson, layer_norm_eps: -1 }, '/m'))).toContain('"layer_norm_eps" must be a positive number, got -1');
    expect(await errorOf(() => parseConfig({ ...bertJson, position_embedding_type: 'relative_key' }, '/m'))).toContain('unsupported position_embedding_type "relative_key"');
    expect(await errorOf(() => parseConfig([1], '/m'))).toBe('config.json in /m: is not a JSON object');
  });

  it('reads the ModernBERT, NomicBERT and Qwen3 fixtures with their own settings', async () => {
    const cfg = async (d: string) => parseConfig(await folderFiles(join(FIX, d)).json('config.json'), d);
    expect(await cfg('modernbert-tiny')).toMatchObject({
      family: 'modernbert', hiddenSize: 64, numHeads: 4, headDim: 16, numLayers: 3, intermediateSize: 96, hiddenAct: 'gelu_erf',
      maxPositions: 8192, typeVocabSize: 0, layerNormEps: 1e-5, positionOffset: 0,
      arch: { kind: 'modernbert', layerTypes: ['full', 'sliding', 'full'], slidingWindow: 4, globalRopeTheta: 160000, localRopeTheta: 10000, normBias: false, attentionBias: false, mlpBias: false },
    });
    expect(await cfg('nomic-bert-tiny')).toMatchObject({
      family: 'nomic_bert', vocabSize: 256, hiddenSize: 64, numHeads: 4, headDim: 16, numLayers: 2, intermediateSize: 256, hiddenAct: 'silu',
      maxPositions: 8192, typeVocabSize: 2, layerNormEps: 1e-12,
      arch: { kind: 'nomic_bert', rotaryBase: 1000, rotaryDim: 16, qkvProjBias: false, mlpFc1Bias: false, mlpFc2Bias: false },
    });
    expect(await cfg('qwen3-embed-tiny')).toMatchObject({
      family: 'qwen3', architectures: ['Qwen3ForCausalLM'], hiddenSize: 48, numHeads: 4, headDim: 16, numLayers: 2, intermediateSize: 96, hiddenAct: 'silu',
      maxPositions: 32768, typeVocabSize: 0, layerNormEps: 1e-6, arch: { kind: 'qwen3', ropeTheta: 1e6, numKeyValueHeads: 2, attentionBias: false },
    });
  });

  it('follows the new families\' config classes: layer_types, rope_parameters, vocab and n_inner rounding', async () => {
    const mb = JSON.parse(readFileSync(join(FIX, 'modernbert-tiny/config.json'), 'utf8')) as Record<string, unknown>;
    expect(parseConfig({ ...mb, global_attn_every_n_layers: 3, num_hidden_layers: 4 }, 'o').arch).toMatchObject({ layerTypes: ['full', 'sliding', 'sliding', 'full'] });
    // transformers ≥ 5 configs: rope_parameters per layer type
    const rope = { full_attention: { rope_type: 'default', rope_theta: 1e5 }, sliding_attention: { rope_type: 'default', rope_theta: 1e3 } };
    expect(parseConfig({ ...mb, rope_parameters: rope }, 'o').arch).toMatchObject({ globalRopeTheta: 1e5, localRopeTheta: 1e3 });
    const nb = JSON.parse(readFileSync(join(FIX, 'nomic-bert-tiny/config.json'), 'utf8')) as Record<string, unknown>;
    expect(parseConfig({ ...nb, vocab_size: 222, n_inner: 300 }, 'o')).toMatchObject({ vocabSize: 256, intermediateSize: 512 });
    expect(parseConfig({ ...nb, rotary_emb_fraction: 0.5 }, 'o').arch).toMatchObject({ rotaryDim: 8 });
    expect(await errorOf(() => parseConfig({ ...nb, prenorm: true }, '/m'))).toContain('"prenorm": true is not supported');
    expect(await errorOf(() => parseConfig({ ...nb, activation_function: 'gelu' }, '/m'))).toContain('unsupported activation_function "gelu"');
    expect(await errorOf(() => parseConfig({ ...nb, rotary_scaling_factor: 2 }, '/m'))).toContain('"rotary_scaling_factor" (dynamic NTK rotary) is not supported');
    const qw = JSON.parse(readFileSync(join(FIX, 'qwen3-embed-tiny/config.json'), 'utf8')) as Record<string, unknown>;
    expect(await errorOf(() => parseConfig({ ...qw, num_key_value_heads: 3 }, '/m'))).toContain('num_attention_heads 4 is not a multiple of num_key_value_heads 3');
    expect(await errorOf(() => parseConfig({ ...qw, use_sliding_window: true }, '/m'))).toContain('"use_sliding_window": true is not supported');
    expect(await errorOf(() => parseConfig({ ...qw, rope_scaling: { rope_type: 'yarn', factor: 4 } }, '/m'))).toContain('unsupported rope_scaling');
    expect(await errorOf(() => parseConfig({ ...qw, hidden_act: 'relu2' }, '/m'))).toContain('unsupported hidden_act "relu2"');
  });

  it('a missing config.json is a not-found error naming the folder', async () => {
    const files = mapFiles({ 'model.safetensors': new Uint8Array(8) }, 'picked');
    expect(await errorOf(() => files.json('config.json'))).toBe('model file config.json not found in picked (the selection holds 1 file(s); pick the whole model folder)');
  });
});

describe('readPipelineConfig', () => {
  const modules = (...types: [string, string][]) => types.map(([type, path], idx) => ({ idx, name: String(idx), path, type: `sentence_transformers.models.${type}` }));
  const pooling = (mode: string) => ({ word_embedding_dimension: 64, pooling_mode_cls_token: mode === 'cls', pooling_mode_mean_tokens: mode === 'mean', pooling_mode_max_tokens: mode === 'max', pooling_mode_lasttoken: mode === 'last' });

  it('reads the fixtures', async () => {
    expect(await readPipelineConfig(folderFiles(join(FIX, 'bert-mean')))).toEqual({ pooling: 'mean', normalize: true, dense: [], maxSeqLength: 96, fromSentenceTransformers: true, transformerDir: '' });
    expect(await readPipelineConfig(folderFiles(join(FIX, 'bert-cls-f16')))).toEqual({ pooling: 'cls', normalize: true, dense: [], fromSentenceTransformers: true, transformerDir: '' });
    expect(await readPipelineConfig(folderFiles(join(FIX, 'bge-m3-tiny')))).toMatchObject({ pooling: 'cls', normalize: true });
  });

  it('reads prompts and default_prompt_name of config_sentence_transformers.json', async () => {
    const q = await readPipelineConfig(folderFiles(join(FIX, 'qwen3-embed-tiny')));
    expect(q).toMatchObject({ pooling: 'last', normalize: true, maxSeqLength: 40 });
    expect(q.prompts?.query).toBe('Instruct: Given a web search query, retrieve relevant passages that answer the query\nQuery:');
    expect(q.defaultPromptName).toBeUndefined();
    const st = (c: unknown) =>
      readPipelineConfig(mapFiles({
        'modules.json': enc(modules(['Transformer', ''], ['Pooling', '1_Pooling'])), '1_Pooling/config.json': enc(pooling('cls')),
        'config_sentence_transformers.json': enc(c),
      }, 'picked'));
    expect(await st({ prompts: { query: 'q: ' }, default_prompt_name: 'query' })).toMatchObject({ prompts: { query: 'q: ' }, defaultPromptName: 'query' });
    expect(await errorOf(() => st({ prompts: { query: 'q: ' }, default_prompt_name: 'doc' }))).toBe(
      'config_sentence_transformers.json in picked: "default_prompt_name" "doc" is not one of the prompts (query)',
    );
    expect(await errorOf(() => st({ prompts: { query: 1 } }))).toContain('"prompts" must map prompt names to strings');
  });

  it('without modules.json: CLS pooling + normalize', async () => {
    expect(await readPipelineConfig(mapFiles({ 'config.json': enc({}) }))).toEqual({ pooling: 'cls', normalize: true, dense: [], fromSentenceTransformers: false, transformerDir: '' });
  });

  it('reads Dense layers, last-token pooling, an old 0_Transformer folder and no Normalize', async () => {
    const files = mapFiles({
      'modules.json': enc(modules(['Transformer', '0_Transformer'], ['Pooling', '1_Pooling'], ['Dense', '2_Dense'], ['Dense', '3_Dense'])),
      '0_Transformer/sentence_bert_config.json': enc({ max_seq_length: 512 }),
      '1_Pooling/config.json': enc(pooling('last')),
      '2_Dense/config.json': enc({ in_features: 64, out_features: 32, bias: true, activation_function: 'torch.nn.modules.activation.Tanh' }),
      '3_Dense/config.json': enc({ in_features: 32, out_features: 16, bias: false, activation_function: 'torch.nn.modules.linear.Identity' }),
    });
    expect(await readPipelineConfig(files)).toEqual({
      pooling: 'last', normalize: false, maxSeqLength: 512, fromSentenceTransformers: true, transformerDir: '0_Transformer',
      dense: [
        { dir: '2_Dense', inFeatures: 64, outFeatures: 32, bias: true, activation: 'tanh' },
        { dir: '3_Dense', inFeatures: 32, outFeatures: 16, bias: false, activation: 'identity' },
      ],
    });
  });

  it('refuses unsupported pooling, modules and activations', async () => {
    const st = (pool: unknown, extra: Record<string, Uint8Array> = {}, mods = modules(['Transformer', ''], ['Pooling', '1_Pooling'], ['Normalize', '2_Normalize'])) =>
      readPipelineConfig(mapFiles({ 'modules.json': enc(mods), '1_Pooling/config.json': enc(pool), ...extra }, 'picked'));
    expect(await errorOf(() => st(pooling('max')))).toBe(
      '1_Pooling/config.json in picked: unsupported pooling pooling_mode_max_tokens (supported: pooling_mode_cls_token, pooling_mode_mean_tokens or pooling_mode_lasttoken, exactly one)',
    );
    expect(await errorOf(() => st({ ...pooling('cls'), pooling_mode_mean_tokens: true }))).toContain('enables pooling_mode_cls_token + pooling_mode_mean_tokens');
    expect(await errorOf(() => st(pooling('none')))).toContain('enables no pooling mode');
    expect(await errorOf(() => st(pooling('cls'), {}, modules(['Transformer', ''], ['Pooling', '1_Pooling'], ['LayerNorm', '2_LayerNorm'])))).toBe(
      'modules.json in picked: unsupported module type "sentence_transformers.models.LayerNorm" (supported: sentence_transformers.models.Transformer, sentence_transformers.models.Pooling, sentence_transformers.models.Dense, sentence_transformers.models.Normalize, pylate.models.Dense.Dense)',
    );
    expect(await errorOf(() => st(pooling('cls'), {}, modules(['Pooling', '1_Pooling'], ['Transformer', ''])))).toContain('module 0 (Pooling) is out of order');
    const dense = enc({ in_features: 64, out_features: 8, activation_function: 'torch.nn.modules.activation.ReLU' });
    expect(await errorOf(() => st(pooling('cls'), { '2_Dense/config.json': dense }, modules(['Transformer', ''], ['Pooling', '1_Pooling'], ['Dense', '2_Dense'])))).toBe(
      '2_Dense/config.json in picked: unsupported activation_function "torch.nn.modules.activation.ReLU" (supported: torch.nn.modules.linear.Identity, torch.nn.modules.activation.Tanh)',
    );
    expect(await errorOf(() => st(pooling('cls'), {}, modules(['Transformer', ''])))).toBe(
      'modules.json in picked: needs a Pooling module (a sentence-transformers embedding model) or Dense modules after the Transformer (a PyLate ColBERT folder)',
    );
    expect(await errorOf(() => st(pooling('cls'), { 'sentence_bert_config.json': enc({ max_seq_length: 'long' }) }))).toContain('"max_seq_length" must be an integer ≥ 2, got "long"');
    expect(await errorOf(() => readPipelineConfig(mapFiles({ 'modules.json': enc('[{') }, 'picked')))).toMatch(/^modules\.json in picked is not valid JSON/);
    expect(await errorOf(() => st(pooling('cls'), {}, modules(['Transformer', ''], ['Pooling', '9_Pooling'])))).toMatch(/^model file 9_Pooling\/config\.json not found in picked/);
  });
});
