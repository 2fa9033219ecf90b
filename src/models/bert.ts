// BERT and XLM-RoBERTa encoders, module for module as Hugging Face's modeling_bert.py:
// BertModel = BertEmbeddings + BertEncoder(BertLayer × L); field names are the checkpoint key
// segments, so every weight name comes from the structure. XLM-R differs only in its position
// ids (counted from padding_idx + 1), which the batcher computes. `forward` records the calls
// of one packed batch; it does not submit anything.

import type { Gpu } from '../gpu/device.js';
import type { KernelCall } from '../gpu/pipelines.js';
import { attention } from '../kernels/attention.js';
import { embeddingsSum } from '../kernels/embeddings.js';
import type { Architecture, BatchBuffers, BatchShape, Encoder } from './architecture.js';
import { ModelFileError } from '../io/errors.js';
import type { EncoderConfig, HiddenAct } from './config.js';
import { positionRange, embeddingLookup, layerNormCall, linearCall, loadLayerNorm, loadLinear, loadStackedLinear, type LayerNorm, type Linear } from './layers.js';
import type { GpuWeight, WeightStore } from './weights.js';

export class BertEmbeddings {
  constructor(
    readonly word_embeddings: GpuWeight,
    readonly position_embeddings: GpuWeight,
    readonly token_type_embeddings: GpuWeight,
    readonly LayerNorm: LayerNorm,
  ) {}

  static async load(store: WeightStore, cfg: EncoderConfig): Promise<BertEmbeddings> {
    const C = cfg.hiddenSize;
    return new BertEmbeddings(
      await store.upload('embeddings.word_embeddings.weight', [cfg.vocabSize, C]),
      await store.upload('embeddings.position_embeddings.weight', [cfg.maxPositions, C]),
      await store.upload('embeddings.token_type_embeddings.weight', [cfg.typeVocabSize, C]),
      await loadLayerNorm(store, 'embeddings.LayerNorm', C, cfg.layerNormEps),
    );
  }

  /** h = LayerNorm(word[ids] + position[posIds] + token_type[typeIds or 0]); word rows gathered chunk by chunk into tmp. */
  forward(gpu: Gpu, buf: BatchBuffers, s: BatchShape): KernelCall[] {
    const C = this.LayerNorm.weight.shape[0];
    const w = this.word_embeddings;
    const tmp = buf.scratch.tmp;
    const calls = embeddingLookup(gpu, w, buf.ids, tmp, s.N);
    calls.push(
      embeddingsSum(gpu, {
        words: tmp, posIds: buf.posIds, out: buf.h, N: s.N, C, eps: this.LayerNorm.eps,
        posTable: this.position_embeddings.chunks[0].buffer,
        typeTable: this.token_type_embeddings.chunks[0].buffer,
        typeIds: s.typeIds ? buf.typeIds : null, // (N) only when a batch has second segments
        gamma: this.LayerNorm.weight.chunks[0].buffer,
        beta: this.LayerNorm.bias!.chunks[0].buffer, // BERT always has the bias
        wDtype: this.position_embeddings.dtype,
      }),
    );
    return calls;
  }
}

/** BertSelfAttention's query/key/value, stacked into one (3C, C) projection. */
export interface BertSelfAttention {
  qkv: Linear;
}

export class BertLayer {
  constructor(
    readonly attention: { self: BertSelfAttention; output: { dense: Linear; LayerNorm: LayerNorm } },
    readonly intermediate: { dense: Linear },
    readonly output: { dense: Linear; LayerNorm: LayerNorm },
    private cfg: EncoderConfig,
  ) {}

  static async load(store: WeightStore, cfg: EncoderConfig, i: number): Promise<BertLayer> {
    const C = cfg.hiddenSize, I = cfg.intermediateSize, eps = cfg.layerNormEps;
    if (cfg.hiddenAct === 'silu') throw new ModelFileError('BERT-family hidden_act "silu" is not supported', 'config.json');
    const p = `encoder.layer.${i}`;
    const qkv = await loadStackedLinear(store, ['query', 'key', 'value'].map((n) => `${p}.attention.self.${n}`), C, [C, C, C]);
    return new BertLayer(
      {
        self: { qkv },
        output: { dense: await loadLinear(store, `${p}.attention.output.dense`, C, C), LayerNorm: await loadLayerNorm(store, `${p}.attention.output.LayerNorm`, C, eps) },
      },
      { dense: await loadLinear(store, `${p}.intermediate.dense`, C, I) },
      { dense: await loadLinear(store, `${p}.output.dense`, I, C), LayerNorm: await loadLayerNorm(store, `${p}.output.LayerNorm`, C, eps) },
      cfg,
    );
  }

  /** h → a = LN(h + Attn(h)) → h = LN(a + W2·act(W1·a)). Post-norm, as in BERT. */
  forward(gpu: Gpu, buf: BatchBuffers, s: BatchShape): KernelCall[] {
    const { N } = s;
    const { qkv, ctx, tmp, a, inter } = buf.scratch;
    return [
      linearCall(gpu, this.attention.self.qkv, buf.h, qkv, N), // (N, 3C)
      attention(gpu, { qkv, out: ctx, seqs: buf.seqs, N, B: s.B, maxLen: s.maxLen, NH: this.cfg.numHeads, HD: this.cfg.headDim, keyLens: s.keyLens }), // (N, C)
      linearCall(gpu, this.attention.output.dense, ctx, tmp, N), // (N, C)
      layerNormCall(gpu, this.attention.output.LayerNorm, tmp, buf.h, a, N), // (N, C)
      linearCall(gpu, this.intermediate.dense, a, inter, N, this.cfg.hiddenAct as Exclude<HiddenAct, 'silu'>), // (N, I)
      linearCall(gpu, this.output.dense, inter, tmp, N), // (N, C)
      layerNormCall(gpu, this.output.LayerNorm, tmp, a, buf.h, N), // (N, C)
    ];
  }
}

export class BertModel implements Encoder {
  constructor(
    readonly config: EncoderConfig,
    readonly embeddings: BertEmbeddings,
    readonly encoder: { layer: BertLayer[] },
  ) {}

  static async load(store: WeightStore, cfg: EncoderConfig): Promise<BertModel> {
    const embeddings = await BertEmbeddings.load(store, cfg);
    const layer: BertLayer[] = [];
    for (let i = 0; i < cfg.numLayers; i++) layer.push(await BertLayer.load(store, cfg, i));
    return new BertModel(cfg, embeddings, { layer });
  }

  scratch(): Record<string, number> {
    const C = this.config.hiddenSize;
    return { a: C, tmp: C, ctx: C, qkv: 3 * C, inter: this.config.intermediateSize };
  }

  /** Records embeddings and every layer; the last hidden state ends in buf.h (N, C). */
  forward(gpu: Gpu, buf: BatchBuffers, s: BatchShape): KernelCall[] {
    const calls = this.embeddings.forward(gpu, buf, s);
    for (const l of this.encoder.layer) calls.push(...l.forward(gpu, buf, s));
    return calls;
  }

  /** Position ids of one sequence: BERT 0..T-1; XLM-R padding_idx+1 .. (no padding inside a packed sequence). */
  positionIds(T: number): number[] {
    return positionRange(T, this.config.positionOffset);
  }
}

/** BERT and XLM-R as the registry sees them. */
export const BERT: Architecture = {
  families: ['bert', 'xlm-roberta'],
  probeKey: 'embeddings.word_embeddings.weight',
  prefixes: ['', 'bert.', 'roberta.', 'model.'],
  // Integer buffers and heads that checkpoints carry but encoders never read.
  ignoredKeys: [/^embeddings\.position_ids$/, /^pooler\./, /^lm_head\./, /^cls\./],
  poolings: ['cls', 'mean', 'last'],
  load: (store, cfg) => BertModel.load(store, cfg),
};
