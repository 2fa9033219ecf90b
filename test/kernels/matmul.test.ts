// Checks the matmul kernels (shaders/matmul.wgsl tiled vec4 + scalar, shaders/matmul_sg.wgsl
// subgroup) against the float64 reference: every activation, bias or not, f32 and f16 weights,
// awkward sizes (1, 7, 33, 129, K % 4 != 0, partial tiles), a BERT-sized layer, bound ranges.
// Also checks the reference's own erf and f16 rounding against known values.

import { afterAll, describe, expect, it } from 'vitest';
import { testGpu } from '../util/gpu.js';
import { expectClose } from '../util/compare.js';
import { uniform } from '../util/random.js';
import { releaseCalls, submitCalls } from '../../src/gpu/calls.js';
import type { Gpu } from '../../src/gpu/device.js';
import {
  matmul, matmulConfig, matmulFlops, matmulKey, matmulWith, subgroupKernelUsable,
  SUBGROUP_DEFAULT, TILED_DEFAULT, type Activation, type MatmulConfig,
} from '../../src/kernels/matmul.js';
import { matmulRef, matmulTolerance, roundToF16, toF16Bits } from '../../src/reference/matmul.js';
import { erf64 as erf, erfc64 as erfc } from '../../src/reference/gelu.js';
import { f16BitsToF32, f16round as f16Round, f32ToF16Bits } from '../../src/io/half.js';

interface Case {
  M: number;
  N: number;
  K: number;
  act?: Activation;
  bias?: boolean;
  f16?: boolean;
  seed?: number;
}

/** Runs one matmul on the GPU and compares it with the float64 reference. */
async function check(gpu: Gpu, c: Case, config: MatmulConfig): Promise<void> {
  const { M, N, K } = c;
  const act = c.act ?? 'none';
  const seed = c.seed ?? M * 1000003 + N * 1009 + K;
  const x = uniform(M * K, seed);
  let w = uniform(N * K, seed + 1);
  const b = c.bias === false ? null : uniform(N, seed + 2);
  // f16 weights: the reference multiplies the same f16-rounded weights, so the tolerance stays
  // the f32 one (only accumulation and epilogue rounding differ).
  if (c.f16) w = roundToF16(w);
  const xb = gpu.storageFrom('x', x);
  const wb = gpu.storageFrom('w', c.f16 ? toF16Bits(w) : w);
  const bb = b ? gpu.storageFrom('b', b) : null;
  const yb = gpu.storage('y', M * N * 4);
  const call = matmulWith(gpu, { x: xb, w: wb, b: bb, y: yb, M, N, K, act, wDtype: c.f16 ? 'f16' : 'f32' }, config);
  submitCalls(gpu, [call]);
  const got = await gpu.readF32(yb, M * N);
  const ref = matmulRef(x, w, b, M, N, K, act);
  // Tolerance: sqrt(K)·eps·Σ|x·w| accumulation bound plus epilogue error (see matmulTolerance).
  const atol = matmulTolerance(x, w, b, M, N, K, ref);
  expectClose(got, ref, { atol, shape: [M, N], label: `${matmulKey({ K, b, act, wDtype: c.f16 ? 'f16' : 'f32' }, config)} M=${M} N=${N} K=${K}` });
  releaseCalls(gpu, [call]);
  for (const buf of [xb, wb, bb, yb]) gpu.destroyBuffer(buf);
}

describe('matmul reference helpers', () => {
  it('erf / erfc match known float64 values', () => {
    // Values from the closed-form tables (erf(0.5), erf(1), erf(2), erfc(3), erfc(5), erfc(10)).
    const cases: Array<[number, number]> = [[0.5, 0.5204998778130465], [1, 0.8427007929497149], [2, 0.9953222650189527], [-1, -0.8427007929497149]];
    for (const [x, v] of cases) expect(Math.abs(erf(x) - v)).toBeLessThan(2e-16);
    // erfc(1.5) comes from the series, erfc(2) onwards from the continued fraction.
    const tails: Array<[number, number]> = [[1.5, 0.033894853524689274], [2, 0.004677734981047266], [3, 2.209049699858544e-5], [5, 1.5374597944280349e-12], [10, 2.088487583762545e-45]];
    for (const [x, v] of tails) expect(Math.abs(erfc(x) - v) / v).toBeLessThan(1e-13);
  });

  it('f16 rounding: nearest even, subnormals, overflow', () => {
    expect(f16Round(1 / 3)).toBe(0.333251953125);
    expect(f16Round(65504)).toBe(65504);
    expect(f16Round(65519)).toBe(65504);
    expect(f16Round(65520)).toBe(Infinity);
    expect(f16Round(2 ** -24)).toBe(2 ** -24);
    expect(f16Round(2 ** -25)).toBe(0); // tie to even (0)
    expect(f16Round(1.5 * 2 ** -25)).toBe(2 ** -24);
    expect(f16Round(1 + 2 ** -11)).toBe(1); // tie between 1 and 1 + 2^-10 goes to even
    expect(f16Round(1 + 3 * 2 ** -11)).toBe(1 + 2 ** -9);
    expect(f16Round(-2.5)).toBe(-2.5);
    expect(f32ToF16Bits(-0)).toBe(0x8000);
    expect(f16BitsToF32(0x7bff)).toBe(65504);
    expect(Number.isNaN(f16BitsToF32(f32ToF16Bits(NaN)))).toBe(true);
  });
});

describe('matmul kernels', () => {
  it('flops and the adapter-dependent choice', async () => {
    const gpu = await testGpu();
    expect(matmulFlops(4096, 768, 3072)).toBe(2 * 4096 * 768 * 3072);
    const cfg = matmulConfig(gpu, { K: 768 });
    expect(matmulConfig(gpu, { K: 7 })).toEqual(TILED_DEFAULT);
    if (subgroupKernelUsable(gpu) && gpu.adapter.architecture === 'software') expect(cfg).toEqual(SUBGROUP_DEFAULT);
    expect(matmulKey({ K: 768, b: null, act: 'gelu_erf', wDtype: 'f16' }, TILED_DEFAULT)).toBe(
      'matmul|TM=4,TN=4,TK=16,WG=16x16,bias=0,act=gelu_erf,w=f16,vec4=1',
    );
  });

  // Each (variant, activation, bias, dtype) is its own pipeline and lavapipe takes seconds to
  // compile one, so the cases below reuse a small set of pipelines: every activation once (the
  // 'none' case without bias), then sizes, f16 and BERT shapes on gelu_erf / gelu_tanh.
  const ACT_BIAS: Array<[Activation, boolean]> = [['none', false], ['gelu_erf', true], ['gelu_tanh', true], ['relu', true], ['tanh', true]];
  const kinds: Array<[string, MatmulConfig]> = [['tiled', TILED_DEFAULT], ['subgroup', SUBGROUP_DEFAULT]];

  for (const [name, config] of kinds) {
    describe(name, () => {
      const usable = async (): Promise<Gpu> => {
        const gpu = await testGpu();
        // The subgroup kernel must be tested wherever it can be chosen; lavapipe has subgroups.
        if (config.kind === 'subgroup') expect(subgroupKernelUsable(gpu, config.WG)).toBe(true);
        return gpu;
      };
      // The subgroup kernel needs K % 4 == 0 (matmul() sends other K to the tiled kernel).
      const sizesK = config.kind === 'subgroup' ? [4, 8, 36, 128, 60, 100] : [1, 7, 33, 129, 60, 100];

      it('every activation; bias and no bias', async () => {
        const gpu = await usable();
        for (const [act, bias] of ACT_BIAS) await check(gpu, { M: 37, N: 70, K: 64, act, bias }, config);
      });

      it('awkward sizes: M, N in {1, 7, 33, 129} x six K (K % 4 != 0 for tiled)', async () => {
        const gpu = await usable();
        const sizes = [1, 7, 33, 129];
        for (const M of sizes) for (const N of sizes) for (const K of sizesK) await check(gpu, { M, N, K, act: 'gelu_erf' }, config);
      });

      it('f16 weights at odd sizes', async () => {
        const gpu = await usable();
        expect(gpu.features.f16).toBe(true);
        for (const [M, N, K] of [[1, 1, 4], [7, 33, 100], [129, 7, 36], [33, 65, 96]]) {
          await check(gpu, { M, N, K, act: 'gelu_tanh', f16: true }, config);
        }
        if (config.kind === 'tiled') {
          for (const [M, N, K] of [[5, 9, 7], [33, 1, 129]]) await check(gpu, { M, N, K, f16: true, bias: false }, config);
        }
      });

      it('BERT-sized layers (M=200, N=384, K=384; M=1023, N=60, K=100)', async () => {
        const gpu = await usable();
        await check(gpu, { M: 200, N: 384, K: 384, act: 'gelu_erf' }, config);
        await check(gpu, { M: 200, N: 384, K: 384, act: 'gelu_tanh', f16: true }, config);
        await check(gpu, { M: 1023, N: 60, K: 100, act: 'gelu_erf' }, config);
      });
    });
  }

  it('other tile configurations (override constants) stay correct', async () => {
    const gpu = await testGpu();
    const tiled: MatmulConfig = { kind: 'tiled', TM: 2, TN: 4, TK: 8, WX: 8, WY: 8 };
    const sg: MatmulConfig = { kind: 'subgroup', R: 1, TN: 4, WG: 64 };
    for (const [M, N, K] of [[1, 1, 4], [33, 129, 36], [70, 7, 100]]) {
      await check(gpu, { M, N, K, act: 'relu' }, tiled);
      await check(gpu, { M, N, K, act: 'relu' }, sg);
    }
  });

  it('reads and writes buffer ranges at offsets', async () => {
    const gpu = await testGpu();
    const M = 9, N = 20, K = 12;
    const x = uniform(M * K, 1), w = uniform(N * K, 2), b = uniform(N, 3);
    const big = gpu.storage('big', 4096 * 4);
    gpu.upload(big, x, 256);
    gpu.upload(big, w, 1024);
    gpu.upload(big, b, 2048);
    const y = gpu.storage('y', 1024 + M * N * 4);
    const call = matmul(gpu, {
      x: { buffer: big, offset: 256, size: M * K * 4 },
      w: { buffer: big, offset: 1024, size: N * K * 4 },
      b: { buffer: big, offset: 2048, size: N * 4 },
      y: { buffer: y, offset: 768, size: M * N * 4 },
      M, N, K, act: 'relu',
    });
    submitCalls(gpu, [call]);
    const got = await gpu.readF32(y, M * N, 768 / 4);
    // K = 12: error stays below 4·sqrt(12)·eps·Σ|x·w| < 1e-5.
    expectClose(got, matmulRef(x, w, b, M, N, K, 'relu'), { atol: 1e-5, shape: [M, N], label: 'offsets' });
    releaseCalls(gpu, [call]);
    gpu.destroyBuffer(big);
    gpu.destroyBuffer(y);
    expect(gpu.liveBuffers).toBe(0);
  });
});

afterAll(async () => (await testGpu()).destroy());
