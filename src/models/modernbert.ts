// ModernBERT, module for module as transformers' modeling_modernbert.py: ModernBertModel =
// ModernBertEmbeddings (tok_embeddings → norm) + ModernBertEncoderLayer × L (pre-norm: attn_norm,
// an identity on layer 0; fused Wqkv; rotary with the global or local theta; global attention or a
// local window of ±local_attention/2; Wo; mlp_norm; GeGLU Wi → act(input)·gate → Wo) + final_norm.
// Field names are the checkpoint key segments. Biases exist only where the config says so
// (attention_bias, mlp_bias, norm_bias; all false in released checkpoints).
//
// Residual adds ride on the next norm: LayerNorm(x + residual) also stores x + residual (sumOut),
// so the running sum stays in buf.h and every layer is 7–8 calls.

import type { Gpu } from '../gpu/device.js';
import type { KernelCall } from '../gpu/pipelines.js';
import { attention } from '../kernels/attention.js';
import { embeddingsSum } from '../kernels/embeddings.js';
import { glu, type GluAct } from '../kernels/glu.js';
import { rope } from '../kernels/rope.js';
import { ModelFileError } from '../io/errors.js';
import type { Architecture, BatchBuffers, BatchShape, Encoder } from './architecture.js';
import type { EncoderConfig, ModernBertSettings } from './config.js';
import { positionRange, embeddingLookup, layerNormCall, linearCall, loadLayerNorm, loadLinear, type LayerNorm, type Linear } from './layers.js';
import type { GpuWeight, WeightStore } from './weights.js';

function settings(cfg: EncoderConfig): ModernBertSettings {
  if (cfg.arch?.kind !== 'modernbert') throw new Error('ModernBertModel needs a modernbert config');
  return cfg.arch;
}

function gluAct(cfg: EncoderConfig): GluAct {
  const act = cfg.hiddenAct;
  if (act !== 'gelu_erf' && act !== 'gelu_tanh' && act !== 'silu') {
    throw new ModelFileError(`ModernBERT hidden_activation ${act} is not supported in its gated MLP (gelu, gelu_new / gelu_pytorch_tanh, silu)`, 'config.json');
  }
  return act;
}

export class ModernBertEmbeddings {
  constructor(
    readonly tok_embeddings: GpuWeight,
    readonly norm: LayerNorm,
  ) {}

  static async load(store: WeightStore, cfg: EncoderConfig): Promise<ModernBertEmbeddings> {
    const C = cfg.hiddenSize;
    return new ModernBertEmbeddings(
      await store.upload('embeddings.tok_embeddings.weight', [cfg.vocabSize, C]),
      await loadLayerNorm(store, 'embeddings.norm', C, cfg.layerNormEps, settings(cfg).normBias),
    );
  }

  /** h = norm(tok_embeddings[ids]) (modeling_modernbert.py ModernBertEmbeddings.forward). */
  forward(gpu: Gpu, buf: BatchBuffers, s: BatchShape): KernelCall[] {
    const C = this.norm.weight.shape[0];
    const w = this.tok_embeddings;
    const tmp = buf.scratch.tmp;
    const calls = embeddingLookup(gpu, w, buf.ids, tmp, s.N);
    calls.push(
      embeddingsSum(gpu, {
        words: tmp, posTable: null, typeTable: null, out: buf.h, N: s.N, C, eps: this.norm.eps,
        gamma: this.norm.weight.chunks[0].buffer, beta: this.norm.bias ? this.norm.bias.chunks[0].buffer : null,
      }),
    ); // (N, C)
    return calls;
  }
}

export class ModernBertEncoderLayer {
  constructor(
    /** null on layer 0 (nn.Identity). */
    readonly attn_norm: LayerNorm | null,
    readonly attn: { Wqkv: Linear; Wo: Linear },
    readonly mlp_norm: LayerNorm,
    readonly mlp: { Wi: Linear; Wo: Linear },
    readonly attentionType: 'full' | 'sliding',
    private cfg: EncoderConfig,
  ) {}

  static async load(store: WeightStore, cfg: EncoderConfig, i: number): Promise<ModernBertEncoderLayer> {
    const st = settings(cfg);
    const C = cfg.hiddenSize, I = cfg.intermediateSize, eps = cfg.layerNormEps;
    const p = `layers.${i}`;
    return new ModernBertEncoderLayer(
      i === 0 ? null : await loadLayerNorm(store, `${p}.attn_norm`, C, eps, st.normBias),
      {
        Wqkv: await loadLinear(store, `${p}.attn.Wqkv`, C, 3 * C, st.attentionBias),
        Wo: await loadLinear(store, `${p}.attn.Wo`, C, C, st.attentionBias),
      },
      await loadLayerNorm(store, `${p}.mlp_norm`, C, eps, st.normBias),
      { Wi: await loadLinear(store, `${p}.mlp.Wi`, C, 2 * I, st.mlpBias), Wo: await loadLinear(store, `${p}.mlp.Wo`, I, C, st.mlpBias) },
      st.layerTypes[i],
      cfg,
    );
  }

  /**
   * h = h + Wo(attn(attn_norm(h))); h = h + mlp(mlp_norm(h)). On entry the previous layer's MLP
   * output is in `tmp`, not yet added to h (`pending`); on exit this layer's is.
   */
  forward(gpu: Gpu, buf: BatchBuffers, s: BatchShape, pending: boolean): KernelCall[] {
    const { N } = s;
    const cfg = this.cfg, st = settings(cfg);
    const { qkv, ctx, tmp, ln, inter2, inter } = buf.scratch;
    const calls: KernelCall[] = [];
    let x = buf.h;
    if (this.attn_norm) {
      // ln = attn_norm(h + tmp), h = h + tmp
      calls.push(layerNormCall(gpu, this.attn_norm, pending ? tmp : buf.h, pending ? buf.h : null, ln, N, pending ? buf.h : null)); // (N, C)
      x = ln;
    } else if (pending) {
      throw new Error('ModernBERT layer 0 cannot follow another layer');
    }
    const theta = this.attentionType === 'full' ? st.globalRopeTheta : st.localRopeTheta;
    const NH = cfg.numHeads, HD = cfg.headDim;
    calls.push(
      linearCall(gpu, this.attn.Wqkv, x, qkv, N), // (N, 3C)
      rope(gpu, { qkv, posIds: buf.posIds, N, NH, NKV: NH, HD, rotaryDim: HD, theta }), // q, k rotated in place
      attention(gpu, {
        qkv, out: ctx, seqs: buf.seqs, N, B: s.B, maxLen: s.maxLen, NH, HD,
        // local layers: |i − j| <= local_attention // 2
        window: this.attentionType === 'sliding' ? 2 * st.slidingWindow : 0,
        keyLens: s.keyLens, // attention_mask on trailing keys (ColBERT query expansion)
      }), // (N, C)
      linearCall(gpu, this.attn.Wo, ctx, tmp, N), // (N, C)
      layerNormCall(gpu, this.mlp_norm, tmp, buf.h, ln, N, buf.h), // ln = mlp_norm(h + attn), h = h + attn
      linearCall(gpu, this.mlp.Wi, ln, inter2, N), // (N, 2I): [input | gate]
      glu(gpu, { x: inter2, y: inter, N, I: cfg.intermediateSize, act: gluAct(cfg) }), // (N, I) act(input)·gate
      linearCall(gpu, this.mlp.Wo, inter, tmp, N), // (N, C), added by the next norm
    );
    return calls;
  }
}

export class ModernBertModel implements Encoder {
  constructor(
    readonly config: EncoderConfig,
    readonly embeddings: ModernBertEmbeddings,
    readonly layers: ModernBertEncoderLayer[],
    readonly final_norm: LayerNorm,
  ) {}

  static async load(store: WeightStore, cfg: EncoderConfig): Promise<ModernBertModel> {
    gluAct(cfg);
    const embeddings = await ModernBertEmbeddings.load(store, cfg);
    const layers: ModernBertEncoderLayer[] = [];
    for (let i = 0; i < cfg.numLayers; i++) layers.push(await ModernBertEncoderLayer.load(store, cfg, i));
    const final_norm = await loadLayerNorm(store, 'final_norm', cfg.hiddenSize, cfg.layerNormEps, settings(cfg).normBias);
    return new ModernBertModel(cfg, embeddings, layers, final_norm);
  }

  scratch(): Record<string, number> {
    const C = this.config.hiddenSize, I = this.config.intermediateSize;
    return { tmp: C, ln: C, ctx: C, qkv: 3 * C, inter2: 2 * I, inter: I };
  }

  /** Embeddings, every layer, then h = final_norm(h + last MLP output). */
  forward(gpu: Gpu, buf: BatchBuffers, s: BatchShape): KernelCall[] {
    const calls = this.embeddings.forward(gpu, buf, s);
    this.layers.forEach((l, i) => calls.push(...l.forward(gpu, buf, s, i > 0)));
    calls.push(layerNormCall(gpu, this.final_norm, buf.scratch.tmp, buf.h, buf.h, s.N)); // (N, C)
    return calls;
  }

  /** Rotary positions 0..T-1 of each sequence. */
  positionIds(T: number): number[] {
    return positionRange(T);
  }
}

/** ModernBERT as the registry sees it. */
export const MODERNBERT: Architecture = {
  families: ['modernbert'],
  probeKey: 'embeddings.tok_embeddings.weight',
  // ModernBertModel saves without a prefix; ModernBertFor* under `model.`.
  prefixes: ['', 'model.'],
  // Masked-LM / classifier heads around the encoder.
  ignoredKeys: [/^head\./, /^decoder\./, /^classifier\./, /^drop\./],
  poolings: ['cls', 'mean', 'last'],
  load: (store, cfg) => ModernBertModel.load(store, cfg),
};
