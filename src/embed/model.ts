// The Model class: texts → tokenizer → packed batches →
// one forward each (embed/forward.ts) → results in input order. Calls on one model run one at a
// time through a queue, so concurrent callers each get their own results. Besides embedding
// models: late-interaction models (Stanford ColBERT checkpoints, PyLate folders: query/document
// encodings from embed/late.ts) and cross-encoders (score / rerank, pairs from embed/rerank.ts).

import type { Gpu } from '../gpu/device.js';
import type { KernelForm } from '../gpu/variants.js';
import { ModelFileError } from '../io/errors.js';
import { truncateIds, type EncoderTokenizer } from '../io/tokenizer.js';
import type { Encoder } from '../models/architecture.js';
import type { EncoderConfig } from '../models/config.js';
import type { PipelineConfig } from '../models/pipeline.js';
import type { WeightDtype } from '../models/weights.js';
import { packBatches, type PackedBatch } from './batching.js';
import { Forward, type ForwardOutputs, type Heads, type OutputRequest } from './forward.js';
import type { EncodeKind, LateInput, LateTokenizer } from './late.js';
import { encodePair, rankScores, sigmoid, type Ranked } from './rerank.js';
import { maxSimMatrixGpu } from './scoring.js';

export interface ModelInfo {
  /** 'score' for cross-encoders (score / rerank), 'embed' for every other model. */
  task: 'embed' | 'score';
  architecture: EncoderConfig['family'];
  hiddenSize: number;
  numLayers: number;
  numHeads: number;
  maxLength: number;
  pooling: PipelineConfig['pooling'];
  normalize: boolean;
  dtype: WeightDtype;
  outputs: { dense: number; tokens: number; tokensHead: 'colbert' | 'hidden'; sparse: boolean };
  /** ColBERT / PyLate models: how queries and documents are encoded. */
  lateInteraction: {
    source: 'colbert' | 'pylate';
    queryLength: number;
    documentLength: number;
    doQueryExpansion: boolean;
    attendToExpansionTokens: boolean;
  } | null;
  /** Cross-encoders: the activation sentence-transformers' CrossEncoder applies by default. */
  scoreActivation: 'sigmoid' | 'identity' | null;
  /** The model's named prompts (config_sentence_transformers.json), usable as `{ prompt: name }`. */
  prompts: Record<string, string>;
  /** Which form of each kernel family runs here, chosen at load by a short timed probe (gpu/variants.ts). */
  kernels: { matmul: KernelForm; attention: KernelForm };
  adapter: Gpu['adapter'];
}

export interface TokenEmbeddings {
  data: Float32Array;
  shape: [number, number];
  tokenIds: Int32Array;
  /** Late-interaction queries: 1 on the [MASK] query-expansion tokens. */
  expansion?: Uint8Array;
}

export interface HiddenStates {
  data: Float32Array;
  shape: [number, number];
}

/** One input to `encode`: a text, or token ids used as given (special tokens included). */
export type EncodeInput = string | number[];

export interface EncodeOptions {
  /** One vector per input (pooling + Dense, as embed). Default: true when no output is named. */
  dense?: boolean;
  /** BGE-M3 lexical weights (as sparse). */
  sparse?: boolean;
  /** One vector per token (as embedTokens). */
  tokens?: boolean;
  /** L2-normalize dense and token vectors (default: the pipeline's Normalize for dense, true for tokens). */
  normalize?: boolean;
  /** Dense: keep the first N features before normalizing (matryoshka). */
  dimensions?: number;
  /**
   * ColBERT / PyLate models: encode the texts as queries (marker, [MASK] expansion) or documents
   * (marker, skiplist removed); default 'document'. Other models encode both kinds alike.
   */
  kind?: EncodeKind;
  /**
   * Text prepended to every text input, as sentence-transformers does (`prompt + text`): the name
   * of one of the model's prompts (config_sentence_transformers.json `prompts`, e.g. 'query'), or
   * the literal text. Default: the model's `default_prompt_name` prompt if it has one; '' for none.
   * Token-id inputs are used as given.
   */
  prompt?: string;
}

export interface EncodeResult {
  dense?: Float32Array[];
  sparse?: Record<string, number>[];
  tokens?: TokenEmbeddings[];
  /** Tokens each input ran as (after truncation, special tokens included). */
  tokenCounts: number[];
}

/** The vectors of a late-interaction input's kept rows (documents: skiplist removed), with their ids. */
function keptRows(rows: Float32Array, D: number, x: LateInput, kind: EncodeKind): TokenEmbeddings {
  const idx: number[] = [];
  x.keep.forEach((k, t) => k && idx.push(t));
  const data = new Float32Array(idx.length * D);
  idx.forEach((t, r) => data.set(rows.subarray(t * D, (t + 1) * D), r * D));
  const out: TokenEmbeddings = { data, shape: [idx.length, D], tokenIds: Int32Array.from(idx.map((t) => x.ids[t])) };
  if (kind === 'query') out.expansion = Uint8Array.from(idx.map((t) => (x.expansion[t] ? 1 : 0)));
  return out;
}

/** Checks the texts argument: an array of strings (a TypeError names the first offender). */
export function checkTexts(texts: unknown, method: string): string[] {
  if (!Array.isArray(texts)) throw new TypeError(`${method}(texts): expected an array of strings, got ${texts === null ? 'null' : typeof texts}`);
  texts.forEach((t, i) => {
    if (typeof t !== 'string') throw new TypeError(`${method}(texts): texts[${i}] must be a string, got ${t === null ? 'null' : typeof t}`);
  });
  return texts as string[];
}

/** What a Model needs beyond an embedding model's parts. */
export interface ModelExtras {
  /** ColBERT / PyLate query and document tokenization; null for other models. */
  late: LateTokenizer | null;
  /** The token head drops the first token (BGE-M3's colbert_linear.pt, as FlagEmbedding does). */
  dropFirstToken: boolean;
}

export class Model {
  private queue: Promise<unknown> = Promise.resolve();
  private disposed = false;

  constructor(
    readonly gpu: Gpu,
    readonly config: EncoderConfig,
    readonly pipeline: PipelineConfig,
    readonly tokenizer: EncoderTokenizer,
    private encoder: Encoder,
    private heads: Heads,
    private forward: Forward,
    private owned: GPUBuffer[],
    private tokenBudget: number,
    readonly info: ModelInfo,
    private extras: ModelExtras,
  ) {}

  /** GPU bytes this model holds now (weights, activations, uniforms). */
  get gpuBytes(): number {
    return this.gpu.bytesAllocated;
  }

  async tokenize(texts: string[]): Promise<number[][]> {
    return this.tokenizer.encode(checkTexts(texts, 'tokenize'));
  }

  /**
   * Every requested output of every input from ONE encoder pass per packed batch (FlagEmbedding's
   * `encode(return_dense, return_sparse, return_colbert_vecs)`): results equal embed / sparse /
   * embedTokens called one by one.
   */
  async encode(inputs: EncodeInput[], opts: EncodeOptions = {}): Promise<EncodeResult> {
    this.notCrossEncoder('encode');
    const late = this.extras.late;
    const kind = opts.kind ?? 'document';
    if (kind !== 'query' && kind !== 'document') throw new TypeError(`kind must be 'query' or 'document', got ${JSON.stringify(opts.kind)}`);
    if (late && (opts.dense || opts.sparse)) {
      throw new Error('this ColBERT model gives one vector per token only (no pooled or sparse output); use embedTokens or encode with { tokens: true }');
    }
    const prompt = this.promptText(opts.prompt);
    const prompted = prompt && Array.isArray(inputs) ? inputs.map((x) => (typeof x === 'string' ? prompt + x : x)) : inputs;
    const lateInputs = late ? this.lateInputs(prompted, kind) : null;
    const ids = lateInputs ? lateInputs.map((x) => x.ids) : this.inputIds(prompted, 'encode');
    const want = late ? { dense: false, sparse: false, tokens: true } : { dense: opts.dense ?? !(opts.sparse || opts.tokens), sparse: !!opts.sparse, tokens: !!opts.tokens };
    const req: OutputRequest = {};
    let dims = 0;
    if (want.dense) {
      const width = this.forward.denseDim;
      dims = opts.dimensions ?? width;
      if (!Number.isInteger(dims) || dims < 1 || dims > width) {
        throw new RangeError(`dimensions must be an integer in 1..${width}, got ${opts.dimensions}`);
      }
      req.dense = { normalize: opts.normalize ?? this.pipeline.normalize, dims };
    }
    if (want.tokens) req.tokens = { normalize: opts.normalize ?? true };
    if (want.sparse) {
      if (!this.heads.sparse) throw new Error('sparse: this model has no sparse head (sparse_linear.pt); only BGE-M3-style models have lexical weights');
      req.sparse = true;
    }
    const n = ids.length;
    const out: EncodeResult = { tokenCounts: ids.map((x) => x.length) };
    if (want.dense) out.dense = new Array<Float32Array>(n);
    if (want.tokens) out.tokens = new Array<TokenEmbeddings>(n);
    if (want.sparse) out.sparse = new Array<Record<string, number>>(n);
    const drop = this.extras.dropFirstToken ? 1 : 0; // BGE-M3's multi-vector head drops CLS (FlagEmbedding)
    const D = this.forward.tokenDim;
    const keyLens = lateInputs?.map((x) => x.keyLen);
    await this.runBatches(ids, req, (batch, res) => {
      let start = 0;
      batch.order.forEach((i, b) => {
        const T = batch.lens[b];
        if (out.dense && res.dense) out.dense[i] = res.dense.data.slice(b * res.dense.cols, b * res.dense.cols + dims);
        if (out.tokens && res.tokens && lateInputs) {
          out.tokens[i] = keptRows(res.tokens.data.subarray(start * D, (start + T) * D), D, lateInputs[i], kind);
        } else if (out.tokens && res.tokens) {
          out.tokens[i] = {
            data: res.tokens.data.slice((start + drop) * D, (start + T) * D),
            shape: [T - drop, D],
            tokenIds: Int32Array.from(ids[i].slice(drop)),
          };
        }
        if (out.sparse && res.sparse) out.sparse[i] = this.lexicalWeights(res.sparse.data.subarray(start, start + T), ids[i]);
        start += T;
      });
    }, undefined, keyLens);
    return out;
  }

  /** One vector per text: pooling (+ Dense) as the model's sentence-transformers files say. */
  async embed(texts: string[], opts: { normalize?: boolean; dimensions?: number; prompt?: string } = {}): Promise<Float32Array[]> {
    checkTexts(texts, 'embed');
    return (await this.encode(texts, { dense: true, normalize: opts.normalize, dimensions: opts.dimensions, prompt: opts.prompt })).dense!;
  }

  /**
   * One vector per token (the model's multi-vector head if it has one, else the last hidden
   * state), L2-normalized by default. ColBERT / PyLate models encode `kind: 'query'` (marker,
   * [MASK] expansion: every position gives a vector) or `'document'` (the default: marker,
   * skiplisted tokens removed); BGE-M3 and other models ignore `kind`.
   */
  async embedTokens(texts: string[], opts: { normalize?: boolean; kind?: EncodeKind; prompt?: string } = {}): Promise<TokenEmbeddings[]> {
    checkTexts(texts, 'embedTokens');
    return (await this.encode(texts, { dense: false, tokens: true, normalize: opts.normalize ?? true, kind: opts.kind, prompt: opts.prompt })).tokens!;
  }

  /**
   * Cross-encoders: one raw logit per document for the pair (query, document), tokenized and cut
   * as sentence-transformers' CrossEncoder does. `activation: 'sigmoid'` applies what
   * CrossEncoder.predict applies by default for one label.
   */
  async score(query: string, docs: string[], opts: { activation?: 'sigmoid' | 'none' } = {}): Promise<number[]> {
    if (this.info.task !== 'score') throw new Error('score() needs a cross-encoder (a *ForSequenceClassification checkpoint); this model embeds: use embed / embedTokens');
    if (typeof query !== 'string') throw new TypeError(`score(query, docs): query must be a string, got ${query === null ? 'null' : typeof query}`);
    checkTexts(docs, 'score');
    const act = opts.activation ?? 'none';
    if (act !== 'none' && act !== 'sigmoid') throw new TypeError(`activation must be 'sigmoid' or 'none', got ${JSON.stringify(opts.activation)}`);
    if (this.config.numLabels !== 1) throw new Error(`score() returns one logit per document; this classifier has ${this.config.numLabels} labels`);
    const pairs = docs.map((d) => encodePair(this.tokenizer, query, d, this.tokenizer.maxLen));
    const ids = pairs.map((p) => p.ids);
    pairs.forEach((p) => {
      const bad = p.typeIds.find((t) => t >= this.config.typeVocabSize);
      if (bad !== undefined) throw new ModelFileError(`tokenizer.json gives token type ${bad}, but the model has type_vocab_size ${this.config.typeVocabSize}`, 'tokenizer.json');
    });
    const logits = new Array<number>(docs.length);
    await this.runBatches(ids, { dense: { normalize: false, dims: 1 } }, (batch, res) => {
      batch.order.forEach((i, b) => (logits[i] = res.dense!.data[b * res.dense!.cols]));
    }, pairs.map((p) => p.typeIds));
    return act === 'sigmoid' ? logits.map(sigmoid) : logits;
  }

  /** Cross-encoders: documents by score (as `score`), best first; `topK` keeps the first K. */
  async rerank(query: string, docs: string[], opts: { topK?: number; activation?: 'sigmoid' | 'none' } = {}): Promise<Ranked[]> {
    if (opts.topK !== undefined) rankScores([], opts.topK); // validates topK before any work
    return rankScores(await this.score(query, docs, { activation: opts.activation }), opts.topK);
  }

  /** BGE-M3 lexical weights, as FlagEmbedding returns them ({ "token id": weight }). */
  async sparse(texts: string[]): Promise<Record<string, number>[]> {
    checkTexts(texts, 'sparse');
    return (await this.encode(texts, { dense: false, sparse: true })).sparse!;
  }

  /** The raw last_hidden_state of every token, specials included (texts or token ids, as encode). */
  async hiddenStates(inputs: EncodeInput[]): Promise<HiddenStates[]> {
    const ids = this.inputIds(inputs, 'hiddenStates');
    const C = this.config.hiddenSize;
    const results = new Array<HiddenStates>(ids.length);
    await this.runBatches(ids, { hidden: true }, (batch, res) => {
      let start = 0;
      batch.order.forEach((i, b) => {
        const T = batch.lens[b];
        results[i] = { data: res.hidden!.data.slice(start * C, (start + T) * C), shape: [T, C] };
        start += T;
      });
    });
    return results;
  }

  /**
   * Late-interaction scores of every query against every document, on the GPU: a
   * [queries × docs] matrix (rows are queries). `reduce: 'mean'` is FlagEmbedding's colbert_score,
   * 'sum' is vLLM's / PyLate's.
   */
  async maxSimMatrix(queries: TokenEmbeddings[], docs: TokenEmbeddings[], opts: { reduce?: 'mean' | 'sum' } = {}): Promise<Float32Array[]> {
    // ColBERT and PyLate score with the sum; FlagEmbedding (BGE-M3) with the mean.
    const reduce = opts.reduce ?? (this.extras.late ? 'sum' : 'mean');
    return this.enqueue(() => maxSimMatrixGpu(this.gpu, queries, docs, reduce));
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

  private notCrossEncoder(method: string): void {
    if (this.info.task === 'score') throw new Error(`${method}(): this is a cross-encoder (${this.config.architectures[0]}); it scores (query, document) pairs: use score or rerank`);
  }

  /** ColBERT / PyLate inputs: texts as queries or documents; token-id lists used as given (all attended, every vector kept). */
  private lateInputs(inputs: unknown, kind: EncodeKind): LateInput[] {
    const late = this.extras.late!;
    // Only the id lists go through inputIds (checked, truncated); texts get a placeholder there.
    const ids = this.inputIds(Array.isArray(inputs) ? inputs.map((x) => (typeof x === 'string' ? [0] : x)) : inputs, 'encode');
    return (inputs as EncodeInput[]).map((x, i) => {
      if (typeof x === 'string') return late.encode(x, kind);
      const n = ids[i].length;
      return { ids: ids[i], keyLen: n, keep: new Array<boolean>(n).fill(true), expansion: new Array<boolean>(n).fill(false) };
    });
  }

  /** The text a `prompt` option stands for: a prompt name of the model, else the literal text. */
  private promptText(prompt: unknown): string {
    const prompts = this.pipeline.prompts ?? {};
    if (prompt === undefined) return this.pipeline.defaultPromptName ? prompts[this.pipeline.defaultPromptName] : '';
    if (typeof prompt !== 'string') throw new TypeError(`prompt must be a string (a prompt name or the text to prepend), got ${prompt === null ? 'null' : typeof prompt}`);
    return Object.hasOwn(prompts, prompt) ? prompts[prompt] : prompt;
  }

  /** Token ids of each input: texts through the tokenizer, id lists checked and truncated the same way. */
  private inputIds(inputs: unknown, method: string): number[][] {
    if (!Array.isArray(inputs)) throw new TypeError(`${method}(inputs): expected an array of strings or token-id arrays, got ${inputs === null ? 'null' : typeof inputs}`);
    const vocab = this.config.vocabSize;
    const max = this.tokenizer.maxLen;
    const texts: string[] = [];
    const at: number[] = [];
    const ids: number[][] = inputs.map((x: unknown, i) => {
      if (typeof x === 'string') {
        texts.push(x);
        at.push(i);
        return [];
      }
      if (!Array.isArray(x) || x.length === 0) {
        throw new TypeError(`${method}(inputs): inputs[${i}] must be a string or a non-empty array of token ids, got ${x === null ? 'null' : Array.isArray(x) ? 'an empty array' : typeof x}`);
      }
      const bad = x.findIndex((t) => !Number.isInteger(t) || t < 0 || t >= vocab);
      if (bad >= 0) throw new RangeError(`${method}(inputs): inputs[${i}][${bad}] = ${String(x[bad])} is not a token id of this model (0..${vocab - 1})`);
      // Truncated as texts are: the first max − 1 ids and the final one.
      return truncateIds([...x], max);
    });
    this.tokenizer.encode(texts).forEach((t, k) => (ids[at[k]] = t));
    return ids;
  }

  /** The ids FlagEmbedding leaves out of lexical weights (cls, eos, pad, unk), built once. */
  private lexicalSkip: ReadonlySet<number> | null = null;

  /** FlagEmbedding's lexical weights of one sequence: the max weight per id, specials and zeros dropped. */
  private lexicalWeights(w: Float32Array, ids: number[]): Record<string, number> {
    const sp = this.tokenizer.specialIds;
    const skip = (this.lexicalSkip ??= new Set([sp.cls, sp.eos, sp.pad, sp.unk].filter((x): x is number => x !== null)));
    const out: Record<string, number> = {};
    ids.forEach((id, t) => {
      if (skip.has(id) || !(w[t] > 0)) return;
      const k = String(id);
      if (!(k in out) || w[t] > out[k]) out[k] = w[t];
    });
    return out;
  }

  private async runBatches(
    ids: number[][],
    req: OutputRequest,
    each: (batch: PackedBatch, res: ForwardOutputs) => void,
    typeIds?: number[][],
    keyLens?: number[],
  ): Promise<void> {
    if (ids.length === 0) return;
    const longest = Math.max(...ids.map((x) => x.length));
    if (longest > this.tokenBudget) {
      throw new RangeError(
        `a ${longest}-token text is more than this adapter can run at once (${this.tokenBudget} tokens: ` +
          `maxStorageBufferBindingSize ${this.gpu.limits.maxStorageBufferBindingSize} bytes); shorten the text`,
      );
    }
    const batches = packBatches(ids, this.tokenBudget, (T) => this.encoder.positionIds(T), undefined, typeIds, keyLens);
    for (const batch of batches) {
      const res = await this.enqueue(() => this.forward.run(batch, req));
      each(batch, res);
    }
  }
}
