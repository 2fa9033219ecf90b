// Host side of shaders/embeddings.wgsl: gathering word-embedding rows from a (chunked) table,
// and the BERT embeddings sum (words + position + token type 0, then LayerNorm).

import type { Gpu } from '../gpu/device.js';
import { grid2D, makeCall, packUniform, type BufferBinding, type KernelCall } from '../gpu/pipelines.js';
import { dummyStorage, overlap, rowWorkgroupSize } from '../gpu/bindings.js';

export interface GatherArgs {
  table: BufferBinding; // (rowCount, C) WT: rows rowStart .. rowStart + rowCount of the full table
  ids: BufferBinding; // (N) u32
  out: BufferBinding; // (N, C) f32
  N: number;
  C: number;
  rowStart: number;
  rowCount: number;
  wDtype?: 'f32' | 'f16';
}

export interface EmbeddingsArgs {
  words: BufferBinding; // (N, C) f32 gathered word embeddings
  posIds: BufferBinding; // (N) u32
  posTable: BufferBinding; // (P, C) WT
  typeTable: BufferBinding; // (types, C) WT; row 0 is used
  gamma: BufferBinding; // (C) f32
  beta: BufferBinding; // (C) f32
  out: BufferBinding; // (N, C) f32; may be words (in place)
  N: number;
  C: number;
  eps: number;
  wDtype?: 'f32' | 'f16';
}

const GATHER_WG = 64;

function weightTypes(gpu: Gpu, wDtype: 'f32' | 'f16' | undefined, what: string): Record<string, 'f16'> | undefined {
  if (wDtype !== 'f16') return undefined;
  if (!gpu.features.f16) throw new Error(`${what}: f16 tables need the adapter's shader-f16 feature`);
  return { WT: 'f16' };
}

/**
 * out[i, :] = table[ids[i] - rowStart, :] for every i with rowStart <= ids[i] < rowStart + rowCount;
 * other rows of `out` are untouched. A vocabulary over the binding-size limit is split into chunks,
 * one call each.
 */
export function gatherRows(gpu: Gpu, a: GatherArgs): KernelCall {
  const w = a.wDtype ?? 'f32';
  const types = weightTypes(gpu, a.wDtype, 'gatherRows');
  const vec4 = a.C % 4 === 0;
  const p = gpu.pipelines.get({
    key: `gather_rows|WG=${GATHER_WG},vec4=${+vec4},w=${w}`,
    shader: 'embeddings',
    entryPoint: vec4 ? 'gather4' : 'gather',
    constants: { WG: GATHER_WG, INPLACE: 0 },
    bindings: ['uniform', 'read', 'read', 'write'],
    types,
  });
  const u = gpu.uniform('gather_rows', packUniform([['u32', a.N], ['u32', vec4 ? a.C / 4 : a.C], ['u32', a.rowStart], ['u32', a.rowCount]]));
  return makeCall(gpu.device, p, [u, a.table, a.ids, a.out], grid2D(a.N), [u]);
}

/** out[i] = LayerNorm(words[i] + posTable[posIds[i]] + typeTable[0]) · gamma + beta. */
export function embeddingsSum(gpu: Gpu, a: EmbeddingsArgs): KernelCall {
  const w = a.wDtype ?? 'f32';
  const types = weightTypes(gpu, a.wDtype, 'embeddingsSum');
  const ov = overlap(a.out, a.words);
  if (ov === 'partial') throw new Error('embeddingsSum: out partly overlaps words');
  const inplace = ov === 'same';
  const vec4 = a.C % 4 === 0;
  const WG = rowWorkgroupSize(gpu, vec4 ? a.C / 4 : a.C);
  const p = gpu.pipelines.get({
    key: `embeddings_sum|WG=${WG},vec4=${+vec4},w=${w},inplace=${+inplace}`,
    shader: 'embeddings',
    entryPoint: vec4 ? 'sum4' : 'sum',
    constants: { WG, INPLACE: +inplace },
    bindings: ['uniform', 'write', 'read', 'read', 'read', 'read', 'read', 'write'],
    types,
  });
  const u = gpu.uniform('embeddings_sum', packUniform([['u32', a.N], ['u32', a.C], ['f32', a.eps]]));
  const owned = [u];
  let out = a.out;
  if (inplace) owned.push((out = dummyStorage(gpu, 'embeddings_sum')));
  return makeCall(gpu.device, p, [u, a.words, a.posIds, a.posTable, a.typeTable, a.gamma, a.beta, out], grid2D(a.N), owned);
}

/** Bytes read plus written by one gatherRows call when all N ids fall in its chunk. */
export function gatherRowsBytes(N: number, C: number, wDtype: 'f32' | 'f16' = 'f32'): number {
  return N * 4 + N * C * (wDtype === 'f16' ? 2 : 4) + N * C * 4;
}

/** Bytes read plus written by one embeddingsSum call (each position row counted once per token). */
export function embeddingsSumBytes(N: number, C: number, wDtype: 'f32' | 'f16' = 'f32'): number {
  const wb = wDtype === 'f16' ? 2 : 4;
  return N * C * 4 + N * 4 + N * C * wb + C * wb + 2 * C * 4 + N * C * 4;
}
