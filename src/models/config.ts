// Model configuration: config.json → EncoderConfig (BERT / XLM-RoBERTa, ModernBERT, NomicBERT,
// Qwen3). The sentence-transformers pipeline around the encoder is models/pipeline.ts.
// Every unsupported setting is an error that says what is supported, never a silent fallback.

import { ModelFileError } from '../io/errors.js';

export type HiddenAct = 'gelu_erf' | 'gelu_tanh' | 'relu' | 'silu';

export type Family = 'bert' | 'xlm-roberta' | 'modernbert' | 'nomic_bert' | 'qwen3';

/** ModernBERT's own settings (transformers configuration_modernbert.py). */
export interface ModernBertSettings {
  kind: 'modernbert';
  /** Per layer: global attention ('full') or local ('sliding'): every global_attn_every_n_layers-th layer is global. */
  layerTypes: ('full' | 'sliding')[];
  /** local_attention // 2: in a local layer token i sees token j when |i − j| ≤ this. */
  slidingWindow: number;
  /** Rotary theta of global layers (global_rope_theta) and local layers (local_rope_theta). */
  globalRopeTheta: number;
  localRopeTheta: number;
  normBias: boolean;
  attentionBias: boolean;
  mlpBias: boolean;
}

/** NomicBERT's own settings (the Hub's configuration_hf_nomic_bert.py, a GPT2Config). */
export interface NomicBertSettings {
  kind: 'nomic_bert';
  rotaryBase: number;
  /** Head dims rotated: head_dim × rotary_emb_fraction (the rest pass through). */
  rotaryDim: number;
  qkvProjBias: boolean;
  mlpFc1Bias: boolean;
  mlpFc2Bias: boolean;
}

/** Qwen3's own settings (transformers configuration_qwen3.py). */
export interface Qwen3Settings {
  kind: 'qwen3';
  ropeTheta: number;
  /** num_key_value_heads: each serves numHeads / numKeyValueHeads query heads. */
  numKeyValueHeads: number;
  attentionBias: boolean;
}

export interface EncoderConfig {
  family: Family;
  architectures: string[];
  modelType: string;
  vocabSize: number;
  hiddenSize: number;
  numLayers: number;
  numHeads: number;
  headDim: number;
  intermediateSize: number;
  hiddenAct: HiddenAct;
  maxPositions: number;
  typeVocabSize: number;
  layerNormEps: number;
  padTokenId: number;
  /** bert: 0; xlm-roberta: padding_idx + 1 (positions = cumsum(mask) + pad). */
  positionOffset: number;
  /** Classifier outputs (num_labels, or the length of id2label; transformers' default 2). */
  numLabels: number;
  /** The family's own settings (absent for BERT / XLM-R). */
  arch?: ModernBertSettings | NomicBertSettings | Qwen3Settings;
}

const MODEL_TYPES: Record<string, Family> = {
  bert: 'bert', 'xlm-roberta': 'xlm-roberta', roberta: 'xlm-roberta', modernbert: 'modernbert', nomic_bert: 'nomic_bert', qwen3: 'qwen3',
};
const ARCHITECTURES: Record<string, Family> = {
  BertModel: 'bert', XLMRobertaModel: 'xlm-roberta', RobertaModel: 'xlm-roberta',
  ModernBertModel: 'modernbert', NomicBertModel: 'nomic_bert', Qwen3Model: 'qwen3', Qwen3ForCausalLM: 'qwen3',
  // Stanford ColBERT checkpoints and the cross-encoders (embed/model.ts picks the head).
  HF_ColBERT: 'bert',
  BertForSequenceClassification: 'bert',
  XLMRobertaForSequenceClassification: 'xlm-roberta',
  RobertaForSequenceClassification: 'xlm-roberta',
};

/** What sits on the encoder: the architecture names config.json may give for each head. */
export type ModelHead = 'embedding' | 'colbert' | 'sequence-classification';

/** The head config.json's architectures ask for (HF_ColBERT, *ForSequenceClassification, or none). */
export function headFromArchitectures(archs: string[]): ModelHead {
  if (archs.some((a) => a.endsWith('ForSequenceClassification'))) return 'sequence-classification';
  if (archs[0] === 'HF_ColBERT') return 'colbert';
  return 'embedding';
}

/**
 * hidden_act names as Hugging Face transformers' ACT2FN maps them: 'gelu' / 'gelu_python' are the
 * exact erf GELU; 'gelu_new', 'gelu_fast', 'gelu_pytorch_tanh' and 'gelu_accurate' all compute
 * 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))). 'quick_gelu' (x·σ(1.702x)) and others are unsupported.
 */
const ACTIVATIONS: Record<string, HiddenAct> = {
  gelu: 'gelu_erf',
  gelu_python: 'gelu_erf',
  gelu_new: 'gelu_tanh',
  gelu_fast: 'gelu_tanh',
  gelu_pytorch_tanh: 'gelu_tanh',
  gelu_accurate: 'gelu_tanh',
  relu: 'relu',
};

/** Validates a parsed config.json. `origin` is where it came from (for messages). */
export function parseConfig(json: unknown, origin: string): EncoderConfig {
  const file = 'config.json';
  const fail = (why: string): never => {
    throw new ModelFileError(`config.json in ${origin}: ${why}`, file);
  };
  if (json === null || typeof json !== 'object' || Array.isArray(json)) fail('is not a JSON object');
  const c = json as Record<string, unknown>;
  const architectures = c.architectures === undefined || c.architectures === null ? [] : c.architectures;
  if (!Array.isArray(architectures) || !architectures.every((a) => typeof a === 'string')) fail('"architectures" is not a list of names');
  const modelType = typeof c.model_type === 'string' ? c.model_type : '';
  const archs = architectures as string[];
  let family: EncoderConfig['family'] | undefined = MODEL_TYPES[modelType];
  if (!family && !modelType) family = archs.map((a) => ARCHITECTURES[a]).find((f) => f);
  if (!family) {
    fail(
      `unsupported model (model_type ${JSON.stringify(modelType || null)}, architectures ${JSON.stringify(archs)}). ` +
        `Supported: model_type ${Object.keys(MODEL_TYPES).join(', ')}; architectures ${Object.keys(ARCHITECTURES).join(', ')}`,
    );
  }
  const fam = family!;

  const int = (key: string, def?: number, min = 1): number => {
    const v = c[key] ?? def;
    if (v === undefined) fail(`"${key}" is missing`);
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) fail(`"${key}" must be an integer ≥ ${min}, got ${JSON.stringify(v)}`);
    return v as number;
  };
  const fields: Fields = { c, int, num: numberField(c, fail), bool: boolField(c, fail), fail, archs, modelType };
  if (fam === 'modernbert') return parseModernBert(fields);
  if (fam === 'nomic_bert') return parseNomicBert(fields);
  if (fam === 'qwen3') return parseQwen3(fields);
  const hiddenSize = int('hidden_size');
  const numHeads = int('num_attention_heads');
  if (hiddenSize % numHeads !== 0) fail(`hidden_size ${hiddenSize} is not a multiple of num_attention_heads ${numHeads}`);
  const actName = c.hidden_act ?? 'gelu';
  const hiddenAct = typeof actName === 'string' ? ACTIVATIONS[actName] : undefined;
  if (!hiddenAct) fail(`unsupported hidden_act ${JSON.stringify(actName)} (supported: ${Object.keys(ACTIVATIONS).join(', ')})`);
  const posType = c.position_embedding_type ?? 'absolute';
  if (posType !== 'absolute') fail(`unsupported position_embedding_type ${JSON.stringify(posType)} (only "absolute")`);
  const eps = c.layer_norm_eps ?? 1e-12;
  if (typeof eps !== 'number' || !(eps > 0) || !Number.isFinite(eps)) fail(`"layer_norm_eps" must be a positive number, got ${JSON.stringify(eps)}`);
  const vocabSize = int('vocab_size');
  const padTokenId = int('pad_token_id', fam === 'bert' ? 0 : 1, 0);
  if (padTokenId >= vocabSize) fail(`pad_token_id ${padTokenId} is outside the vocabulary (${vocabSize})`);
  const maxPositions = int('max_position_embeddings');
  const positionOffset = fam === 'bert' ? 0 : padTokenId + 1;
  if (positionOffset >= maxPositions) fail(`max_position_embeddings ${maxPositions} leaves no positions after the offset ${positionOffset}`);

  const numLabels = labelCount(c, fail);

  return {
    family: fam,
    architectures: archs,
    modelType,
    vocabSize,
    hiddenSize,
    numLayers: int('num_hidden_layers'),
    numHeads,
    headDim: hiddenSize / numHeads,
    intermediateSize: int('intermediate_size'),
    hiddenAct: hiddenAct!,
    maxPositions,
    typeVocabSize: int('type_vocab_size', 2),
    layerNormEps: eps as number,
    padTokenId,
    positionOffset,
    numLabels,
  };
}

/** Classifier outputs: num_labels, else the length of id2label, else transformers' default 2. */
function labelCount(c: Record<string, unknown>, fail: (why: string) => never): number {
  const n = c.num_labels;
  if (n !== undefined) {
    if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 1) fail(`"num_labels" must be an integer ≥ 1, got ${JSON.stringify(n)}`);
    return n as number;
  }
  const id2label = c.id2label;
  return id2label && typeof id2label === 'object' ? Math.max(1, Object.keys(id2label).length) : 2;
}

// ---------------------------------------------------------------------------------------------
// ModernBERT, NomicBERT, Qwen3: each family's config.json keys, defaults from its config class.

interface Fields {
  c: Record<string, unknown>;
  int: (key: string, def?: number, min?: number) => number;
  num: (key: string, def?: number) => number;
  bool: (key: string, def: boolean) => boolean;
  fail: (why: string) => never;
  archs: string[];
  modelType: string;
}

function numberField(c: Record<string, unknown>, fail: (why: string) => never) {
  return (key: string, def?: number): number => {
    const v = c[key] ?? def;
    if (v === undefined) fail(`"${key}" is missing`);
    if (typeof v !== 'number' || !(v > 0) || !Number.isFinite(v)) fail(`"${key}" must be a positive number, got ${JSON.stringify(v)}`);
    return v as number;
  };
}

function boolField(c: Record<string, unknown>, fail: (why: string) => never) {
  return (key: string, def: boolean): boolean => {
    const v = c[key] ?? def;
    if (typeof v !== 'boolean') fail(`"${key}" must be true or false, got ${JSON.stringify(v)}`);
    return v as boolean;
  };
}

function activation(f: Fields, key: string, def: string): HiddenAct {
  const name = f.c[key] ?? def;
  const act = typeof name === 'string' ? { ...ACTIVATIONS, silu: 'silu' as const, swish: 'silu' as const }[name] : undefined;
  if (!act) f.fail(`unsupported ${key} ${JSON.stringify(name)} (supported: ${[...Object.keys(ACTIVATIONS), 'silu', 'swish'].join(', ')})`);
  return act!;
}

function ropeScalingAbsent(f: Fields, ...keys: string[]): void {
  for (const k of keys) {
    const v = f.c[k];
    if (v === undefined || v === null) continue;
    const type = typeof v === 'object' ? ((v as Record<string, unknown>).rope_type ?? (v as Record<string, unknown>).type) : v;
    if (type !== 'default') f.fail(`unsupported ${k} ${JSON.stringify(v)} (only the default rotary embedding is supported)`);
  }
}

/** ModernBertConfig: norm_eps, norm_bias, global_attn_every_n_layers, local_attention, two rope thetas. */
function parseModernBert(f: Fields): EncoderConfig {
  const { int, num, bool, fail } = f;
  const hiddenSize = int('hidden_size', 768);
  const numHeads = int('num_attention_heads', 12);
  if (hiddenSize % numHeads !== 0) fail(`hidden_size ${hiddenSize} is not a multiple of num_attention_heads ${numHeads}`);
  const numLayers = int('num_hidden_layers', 22);
  const every = int('global_attn_every_n_layers', 3);
  const local = int('local_attention', 128);
  ropeScalingAbsent(f, 'rope_scaling');
  let layerTypes = Array.from({ length: numLayers }, (_, i) => (i % every ? 'sliding' : 'full') as 'full' | 'sliding');
  const lt = f.c.layer_types;
  if (lt !== undefined && lt !== null) {
    const names: Record<string, 'full' | 'sliding'> = { full_attention: 'full', sliding_attention: 'sliding' };
    if (!Array.isArray(lt) || lt.length !== numLayers || !lt.every((t) => typeof t === 'string' && names[t])) {
      fail(`"layer_types" must list "full_attention" or "sliding_attention" for each of the ${numLayers} layers`);
    }
    layerTypes = (lt as string[]).map((t) => names[t]);
  }
  // transformers ≥ 5 writes rope_parameters per layer type; older configs global_/local_rope_theta.
  const rp = (f.c.rope_parameters ?? {}) as Record<string, Record<string, unknown> | undefined>;
  const theta = (type: string, key: string, def: number) => {
    const v = rp[type]?.rope_theta ?? f.c[key] ?? def;
    if (typeof v !== 'number' || !(v > 0)) fail(`rope theta of ${type} layers must be a positive number, got ${JSON.stringify(v)}`);
    return v as number;
  };
  const vocabSize = int('vocab_size', 50368);
  const padTokenId = int('pad_token_id', 50283, 0);
  if (padTokenId >= vocabSize) fail(`pad_token_id ${padTokenId} is outside the vocabulary (${vocabSize})`);
  return {
    family: 'modernbert', architectures: f.archs, modelType: f.modelType, numLabels: labelCount(f.c, fail),
    vocabSize, hiddenSize, numLayers, numHeads, headDim: hiddenSize / numHeads,
    intermediateSize: int('intermediate_size', 1152),
    hiddenAct: activation(f, 'hidden_activation', 'gelu'),
    maxPositions: int('max_position_embeddings', 8192),
    typeVocabSize: 0,
    layerNormEps: num('norm_eps', 1e-5),
    padTokenId,
    positionOffset: 0,
    arch: {
      kind: 'modernbert', layerTypes, slidingWindow: Math.floor(local / 2),
      globalRopeTheta: theta('full_attention', 'global_rope_theta', 160000), localRopeTheta: theta('sliding_attention', 'local_rope_theta', 10000),
      normBias: bool('norm_bias', false), attentionBias: bool('attention_bias', false), mlpBias: bool('mlp_bias', false),
    },
  };
}

/**
 * NomicBertConfig (GPT2Config names: n_embd, n_head, n_layer, n_inner, n_positions). The model pads
 * vocab_size up to pad_vocab_size_multiple and rounds n_inner up to a multiple of 256, as
 * modeling_hf_nomic_bert.py does (NomicBertModel.__init__, NomciBertGatedMLP.__init__).
 */
function parseNomicBert(f: Fields): EncoderConfig {
  const { int, num, bool, fail, c } = f;
  const hiddenSize = int('n_embd', 768);
  const numHeads = int('n_head', 12);
  if (hiddenSize % numHeads !== 0) fail(`n_embd ${hiddenSize} is not a multiple of n_head ${numHeads}`);
  const act = c.activation_function ?? 'swiglu';
  if (act !== 'swiglu') fail(`unsupported activation_function ${JSON.stringify(act)} (supported: swiglu, as nomic-embed-text uses)`);
  if (bool('prenorm', false)) fail('"prenorm": true is not supported (nomic-embed-text models are post-norm)');
  if (bool('causal', false)) fail('"causal": true is not supported (an encoder attends both ways)');
  if (bool('parallel_block', false)) fail('"parallel_block": true is not supported');
  if (bool('rotary_emb_interleaved', false)) fail('"rotary_emb_interleaved": true is not supported (only the rotate-half form)');
  if (c.rotary_scaling_factor !== undefined && c.rotary_scaling_factor !== null) fail('"rotary_scaling_factor" (dynamic NTK rotary) is not supported');
  if (c.rotary_emb_scale_base !== undefined && c.rotary_emb_scale_base !== null) fail('"rotary_emb_scale_base" (xPos) is not supported');
  if (c.use_rms_norm === true) fail('"use_rms_norm": true is not supported');
  const headDim = hiddenSize / numHeads;
  const fraction = c.rotary_emb_fraction ?? 0;
  if (typeof fraction !== 'number' || !(fraction > 0 && fraction <= 1)) fail(`"rotary_emb_fraction" must be in (0, 1] (rotary positions), got ${JSON.stringify(fraction)}`);
  const rotaryDim = Math.floor(headDim * (fraction as number));
  if (rotaryDim % 2 !== 0) fail(`head_dim × rotary_emb_fraction = ${rotaryDim} must be even`);
  const multiple = int('pad_vocab_size_multiple', 1);
  const vocab = int('vocab_size', 30528);
  const inner = int('n_inner', 4 * hiddenSize);
  const padTokenId = int('pad_token_id', 0, 0);
  const vocabSize = Math.ceil(vocab / multiple) * multiple;
  if (padTokenId >= vocabSize) fail(`pad_token_id ${padTokenId} is outside the vocabulary (${vocabSize})`);
  return {
    family: 'nomic_bert', architectures: f.archs, modelType: f.modelType, numLabels: labelCount(f.c, fail),
    vocabSize, hiddenSize, numLayers: int('n_layer', 12), numHeads, headDim,
    intermediateSize: Math.ceil(inner / 256) * 256,
    hiddenAct: 'silu',
    maxPositions: int('n_positions', 2048),
    typeVocabSize: int('type_vocab_size', 2, 0),
    layerNormEps: num('layer_norm_epsilon', 1e-5),
    padTokenId,
    positionOffset: 0,
    arch: {
      kind: 'nomic_bert', rotaryBase: num('rotary_emb_base', 10000), rotaryDim,
      qkvProjBias: bool('qkv_proj_bias', true), mlpFc1Bias: bool('mlp_fc1_bias', true), mlpFc2Bias: bool('mlp_fc2_bias', true),
    },
  };
}

/** Qwen3Config: explicit head_dim, num_key_value_heads, rms_norm_eps, rope_theta; no sliding window. */
function parseQwen3(f: Fields): EncoderConfig {
  const { int, num, bool, fail, c } = f;
  const hiddenSize = int('hidden_size', 4096);
  const numHeads = int('num_attention_heads', 32);
  const numKeyValueHeads = int('num_key_value_heads', numHeads);
  if (numHeads % numKeyValueHeads !== 0) fail(`num_attention_heads ${numHeads} is not a multiple of num_key_value_heads ${numKeyValueHeads}`);
  if (bool('use_sliding_window', false)) fail('"use_sliding_window": true is not supported (Qwen3-Embedding attends to the whole causal prefix)');
  ropeScalingAbsent(f, 'rope_scaling');
  const rp = c.rope_parameters as Record<string, unknown> | undefined | null;
  if (rp && rp.rope_type !== undefined && rp.rope_type !== 'default') fail(`unsupported rope_parameters.rope_type ${JSON.stringify(rp.rope_type)} (only "default")`);
  const ropeTheta = typeof rp?.rope_theta === 'number' ? rp.rope_theta : num('rope_theta', 10000);
  const vocabSize = int('vocab_size', 151936);
  const pad = c.pad_token_id ?? c.eos_token_id ?? 0;
  const padTokenId = typeof pad === 'number' && Number.isSafeInteger(pad) && pad >= 0 && pad < vocabSize ? pad : 0;
  return {
    family: 'qwen3', architectures: f.archs, modelType: f.modelType, numLabels: labelCount(f.c, fail),
    vocabSize, hiddenSize, numLayers: int('num_hidden_layers', 32), numHeads,
    headDim: int('head_dim', Math.floor(hiddenSize / numHeads)),
    intermediateSize: int('intermediate_size', 22016),
    hiddenAct: activation(f, 'hidden_act', 'silu'),
    maxPositions: int('max_position_embeddings', 32768),
    typeVocabSize: 0,
    layerNormEps: num('rms_norm_eps', 1e-6),
    padTokenId,
    positionOffset: 0,
    arch: { kind: 'qwen3', ropeTheta, numKeyValueHeads, attentionBias: bool('attention_bias', false) },
  };
}
