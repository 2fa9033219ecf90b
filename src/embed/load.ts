// loadModel's platform-neutral half: config.json and the sentence-transformers / PyLate files →
// architecture (models/registry.ts) → strict weight upload → heads → load-time kernel choice →
// a Model. On any error everything uploaded so far is freed (nothing half-loaded).

import type { Gpu } from '../gpu/device.js';
import { chooseVariants } from '../gpu/variants.js';
import { ModelFileError } from '../io/errors.js';
import { listCheckpointTensors } from '../io/safetensors.js';
import { subFiles, type ModelFiles } from '../io/sources.js';
import { loadTokenizer } from '../io/tokenizer.js';
import { headFromArchitectures, parseConfig } from '../models/config.js';
import { loadClassifier, loadColbertLinear, loadDenseHeads, loadTorchLinear, type DenseHead } from '../models/heads.js';
import { readColbertSettings, readPylateSettings } from '../models/late-config.js';
import { readPipelineConfig } from '../models/pipeline.js';
import { architectureFor } from '../models/registry.js';
import { WeightStore, type WeightDtype } from '../models/weights.js';
import { Forward, type Heads } from './forward.js';
import { lateTokenizer, type LateTokenizer } from './late.js';
import { Model, type ModelExtras, type ModelInfo } from './model.js';

export interface LoadOptions {
  /** Run on this device instead of requesting one; it stays usable after dispose(). */
  device?: GPUDevice;
  /** Weight storage: 'f16' halves weight bytes (needs the adapter's shader-f16); math accumulates in f32. */
  dtype?: WeightDtype;
  /** Tokens per forward (default: as many as fit, at most 8192). */
  maxBatchTokens?: number;
  /** Debug log (unused checkpoint keys, weights split into row chunks, chosen defaults). */
  log?: (message: string) => void;
  /** Weight-loading progress, in checkpoint bytes uploaded (ends with loaded === total). */
  onProgress?: (p: { loaded: number; total: number }) => void;
}

/**
 * sentence-transformers' CrossEncoder default activation (CrossEncoder.py lines 276-300): the
 * config's sentence_transformers.activation_fn (older: sbert_ce_default_activation_function), else
 * Sigmoid for one label and Identity for more.
 */
function crossEncoderActivation(cfg: Record<string, unknown>, numLabels: number): 'sigmoid' | 'identity' {
  const st = cfg.sentence_transformers as Record<string, unknown> | undefined;
  const path = (st && typeof st === 'object' ? st.activation_fn : undefined) ?? cfg.sbert_ce_default_activation_function;
  if (path === 'torch.nn.modules.activation.Sigmoid') return 'sigmoid';
  if (path === 'torch.nn.modules.linear.Identity') return 'identity';
  return numLabels === 1 ? 'sigmoid' : 'identity';
}

/** Builds a Model from its files on `gpu`. On any error, everything uploaded so far is freed. */
export async function loadModelFromFiles(files: ModelFiles, gpu: Gpu, opts: LoadOptions = {}): Promise<Model> {
  const log = opts.log ?? (() => {});
  const dtype: WeightDtype = opts.dtype ?? 'f32';
  if (dtype !== 'f32' && dtype !== 'f16') throw new TypeError(`dtype must be 'f32' or 'f16', got ${String(dtype)}`);
  if (dtype === 'f16' && !gpu.features.f16) {
    throw new Error(`dtype 'f16' needs the WebGPU feature shader-f16, which this adapter (${gpu.adapter.description || gpu.adapter.vendor}) does not offer; load with dtype 'f32'`);
  }
  const pipeline = await readPipelineConfig(files);
  // Old sentence-transformers exports keep the encoder in a subfolder (0_Transformer/).
  const main = pipeline.transformerDir ? subFiles(files, pipeline.transformerDir) : files;
  const configJson = await main.json<Record<string, unknown>>('config.json');
  const config = parseConfig(configJson, main.origin);
  const tokenizer = await loadTokenizer(main, config, pipeline.maxSeqLength);
  const tensors = await listCheckpointTensors(main);
  const arch = architectureFor(config);
  const store = new WeightStore(gpu, main, tensors, dtype, { probe: arch.probeKey, prefixes: arch.prefixes, ignored: arch.ignoredKeys }, opts.onProgress);
  const owned: GPUBuffer[] = [];
  try {
    if (!arch.poolings.includes(pipeline.pooling)) {
      throw new ModelFileError(`${config.family} models support pooling ${arch.poolings.join(', ')}, not "${pipeline.pooling}"`, '1_Pooling/config.json');
    }
    const encoder = await arch.load(store, config);
    const C = config.hiddenSize;
    // What sits on the encoder: config.json's architectures and the sentence-transformers files.
    const head = headFromArchitectures(config.architectures);
    const pylate = pipeline.tokenDense !== undefined;
    let tokens: DenseHead[] = [];
    let dense: DenseHead[] = [];
    let late: LateTokenizer | null = null;
    let scoreActivation: ModelInfo['scoreActivation'] = null;
    // BGE-M3's multi-vector head (FlagEmbedding drops the first token's vector).
    let colbertLinear = false;
    if (head === 'sequence-classification') {
      // CrossEncoder: [CLS] (or <s>) → tanh dense → classifier; logits, no normalization.
      dense = await loadClassifier(store, config.architectures.find((a) => a.endsWith('ForSequenceClassification'))!, C, config.numLabels);
      scoreActivation = crossEncoderActivation(configJson, config.numLabels);
    } else if (pylate) {
      tokens = await loadDenseHeads(gpu, files, pipeline.tokenDense!, dtype, owned);
      if (tokens[0].linear.inFeatures !== C) throw new ModelFileError(`the first Dense module takes ${tokens[0].linear.inFeatures} features, the encoder gives ${C}`, `${pipeline.tokenDense![0].dir}/config.json`);
      late = lateTokenizer(await readPylateSettings(files, pipeline.transformerDir), tokenizer, config.maxPositions - config.positionOffset, files.origin);
    } else if (head === 'colbert') {
      tokens = [await loadColbertLinear(store, C)];
      late = lateTokenizer(await readColbertSettings(main), tokenizer, config.maxPositions - config.positionOffset, main.origin);
    } else {
      dense = await loadDenseHeads(gpu, files, pipeline.dense, dtype, owned);
      const linear = await loadTorchLinear(gpu, files, 'colbert_linear.pt', C, dtype, owned);
      if (linear) tokens = [{ linear, activation: 'none' }];
      colbertLinear = linear !== null;
    }
    const heads: Heads = {
      pooling: head === 'sequence-classification' ? 'cls' : pipeline.pooling,
      dense,
      tokens,
      sparse: await loadTorchLinear(gpu, files, 'sparse_linear.pt', C, 'f32', owned),
    };
    if (heads.sparse && heads.sparse.outFeatures !== 1) throw new ModelFileError(`sparse head must map ${C} → 1, got ${heads.sparse.outFeatures}`, 'sparse_linear.pt');
    for (const line of store.chunkSummary()) log(`weight ${line}`);
    const unused = store.unusedKeys();
    if (unused.length) log(`unused checkpoint keys: ${unused.join(', ')}`);
    const ignored = store.ignoredKeys();
    if (ignored.length) log(`ignored checkpoint keys: ${ignored.join(', ')}`);
    owned.push(...store.buffers);
    opts.onProgress?.({ loaded: store.totalBytes, total: store.totalBytes });
    const maxLength = late ? Math.max(late.settings.queryLength, late.settings.documentLength) : tokenizer.maxLen;
    // Tokens per forward: what the user allows (at least one max-length text), capped by what one
    // storage binding holds. A text longer than that cap is refused when it is embedded.
    const limit = Forward.tokenLimit(gpu, encoder, heads);
    const tokenBudget = Math.min(limit, Math.max(opts.maxBatchTokens ?? 8192, maxLength));
    // Tiled or subgroup kernels: timed once per adapter before the first plan is recorded.
    const variants = await chooseVariants(gpu);
    const forward = new Forward(gpu, encoder, heads);
    const ls = late?.settings;
    const info: ModelInfo = {
      task: head === 'sequence-classification' ? 'score' : 'embed',
      architecture: config.family,
      hiddenSize: C,
      numLayers: config.numLayers,
      numHeads: config.numHeads,
      maxLength,
      pooling: heads.pooling,
      normalize: late ? true : head === 'sequence-classification' ? false : pipeline.normalize,
      dtype,
      outputs: { dense: late ? 0 : forward.denseDim, tokens: forward.tokenDim, tokensHead: tokens.length ? 'colbert' : 'hidden', sparse: heads.sparse !== null },
      lateInteraction: ls
        ? { source: ls.source, queryLength: ls.queryLength, documentLength: ls.documentLength, doQueryExpansion: ls.doQueryExpansion, attendToExpansionTokens: ls.attendToExpansionTokens }
        : null,
      scoreActivation,
      prompts: { ...(pipeline.prompts ?? {}) },
      kernels: { matmul: variants.matmul, attention: variants.attention },
      adapter: gpu.adapter,
    };
    const extras: ModelExtras = { late, dropFirstToken: colbertLinear };
    return new Model(gpu, config, pipeline, tokenizer, encoder, heads, forward, owned, tokenBudget, info, extras);
  } catch (e) {
    store.destroy();
    for (const b of owned) gpu.destroyBuffer(b);
    throw e;
  }
}
