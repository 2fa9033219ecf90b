// Embedding kernels (shaders/embeddings.wgsl) against their float64 references: gathering rows
// from a table split into two chunks (ids in both, and ids in neither, whose rows must stay
// untouched), f32 and f16 tables, awkward widths; and the embeddings sum + LayerNorm, both eps
// values, f16 position/type tables, in place over words.

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
  });
});

afterAll(async () => (await testGpu()).destroy());
