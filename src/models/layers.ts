// Building blocks that every architecture and the heads share: nn.Linear, nn.LayerNorm (with or
// without bias) and RMSNorm as GPU weights, their loaders (through the strict WeightStore) and the
// calls that run them.
// Architecture files (bert.ts, …) and embed/forward.ts import these; none reaches into another
// architecture's file.

import type { Gpu } from '../gpu/device.js';
import type { KernelCall } from '../gpu/pipelines.js';
import { gatherRows } from '../kernels/embeddings.js';
import { layernorm } from '../kernels/layernorm.js';
import { rmsnorm } from '../kernels/rmsnorm.js';
import { matmul, type Activation } from '../kernels/matmul.js';
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

/**
 * Several nn.Linear stacked along their output rows into one (fused QKV, gate+up): the
 * projections `prefixes[i]` with `outs[i]` rows each, in order.
 */
export async function loadStackedLinear(store: WeightStore, prefixes: string[], inF: number, outs: number[], bias = true): Promise<Linear> {
  return {
    weight: await store.uploadStacked(prefixes.map((p) => `${p}.weight`), outs.map((o) => [o, inF])),
    bias: bias ? await store.uploadStacked(prefixes.map((p) => `${p}.bias`), outs.map((o) => [o]), 'f32') : null,
    inFeatures: inF,
    outFeatures: outs.reduce((a, b) => a + b, 0),
  };
}

/**
 * nn.Embedding lookup: out[i] = table[ids[i]] for N ids, one gather per row chunk of the table
 * (a table larger than one storage binding is split into chunks; see WeightStore.upload).
 */
export function embeddingLookup(gpu: Gpu, table: GpuWeight, ids: GPUBuffer, out: GPUBuffer, N: number): KernelCall[] {
  const C = table.shape[1];
  return table.chunks.map((ch) => gatherRows(gpu, { table: ch.buffer, ids, out, N, C, rowStart: ch.rowStart, rowCount: ch.rowCount, wDtype: table.dtype }));
}

/** Position ids offset .. offset + T − 1 of one T-token sequence (no padding inside a packed sequence). */
export function positionRange(T: number, offset = 0): number[] {
  return Array.from({ length: T }, (_, i) => i + offset);
}

/** Records y = act(x · Wᵀ + b) for M rows: x (M, in) → y (M, out). */
export function linearCall(gpu: Gpu, lin: Linear, x: GPUBuffer, y: GPUBuffer, M: number, act: Activation = 'none'): KernelCall {
  return matmul(gpu, {
    x, y, M, N: lin.outFeatures, K: lin.inFeatures, act,
    w: lin.weight.chunks[0].buffer,
    b: lin.bias ? lin.bias.chunks[0].buffer : null,
    wDtype: lin.weight.dtype,
  });
}

/** nn.LayerNorm: weight (gamma) and bias (beta), f32; bias null for LayerNorm(bias=False) (ModernBERT). */
export interface LayerNorm {
  weight: GpuWeight;
  bias: GpuWeight | null;
  eps: number;
}

export async function loadLayerNorm(store: WeightStore, prefix: string, C: number, eps: number, bias = true): Promise<LayerNorm> {
  return {
    weight: await store.upload(`${prefix}.weight`, [C], 'f32'),
    bias: bias ? await store.upload(`${prefix}.bias`, [C], 'f32') : null,
    eps,
  };
}

/**
 * Records y = LayerNorm(x + residual) over `rows` rows of C (residual optional); `sumOut` also
 * stores x + residual (a pre-norm block's running sum).
 */
export function layerNormCall(gpu: Gpu, ln: LayerNorm, x: GPUBuffer, residual: GPUBuffer | null, y: GPUBuffer, rows: number, sumOut: GPUBuffer | null = null): KernelCall {
  const C = ln.weight.shape[0];
  return layernorm(gpu, {
    x, residual, y, rows, C, eps: ln.eps, sumOut,
    gamma: ln.weight.chunks[0].buffer, beta: ln.bias ? ln.bias.chunks[0].buffer : null,
  });
}

/** Qwen3RMSNorm (T5LayerNorm): y = x · rsqrt(mean(x²) + eps) · weight; weight f32. */
export interface RMSNorm {
  weight: GpuWeight;
  eps: number;
}

export async function loadRMSNorm(store: WeightStore, prefix: string, C: number, eps: number): Promise<RMSNorm> {
  return { weight: await store.upload(`${prefix}.weight`, [C], 'f32'), eps };
}

/** Records y = RMSNorm(x + residual) over `rows` rows of C (residual optional); `sumOut` also stores x + residual. */
export function rmsNormCall(gpu: Gpu, n: RMSNorm, x: GPUBuffer, residual: GPUBuffer | null, y: GPUBuffer, rows: number, sumOut: GPUBuffer | null = null): KernelCall {
  return rmsnorm(gpu, { x, residual, y, sumOut, rows, C: n.weight.shape[0], eps: n.eps, weight: n.weight.chunks[0].buffer });
}
