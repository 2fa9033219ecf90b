// BERT and XLM-RoBERTa encoders, module for module as Hugging Face's modeling_bert.py:
// BertModel = BertEmbeddings + BertEncoder(BertLayer × L); field names are the checkpoint key
// segments, so every weight name comes from the structure. XLM-R differs only in its position
// ids (counted from padding_idx + 1), which the batcher computes. `forward` records the calls
// of one packed batch; it does not submit anything.

import type { Gpu } from '../gpu/device.js';
import type { KernelCall } from '../gpu/pipelines.js';
import { attention } from '../kernels/attention.js';
import { embeddingsSum, gatherRows } from '../kernels/embeddings.js';
import { layernorm } from '../kernels/layernorm.js';
import { matmul, type Activation } from '../kernels/matmul.js';
import type { EncoderConfig } from './config.js';
import type { GpuWeight, WeightStore } from './weights.js';

/** nn.Linear: weight (out, in) in the checkpoint's layout, bias (out) kept f32. */
export interface Linear {
  weight: GpuWeight;
  bias: GpuWeight | null;
  inFeatures: number;
  outFeatures: number;
}

export async function loadLinear(store: WeightStore, prefix: string, inF: number, outF: number, bias = true): Promise<Linear> {
  return {
    weight: await store.upload(`${prefix}.weight`, [outF, inF]),
    bias: bias ? await store.upload(`${prefix}.bias`, [outF], 'f32') : null,
    inFeatures: inF,
    outFeatures: outF,
  };
}

/** Records y = act(x · Wᵀ + b) for M rows. */
export function linearCall(gpu: Gpu, lin: Linear, x: GPUBuffer, y: GPUBuffer, M: number, act: Activation = 'none'): KernelCall {
  return matmul(gpu, {
    x, y, M, N: lin.outFeatures, K: lin.inFeatures, act,
    w: lin.weight.chunks[0].buffer,
    b: lin.bias ? lin.bias.chunks[0].buffer : null,
    wDtype: lin.weight.dtype,
  });
}

/** nn.LayerNorm: weight (gamma) and bias (beta), f32. */
export interface LayerNorm {
  weight: GpuWeight;
  bias: GpuWeight;
}

async function loadLayerNorm(store: WeightStore, prefix: string, C: number): Promise<LayerNorm> {
  return { weight: await store.upload(`${prefix}.weight`, [C], 'f32'), bias: await store.upload(`${prefix}.bias`, [C], 'f32') };
}

/** The buffers one packed batch runs in (see embed/forward.ts for their sizes). */
export interface BatchBuffers {
  ids: GPUBuffer; // u32 (N)
  posIds: GPUBuffer; // u32 (N)
  seqs: GPUBuffer; // u32 (B, 2): start, len
  h: GPUBuffer; // (N, C) hidden state in and out of every layer
  a: GPUBuffer; // (N, C) attention block output (after its LayerNorm)
  tmp: GPUBuffer; // (N, C) projection outputs before the residual LayerNorm
  ctx: GPUBuffer; // (N, C) attention context
  qkv: GPUBuffer; // (N, 3C)
  inter: GPUBuffer; // (N, I)
}

export interface BatchShape {
  N: number; // total tokens
  B: number; // sequences
  maxLen: number; // longest sequence
}

export class BertEmbeddings {
  constructor(
    readonly word_embeddings: GpuWeight,
    readonly position_embeddings: GpuWeight,
    readonly token_type_embeddings: GpuWeight,
    readonly LayerNorm: LayerNorm,
    private eps: number,
  ) {}

  static async load(store: WeightStore, cfg: EncoderConfig): Promise<BertEmbeddings> {
    const C = cfg.hiddenSize;
    return new BertEmbeddings(
      await store.upload('embeddings.word_embeddings.weight', [cfg.vocabSize, C]),
      await store.upload('embeddings.position_embeddings.weight', [cfg.maxPositions, C]),
      await store.upload('embeddings.token_type_embeddings.weight', [cfg.typeVocabSize, C]),
      await loadLayerNorm(store, 'embeddings.LayerNorm', C),
      cfg.layerNormEps,
    );
  }

  /** h = LayerNorm(word[ids] + position[posIds] + token_type[0]); word rows gathered chunk by chunk into tmp. */
  forward(gpu: Gpu, buf: BatchBuffers, s: BatchShape): KernelCall[] {
    const C = this.LayerNorm.weight.shape[0];
    const w = this.word_embeddings;
    const calls = w.chunks.map((ch) =>
      gatherRows(gpu, { table: ch.buffer, ids: buf.ids, out: buf.tmp, N: s.N, C, rowStart: ch.rowStart, rowCount: ch.rowCount, wDtype: w.dtype }),
    );
    calls.push(
      embeddingsSum(gpu, {
        words: buf.tmp, posIds: buf.posIds, out: buf.h, N: s.N, C, eps: this.eps,
        posTable: this.position_embeddings.chunks[0].buffer,
        typeTable: this.token_type_embeddings.chunks[0].buffer,
        gamma: this.LayerNorm.weight.chunks[0].buffer,
        beta: this.LayerNorm.bias.chunks[0].buffer,
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
    const C = cfg.hiddenSize, I = cfg.intermediateSize;
    const p = `encoder.layer.${i}`;
    const names = ['query', 'key', 'value'].map((n) => `${p}.attention.self.${n}`);
    const qkv: Linear = {
      weight: await store.uploadStacked(names.map((n) => `${n}.weight`), [[C, C], [C, C], [C, C]]),
      bias: await store.uploadStacked(names.map((n) => `${n}.bias`), [[C], [C], [C]], 'f32'),
      inFeatures: C,
      outFeatures: 3 * C,
    };
    return new BertLayer(
      {
        self: { qkv },
        output: { dense: await loadLinear(store, `${p}.attention.output.dense`, C, C), LayerNorm: await loadLayerNorm(store, `${p}.attention.output.LayerNorm`, C) },
      },
      { dense: await loadLinear(store, `${p}.intermediate.dense`, C, I) },
      { dense: await loadLinear(store, `${p}.output.dense`, I, C), LayerNorm: await loadLayerNorm(store, `${p}.output.LayerNorm`, C) },
      cfg,
    );
  }

  /** h → a = LN(h + Attn(h)) → h = LN(a + W2·act(W1·a)). Post-norm, as in BERT. */
  forward(gpu: Gpu, buf: BatchBuffers, s: BatchShape): KernelCall[] {
    const { N } = s;
    const C = this.cfg.hiddenSize, eps = this.cfg.layerNormEps;
    const ln = (x: GPUBuffer, residual: GPUBuffer, w: LayerNorm, y: GPUBuffer) =>
      layernorm(gpu, { x, residual, y, rows: N, C, eps, gamma: w.weight.chunks[0].buffer, beta: w.bias.chunks[0].buffer });
    return [
      linearCall(gpu, this.attention.self.qkv, buf.h, buf.qkv, N), // (N, 3C)
      attention(gpu, { qkv: buf.qkv, out: buf.ctx, seqs: buf.seqs, N, B: s.B, maxLen: s.maxLen, NH: this.cfg.numHeads, HD: this.cfg.headDim }), // (N, C)
      linearCall(gpu, this.attention.output.dense, buf.ctx, buf.tmp, N), // (N, C)
      ln(buf.tmp, buf.h, this.attention.output.LayerNorm, buf.a),
      linearCall(gpu, this.intermediate.dense, buf.a, buf.inter, N, this.cfg.hiddenAct), // (N, I)
      linearCall(gpu, this.output.dense, buf.inter, buf.tmp, N), // (N, C)
      ln(buf.tmp, buf.a, this.output.LayerNorm, buf.h),
    ];
  }
}

export class BertModel {
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

  /** Records embeddings and every layer; the last hidden state ends in buf.h (N, C). */
  forward(gpu: Gpu, buf: BatchBuffers, s: BatchShape): KernelCall[] {
    const calls = this.embeddings.forward(gpu, buf, s);
    for (const l of this.encoder.layer) calls.push(...l.forward(gpu, buf, s));
    return calls;
  }

  /** Position ids of one sequence: BERT 0..T-1; XLM-R padding_idx+1 .. (no padding inside a packed sequence). */
  positionIds(T: number): number[] {
    return Array.from({ length: T }, (_, i) => i + this.config.positionOffset);
  }
}
