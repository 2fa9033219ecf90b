// Host side of shaders/embeddings.wgsl: gathering word-embedding rows from a (chunked) table,
// and the embeddings sum (words + position + token type, then LayerNorm). BERT adds position and
// type row 0; cross-encoders pass per-token type ids; rotary models (NomicBERT: words + type;
// ModernBERT: words only, LayerNorm without bias) pass null tables.

import type { Gpu } from '../gpu/device.js';
import { grid2D, makeCall, packUniform, type BindingKind, type BufferBinding, type KernelCall } from '../gpu/pipelines.js';
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
  posIds?: BufferBinding | null; // (N) u32; needed with a posTable
  posTable: BufferBinding | null; // (P, C) WT; null: no absolute positions (rotary models)
  typeTable: BufferBinding | null; // (types, C) WT; row 0 is used unless typeIds; null: no token types
  typeIds?: BufferBinding | null; // (N) u32 token type of each token (cross-encoder pairs)
  gamma: BufferBinding; // (C) f32
  beta: BufferBinding | null; // (C) f32; null: LayerNorm without bias
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

/**
 * out[i] = LayerNorm(words[i] + posTable[posIds[i]] + typeTable[typeIds[i] or 0]) · gamma + beta;
 * a null table (or beta) drops its term.
 */
export function embeddingsSum(gpu: Gpu, a: EmbeddingsArgs): KernelCall {
  const w = a.wDtype ?? 'f32';
  const posIds = a.posIds ?? null, typeIds = a.typeIds ?? null;
  if (a.posTable && !posIds) throw new Error('embeddingsSum: a posTable needs posIds (pass posIds, or posTable: null for rotary models)');
  if (typeIds && !a.typeTable) throw new Error('embeddingsSum: typeIds need a typeTable (pass the token_type_embeddings table, or drop typeIds)');
  const types = weightTypes(gpu, a.wDtype, 'embeddingsSum');
  const ov = overlap(a.out, a.words);
  if (ov === 'partial') throw new Error('embeddingsSum: out partly overlaps words');
  const inplace = ov === 'same';
  const vec4 = a.C % 4 === 0;
  const WG = rowWorkgroupSize(gpu, vec4 ? a.C / 4 : a.C);
  const hasPos = a.posTable != null, hasType = a.typeTable != null, hasBias = a.beta != null;
  // BERT's calls (position, type row 0, beta) keep the key, entry point and constants they always had.
  const extra = `${hasPos ? '' : ',pos=0'}${typeIds ? ',type=ids' : hasType ? '' : ',type=0'}${hasBias ? '' : ',bias=0'}`;
  const bindings: BindingKind[] = ['uniform', 'write', 'read', 'read', 'read', 'read', 'read', 'write'];
  if (typeIds) bindings.push('read');
  const p = gpu.pipelines.get({
    key: `embeddings_sum|WG=${WG},vec4=${+vec4},w=${w},inplace=${+inplace}${extra}`,
    shader: 'embeddings',
    entryPoint: (vec4 ? 'sum4' : 'sum') + (typeIds ? '_t' : ''),
    constants: { WG, INPLACE: +inplace, ...(hasPos ? {} : { POS: 0 }), ...(hasType ? {} : { TYPE: 0 }), ...(hasBias ? {} : { BIAS: 0 }) },
    bindings,
    types,
  });
  const u = gpu.uniform('embeddings_sum', packUniform([['u32', a.N], ['u32', a.C], ['f32', a.eps]]));
  const owned = [u];
  let out = a.out;
  if (inplace) owned.push((out = dummyStorage(gpu, 'embeddings_sum')));
  // gamma stands in for the (read-only) bindings of dropped terms.
  const g = a.gamma;
  const buffers = [u, a.words, posIds ?? g, a.posTable ?? g, a.typeTable ?? g, g, a.beta ?? g, out];
  if (typeIds) buffers.push(typeIds);
  return makeCall(gpu.device, p, buffers, grid2D(a.N), owned);
}

/** Bytes read plus written by one gatherRows call when all N ids fall in its chunk. */
export function gatherRowsBytes(N: number, C: number, wDtype: 'f32' | 'f16' = 'f32'): number {
  return N * 4 + N * C * (wDtype === 'f16' ? 2 : 4) + N * C * 4;
}

/**
 * Bytes read plus written by one embeddingsSum call (each position row counted once per token;
 * with typeIds, each type row too).
 */
export function embeddingsSumBytes(
  N: number, C: number, wDtype: 'f32' | 'f16' = 'f32',
  opts: { pos?: boolean; type?: 'row0' | 'ids' | 'none'; bias?: boolean } = {},
): number {
  const wb = wDtype === 'f16' ? 2 : 4;
  const pos = opts.pos === false ? 0 : N * 4 + N * C * wb;
  const type = opts.type === 'none' ? 0 : opts.type === 'ids' ? N * 4 + N * C * wb : C * wb;
  return N * C * 4 + pos + type + (opts.bias === false ? 1 : 2) * C * 4 + N * C * 4;
}
