// Rotary embedding kernel (shaders/rope.wgsl) against its float64 reference: GQA and MHA head
// counts, scalar (R/2 % 4 != 0) and vec4 paths, partial rotary dims (NomicBERT's
// rotary_emb_fraction; dims past rotaryDim and v heads must stay bit-identical), the thetas in use
// (ModernBERT 160000 global / 10000 local, NomicBERT 1000, Qwen3 1000000) and positions up to
// 40000. Two comparisons per case: against f32 angles (HF's own arithmetic: inv_freq and
// position · inv_freq rounded to f32, exact cos/sin), which isolates the kernel's error, and
// against exact float64 angles, what a float64 golden computes.

import { afterAll, describe, expect, it } from 'vitest';
import { testGpu } from '../util/gpu.js';
import { rope, ropeBytes, ropeInvFreq } from '../../src/kernels/rope.js';
import { ropeRef } from '../../src/reference/rope.js';
import { releaseCalls, submitCalls } from '../../src/gpu/calls.js';
import { expectClose } from '../util/compare.js';
import { normal, rng } from '../util/random.js';

// Kernel error with the angle fixed: cos/sin within ~1.5e-7 (reduction 6e-8, polynomials 8e-8)
// times |x1| + |x2| <= ~9, plus the f32 rounding of products and sum (ulp(4) = 4.8e-7): 3e-6.
const KERNEL_ATOL = 3e-6;
// Against exact angles, add HF's own f32 angle error: inv_freq (<= 1) and the product each round
// once, |Δa| <= 2 · maxPos · 2^-24, times the pair norm √(x1² + x2²) <= ~7.
const angleAtol = (maxPos: number) => KERNEL_ATOL + 2 * maxPos * 2 ** -24 * 7;

describe('rope', () => {
  const cases: Array<[N: number, NH: number, NKV: number, HD: number, R: number, theta: number, maxPos: number, label: string]> = [
    [7, 4, 2, 64, 64, 1e6, 63, 'Qwen3-like GQA, short text'],
    [9, 4, 2, 128, 128, 1e6, 40000, 'Qwen3 HD=128, long context'],
    [5, 3, 3, 32, 32, 160000, 8191, 'ModernBERT global'],
    [5, 3, 3, 32, 32, 10000, 8191, 'ModernBERT local'],
    [6, 2, 2, 30, 30, 1000, 2047, 'scalar path (R/2 = 15)'],
    [4, 2, 1, 64, 32, 1000, 511, 'NomicBERT-like rotary_emb_fraction 0.5'],
    [3, 2, 2, 24, 12, 10000, 100, 'scalar path, partial (R/2 = 6)'],
  ];
  for (const [N, NH, NKV, HD, R, theta, maxPos, label] of cases) {
    it(`N=${N} NH=${NH} NKV=${NKV} HD=${HD} R=${R} theta=${theta} pos<=${maxPos}: ${label}`, async () => {
      const gpu = await testGpu();
      const W = (NH + 2 * NKV) * HD;
      const qkv = normal(N * W, N * 100 + HD);
      for (let i = 0; i < qkv.length; i++) qkv[i] = Math.max(-5, Math.min(5, qkv[i])); // |x| <= 5 (the bounds above)
      const r = rng(HD + R);
      const posIds = Uint32Array.from({ length: N }, (_, i) => [0, maxPos, 1][i] ?? Math.floor(r() * (maxPos + 1)));
      const bq = gpu.storageFrom('qkv', qkv), bp = gpu.storageFrom('pos', posIds);
      const call = rope(gpu, { qkv: bq, posIds: bp, N, NH, NKV, HD, rotaryDim: R, theta });
      expect(call.key).toBe(`rope|WG=64,vec4=${+((R / 2) % 4 === 0 && HD % 4 === 0)}`);
      submitCalls(gpu, [call]);
      const out = await gpu.readF32(bq, N * W);
      const shape = [N, NH + 2 * NKV, HD];
      const args = { qkv, posIds, N, NH, NKV, HD, rotaryDim: R, theta };
      expectClose(out, ropeRef({ ...args, angles: 'f32' }), { atol: KERNEL_ATOL, shape, label: `${label} vs f32 angles` });
      expectClose(out, ropeRef({ ...args, angles: 'f64' }), { atol: angleAtol(maxPos), shape, label: `${label} vs f64 angles` });
      // v heads and the dims past rotaryDim are untouched, bit for bit.
      for (let n = 0; n < N; n++) {
        for (let h = 0; h < NH + 2 * NKV; h++) {
          const from = n * W + h * HD + (h < NH + NKV ? R : 0), to = n * W + (h + 1) * HD;
          if (from < to) expectClose(out.subarray(from, to), qkv.subarray(from, to), { atol: 0, label: `untouched dims, row ${n} head ${h}` });
        }
      }
      releaseCalls(gpu, [call]);
      for (const b of [bq, bp]) gpu.destroyBuffer(b);
      expect(gpu.liveBuffers).toBe(0);
    });
  }

  it('position 0 is the identity; two calls with different thetas compose per layer', async () => {
    const gpu = await testGpu();
    const N = 4, NH = 2, NKV = 1, HD = 16, W = (NH + 2 * NKV) * HD;
    const qkv = normal(N * W, 9);
    const posIds = new Uint32Array(N); // all 0
    const bq = gpu.storageFrom('qkv', qkv), bp = gpu.storageFrom('pos', posIds);
    const calls = [160000, 10000].map((theta) => rope(gpu, { qkv: bq, posIds: bp, N, NH, NKV, HD, rotaryDim: HD, theta }));
    submitCalls(gpu, calls);
    // cos 0 = 1 and sin 0 = 0 exactly (k = 0, r = 0: the polynomials give 1 and 0).
    expectClose(await gpu.readF32(bq, N * W), qkv, { atol: 0, label: 'position 0' });
    releaseCalls(gpu, calls);
    for (const b of [bq, bp]) gpu.destroyBuffer(b);
  });

  it('rejects bad rotary dims and theta; inv_freq and bytes', async () => {
    const gpu = await testGpu();
    const q = gpu.storage('q', 256), p = gpu.storage('p', 16);
    const base = { qkv: q, posIds: p, N: 1, NH: 1, NKV: 1, HD: 16, theta: 10000 };
    expect(() => rope(gpu, { ...base, rotaryDim: 15 })).toThrow(/rotaryDim must be an even integer in \[2, HD = 16\], got 15/);
    expect(() => rope(gpu, { ...base, rotaryDim: 18 })).toThrow(/rotaryDim/);
    expect(() => rope(gpu, { ...base, rotaryDim: 16, theta: 0 })).toThrow(/theta must be a positive number/);
    expect(() => rope(gpu, { ...base, posIds: q, rotaryDim: 16 })).toThrow(/posIds overlaps qkv/);
    for (const b of [q, p]) gpu.destroyBuffer(b);
    expect(gpu.liveBuffers).toBe(0);
    expect(Array.from(ropeInvFreq(10000, 4))).toEqual([1, Math.fround(0.01)]);
    expect(ropeBytes(2, 4, 2, 64)).toBe(2 * 6 * 64 * 8 + 8);
  });
});

afterAll(async () => (await testGpu()).destroy());
