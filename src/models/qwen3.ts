// Qwen3 (the body of Qwen3-Embedding), module for module as transformers' modeling_qwen3.py:
// Qwen3Model = embed_tokens + Qwen3DecoderLayer × L + norm. A decoder layer is pre-norm with
// RMSNorm: input_layernorm → self_attn (q_proj / k_proj / v_proj, per-head q_norm / k_norm,
// rotary with rope_theta, grouped-query causal attention, o_proj) → residual →
// post_attention_layernorm → SwiGLU mlp (down_proj(silu(gate_proj(x)) · up_proj(x))) → residual.
// Field names are the checkpoint key segments; q/k/v and gate/up are stacked into one matmul each.
//
// Residual adds ride on the next RMSNorm, which also stores x + residual (sumOut) in buf.h.

import type { Gpu } from '../gpu/device.js';
import type { KernelCall } from '../gpu/pipelines.js';
import { attention } from '../kernels/attention.js';
import { glu, type GluAct } from '../kernels/glu.js';
import { rmsnormHeads } from '../kernels/rmsnorm.js';
import { rope } from '../kernels/rope.js';
import { ModelFileError } from '../io/errors.js';
import type { Architecture, BatchBuffers, BatchShape, Encoder } from './architecture.js';
import type { EncoderConfig, Qwen3Settings } from './config.js';
import { positionRange, embeddingLookup, linearCall, loadLinear, loadRMSNorm, loadStackedLinear, rmsNormCall, type Linear, type RMSNorm } from './layers.js';
import type { GpuWeight, WeightStore } from './weights.js';

function settings(cfg: EncoderConfig): Qwen3Settings {
  if (cfg.arch?.kind !== 'qwen3') throw new Error('Qwen3Model needs a qwen3 config');
  return cfg.arch;
}

function gluAct(cfg: EncoderConfig): GluAct {
  const act = cfg.hiddenAct;
  if (act !== 'gelu_erf' && act !== 'gelu_tanh' && act !== 'silu') {
    throw new ModelFileError(`Qwen3 hidden_act ${act} is not supported in its gated MLP (silu, gelu, gelu_pytorch_tanh)`, 'config.json');
  }
  return act;
}

export class Qwen3Attention {
  constructor(
    /** q_proj, k_proj, v_proj stacked: (NH·HD + 2·NKV·HD, C), rows [q heads | k heads | v heads]. */
    readonly q_k_v_proj: Linear,
    readonly o_proj: Linear,
    readonly q_norm: RMSNorm,
    readonly k_norm: RMSNorm,
  ) {}

  static async load(store: WeightStore, cfg: EncoderConfig, p: string): Promise<Qwen3Attention> {
    const st = settings(cfg);
    const C = cfg.hiddenSize, HD = cfg.headDim, NH = cfg.numHeads, NKV = st.numKeyValueHeads;
    return new Qwen3Attention(
      await loadStackedLinear(store, ['q_proj', 'k_proj', 'v_proj'].map((n) => `${p}.${n}`), C, [NH * HD, NKV * HD, NKV * HD], st.attentionBias),
      await loadLinear(store, `${p}.o_proj`, NH * HD, C, st.attentionBias),
      await loadRMSNorm(store, `${p}.q_norm`, HD, cfg.layerNormEps),
      await loadRMSNorm(store, `${p}.k_norm`, HD, cfg.layerNormEps),
    );
  }
}

export class Qwen3DecoderLayer {
  constructor(
    readonly self_attn: Qwen3Attention,
    /** gate_proj and up_proj stacked: (2I, C), the activated gate half first. */
    readonly mlp: { gate_up_proj: Linear; down_proj: Linear },
    readonly input_layernorm: RMSNorm,
    readonly post_attention_layernorm: RMSNorm,
    private cfg: EncoderConfig,
  ) {}

  static async load(store: WeightStore, cfg: EncoderConfig, i: number): Promise<Qwen3DecoderLayer> {
    const C = cfg.hiddenSize, I = cfg.intermediateSize, eps = cfg.layerNormEps;
    const p = `layers.${i}`;
    return new Qwen3DecoderLayer(
      await Qwen3Attention.load(store, cfg, `${p}.self_attn`),
      {
        gate_up_proj: await loadStackedLinear(store, [`${p}.mlp.gate_proj`, `${p}.mlp.up_proj`], C, [I, I], false),
        down_proj: await loadLinear(store, `${p}.mlp.down_proj`, I, C, false),
      },
      await loadRMSNorm(store, `${p}.input_layernorm`, C, eps),
      await loadRMSNorm(store, `${p}.post_attention_layernorm`, C, eps),
      cfg,
    );
  }

  /**
   * h = h + o_proj(attn(input_layernorm(h))); h = h + mlp(post_attention_layernorm(h)). On entry
   * the previous layer's MLP output is in `tmp`, not yet added to h (`pending`); on exit this
   * layer's is.
   */
  forward(gpu: Gpu, buf: BatchBuffers, s: BatchShape, pending: boolean): KernelCall[] {
    const { N } = s;
    const cfg = this.cfg, st = settings(cfg);
    const NH = cfg.numHeads, NKV = st.numKeyValueHeads, HD = cfg.headDim;
    const { qkv, ctx, tmp, ln, inter2, inter } = buf.scratch;
    const a = this.self_attn;
    return [
      // ln = input_layernorm(h + tmp), h = h + tmp (layer 0: h from the embeddings alone)
      rmsNormCall(gpu, this.input_layernorm, pending ? tmp : buf.h, pending ? buf.h : null, ln, N, pending ? buf.h : null), // (N, C)
      linearCall(gpu, a.q_k_v_proj, ln, qkv, N), // (N, (NH + 2·NKV)·HD)
      rmsnormHeads(gpu, {
        qkv, N, NH, NKV, HD, eps: a.q_norm.eps,
        qWeight: a.q_norm.weight.chunks[0].buffer, kWeight: a.k_norm.weight.chunks[0].buffer,
      }), // q_norm, k_norm per head, in place
      rope(gpu, { qkv, posIds: buf.posIds, N, NH, NKV, HD, rotaryDim: HD, theta: st.ropeTheta }), // q, k in place
      attention(gpu, { qkv, out: ctx, seqs: buf.seqs, N, B: s.B, maxLen: s.maxLen, NH, HD, NKV, causal: true, keyLens: s.keyLens }), // (N, NH·HD)
      linearCall(gpu, a.o_proj, ctx, tmp, N), // (N, C)
      rmsNormCall(gpu, this.post_attention_layernorm, tmp, buf.h, ln, N, buf.h), // ln = norm(h + attn), h = h + attn
      linearCall(gpu, this.mlp.gate_up_proj, ln, inter2, N), // (N, 2I): [gate | up]
      glu(gpu, { x: inter2, y: inter, N, I: cfg.intermediateSize, act: gluAct(cfg) }), // (N, I) silu(gate)·up
      linearCall(gpu, this.mlp.down_proj, inter, tmp, N), // (N, C), added by the next norm
    ];
  }
}

export class Qwen3Model implements Encoder {
  constructor(
    readonly config: EncoderConfig,
    readonly embed_tokens: GpuWeight,
    readonly layers: Qwen3DecoderLayer[],
    readonly norm: RMSNorm,
  ) {}

  static async load(store: WeightStore, cfg: EncoderConfig): Promise<Qwen3Model> {
    gluAct(cfg);
    const embed_tokens = await store.upload('embed_tokens.weight', [cfg.vocabSize, cfg.hiddenSize]);
    const layers: Qwen3DecoderLayer[] = [];
    for (let i = 0; i < cfg.numLayers; i++) layers.push(await Qwen3DecoderLayer.load(store, cfg, i));
    const norm = await loadRMSNorm(store, 'norm', cfg.hiddenSize, cfg.layerNormEps);
    return new Qwen3Model(cfg, embed_tokens, layers, norm);
  }

  scratch(): Record<string, number> {
    const c = this.config, NKV = settings(c).numKeyValueHeads;
    const C = c.hiddenSize, I = c.intermediateSize, HD = c.headDim;
    return { tmp: C, ln: C, ctx: c.numHeads * HD, qkv: (c.numHeads + 2 * NKV) * HD, inter2: 2 * I, inter: I };
  }

  /** embed_tokens[ids] → every layer → h = norm(h + last MLP output). */
  forward(gpu: Gpu, buf: BatchBuffers, s: BatchShape): KernelCall[] {
    const w = this.embed_tokens;
    const calls = embeddingLookup(gpu, w, buf.ids, buf.h, s.N); // (N, C)
    this.layers.forEach((l, i) => calls.push(...l.forward(gpu, buf, s, i > 0)));
    calls.push(rmsNormCall(gpu, this.norm, buf.scratch.tmp, buf.h, buf.h, s.N)); // (N, C)
    return calls;
  }

  /** Rotary positions 0..T-1 of each sequence. */
  positionIds(T: number): number[] {
    return positionRange(T);
  }
}

/** Qwen3 as the registry sees it. Last-token pooling reads the <|endoftext|> the tokenizer appends. */
export const QWEN3: Architecture = {
  families: ['qwen3'],
  probeKey: 'embed_tokens.weight',
  // Qwen3-Embedding saves the bare Qwen3Model (no prefix); Qwen3ForCausalLM checkpoints use `model.`.
  prefixes: ['', 'model.'],
  ignoredKeys: [/^lm_head\./],
  // A causal model: only the last token has seen the whole text.
  poolings: ['last', 'mean'],
  load: (store, cfg) => Qwen3Model.load(store, cfg),
};
