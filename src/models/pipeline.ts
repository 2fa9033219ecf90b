// The sentence-transformers / PyLate pipeline around the encoder: modules.json (Transformer,
// Pooling, Dense, Normalize, PyLate Dense), pooling modes, Dense layers, sentence_bert_config.json
// and config_sentence_transformers.json prompts → PipelineConfig.
// Every unsupported setting is an error that says what is supported, never a silent fallback.

import { ModelFileError } from '../io/errors.js';
import type { ModelFiles } from '../io/sources.js';

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
  /** config_sentence_transformers.json `prompts` (name → text prepended to the input), when any. */
  prompts?: Record<string, string>;
  /** config_sentence_transformers.json `default_prompt_name`, when set: applied when no prompt is given. */
  defaultPromptName?: string;
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
  await readPrompts(files, out);
  return out;
}

/**
 * `prompts` and `default_prompt_name` of config_sentence_transformers.json (sentence-transformers
 * prepends the prompt text to each input: `prompt + text`). Empty prompts and a null default are
 * left out.
 */
async function readPrompts(files: ModelFiles, out: PipelineConfig): Promise<void> {
  const file = 'config_sentence_transformers.json';
  if (!(await files.has(file))) return;
  const c = await files.json<Record<string, unknown> | null>(file);
  const fail = (why: string): never => {
    throw new ModelFileError(`${file} in ${files.origin}: ${why}`, file);
  };
  if (c === null || typeof c !== 'object' || Array.isArray(c)) fail('is not a JSON object');
  const prompts = c!.prompts ?? {};
  if (prompts === null || typeof prompts !== 'object' || Array.isArray(prompts) || !Object.values(prompts).every((v) => typeof v === 'string')) {
    fail('"prompts" must map prompt names to strings');
  }
  if (Object.keys(prompts as object).length) out.prompts = { ...(prompts as Record<string, string>) };
  const def = c!.default_prompt_name ?? null;
  if (def !== null) {
    if (typeof def !== 'string' || !(def in (prompts as object))) fail(`"default_prompt_name" ${JSON.stringify(def)} is not one of the prompts (${Object.keys(prompts as object).join(', ') || 'none'})`);
    out.defaultPromptName = def as string;
  }
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
