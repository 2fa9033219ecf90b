// loadModel's platform-neutral half and the Model class: texts → tokenizer → packed batches →
// one forward each (embed/forward.ts) → results in input order. Calls on one model run one at a
// time through a queue, so concurrent callers each get their own results.

import type { Gpu } from '../gpu/device.js';
import { ModelFileError } from '../io/errors.js';
import { listCheckpointTensors } from '../io/safetensors.js';
import { subFiles, type ModelFiles } from '../io/sources.js';
import { loadTokenizer, type EncoderTokenizer } from '../io/tokenizer.js';
import { BertModel } from '../models/bert.js';
import { parseConfig, readPipelineConfig, type EncoderConfig, type PipelineConfig } from '../models/config.js';
import { loadDenseHeads, loadTorchLinear } from '../models/heads.js';
import { WeightStore, type WeightDtype } from '../models/weights.js';
import { packBatches, type PackedBatch } from './batching.js';
import { Forward, type Heads, type OutputKind, type OutputOptions } from './forward.js';
import { maxSimMatrixGpu } from './scoring.js';

export interface LoadOptions {
  /** Run on this device instead of requesting one; it stays usable after dispose(). */
  device?: GPUDevice;
  /** Weight storage: 'f16' halves weight bytes (needs the adapter's shader-f16); math accumulates in f32. */
  dtype?: WeightDtype;
  /** Tokens per forward (default: as many as fit, at most 8192). */
  maxBatchTokens?: number;
  /** Debug log (unused checkpoint keys, chosen defaults). */
  log?: (message: string) => void;
  /** Weight-loading progress, in checkpoint bytes uploaded (ends with loaded === total). */
  onProgress?: (p: { loaded: number; total: number }) => void;
}

export interface ModelInfo {
  architecture: EncoderConfig['family'];
  hiddenSize: number;
  numLayers: number;
  numHeads: number;
  maxLength: number;
  pooling: PipelineConfig['pooling'];
  normalize: boolean;
  dtype: WeightDtype;
  outputs: { dense: number; tokens: number; tokensHead: 'colbert' | 'hidden'; sparse: boolean };
  adapter: Gpu['adapter'];
}

export interface TokenEmbeddings {
  data: Float32Array;
  shape: [number, number];
  tokenIds: Int32Array;
}

export interface HiddenStates {
  data: Float32Array;
  shape: [number, number];
}

/** Checks the texts argument: an array of strings (a TypeError names the first offender). */
export function checkTexts(texts: unknown, method: string): string[] {
  if (!Array.isArray(texts)) throw new TypeError(`${method}(texts): expected an array of strings, got ${texts === null ? 'null' : typeof texts}`);
  texts.forEach((t, i) => {
    if (typeof t !== 'string') throw new TypeError(`${method}(texts): texts[${i}] must be a string, got ${t === null ? 'null' : typeof t}`);
  });
  return texts as string[];
}

export class Model {
  private queue: Promise<unknown> = Promise.resolve();
  private disposed = false;

  constructor(
    readonly gpu: Gpu,
    readonly config: EncoderConfig,
    readonly pipeline: PipelineConfig,
    readonly tokenizer: EncoderTokenizer,
    private bert: BertModel,
    private heads: Heads,
    private forward: Forward,
    private owned: GPUBuffer[],
    private tokenBudget: number,
    readonly info: ModelInfo,
  ) {}

  /** GPU bytes this model holds now (weights, activations, uniforms). */
  get gpuBytes(): number {
    return this.gpu.bytesAllocated;
  }

  async tokenize(texts: string[]): Promise<number[][]> {
    return this.tokenizer.encode(checkTexts(texts, 'tokenize'));
  }

  /** One vector per text: pooling (+ Dense) as the model's sentence-transformers files say. */
  async embed(texts: string[], opts: { normalize?: boolean; dimensions?: number } = {}): Promise<Float32Array[]> {
    checkTexts(texts, 'embed');
    const width = this.forward.denseDim;
    const dims = opts.dimensions ?? width;
    if (!Number.isInteger(dims) || dims < 1 || dims > width) {
      throw new RangeError(`embed: dimensions must be an integer in 1..${width}, got ${opts.dimensions}`);
    }
    const normalize = opts.normalize ?? this.pipeline.normalize;
    const ids = this.tokenizer.encode(texts);
    const results = new Array<Float32Array>(texts.length);
    await this.runBatches(ids, 'dense', { normalize, dims }, (batch, data, cols) => {
      batch.order.forEach((i, b) => (results[i] = data.slice(b * cols, b * cols + dims)));
    });
    return results;
  }

  /** One vector per token (ColBERT head if present, else the last hidden state), L2-normalized by default. */
  async embedTokens(texts: string[], opts: { normalize?: boolean } = {}): Promise<TokenEmbeddings[]> {
    checkTexts(texts, 'embedTokens');
    const normalize = opts.normalize ?? true;
    const drop = this.heads.colbert ? 1 : 0; // the multi-vector head drops CLS (FlagEmbedding)
    const D = this.forward.tokenDim;
    return this.runTokens(texts, 'tokens', { normalize, dims: D }, (rows, ids) => ({
      data: rows.slice(drop * D),
      shape: [ids.length - drop, D] as [number, number],
      tokenIds: Int32Array.from(ids.slice(drop)),
    }));
  }

  /** BGE-M3 lexical weights, as FlagEmbedding returns them ({ "token id": weight }). */
  async sparse(texts: string[]): Promise<Record<string, number>[]> {
    checkTexts(texts, 'sparse');
    if (!this.heads.sparse) {
      throw new Error('sparse(): this model has no sparse head (sparse_linear.pt); only BGE-M3-style models have lexical weights');
    }
    const sp = this.tokenizer.specialIds;
    const skip = new Set([sp.cls, sp.eos, sp.pad, sp.unk].filter((x): x is number => x !== null));
    return this.runTokens(texts, 'sparse', { normalize: false, dims: 1 }, (w, ids) => {
      const out: Record<string, number> = {};
      ids.forEach((id, t) => {
        if (skip.has(id) || !(w[t] > 0)) return;
        const k = String(id);
        if (!(k in out) || w[t] > out[k]) out[k] = w[t];
      });
      return out;
    });
  }

  /** The raw last_hidden_state of every token, specials included. */
  async hiddenStates(texts: string[]): Promise<HiddenStates[]> {
    checkTexts(texts, 'hiddenStates');
    const C = this.config.hiddenSize;
    return this.runTokens(texts, 'hidden', { normalize: false, dims: C }, (rows, ids) => ({
      data: rows,
      shape: [ids.length, C] as [number, number],
    }));
  }

  /**
   * Late-interaction scores of every query against every document, on the GPU: a
   * [queries × docs] matrix (rows are queries). `reduce: 'mean'` is FlagEmbedding's colbert_score,
   * 'sum' is vLLM's / PyLate's.
   */
  async maxSimMatrix(queries: TokenEmbeddings[], docs: TokenEmbeddings[], opts: { reduce?: 'mean' | 'sum' } = {}): Promise<Float32Array[]> {
    return this.enqueue(() => maxSimMatrixGpu(this.gpu, queries, docs, opts.reduce ?? 'mean'));
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.forward.destroy();
    for (const b of this.owned) this.gpu.destroyBuffer(b);
    this.gpu.destroy();
  }

  private enqueue<T>(work: () => Promise<T>): Promise<T> {
    if (this.disposed) return Promise.reject(new Error('this model was disposed; call loadModel again'));
    const run = this.queue.then(() => {
      if (this.disposed) throw new Error('this model was disposed; call loadModel again');
      return work();
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Runs texts through packed forwards; `take` turns one text's rows into its result. */
  private async runTokens<T>(texts: string[], kind: OutputKind, o: OutputOptions, take: (rows: Float32Array, ids: number[]) => T): Promise<T[]> {
    const ids = this.tokenizer.encode(texts);
    const results = new Array<T>(texts.length);
    await this.runBatches(ids, kind, o, (batch, data, cols) => {
      let start = 0;
      batch.order.forEach((i, b) => {
        const T = batch.lens[b];
        results[i] = take(data.slice(start * cols, (start + T) * cols), ids[i]);
        start += T;
      });
    });
    return results;
  }

  private async runBatches(ids: number[][], kind: OutputKind, o: OutputOptions, each: (batch: PackedBatch, data: Float32Array, cols: number) => void): Promise<void> {
    if (ids.length === 0) return;
    const longest = Math.max(...ids.map((x) => x.length));
    if (longest > this.tokenBudget) {
      throw new RangeError(
        `a ${longest}-token text is more than this adapter can run at once (${this.tokenBudget} tokens: ` +
          `maxStorageBufferBindingSize ${this.gpu.limits.maxStorageBufferBindingSize} bytes); shorten the text`,
      );
    }
    const batches = packBatches(ids, this.tokenBudget, (T) => this.bert.positionIds(T));
    for (const batch of batches) {
      const { data, cols } = await this.enqueue(() => this.forward.run(batch, kind, o));
      each(batch, data, cols);
    }
  }
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
  const config = parseConfig(await main.json('config.json'), main.origin);
  const tokenizer = await loadTokenizer(main, config, pipeline.maxSeqLength);
  const tensors = await listCheckpointTensors(main);
  const store = new WeightStore(gpu, main, tensors, dtype, undefined, opts.onProgress);
  const owned: GPUBuffer[] = [];
  try {
    const bert = await BertModel.load(store, config);
    const unused = store.unusedKeys();
    if (unused.length) log(`unused checkpoint keys: ${unused.join(', ')}`);
    const ignored = store.ignoredKeys();
    if (ignored.length) log(`ignored checkpoint keys: ${ignored.join(', ')}`);
    const C = config.hiddenSize;
    const heads: Heads = {
      pooling: pipeline.pooling,
      dense: await loadDenseHeads(gpu, files, pipeline.dense, dtype, owned),
      colbert: await loadTorchLinear(gpu, files, 'colbert_linear.pt', C, dtype, owned),
      sparse: await loadTorchLinear(gpu, files, 'sparse_linear.pt', C, 'f32', owned),
    };
    if (heads.sparse && heads.sparse.outFeatures !== 1) throw new ModelFileError(`sparse head must map ${C} → 1, got ${heads.sparse.outFeatures}`, 'sparse_linear.pt');
    owned.push(...store.buffers);
    opts.onProgress?.({ loaded: store.totalBytes, total: store.totalBytes });
    // Tokens per forward: what the user allows (at least one max-length text), capped by what one
    // storage binding holds. A text longer than that cap is refused when it is embedded.
    const limit = Forward.tokenLimit(gpu, bert, heads);
    const tokenBudget = Math.min(limit, Math.max(opts.maxBatchTokens ?? 8192, tokenizer.maxLen));
    const forward = new Forward(gpu, bert, heads);
    const info: ModelInfo = {
      architecture: config.family,
      hiddenSize: C,
      numLayers: config.numLayers,
      numHeads: config.numHeads,
      maxLength: tokenizer.maxLen,
      pooling: pipeline.pooling,
      normalize: pipeline.normalize,
      dtype,
      outputs: { dense: forward.denseDim, tokens: forward.tokenDim, tokensHead: heads.colbert ? 'colbert' : 'hidden', sparse: heads.sparse !== null },
      adapter: gpu.adapter,
    };
    return new Model(gpu, config, pipeline, tokenizer, bert, heads, forward, owned, tokenBudget, info);
  } catch (e) {
    store.destroy();
    for (const b of owned) gpu.destroyBuffer(b);
    throw e;
  }
}
