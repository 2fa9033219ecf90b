// RMSNorm kernels (shaders/rmsnorm.wgsl) against their float64 references: awkward row counts and
// widths (scalar and vec4 paths), with and without a residual, the pre-norm `sumOut` option, every
// in-place arrangement of y and sumOut over x and the residual, and the per-head q_norm / k_norm
// over a packed qkv buffer (v heads untouched).

import { afterAll, describe, expect, it } from 'vitest';
import { testGpu } from '../util/gpu.js';
import { rmsnorm, rmsnormBytes, rmsnormHeads, rmsnormHeadsBytes } from '../../src/kernels/rmsnorm.js';
import { rmsnormHeadsRef, rmsnormRef } from '../../src/reference/rmsnorm.js';
import { residualSumRef } from '../../src/reference/layernorm.js';
import { releaseCalls, submitCalls } from '../../src/gpu/calls.js';
import { expectClose } from '../util/compare.js';
import { normal, uniform } from '../util/random.js';

/** Rows like hidden states: per-row offset and scale. */
function hidden(rows: number, C: number, seed: number): Float32Array {
  const v = normal(rows * C, seed);
  const off = uniform(rows, seed + 1, -2, 2), sc = uniform(rows, seed + 2, 0.2, 3);
  for (let r = 0; r < rows; r++) for (let c = 0; c < C; c++) v[r * C + c] = v[r * C + c] * sc[r] + off[r];
  return v;
}

// One f32 sum of squares over <= 1024 terms (relative error ~1e-6 at worst, ~1e-7 typical) and
// one inverseSqrt; outputs |y| <= ~10 (ulp(8) = 9.5e-7): 5e-6 is ~5 ulp of the largest outputs.
const ATOL = 5e-6;
// x + residual in f32 is one rounding of the float64 sum: |s| < 16, half an ulp <= 1e-6.
const SUM_ATOL = 1e-6;

describe('rmsnorm', () => {
  const cases: Array<[rows: number, C: number, eps: number, residual: boolean, sumOut: boolean]> = [
    [1, 60, 1e-6, false, false],
    [7, 100, 1e-5, true, false],
    [33, 1024, 1e-6, true, true],
    [129, 1023, 1e-6, false, false],
    [5, 1023, 1e-5, true, true],
  ];
  for (const [rows, C, eps, res, sum] of cases) {
    it(`rows=${rows} C=${C} eps=${eps} residual=${res} sumOut=${sum}`, async () => {
      const gpu = await testGpu();
      const seed = rows * 1000 + C;
      const x = hidden(rows, C, seed), r = res ? normal(rows * C, seed + 7, 0.5) : null;
      const w = uniform(C, seed + 3, 0.5, 1.5);
      const bx = gpu.storageFrom('x', x), bw = gpu.storageFrom('w', w), br = r ? gpu.storageFrom('res', r) : null;
      const by = gpu.storage('y', rows * C * 4), bs = sum ? gpu.storage('sum', rows * C * 4) : null;
      const call = rmsnorm(gpu, { x: bx, residual: br, weight: bw, y: by, sumOut: bs, rows, C, eps });
      expect(call.key).toBe(`rmsnorm|WG=16,vec4=${+(C % 4 === 0)},residual=${+res},sumout=${sum ? 'buf' : 0},y=buf`);
      submitCalls(gpu, [call]);
      const ref = rmsnormRef({ x, residual: r, weight: w, rows, C, eps });
      expectClose(await gpu.readF32(by, rows * C), ref, { atol: ATOL, shape: [rows, C], label: `rmsnorm ${rows}x${C}` });
      if (bs) expectClose(await gpu.readF32(bs, rows * C), residualSumRef(x, r!), { atol: SUM_ATOL, shape: [rows, C], label: 'sumOut' });
      expectClose(await gpu.readF32(bx, rows * C), x, { atol: 0, label: 'x untouched' });
      releaseCalls(gpu, [call]);
      for (const b of [bx, bw, br, by, bs]) if (b) gpu.destroyBuffer(b);
      expect(gpu.liveBuffers).toBe(0);
    });
  }

  // y and sumOut over x, over the residual or in their own buffer (0 = own buffer).
  const arrangements: Array<[C: number, y: 'x' | 'res' | 'buf', sum: 'x' | 'res' | 'buf' | null]> = [
    [384, 'x', null], [384, 'res', null], [384, 'x', 'res'], [384, 'res', 'x'], [384, 'buf', 'res'], [99, 'x', 'res'], [99, 'res', null],
  ];
  for (const [C, yAt, sumAt] of arrangements) {
    it(`in place: C=${C} y over ${yAt}, sumOut ${sumAt ? `over ${sumAt}` : 'off'}`, async () => {
      const gpu = await testGpu();
      const rows = 9, eps = 1e-6;
      const x = hidden(rows, C, 5), r = normal(rows * C, 6), w = uniform(C, 7, 0.5, 1.5);
      const bx = gpu.storageFrom('x', x), br = gpu.storageFrom('res', r), bw = gpu.storageFrom('w', w);
      const pick = (at: 'x' | 'res' | 'buf') => (at === 'x' ? bx : at === 'res' ? br : gpu.storage(`out_${at}`, rows * C * 4));
      const by = pick(yAt), bs = sumAt ? pick(sumAt) : null;
      const call = rmsnorm(gpu, { x: bx, residual: br, weight: bw, y: by, sumOut: bs, rows, C, eps });
      expect(call.key).toContain(`sumout=${sumAt ?? 0},y=${yAt}`);
      submitCalls(gpu, [call]);
      const ref = rmsnormRef({ x, residual: r, weight: w, rows, C, eps });
      expectClose(await gpu.readF32(by, rows * C), ref, { atol: ATOL, shape: [rows, C], label: 'y' });
      if (bs) expectClose(await gpu.readF32(bs, rows * C), residualSumRef(x, r), { atol: SUM_ATOL, shape: [rows, C], label: 'sumOut' });
      // An input that is neither output keeps its values.
      if (by !== bx && bs !== bx) expectClose(await gpu.readF32(bx, rows * C), x, { atol: 0, label: 'x untouched' });
      if (by !== br && bs !== br) expectClose(await gpu.readF32(br, rows * C), r, { atol: 0, label: 'residual untouched' });
      releaseCalls(gpu, [call]);
      for (const b of new Set([bx, br, bw, by, bs])) if (b) gpu.destroyBuffer(b);
      expect(gpu.liveBuffers).toBe(0);
    });
  }

  it('hardware workgroup sizes (64 and 32) give the same results', async () => {
    const gpu = await testGpu();
    // The same device seen as a hardware adapter: rowWorkgroupSize picks 64 for C = 1024, 32 for C = 100.
    const hw = Object.create(gpu, { cpu: { value: false } }) as typeof gpu;
    for (const [rows, C, WG] of [[9, 1024, 64], [7, 100, 32], [5, 1023, 64]] as const) {
      const x = hidden(rows, C, C), r = normal(rows * C, 2), w = uniform(C, 3, 0.5, 1.5);
      const bx = gpu.storageFrom('x', x), br = gpu.storageFrom('res', r), bw = gpu.storageFrom('w', w), by = gpu.storage('y', rows * C * 4);
      const call = rmsnorm(hw, { x: bx, residual: br, weight: bw, y: by, sumOut: br, rows, C, eps: 1e-6 });
      expect(call.key).toContain(`WG=${WG},`);
      submitCalls(gpu, [call]);
      expectClose(await gpu.readF32(by, rows * C), rmsnormRef({ x, residual: r, weight: w, rows, C, eps: 1e-6 }), { atol: ATOL, shape: [rows, C], label: `rmsnorm WG=${WG}` });
      expectClose(await gpu.readF32(br, rows * C), residualSumRef(x, r), { atol: SUM_ATOL, shape: [rows, C], label: `sumOut WG=${WG}` });
      releaseCalls(hw, [call]); // hw keeps its own byte count
      for (const b of [bx, br, bw, by]) gpu.destroyBuffer(b);
    }
  });

  it('rejects bad arguments with the fix in the message, and counts bytes', async () => {
    const gpu = await testGpu();
    const x = gpu.storage('x', 1024), r = gpu.storage('r', 1024), w = gpu.storage('w', 64), y = gpu.storage('y', 1024);
    const base = { x, weight: w, rows: 4, C: 64, eps: 1e-6 };
    expect(() => rmsnorm(gpu, { ...base, y, sumOut: r })).toThrow(/needs a residual/);
    expect(() => rmsnorm(gpu, { ...base, residual: r, y, sumOut: y })).toThrow(/y and sumOut overlap/);
    expect(() => rmsnorm(gpu, { ...base, residual: r, y: { buffer: x, offset: 256, size: 512 } })).toThrow(/partly overlaps x/);
    expect(() => rmsnormHeads(gpu, { qkv: x, qWeight: { buffer: x, offset: 0, size: 16 }, kWeight: w, N: 1, NH: 1, NKV: 1, HD: 4, eps: 1e-6 })).toThrow(/qWeight overlaps qkv/);
    for (const b of [x, r, w, y]) gpu.destroyBuffer(b);
    expect(gpu.liveBuffers).toBe(0);
    expect(rmsnormBytes(10, 64, true, true)).toBe(10 * 64 * 16 + 256);
    expect(rmsnormHeadsBytes(2, 4, 2, 8)).toBe(2 * 6 * 8 * 8 + 64);
  });
});

describe('rmsnormHeads (q_norm / k_norm)', () => {
  // HD = 64 and 128 take the vec4 path, HD = 30 the scalar one; GQA (NKV < NH) and NKV = NH.
  // On the CPU adapter one invocation takes a head vector (TPH = 1); `hw` views the same device as
  // a hardware adapter, where 8 (or for HD = 6, 4) lanes share one (TPH = 8).
  const cases: Array<[N: number, NH: number, NKV: number, HD: number, hw: boolean]> = [
    [7, 4, 2, 64, false], [3, 2, 2, 30, false], [13, 3, 1, 128, false], [13, 3, 1, 128, true], [5, 2, 1, 30, true], [9, 2, 1, 6, true],
  ];
  for (const [N, NH, NKV, HD, hw] of cases) {
    it(`N=${N} NH=${NH} NKV=${NKV} HD=${HD}${hw ? ' (hardware lanes)' : ''}`, async () => {
      const dev = await testGpu();
      const gpu = hw ? (Object.create(dev, { cpu: { value: false } }) as typeof dev) : dev;
      const eps = 1e-6, W = (NH + 2 * NKV) * HD;
      const qkv = hidden(N, W, N + HD), wq = uniform(HD, 3, 0.5, 1.5), wk = uniform(HD, 4, 0.5, 1.5);
      const bq = dev.storageFrom('qkv', qkv), bwq = dev.storageFrom('wq', wq), bwk = dev.storageFrom('wk', wk);
      const call = rmsnormHeads(gpu, { qkv: bq, qWeight: bwq, kWeight: bwk, N, NH, NKV, HD, eps });
      const TPH = !hw ? 1 : HD === 6 ? 4 : 8;
      expect(call.key).toBe(`rmsnorm_heads|WG=64,TPH=${TPH},vec4=${+(HD % 4 === 0)}`);
      submitCalls(dev, [call]);
      const out = await dev.readF32(bq, N * W);
      const ref = rmsnormHeadsRef({ qkv, qWeight: wq, kWeight: wk, N, NH, NKV, HD, eps });
      // As the row form: f32 sum of squares over HD terms, outputs |y| <= ~6.
      expectClose(out, ref, { atol: ATOL, shape: [N, NH + 2 * NKV, HD], label: `qkv heads ${N}x${NH}+${NKV}x${HD}` });
      // v heads are not touched at all.
      for (let n = 0; n < N; n++) {
        const v0 = n * W + (NH + NKV) * HD;
        expectClose(out.subarray(v0, (n + 1) * W), qkv.subarray(v0, (n + 1) * W), { atol: 0, label: `v heads of row ${n}` });
      }
      releaseCalls(gpu, [call]); // hw keeps its own byte count
      for (const b of [bq, bwq, bwk]) dev.destroyBuffer(b);
    });
  }
});

afterAll(async () => (await testGpu()).destroy());
