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
import { erf, erfc, f16BitsToF32, f16Round, f32ToF16Bits, matmulRef, roundToF16, toF16Bits } from '../../src/reference/matmul.js';

const EPS32 = 2 ** -24;
const ACTS: Activation[] = ['none', 'gelu_erf', 'gelu_tanh', 'relu', 'tanh'];

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
  // f32 accumulation of K products: rounding error grows like sqrt(K)·eps·Σ|x·w| (4 covers the
  // spread over M·N outputs); the activations (erfc fit 1.2e-7 relative, exp/tanh a few ulp) add
  // at most ~1e-6 of the output scale. All activations have slope <= 1.13, so they do not
  // amplify the accumulation error.
  let scale = 0;
  for (let n = 0; n < N; n++) {
    let rowMax = 0;
    for (let m = 0; m < M; m += Math.max(1, Math.floor(M / 16))) {
      let s = b ? Math.abs(b[n]) : 0;
      for (let k = 0; k < K; k++) s += Math.abs(x[m * K + k] * w[n * K + k]);
      rowMax = Math.max(rowMax, s);
    }
    scale = Math.max(scale, rowMax);
  }
  let maxRef = 0;
  for (const v of ref) maxRef = Math.max(maxRef, Math.abs(v));
  const atol = 4 * Math.sqrt(Math.max(K, 1)) * EPS32 * scale * 1.13 + 1e-6 * (1 + maxRef);
  expectClose(got, ref, { atol, shape: [M, N], label: `${matmulKey({ K, b, act, wDtype: c.f16 ? 'f16' : 'f32' }, config)} M=${M} N=${N} K=${K}` });
  releaseCalls(gpu, [call]);
  for (const buf of [xb, wb, bb, yb]) gpu.destroyBuffer(buf);
}

describe('matmul reference helpers', () => {
  it('erf / erfc match known float64 values', () => {
    // Values from the closed-form tables (erf(0.5), erf(1), erf(2), erfc(3), erfc(5), erfc(10)).
    const cases: Array<[number, number]> = [[0.5, 0.5204998778130465], [1, 0.8427007929497149], [2, 0.9953222650189527], [-1, -0.8427007929497149]];
    for (const [x, v] of cases) expect(Math.abs(erf(x) - v)).toBeLessThan(2e-16);
    const tails: Array<[number, number]> = [[3, 2.209049699858544e-5], [5, 1.5374597944280349e-12], [10, 2.088487583762545e-45]];
    for (const [x, v] of tails) expect(Math.abs(erfc(x) - v) / v).toBeLessThan(1e-13);
    // The series and the continued fraction agree where they hand over.
    expect(Math.abs(erfc(2) - (1 - erf(1.9999999999)))).toBeLessThan(1e-12);
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

  const configs: Array<[string, MatmulConfig]> = [
    ['tiled', TILED_DEFAULT],
    ['tiled 8x4, 8x8 workgroup', { kind: 'tiled', TM: 8, TN: 4, TK: 8, WX: 8, WY: 8 }],
    ['subgroup', SUBGROUP_DEFAULT],
    ['subgroup R=1 TN=4', { kind: 'subgroup', R: 1, TN: 4, WG: 64 }],
  ];

  for (const [name, config] of configs) {
    describe(name, () => {
      const usable = async (): Promise<Gpu> => {
        const gpu = await testGpu();
        // The subgroup kernel must be tested wherever it can be chosen; lavapipe has subgroups.
        if (config.kind === 'subgroup') expect(subgroupKernelUsable(gpu, config.WG)).toBe(true);
        return gpu;
      };
      const vecK = (k: number): boolean => config.kind !== 'subgroup' || k % 4 === 0;

      it('every activation, with and without bias', async () => {
        const gpu = await usable();
        for (const act of ACTS) for (const bias of [true, false]) await check(gpu, { M: 37, N: 70, K: 64, act, bias }, config);
      });

      it('awkward sizes: M, N, K in {1, 7, 33, 129}, K in {60, 100}', async () => {
        const gpu = await usable();
        const sizes = [1, 7, 33, 129];
        for (const M of sizes) for (const N of sizes) for (const K of [...sizes, 60, 100]) {
          if (vecK(K)) await check(gpu, { M, N, K, act: 'gelu_erf' }, config);
        }
      });

      it('f16 weights, every activation and odd sizes', async () => {
        const gpu = await usable();
        expect(gpu.features.f16).toBe(true);
        for (const act of ACTS) await check(gpu, { M: 33, N: 65, K: 96, act, f16: true }, config);
        for (const [M, N, K] of [[1, 1, 4], [7, 33, 100], [129, 7, 36], [5, 9, 7], [33, 1, 129]]) {
          if (vecK(K)) await check(gpu, { M, N, K, f16: true, bias: M % 2 === 1 }, config);
        }
      });

      it('BERT-sized layers (M=200, N=384, K=384; M=1023, N=60, K=100)', async () => {
        const gpu = await usable();
        await check(gpu, { M: 200, N: 384, K: 384, act: 'gelu_erf' }, config);
        await check(gpu, { M: 200, N: 384, K: 384, act: 'gelu_tanh', f16: true }, config);
        await check(gpu, { M: 1023, N: 60, K: 100, act: 'none' }, config);
      });
    });
  }

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
