// NomicBERT, module for module as the Hub's modeling_hf_nomic_bert.py (nomic-ai/contrastors):
// NomicBertModel = NomicBertEmbeddings (word + token type, no position table) → emb_ln →
// NomicBertEncoder(NomicBertBlock × L): post-norm blocks with a fused Wqkv, rotary on the first
// rotary_emb_fraction of each head (rotate-half form, base rotary_emb_base), out_proj, norm1, the
// SwiGLU NomciBertGatedMLP (fc2(fc11(x) · silu(fc12(x)))), norm2. Field names are the checkpoint
// key segments. Biases exist where the config says (qkv_proj_bias, mlp_fc1_bias, mlp_fc2_bias).

import type { Gpu } from '../gpu/device.js';
import type { KernelCall } from '../gpu/pipelines.js';
import { attention } from '../kernels/attention.js';
import { embeddingsSum } from '../kernels/embeddings.js';
import { glu } from '../kernels/glu.js';
import { rope } from '../kernels/rope.js';
import type { Architecture, BatchBuffers, BatchShape, Encoder } from './architecture.js';
import type { EncoderConfig, NomicBertSettings } from './config.js';
import { positionRange, embeddingLookup, layerNormCall, linearCall, loadLayerNorm, loadLinear, loadStackedLinear, type LayerNorm, type Linear } from './layers.js';
import type { GpuWeight, WeightStore } from './weights.js';

function settings(cfg: EncoderConfig): NomicBertSettings {
  if (cfg.arch?.kind !== 'nomic_bert') throw new Error('NomicBertModel needs a nomic_bert config');
  return cfg.arch;
}

export class NomicBertEmbeddings {
  constructor(
    readonly word_embeddings: GpuWeight,
    /** null when type_vocab_size is 0. */
    readonly token_type_embeddings: GpuWeight | null,
  ) {}

  static async load(store: WeightStore, cfg: EncoderConfig): Promise<NomicBertEmbeddings> {
    const C = cfg.hiddenSize;
    return new NomicBertEmbeddings(
      await store.upload('embeddings.word_embeddings.weight', [cfg.vocabSize, C]),
      cfg.typeVocabSize > 0 ? await store.upload('embeddings.token_type_embeddings.weight', [cfg.typeVocabSize, C]) : null,
    );
  }

  /** h = emb_ln(word[ids] + token_type[typeIds]) (NomicBertEmbeddings.forward, then NomicBertModel's emb_ln). */
  forward(gpu: Gpu, buf: BatchBuffers, s: BatchShape, emb_ln: LayerNorm): KernelCall[] {
    const C = emb_ln.weight.shape[0];
    const w = this.word_embeddings;
    const tmp = buf.scratch.tmp;
    const calls = embeddingLookup(gpu, w, buf.ids, tmp, s.N);
    const types = this.token_type_embeddings;
    calls.push(
      embeddingsSum(gpu, {
        words: tmp, posTable: null, out: buf.h, N: s.N, C, eps: emb_ln.eps,
        typeTable: types ? types.chunks[0].buffer : null, typeIds: types ? buf.typeIds : null, wDtype: types?.dtype,
        gamma: emb_ln.weight.chunks[0].buffer, beta: emb_ln.bias ? emb_ln.bias.chunks[0].buffer : null,
      }),
    ); // (N, C)
    return calls;
  }
}

export class NomicBertBlock {
  constructor(
    readonly attn: { Wqkv: Linear; out_proj: Linear },
    /** fc12 and fc11 stacked into one (2I, C) projection, the gate (activated) half first: [fc12 | fc11]. */
    readonly mlp: { fc12_fc11: Linear; fc2: Linear },
    readonly norm1: LayerNorm,
    readonly norm2: LayerNorm,
    private cfg: EncoderConfig,
  ) {}

  static async load(store: WeightStore, cfg: EncoderConfig, i: number): Promise<NomicBertBlock> {
    const st = settings(cfg);
    const C = cfg.hiddenSize, I = cfg.intermediateSize, eps = cfg.layerNormEps;
    const p = `encoder.layers.${i}`;
    return new NomicBertBlock(
      {
        Wqkv: await loadLinear(store, `${p}.attn.Wqkv`, C, 3 * C, st.qkvProjBias),
        out_proj: await loadLinear(store, `${p}.attn.out_proj`, C, C, st.qkvProjBias),
      },
      {
        fc12_fc11: await loadStackedLinear(store, [`${p}.mlp.fc12`, `${p}.mlp.fc11`], C, [I, I], st.mlpFc1Bias),
        fc2: await loadLinear(store, `${p}.mlp.fc2`, I, C, st.mlpFc2Bias),
      },
      await loadLayerNorm(store, `${p}.norm1`, C, eps),
      await loadLayerNorm(store, `${p}.norm2`, C, eps),
      cfg,
    );
  }

  /** Post-norm (NomicBertBlock.forward, prenorm false): a = norm1(h + attn(h)); h = norm2(a + mlp(a)). */
  forward(gpu: Gpu, buf: BatchBuffers, s: BatchShape): KernelCall[] {
    const { N } = s;
    const cfg = this.cfg, st = settings(cfg);
    const NH = cfg.numHeads, HD = cfg.headDim;
    const { qkv, ctx, tmp, a, inter2, inter } = buf.scratch;
    return [
      linearCall(gpu, this.attn.Wqkv, buf.h, qkv, N), // (N, 3C)
      rope(gpu, { qkv, posIds: buf.posIds, N, NH, NKV: NH, HD, rotaryDim: st.rotaryDim, theta: st.rotaryBase }), // q, k in place
      attention(gpu, { qkv, out: ctx, seqs: buf.seqs, N, B: s.B, maxLen: s.maxLen, NH, HD, keyLens: s.keyLens }), // (N, C)
      linearCall(gpu, this.attn.out_proj, ctx, tmp, N), // (N, C)
      layerNormCall(gpu, this.norm1, tmp, buf.h, a, N), // (N, C)
      linearCall(gpu, this.mlp.fc12_fc11, a, inter2, N), // (N, 2I): [fc12 | fc11]
      glu(gpu, { x: inter2, y: inter, N, I: cfg.intermediateSize, act: 'silu' }), // (N, I) silu(fc12)·fc11
      linearCall(gpu, this.mlp.fc2, inter, tmp, N), // (N, C)
      layerNormCall(gpu, this.norm2, tmp, a, buf.h, N), // (N, C)
    ];
  }
}

export class NomicBertModel implements Encoder {
  constructor(
    readonly config: EncoderConfig,
    readonly embeddings: NomicBertEmbeddings,
    readonly emb_ln: LayerNorm,
    readonly encoder: { layers: NomicBertBlock[] },
  ) {}

  static async load(store: WeightStore, cfg: EncoderConfig): Promise<NomicBertModel> {
    const embeddings = await NomicBertEmbeddings.load(store, cfg);
    const emb_ln = await loadLayerNorm(store, 'emb_ln', cfg.hiddenSize, cfg.layerNormEps);
    const layers: NomicBertBlock[] = [];
    for (let i = 0; i < cfg.numLayers; i++) layers.push(await NomicBertBlock.load(store, cfg, i));
    return new NomicBertModel(cfg, embeddings, emb_ln, { layers });
  }

  scratch(): Record<string, number> {
    const C = this.config.hiddenSize, I = this.config.intermediateSize;
    return { a: C, tmp: C, ctx: C, qkv: 3 * C, inter2: 2 * I, inter: I };
  }

  forward(gpu: Gpu, buf: BatchBuffers, s: BatchShape): KernelCall[] {
    const calls = this.embeddings.forward(gpu, buf, s, this.emb_ln);
    for (const l of this.encoder.layers) calls.push(...l.forward(gpu, buf, s));
    return calls;
  }

  /** Rotary positions 0..T-1 of each sequence. */
  positionIds(T: number): number[] {
    return positionRange(T);
  }
}

/** NomicBERT as the registry sees it. */
export const NOMIC_BERT: Architecture = {
  families: ['nomic_bert'],
  probeKey: 'embeddings.word_embeddings.weight',
  // NomicBertModel saves without a prefix; NomicBertForPreTraining under `bert.`.
  prefixes: ['', 'bert.', 'model.'],
  ignoredKeys: [/^pooler\./, /^cls\./, /^lm_head\./],
  poolings: ['cls', 'mean', 'last'],
  load: (store, cfg) => NomicBertModel.load(store, cfg),
};
