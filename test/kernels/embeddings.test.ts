// Embedding kernels (shaders/embeddings.wgsl) against their float64 references: gathering rows
// from a table split into two chunks (ids in both, and ids in neither, whose rows must stay
// untouched), f32 and f16 tables, awkward widths; and the embeddings sum + LayerNorm, both eps
// values, f16 position/type tables, in place over words; and the forms without a position table
// (rotary models), with per-token type ids (cross-encoders), without a type table and without beta.

import { afterAll, describe, expect, it } from 'vitest';
import { testGpu } from '../util/gpu.js';
import { embeddingsSum, embeddingsSumBytes, gatherRows, gatherRowsBytes } from '../../src/kernels/embeddings.js';
import { embeddingsSumRef, gatherRowsRef } from '../../src/reference/embeddings.js';
import { releaseCalls, submitCalls } from '../../src/gpu/calls.js';
import type { KernelCall } from '../../src/gpu/pipelines.js';
import { expectClose } from '../util/compare.js';
import { normal, rng, uniform } from '../util/random.js';

/** Values on a 2^-10 grid in (-2, 2): exactly representable in f16, so f16 tables lose nothing. */
function f16Exact(n: number, seed: number): Float32Array {
  const v = uniform(n, seed, -2, 2);
  for (let i = 0; i < n; i++) v[i] = Math.round(v[i] * 1024) / 1024;
  return v;
}

/** IEEE half bits of values that f16 represents exactly (normal numbers and zero only). */
function toF16(v: Float32Array): Uint16Array {
  const bits = new Uint32Array(v.buffer.slice(v.byteOffset, v.byteOffset + v.byteLength));
  const h = new Uint16Array(v.length + (v.length % 2)); // whole 4-byte words
  for (let i = 0; i < v.length; i++) {
    const u = bits[i], sign = (u >>> 16) & 0x8000, exp = (u >>> 23) & 0xff, mant = u & 0x7fffff;
    if (exp === 0 && mant === 0) { h[i] = sign; continue; }
    const e = exp - 112;
    if (e <= 0 || e >= 31 || (mant & 0x1fff) !== 0) throw new Error(`${v[i]} is not an exact f16 normal`);
    h[i] = sign | (e << 10) | (mant >> 13);
  }
  return h;
}

const table = (gpuData: Float32Array, w: 'f32' | 'f16') => (w === 'f16' ? toF16(gpuData) : gpuData);

describe('gatherRows', () => {
  const cases: Array<[N: number, C: number, w: 'f32' | 'f16']> = [
    [1, 60, 'f32'], [7, 100, 'f16'], [33, 384, 'f32'], [129, 1023, 'f16'], [33, 1024, 'f16'], [7, 1023, 'f32'],
  ];
  for (const [N, C, w] of cases) {
    it(`N=${N} C=${C} ${w}: two chunks cover the table; foreign ids untouched`, async () => {
      const gpu = await testGpu();
      if (w === 'f16' && !gpu.features.f16) {
        expect(() => gatherRows(gpu, { table: gpu.storage('t', 16), ids: gpu.storage('i', 16), out: gpu.storage('o', 16), N: 1, C: 4, rowStart: 0, rowCount: 1, wDtype: 'f16' })).toThrow(/shader-f16/);
        return;
      }
      const V = 50, split = 23; // chunks: rows [0, 23) and [23, 50)
      const full = f16Exact(V * C, N + C);
      const r = rng(N * 7 + C);
      // Ids in both chunks, both chunk edges, and ids past the table (V, V + 9): not gathered.
      const ids = Uint32Array.from({ length: N }, (_, i) => [0, split - 1, split, V - 1, V, V + 9][i] ?? Math.floor(r() * (V + 3)));
      const init = new Float32Array(N * C).fill(-7.5);
      const chunks = [[0, split], [split, V - split]] as const;
      const bIds = gpu.storageFrom('ids', ids), bOut = gpu.storageFrom('out', init);
      const bufs = chunks.map(([s, n]) => gpu.storageFrom(`chunk${s}`, table(full.subarray(s * C, (s + n) * C), w)));
      const calls: KernelCall[] = chunks.map(([rowStart, rowCount], k) =>
        gatherRows(gpu, { table: bufs[k], ids: bIds, out: bOut, N, C, rowStart, rowCount, wDtype: w }));
      expect(calls[0].key).toBe(`gather_rows|WG=64,vec4=${+(C % 4 === 0)},w=${w}`);
      submitCalls(gpu, calls);
      const out = await gpu.readF32(bOut, N * C);
      let ref: Float64Array = Float64Array.from(init);
      for (const [rowStart, rowCount] of chunks) {
        ref = gatherRowsRef({ table: full.subarray(rowStart * C, (rowStart + rowCount) * C), ids, out: ref, N, C, rowStart, rowCount });
      }
      // A gather is a copy (f16 → f32 is exact for these values): bit-exact, -7.5 kept for foreign ids.
      expectClose(out, ref, { atol: 0, shape: [N, C], label: `gather ${N}x${C} ${w}` });
      releaseCalls(gpu, calls);
      for (const b of [bIds, bOut, ...bufs]) gpu.destroyBuffer(b);
    });
  }

  it('chunks bound as 256-byte-aligned ranges of one buffer (C = 64)', async () => {
    const gpu = await testGpu();
    const V = 40, C = 64, N = 33, split = 12; // 12 rows × 256 B: an aligned offset
    const full = normal(V * C, 3);
    const ids = Uint32Array.from({ length: N }, (_, i) => (i * 7) % V);
    const bT = gpu.storageFrom('table', full), bIds = gpu.storageFrom('ids', ids), bOut = gpu.storage('out', N * C * 4);
    const calls = [
      gatherRows(gpu, { table: { buffer: bT, offset: 0, size: split * C * 4 }, ids: bIds, out: bOut, N, C, rowStart: 0, rowCount: split }),
      gatherRows(gpu, { table: { buffer: bT, offset: split * C * 4, size: (V - split) * C * 4 }, ids: bIds, out: bOut, N, C, rowStart: split, rowCount: V - split }),
    ];
    submitCalls(gpu, calls);
    const ref = gatherRowsRef({ table: full, ids, out: new Float32Array(N * C), N, C, rowStart: 0, rowCount: V });
    expectClose(await gpu.readF32(bOut, N * C), ref, { atol: 0, shape: [N, C], label: 'gather from ranges' });
    releaseCalls(gpu, calls);
    for (const b of [bT, bIds, bOut]) gpu.destroyBuffer(b);
    expect(gatherRowsBytes(10, 8, 'f16')).toBe(40 + 160 + 320);
  });
});

describe('embeddingsSum', () => {
  const cases: Array<[N: number, C: number, eps: number, w: 'f32' | 'f16', inplace: boolean]> = [
    [1, 60, 1e-12, 'f32', false], [7, 100, 1e-5, 'f16', true], [33, 384, 1e-12, 'f16', false],
    [129, 1024, 1e-5, 'f32', true], [7, 1023, 1e-5, 'f16', false], [33, 1024, 1e-12, 'f16', true],
  ];
  for (const [N, C, eps, w, inplace] of cases) {
    it(`N=${N} C=${C} eps=${eps} ${w}${inplace ? ' in place' : ''}`, async () => {
      const gpu = await testGpu();
      if (w === 'f16' && !gpu.features.f16) {
        const t = gpu.storage('t', 16);
        expect(() => embeddingsSum(gpu, { words: t, posIds: t, posTable: t, typeTable: t, gamma: t, beta: t, out: t, N: 1, C: 4, eps, wDtype: 'f16' })).toThrow(/shader-f16/);
        return gpu.destroyBuffer(t);
      }
      const P = 40, seed = N + C;
      const words = normal(N * C, seed), posT = f16Exact(P * C, seed + 1), typeT = f16Exact(2 * C, seed + 2);
      const r = rng(seed + 3);
      const posIds = Uint32Array.from({ length: N }, (_, i) => (i === 0 ? P - 1 : Math.floor(r() * P)));
      const gamma = uniform(C, seed + 4, 0.5, 1.5), beta = uniform(C, seed + 5, -0.5, 0.5);
      const bW = gpu.storageFrom('words', words), bP = gpu.storageFrom('pos_ids', posIds);
      const bPT = gpu.storageFrom('pos', table(posT, w)), bTT = gpu.storageFrom('type', table(typeT, w));
      const bG = gpu.storageFrom('gamma', gamma), bB = gpu.storageFrom('beta', beta);
      const bOut = inplace ? bW : gpu.storage('out', N * C * 4);
      const call = embeddingsSum(gpu, { words: bW, posIds: bP, posTable: bPT, typeTable: bTT, gamma: bG, beta: bB, out: bOut, N, C, eps, wDtype: w });
      expect(call.key).toContain(`w=${w},inplace=${+inplace}`);
      submitCalls(gpu, [call]);
      const out = await gpu.readF32(bOut, N * C);
      const ref = embeddingsSumRef({ words, posIds, posTable: posT, typeTable: typeT, gamma, beta, N, C, eps });
      // As layernorm.test.ts: f32 statistics over <= 1024 terms, outputs |y| <= ~8: ~5 ulp, 5e-6.
      expectClose(out, ref, { atol: 5e-6, shape: [N, C], label: `embeddings ${N}x${C} ${w}` });
      releaseCalls(gpu, [call]);
      for (const b of new Set([bW, bP, bPT, bTT, bG, bB, bOut])) gpu.destroyBuffer(b);
    });
  }

  it('counts bytes', () => {
    expect(embeddingsSumBytes(2, 4, 'f16')).toBe(32 + 8 + 16 + 8 + 32 + 32);
    expect(embeddingsSumBytes(2, 4, 'f16', { pos: false, type: 'ids', bias: false })).toBe(32 + 8 + 16 + 16 + 32);
  });

  // [N, C, w, position table, type: row 0 / per-token ids / none, bias, in place]
  type Opt = [N: number, C: number, w: 'f32' | 'f16', pos: boolean, type: 'row0' | 'ids' | 'none', bias: boolean, inplace: boolean];
  const optCases: Opt[] = [
    [9, 64, 'f16', false, 'none', false, true], //    ModernBERT: tok_embeddings, LayerNorm(bias=False)
    [7, 100, 'f32', false, 'row0', true, false], //   NomicBERT: word + token type 0, no positions
    [33, 384, 'f16', true, 'ids', true, false], //    BERT cross-encoder: pairs with type ids 0 / 1
    [7, 1023, 'f32', true, 'ids', true, true],
    [5, 99, 'f16', false, 'ids', false, false],
    [3, 60, 'f32', true, 'none', true, false],
  ];
  for (const [N, C, w, pos, type, bias, inplace] of optCases) {
    it(`N=${N} C=${C} ${w} pos=${pos} type=${type} bias=${bias}${inplace ? ' in place' : ''}`, async () => {
      const gpu = await testGpu();
      if (w === 'f16' && !gpu.features.f16) throw new Error('this adapter lacks shader-f16; the f16 cases need it');
      const P = 40, T = 3, seed = N * 31 + C, eps = 1e-5;
      const words = normal(N * C, seed), posT = f16Exact(P * C, seed + 1), typeT = f16Exact(T * C, seed + 2);
      const r = rng(seed + 3);
      const posIds = Uint32Array.from({ length: N }, (_, i) => (i === 0 ? P - 1 : Math.floor(r() * P)));
      const typeIds = Uint32Array.from({ length: N }, (_, i) => (i === 1 ? T - 1 : Math.floor(r() * T)));
      const gamma = uniform(C, seed + 4, 0.5, 1.5), beta = uniform(C, seed + 5, -0.5, 0.5);
      const bW = gpu.storageFrom('words', words), bG = gpu.storageFrom('gamma', gamma);
      const bP = pos ? gpu.storageFrom('pos_ids', posIds) : null, bPT = pos ? gpu.storageFrom('pos', table(posT, w)) : null;
      const bTT = type !== 'none' ? gpu.storageFrom('type', table(typeT, w)) : null;
      const bTI = type === 'ids' ? gpu.storageFrom('type_ids', typeIds) : null;
      const bB = bias ? gpu.storageFrom('beta', beta) : null;
      const bOut = inplace ? bW : gpu.storage('out', N * C * 4);
      const call = embeddingsSum(gpu, { words: bW, posIds: bP, posTable: bPT, typeTable: bTT, typeIds: bTI, gamma: bG, beta: bB, out: bOut, N, C, eps, wDtype: w });
      expect(call.key).toBe(
        `embeddings_sum|WG=16,vec4=${+(C % 4 === 0)},w=${w},inplace=${+inplace}` +
          `${pos ? '' : ',pos=0'}${type === 'ids' ? ',type=ids' : type === 'none' ? ',type=0' : ''}${bias ? '' : ',bias=0'}`,
      );
      submitCalls(gpu, [call]);
      const ref = embeddingsSumRef({
        words, posIds: pos ? posIds : null, posTable: pos ? posT : null, typeTable: type === 'none' ? null : typeT,
        typeIds: type === 'ids' ? typeIds : null, gamma, beta: bias ? beta : null, N, C, eps,
      });
      // As above: f32 statistics over <= 1024 terms, outputs |y| <= ~8: ~5 ulp, 5e-6.
      expectClose(await gpu.readF32(bOut, N * C), ref, { atol: 5e-6, shape: [N, C], label: `embeddings ${N}x${C} pos=${pos} type=${type}` });
      releaseCalls(gpu, [call]);
      for (const b of new Set([bW, bP, bPT, bTT, bTI, bG, bB, bOut])) if (b) gpu.destroyBuffer(b);
      expect(gpu.liveBuffers).toBe(0);
    });
  }

  it('rejects a position table without ids, and type ids without a table', async () => {
    const gpu = await testGpu();
    const t = gpu.storage('t', 1024);
    const base = { words: t, gamma: t, beta: t, out: t, N: 2, C: 4, eps: 1e-5 };
    expect(() => embeddingsSum(gpu, { ...base, posTable: t, typeTable: null })).toThrow(/posTable needs posIds/);
    expect(() => embeddingsSum(gpu, { ...base, posTable: null, typeTable: null, typeIds: t })).toThrow(/typeIds need a typeTable/);
    gpu.destroyBuffer(t);
    expect(gpu.liveBuffers).toBe(0);
  });
});

afterAll(async () => (await testGpu()).destroy());
