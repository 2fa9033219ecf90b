// One forward = one command encoder and one submit: upload the packed batch (ids, positions,
// token types, sequence offsets), replay the recorded calls (encoder once, then every requested
// head: pooling + Dense + normalize, the per-token projection stack, the sparse head), copy the requested
// outputs into one staging buffer, map it. Activations live in an arena sized for the largest
// batch seen; recorded call lists ("plans") are cached per batch shape and output request.

import type { Gpu } from '../gpu/device.js';
import { BufferUsage } from '../gpu/flags.js';
import { encodeCalls, type KernelCall } from '../gpu/pipelines.js';
import { releaseCalls } from '../gpu/calls.js';
import { l2normalize } from '../kernels/normalize.js';
import { pool } from '../kernels/pool.js';
import type { BatchBuffers, BatchShape, Encoder, Pooling } from '../models/architecture.js';
import type { DenseHead } from '../models/heads.js';
import { linearCall, type Linear } from '../models/layers.js';
import type { PackedBatch } from './batching.js';

/** Which outputs one forward produces; every requested head shares the encoder's one pass. */
export interface OutputRequest {
  /** The last hidden state (N, C). */
  hidden?: boolean;
  /** Pooling + Dense heads (B, width); `dims` keeps the first features before normalizing. */
  dense?: { normalize: boolean; dims: number };
  /** Multi-vector head (or the hidden state) per token (N, D). */
  tokens?: { normalize: boolean };
  /** BGE-M3 relu(sparse_linear(h)) per token (N, 1). */
  sparse?: boolean;
}

export type OutputName = 'hidden' | 'dense' | 'tokens' | 'sparse';

/** Each requested output, row-major, with its row width. */
export type ForwardOutputs = Partial<Record<OutputName, { data: Float32Array; cols: number }>>;

export interface Heads {
  pooling: Pooling;
  /** Pooled-vector stack: sentence-transformers Dense layers, or a cross-encoder's classifier. */
  dense: DenseHead[];
  /** Per-token projection stack: BGE-M3 colbert_linear, ColBERT `linear`, PyLate Dense modules. */
  tokens: DenseHead[];
  sparse: Linear | null;
}

interface Arena extends BatchBuffers {
  pooled: GPUBuffer; // (B, max dense width)
  pooled2: GPUBuffer; // (B, max dense width)
  tok: GPUBuffer; // (N, token dim)
  tok2: GPUBuffer; // (N, token dim)
  sparseOut: GPUBuffer; // (N, 1)
  tokens: number;
  seqCap: number;
}

interface Plan {
  calls: KernelCall[];
  /** Each output: the buffer it ends in, its rows and floats per row. */
  outputs: { name: OutputName; buffer: GPUBuffer; rows: number; cols: number }[];
}

const MAX_PLANS = 16;

/**
 * Records a head: each Linear (+ activation) of `layers` on `rows` rows, then optionally an L2
 * normalize keeping `normalizeDims` features. Results ping-pong between the two buffers of `pair`
 * (either may be the input once it has been read); returns the buffer the output ends in and its width.
 */
function headStack(
  gpu: Gpu,
  calls: KernelCall[],
  layers: DenseHead[],
  x: GPUBuffer,
  width: number,
  pair: [GPUBuffer, GPUBuffer],
  rows: number,
  normalizeDims: number | null,
): { buffer: GPUBuffer; cols: number } {
  const next = () => (x === pair[0] ? pair[1] : pair[0]);
  for (const l of layers) {
    const y = next();
    calls.push(linearCall(gpu, l.linear, x, y, rows, l.activation));
    x = y;
    width = l.linear.outFeatures;
  }
  if (normalizeDims === null) return { buffer: x, cols: width };
  const y = next();
  calls.push(l2normalize(gpu, { x, y, rows, C: width, dims: normalizeDims }));
  return { buffer: y, cols: normalizeDims };
}

export class Forward {
  private arena: Arena | null = null;
  private plans = new Map<string, Plan>();
  readonly denseDim: number;
  readonly tokenDim: number;

  constructor(
    private gpu: Gpu,
    private encoder: Encoder,
    private heads: Heads,
  ) {
    const C = encoder.config.hiddenSize;
    this.denseDim = heads.dense.length ? heads.dense[heads.dense.length - 1].linear.outFeatures : C;
    this.tokenDim = heads.tokens.length ? heads.tokens[heads.tokens.length - 1].linear.outFeatures : C;
  }

  /** Largest packed batch (in tokens) whose biggest activation fits one storage binding. */
  static tokenLimit(gpu: Gpu, encoder: Encoder, heads: Heads): number {
    const widest = Math.max(encoder.config.hiddenSize, ...Object.values(encoder.scratch()), ...heads.tokens.map((t) => t.linear.outFeatures));
    return Math.floor(gpu.limits.maxStorageBufferBindingSize / (4 * widest));
  }

  /** Runs one packed batch and returns every requested output, (rows, cols) row-major. */
  async run(batch: PackedBatch, req: OutputRequest): Promise<ForwardOutputs> {
    const gpu = this.gpu;
    gpu.checkAlive();
    const arena = this.ensureArena(batch.N, batch.B);
    const plan = this.plan(arena, { N: batch.N, B: batch.B, maxLen: batch.maxLen, keyLens: batch.keyLens, typeIds: batch.typed }, req);
    gpu.upload(arena.ids, batch.ids);
    gpu.upload(arena.posIds, batch.posIds);
    gpu.upload(arena.typeIds, batch.typeIds);
    gpu.upload(arena.seqs, batch.seqs);
    const sizes = plan.outputs.map((o) => o.rows * o.cols * 4);
    const total = sizes.reduce((a, b) => a + b, 0);
    const staging = gpu.createBuffer('output', Math.max(4, total), BufferUsage.MAP_READ | BufferUsage.COPY_DST);
    try {
      const label = `forward ${plan.outputs.map((o) => o.name).join('+')}`;
      const enc = gpu.device.createCommandEncoder({ label });
      encodeCalls(enc, plan.calls, label);
      let offset = 0;
      plan.outputs.forEach((o, k) => {
        if (sizes[k] > 0) enc.copyBufferToBuffer(o.buffer, 0, staging, offset, sizes[k]);
        offset += sizes[k];
      });
      gpu.device.queue.submit([enc.finish()]);
      await gpu.mapOrLost(staging);
      gpu.checkErrors();
      const all = new Float32Array(staging.getMappedRange(0, Math.max(4, total)).slice(0));
      staging.unmap();
      const out: ForwardOutputs = {};
      offset = 0;
      plan.outputs.forEach((o, k) => {
        out[o.name] = { data: all.subarray(offset / 4, (offset + sizes[k]) / 4), cols: o.cols };
        offset += sizes[k];
      });
      return out;
    } finally {
      gpu.destroyBuffer(staging);
    }
  }

  private ensureArena(N: number, B: number): Arena {
    const a = this.arena;
    if (a && a.tokens >= N && a.seqCap >= B) return a;
    this.releaseArena();
    const tokens = Math.max(N, Math.ceil(N / 256) * 256, a?.tokens ?? 0);
    const seqCap = Math.max(B, Math.ceil(B / 16) * 16, a?.seqCap ?? 0);
    const C = this.encoder.config.hiddenSize;
    const denseW = Math.max(C, ...this.heads.dense.map((d) => d.linear.outFeatures));
    const tokW = Math.max(C, ...this.heads.tokens.map((t) => t.linear.outFeatures));
    const s = (label: string, floats: number) => this.gpu.storage(label, floats * 4);
    const scratch: Record<string, GPUBuffer> = {};
    for (const [name, width] of Object.entries(this.encoder.scratch())) scratch[name] = s(name, tokens * width);
    this.arena = {
      // seqs: (start, len) pairs, then the key lengths of a batch with masked keys
      ids: s('ids', tokens), posIds: s('posIds', tokens), typeIds: s('typeIds', tokens), seqs: s('seqs', 3 * seqCap),
      h: s('h', tokens * C), scratch,
      pooled: s('pooled', seqCap * denseW), pooled2: s('pooled2', seqCap * denseW),
      tok: s('tok', tokens * tokW), tok2: s('tok2', tokens * tokW), sparseOut: s('sparse', tokens),
      tokens, seqCap,
    };
    return this.arena;
  }

  private plan(arena: Arena, s: BatchShape, req: OutputRequest): Plan {
    const key =
      `N=${s.N},B=${s.B},T=${s.maxLen},keys=${+!!s.keyLens},types=${+!!s.typeIds}|hidden=${+!!req.hidden}|sparse=${+!!req.sparse}` +
      `|dense=${req.dense ? `${+req.dense.normalize}:${req.dense.dims}` : '-'}|tokens=${req.tokens ? +req.tokens.normalize : '-'}`;
    const hit = this.plans.get(key);
    if (hit) {
      this.plans.delete(key);
      this.plans.set(key, hit); // most recently used last
      return hit;
    }
    const gpu = this.gpu;
    const C = this.encoder.config.hiddenSize;
    const calls = this.encoder.forward(gpu, arena, s);
    const outputs: Plan['outputs'] = [];
    if (req.hidden) outputs.push({ name: 'hidden', buffer: arena.h, rows: s.N, cols: C });
    if (req.dense) {
      calls.push(pool(gpu, { hidden: arena.h, seqs: arena.seqs, out: arena.pooled, B: s.B, C, mode: this.heads.pooling })); // (B, C)
      const d = req.dense;
      const out = headStack(gpu, calls, this.heads.dense, arena.pooled, C, [arena.pooled2, arena.pooled], s.B, d.normalize ? d.dims : null); // (B, dims)
      outputs.push({ name: 'dense', ...out, rows: s.B });
    }
    if (req.tokens) {
      const out = headStack(gpu, calls, this.heads.tokens, arena.h, C, [arena.tok, arena.tok2], s.N, req.tokens.normalize ? this.tokenDim : null); // (N, D)
      outputs.push({ name: 'tokens', ...out, rows: s.N });
    }
    if (req.sparse) {
      if (!this.heads.sparse) throw new Error('this model has no sparse head');
      calls.push(linearCall(gpu, this.heads.sparse, arena.h, arena.sparseOut, s.N, 'relu')); // (N, 1)
      outputs.push({ name: 'sparse', buffer: arena.sparseOut, rows: s.N, cols: 1 });
    }
    const plan: Plan = { calls, outputs };
    this.plans.set(key, plan);
    if (this.plans.size > MAX_PLANS) {
      const oldest = this.plans.keys().next().value as string;
      releaseCalls(gpu, this.plans.get(oldest)!.calls);
      this.plans.delete(oldest);
    }
    return plan;
  }

  private releaseArena(): void {
    for (const p of this.plans.values()) releaseCalls(this.gpu, p.calls);
    this.plans.clear();
    const a = this.arena;
    if (!a) return;
    const { scratch, tokens: _t, seqCap: _s, ...named } = a;
    for (const b of [...Object.values(named), ...Object.values(scratch)]) this.gpu.destroyBuffer(b);
    this.arena = null;
  }

  destroy(): void {
    this.releaseArena();
  }
}
