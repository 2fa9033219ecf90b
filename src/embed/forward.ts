// One forward = one command encoder and one submit: upload the packed batch (ids, positions,
// sequence offsets), replay the recorded calls (encoder → head → pooling → normalize), copy the
// one output to a staging buffer, map it. Activations live in an arena sized for the largest
// batch seen; recorded call lists ("plans") are cached per batch shape and output kind.

import type { Gpu } from '../gpu/device.js';
import { BufferUsage } from '../gpu/flags.js';
import { encodeCalls, type KernelCall } from '../gpu/pipelines.js';
import { releaseCalls } from '../gpu/calls.js';
import { l2normalize } from '../kernels/normalize.js';
import { pool } from '../kernels/pool.js';
import { linearCall, type BatchBuffers, type BatchShape, type BertModel, type Linear } from '../models/bert.js';
import type { DenseHead } from '../models/heads.js';
import type { PackedBatch } from './batching.js';

export type OutputKind = 'hidden' | 'dense' | 'tokens' | 'sparse';

export interface OutputOptions {
  /** dense / tokens: L2-normalize rows. */
  normalize: boolean;
  /** dense: keep the first `dims` features (before normalizing). */
  dims: number;
}

export interface Heads {
  pooling: 'cls' | 'mean' | 'last';
  dense: DenseHead[];
  colbert: Linear | null;
  sparse: Linear | null;
}

interface Arena extends BatchBuffers {
  pooled: GPUBuffer; // (B, max dense width)
  pooled2: GPUBuffer; // (B, max dense width)
  tok: GPUBuffer; // (N, token dim)
  tok2: GPUBuffer; // (N, token dim)
  tokens: number;
  seqCap: number;
}

interface Plan {
  calls: KernelCall[];
  output: GPUBuffer;
  /** Floats per row of the output, and rows (N for token outputs, B for dense). */
  cols: number;
  rows: number;
}

const MAX_PLANS = 16;

export class Forward {
  private arena: Arena | null = null;
  private plans = new Map<string, Plan>();
  readonly denseDim: number;
  readonly tokenDim: number;

  constructor(
    private gpu: Gpu,
    private bert: BertModel,
    private heads: Heads,
  ) {
    const C = bert.config.hiddenSize;
    this.denseDim = heads.dense.length ? heads.dense[heads.dense.length - 1].linear.outFeatures : C;
    this.tokenDim = heads.colbert ? heads.colbert.outFeatures : C;
  }

  /** Largest packed batch (in tokens) whose biggest activation fits one storage binding. */
  static tokenLimit(gpu: Gpu, bert: BertModel, heads: Heads): number {
    const c = bert.config;
    const widest = Math.max(3 * c.hiddenSize, c.intermediateSize, heads.colbert?.outFeatures ?? 0);
    return Math.floor(gpu.limits.maxStorageBufferBindingSize / (4 * widest));
  }

  /** Runs one packed batch and returns the requested output, (rows, cols) row-major. */
  async run(batch: PackedBatch, kind: OutputKind, opts: OutputOptions): Promise<{ data: Float32Array; cols: number }> {
    const gpu = this.gpu;
    gpu.checkAlive();
    const arena = this.ensureArena(batch.N, batch.B);
    const plan = this.plan(arena, { N: batch.N, B: batch.B, maxLen: batch.maxLen }, kind, opts);
    gpu.upload(arena.ids, batch.ids);
    gpu.upload(arena.posIds, batch.posIds);
    gpu.upload(arena.seqs, batch.seqs);
    const bytes = plan.rows * plan.cols * 4;
    const staging = gpu.createBuffer('output', bytes, BufferUsage.MAP_READ | BufferUsage.COPY_DST);
    try {
      const enc = gpu.device.createCommandEncoder({ label: `forward ${kind}` });
      encodeCalls(enc, plan.calls, `forward ${kind}`);
      enc.copyBufferToBuffer(plan.output, 0, staging, 0, Math.ceil(bytes / 4) * 4);
      gpu.device.queue.submit([enc.finish()]);
      await gpu.mapOrLost(staging);
      gpu.checkErrors();
      const data = new Float32Array(staging.getMappedRange(0, bytes).slice(0));
      staging.unmap();
      return { data, cols: plan.cols };
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
    const c = this.bert.config;
    const C = c.hiddenSize;
    const denseW = Math.max(C, ...this.heads.dense.map((d) => d.linear.outFeatures));
    const tokW = Math.max(C, this.tokenDim);
    const s = (label: string, floats: number) => this.gpu.storage(label, floats * 4);
    this.arena = {
      ids: s('ids', tokens), posIds: s('posIds', tokens), seqs: s('seqs', 2 * seqCap),
      h: s('h', tokens * C), a: s('a', tokens * C), tmp: s('tmp', tokens * C), ctx: s('ctx', tokens * C),
      qkv: s('qkv', tokens * 3 * C), inter: s('inter', tokens * c.intermediateSize),
      pooled: s('pooled', seqCap * denseW), pooled2: s('pooled2', seqCap * denseW),
      tok: s('tok', tokens * tokW), tok2: s('tok2', tokens * tokW),
      tokens, seqCap,
    };
    return this.arena;
  }

  private plan(arena: Arena, s: BatchShape, kind: OutputKind, o: OutputOptions): Plan {
    const key = `${kind}|N=${s.N},B=${s.B},T=${s.maxLen},norm=${o.normalize ? 1 : 0},dims=${o.dims}`;
    const hit = this.plans.get(key);
    if (hit) {
      this.plans.delete(key);
      this.plans.set(key, hit); // most recently used last
      return hit;
    }
    const gpu = this.gpu;
    const C = this.bert.config.hiddenSize;
    const calls = this.bert.forward(gpu, arena, s);
    let plan: Plan;
    if (kind === 'hidden') {
      plan = { calls, output: arena.h, cols: C, rows: s.N };
    } else if (kind === 'dense') {
      calls.push(pool(gpu, { hidden: arena.h, seqs: arena.seqs, out: arena.pooled, B: s.B, C, mode: this.heads.pooling })); // (B, C)
      let x = arena.pooled, y = arena.pooled2, width = C;
      for (const d of this.heads.dense) {
        calls.push(linearCall(gpu, d.linear, x, y, s.B, d.activation)); // (B, D)
        [x, y] = [y, x];
        width = d.linear.outFeatures;
      }
      if (o.normalize) {
        calls.push(l2normalize(gpu, { x, y, rows: s.B, C: width, dims: o.dims })); // (B, dims)
        plan = { calls, output: y, cols: o.dims, rows: s.B };
      } else {
        plan = { calls, output: x, cols: width, rows: s.B };
      }
    } else if (kind === 'tokens') {
      let x = arena.h;
      if (this.heads.colbert) {
        calls.push(linearCall(gpu, this.heads.colbert, arena.h, arena.tok, s.N)); // (N, D)
        x = arena.tok;
      }
      const D = this.tokenDim;
      if (o.normalize) {
        calls.push(l2normalize(gpu, { x, y: arena.tok2, rows: s.N, C: D, dims: D }));
        x = arena.tok2;
      }
      plan = { calls, output: x, cols: D, rows: s.N };
    } else {
      if (!this.heads.sparse) throw new Error('this model has no sparse head');
      calls.push(linearCall(gpu, this.heads.sparse, arena.h, arena.tok, s.N, 'relu')); // (N, 1)
      plan = { calls, output: arena.tok, cols: 1, rows: s.N };
    }
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
    if (!this.arena) return;
    for (const [k, v] of Object.entries(this.arena)) if (typeof v === 'object' && k !== 'tokens') this.gpu.destroyBuffer(v as GPUBuffer);
    this.arena = null;
  }

  destroy(): void {
    this.releaseArena();
  }
}
