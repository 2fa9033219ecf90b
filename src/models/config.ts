// Model configuration: config.json → EncoderConfig (BERT / XLM-RoBERTa encoders), and the
// sentence-transformers pipeline (modules.json, pooling, Dense layers, Normalize) → PipelineConfig.
// Every unsupported setting is an error that says what is supported, never a silent fallback.

import { ModelFileError } from '../io/errors.js';
import type { ModelFiles } from '../io/sources.js';

export type HiddenAct = 'gelu_erf' | 'gelu_tanh' | 'relu';

export interface EncoderConfig {
  family: 'bert' | 'xlm-roberta';
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
}

const MODEL_TYPES: Record<string, EncoderConfig['family']> = { bert: 'bert', 'xlm-roberta': 'xlm-roberta', roberta: 'xlm-roberta' };
const ARCHITECTURES: Record<string, EncoderConfig['family']> = {
  BertModel: 'bert',
  XLMRobertaModel: 'xlm-roberta',
  RobertaModel: 'xlm-roberta',
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

  const id2label = c.id2label;
  const numLabels =
    c.num_labels !== undefined ? int('num_labels') : id2label && typeof id2label === 'object' ? Math.max(1, Object.keys(id2label).length) : 2;

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

// ---------------------------------------------------------------------------------------------
// sentence-transformers pipeline

export interface DenseLayer {
  /** Folder holding config.json and model.safetensors (weights `linear.weight`, `linear.bias`). */
  dir: string;
  inFeatures: number;
  outFeatures: number;
  bias: boolean;
  activation: 'identity' | 'tanh';
}

export interface PipelineConfig {
  pooling: 'cls' | 'mean' | 'last';
  normalize: boolean;
  dense: DenseLayer[];
  /**
   * A PyLate ColBERT folder: Dense modules straight after the Transformer (no Pooling), applied to
   * every token. `pooling`, `normalize` and `dense` are then unused.
   */
  tokenDense?: DenseLayer[];
  maxSeqLength?: number;
  fromSentenceTransformers: boolean;
  /** Folder of the Transformer module ('' = the model root; old exports use e.g. '0_Transformer'). */
  transformerDir: string;
}

const ST = 'sentence_transformers.models.';
const PYLATE_DENSE = 'pylate.models.Dense.Dense';
const POOLING_MODES: Record<string, PipelineConfig['pooling'] | null> = {
  pooling_mode_cls_token: 'cls',
  pooling_mode_mean_tokens: 'mean',
  pooling_mode_lasttoken: 'last',
  pooling_mode_max_tokens: null,
  pooling_mode_mean_sqrt_len_tokens: null,
  pooling_mode_weightedmean_tokens: null,
};
const DENSE_ACTIVATIONS: Record<string, DenseLayer['activation']> = {
  'torch.nn.modules.linear.Identity': 'identity',
  'torch.nn.modules.activation.Tanh': 'tanh',
};

const join = (dir: string, name: string) => (dir ? `${dir.replace(/\/+$/, '')}/${name}` : name);

/**
 * The sentence-transformers pipeline from modules.json. Without modules.json the documented
 * default is CLS pooling + L2 normalize (what vLLM does for BERT-family embedding models).
 */
export async function readPipelineConfig(files: ModelFiles): Promise<PipelineConfig> {
  if (!(await files.has('modules.json'))) {
    return { pooling: 'cls', normalize: true, dense: [], fromSentenceTransformers: false, transformerDir: '' };
  }
  const fail = (file: string, why: string): never => {
    throw new ModelFileError(`${file} in ${files.origin}: ${why}`, file);
  };
  const modules = await files.json<unknown>('modules.json');
  if (!Array.isArray(modules) || modules.length === 0) fail('modules.json', 'is not a non-empty list of modules');
  const list = [...(modules as Record<string, unknown>[])].sort((a, b) => Number(a?.idx ?? 0) - Number(b?.idx ?? 0));
  let pooling: PipelineConfig['pooling'] | undefined;
  let normalize = false;
  let transformerDir: string | undefined;
  const dense: DenseLayer[] = [];
  const tokenDense: DenseLayer[] = [];
  for (const [i, m] of list.entries()) {
    if (m === null || typeof m !== 'object' || typeof m.type !== 'string' || (m.path !== undefined && typeof m.path !== 'string')) {
      fail('modules.json', `module ${i} is not an object with "type" and "path" strings`);
    }
    const type = (m.type as string).startsWith(ST) ? (m.type as string).slice(ST.length) : m.type === PYLATE_DENSE ? 'Dense' : (m.type as string);
    const path = (m.path as string | undefined) ?? '';
    const order = (ok: boolean, rule: string) => ok || fail('modules.json', `module ${i} (${type}) is out of order: ${rule}`);
    if (type === 'Transformer') {
      order(i === 0, 'the Transformer must come first');
      transformerDir = path;
    } else if (type === 'Pooling') {
      order(transformerDir !== undefined && pooling === undefined && !normalize, 'one Pooling, after the Transformer');
      pooling = await readPooling(files, join(path, 'config.json'));
    } else if (type === 'Dense' && pooling === undefined) {
      // PyLate: token-level Dense modules right after the Transformer
      order(transformerDir !== undefined && !normalize, 'PyLate Dense layers follow the Transformer');
      tokenDense.push(await readDense(files, path));
    } else if (type === 'Dense') {
      order(!normalize && tokenDense.length === 0, 'Dense layers go after Pooling and before Normalize');
      dense.push(await readDense(files, path));
    } else if (type === 'Normalize') {
      order(pooling !== undefined, 'Normalize goes after Pooling');
      normalize = true;
    } else {
      fail('modules.json', `unsupported module type ${JSON.stringify(m.type)} (supported: ${['Transformer', 'Pooling', 'Dense', 'Normalize'].map((t) => ST + t).join(', ')}, ${PYLATE_DENSE})`);
    }
  }
  if (transformerDir === undefined) fail('modules.json', 'needs a Transformer module');
  if (pooling !== undefined && tokenDense.length > 0) fail('modules.json', 'has both a Pooling module and PyLate token-level Dense modules');
  if (pooling === undefined && tokenDense.length === 0) {
    fail('modules.json', 'needs a Pooling module (a sentence-transformers embedding model) or Dense modules after the Transformer (a PyLate ColBERT folder)');
  }

  let maxSeqLength: number | undefined;
  const sbert = join(transformerDir!, 'sentence_bert_config.json');
  if (await files.has(sbert)) {
    const v = (await files.json<Record<string, unknown> | null>(sbert))?.max_seq_length;
    if (v !== undefined && v !== null) {
      if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 2) fail(sbert, `"max_seq_length" must be an integer ≥ 2, got ${JSON.stringify(v)}`);
      maxSeqLength = v as number;
    }
  }
  const out: PipelineConfig = tokenDense.length
    ? { pooling: 'cls', normalize: false, dense: [], tokenDense, fromSentenceTransformers: true, transformerDir: transformerDir! }
    : { pooling: pooling!, normalize, dense, fromSentenceTransformers: true, transformerDir: transformerDir! };
  if (maxSeqLength !== undefined) out.maxSeqLength = maxSeqLength;
  return out;
}

async function readPooling(files: ModelFiles, file: string): Promise<PipelineConfig['pooling']> {
  const c = await files.json<Record<string, unknown> | null>(file);
  if (c === null || typeof c !== 'object') throw new ModelFileError(`${file} in ${files.origin} is not a JSON object`, file);
  const on = Object.keys(POOLING_MODES).filter((k) => c[k] === true);
  if (typeof c.pooling_mode === 'string' && on.length === 0) {
    const byName: Record<string, string> = { cls: 'pooling_mode_cls_token', mean: 'pooling_mode_mean_tokens', lasttoken: 'pooling_mode_lasttoken' };
    if (byName[c.pooling_mode]) on.push(byName[c.pooling_mode]);
  }
  const supported = 'supported: pooling_mode_cls_token, pooling_mode_mean_tokens or pooling_mode_lasttoken, exactly one';
  if (on.length !== 1) throw new ModelFileError(`${file} in ${files.origin} enables ${on.length ? on.join(' + ') : 'no pooling mode'} (${supported})`, file);
  const mode = POOLING_MODES[on[0]];
  if (!mode) throw new ModelFileError(`${file} in ${files.origin}: unsupported pooling ${on[0]} (${supported})`, file);
  return mode;
}

async function readDense(files: ModelFiles, dir: string): Promise<DenseLayer> {
  const file = join(dir, 'config.json');
  const c = await files.json<Record<string, unknown> | null>(file);
  const fail = (why: string): never => {
    throw new ModelFileError(`${file} in ${files.origin}: ${why}`, file);
  };
  if (c === null || typeof c !== 'object') fail('is not a JSON object');
  const dim = (k: string) => {
    const v = c![k];
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1) fail(`"${k}" must be a positive integer, got ${JSON.stringify(v)}`);
    return v as number;
  };
  const act = (c!.activation_function ?? 'torch.nn.modules.linear.Identity') as string;
  const activation = DENSE_ACTIVATIONS[act];
  if (!activation) fail(`unsupported activation_function ${JSON.stringify(act)} (supported: ${Object.keys(DENSE_ACTIVATIONS).join(', ')})`);
  const bias = c!.bias ?? true;
  if (typeof bias !== 'boolean') fail(`"bias" must be true or false`);
  // pylate.models.Dense: use_residual adds the input (or a bias-free projection of it)
  if (c!.use_residual === true) fail('"use_residual": true (PyLate residual Dense) is not supported');
  return { dir, inFeatures: dim('in_features'), outFeatures: dim('out_features'), bias: bias as boolean, activation: activation! };
}
