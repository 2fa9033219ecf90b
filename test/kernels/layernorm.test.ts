// LayerNorm kernel (shaders/layernorm.wgsl) against its float64 reference: awkward row counts and
// widths (scalar and vec4 paths), both eps values in use (BERT 1e-12, XLM-R 1e-5), with and
// without a residual, and in place over x and over the residual; LayerNorm without a bias
// (ModernBERT's norm_bias: false) and the pre-norm `sumOut` option (x + residual stored too) in
// every arrangement of y and sumOut over x, the residual or their own buffers.

import { afterAll, describe, expect, it } from 'vitest';
import { testGpu } from '../util/gpu.js';
import { layernorm, layernormBytes } from '../../src/kernels/layernorm.js';
import { layernormRef, residualSumRef } from '../../src/reference/layernorm.js';
import { releaseCalls, submitCalls } from '../../src/gpu/calls.js';
import { expectClose } from '../util/compare.js';
import { normal, uniform } from '../util/random.js';

/** Rows like hidden states: per-row offset and scale, so mean and variance both matter. */
function hidden(rows: number, C: number, seed: number): Float32Array {
  const v = normal(rows * C, seed);
  const off = uniform(rows, seed + 1, -2, 2), sc = uniform(rows, seed + 2, 0.2, 3);
  for (let r = 0; r < rows; r++) for (let c = 0; c < C; c++) v[r * C + c] = v[r * C + c] * sc[r] + off[r];
  return v;
}

// f32 sums of <= 1024 terms and one inverseSqrt: the stats carry relative error ~1e-7..1e-6, and
// the outputs are |y| <= ~8 (|z| <= ~5 times gamma <= 1.5, plus beta, ulp(8) = 9.5e-7), so 5e-6
// is ~5 ulp of the largest outputs (measured on lavapipe: <= 1e-6).
const ATOL = 5e-6;

describe('layernorm', () => {
  const cases: Array<[rows: number, C: number, eps: number, residual: boolean]> = [
    [1, 60, 1e-12, false],
    [7, 100, 1e-5, true],
    [33, 384, 1e-12, true],
    [129, 1023, 1e-5, false],
    [7, 1024, 1e-12, true],
    [33, 1024, 1e-5, false],
    [1, 1023, 1e-12, true],
    [129, 60, 1e-5, true],
  ];
  for (const [rows, C, eps, res] of cases) {
    it(`rows=${rows} C=${C} eps=${eps} residual=${res}`, async () => {
      const gpu = await testGpu();
      const seed = rows * 1000 + C;
      const x = hidden(rows, C, seed);
      const r = res ? normal(rows * C, seed + 7, 0.5) : null;
      const gamma = uniform(C, seed + 3, 0.5, 1.5), beta = uniform(C, seed + 4, -0.5, 0.5);
      const bx = gpu.storageFrom('x', x), bg = gpu.storageFrom('gamma', gamma), bb = gpu.storageFrom('beta', beta);
      const br = r ? gpu.storageFrom('res', r) : null;
      const by = gpu.storage('y', rows * C * 4);
      const call = layernorm(gpu, { x: bx, residual: br, gamma: bg, beta: bb, y: by, rows, C, eps });
      expect(call.key).toContain(`vec4=${+(C % 4 === 0)}`);
      submitCalls(gpu, [call]);
      const out = await gpu.readF32(by, rows * C);
      const ref = layernormRef({ x, residual: r, gamma, beta, rows, C, eps });
      expectClose(out, ref, { atol: ATOL, shape: [rows, C], label: `layernorm ${rows}x${C}` });
      releaseCalls(gpu, [call]);
      for (const b of [bx, bg, bb, br, by]) gpu.destroyBuffer(b);
    });
  }

  it('in place over x, and over the residual (rows=33, C=384 and C=100)', async () => {
    const gpu = await testGpu();
    for (const C of [384, 100]) {
      const rows = 33;
      const x = hidden(rows, C, 5), r = normal(rows * C, 6), gamma = uniform(C, 7, 0.5, 1.5), beta = uniform(C, 8, -0.5, 0.5);
      const ref = layernormRef({ x, residual: r, gamma, beta, rows, C, eps: 1e-12 });
      const bg = gpu.storageFrom('gamma', gamma), bb = gpu.storageFrom('beta', beta);
      // y === x
      let bx = gpu.storageFrom('x', x), br = gpu.storageFrom('res', r);
      let call = layernorm(gpu, { x: bx, residual: br, gamma: bg, beta: bb, y: bx, rows, C, eps: 1e-12 });
      expect(call.key).toContain('inplace=1');
      submitCalls(gpu, [call]);
      expectClose(await gpu.readF32(bx, rows * C), ref, { atol: ATOL, shape: [rows, C], label: `in place over x, C=${C}` });
      releaseCalls(gpu, [call]);
      gpu.destroyBuffer(bx);
      gpu.destroyBuffer(br);
      // y === residual
      bx = gpu.storageFrom('x', x);
      br = gpu.storageFrom('res', r);
      call = layernorm(gpu, { x: bx, residual: br, gamma: bg, beta: bb, y: br, rows, C, eps: 1e-12 });
      submitCalls(gpu, [call]);
      expectClose(await gpu.readF32(br, rows * C), ref, { atol: ATOL, shape: [rows, C], label: `in place over residual, C=${C}` });
      // x is untouched
      expectClose(await gpu.readF32(bx, rows * C), x, { atol: 0, label: 'x untouched' });
      releaseCalls(gpu, [call]);
      for (const b of [bx, br, bg, bb]) gpu.destroyBuffer(b);
    }
    expect(gpu.liveBuffers).toBe(0);
  });

  it('hardware workgroup sizes (32 and 64) give the same results', async () => {
    const gpu = await testGpu();
    // The same Gpu seen as a hardware adapter: rowWorkgroupSize picks 64 for C = 1024, 32 for C = 100.
    const hw = Object.create(gpu, { cpu: { value: false } }) as typeof gpu;
    for (const [rows, C, WG] of [[33, 1024, 64], [7, 100, 32], [7, 1023, 64]] as const) {
      const x = hidden(rows, C, C), r = normal(rows * C, 2), gamma = uniform(C, 3, 0.5, 1.5), beta = uniform(C, 4, -0.5, 0.5);
      const bx = gpu.storageFrom('x', x), br = gpu.storageFrom('res', r), bg = gpu.storageFrom('gamma', gamma), bb = gpu.storageFrom('beta', beta);
      const by = gpu.storage('y', rows * C * 4);
      const call = layernorm(hw, { x: bx, residual: br, gamma: bg, beta: bb, y: by, rows, C, eps: 1e-5 });
      expect(call.key).toContain(`WG=${WG},`);
      submitCalls(gpu, [call]);
      const ref = layernormRef({ x, residual: r, gamma, beta, rows, C, eps: 1e-5 });
      expectClose(await gpu.readF32(by, rows * C), ref, { atol: ATOL, shape: [rows, C], label: `layernorm WG=${WG}` });
      releaseCalls(hw, [call]); // hw keeps its own byte count
      for (const b of [bx, br, bg, bb, by]) gpu.destroyBuffer(b);
    }
  });

  it('rejects a partial overlap and counts bytes', async () => {
    const gpu = await testGpu();
    const buf = gpu.storage('xy', 2 * 64 * 4 + 256);
    const g = gpu.storage('g', 64 * 4), b = gpu.storage('b', 64 * 4);
    expect(() =>
      layernorm(gpu, { x: { buffer: buf, offset: 0, size: 128 * 4 }, gamma: g, beta: b, y: { buffer: buf, offset: 256, size: 128 * 4 }, rows: 2, C: 64, eps: 1e-5 }),
    ).toThrow(/overlap/);
    expect(layernormBytes(10, 64, true)).toBe(10 * 64 * 12 + 512);
    for (const x of [buf, g, b]) gpu.destroyBuffer(x);
  });
});

describe('layernorm without bias, and sumOut', () => {
  // x + residual in f32 is one rounding of the float64 sum: |s| < 16, half an ulp <= 1e-6.
  const SUM_ATOL = 1e-6;
  const cases: Array<[rows: number, C: number, bias: boolean, y: 'x' | 'res' | 'buf', sum: 'x' | 'res' | 'buf' | null]> = [
    [7, 100, false, 'buf', null], [33, 1024, false, 'x', null], [1, 1023, false, 'buf', 'buf'],
    [33, 384, true, 'buf', 'buf'], [9, 384, false, 'x', 'res'], [9, 384, true, 'res', 'x'], [9, 99, false, 'x', 'res'], [9, 99, true, 'buf', 'res'],
  ];
  for (const [rows, C, bias, yAt, sumAt] of cases) {
    it(`rows=${rows} C=${C} bias=${bias} y over ${yAt}, sumOut ${sumAt ? `over ${sumAt}` : 'off'}`, async () => {
      const gpu = await testGpu();
      const eps = 1e-5, seed = rows + C;
      const x = hidden(rows, C, seed), r = normal(rows * C, seed + 1, 0.5);
      const gamma = uniform(C, seed + 3, 0.5, 1.5), beta = bias ? uniform(C, seed + 4, -0.5, 0.5) : null;
      const bx = gpu.storageFrom('x', x), br = gpu.storageFrom('res', r), bg = gpu.storageFrom('gamma', gamma);
      const bb = beta ? gpu.storageFrom('beta', beta) : null;
      const pick = (at: 'x' | 'res' | 'buf') => (at === 'x' ? bx : at === 'res' ? br : gpu.storage(`out_${at}`, rows * C * 4));
      const by = pick(yAt), bs = sumAt ? pick(sumAt) : null;
      const call = layernorm(gpu, { x: bx, residual: br, gamma: bg, beta: bb, y: by, sumOut: bs, rows, C, eps });
      expect(call.key).toContain(`vec4=${+(C % 4 === 0)},residual=1,`);
      expect(call.key.endsWith(',bias=0')).toBe(!bias);
      if (sumAt) expect(call.key).toContain(`sumout=${sumAt},y=${yAt}`);
      submitCalls(gpu, [call]);
      const ref = layernormRef({ x, residual: r, gamma, beta, rows, C, eps });
      expectClose(await gpu.readF32(by, rows * C), ref, { atol: ATOL, shape: [rows, C], label: 'y' });
      if (bs) expectClose(await gpu.readF32(bs, rows * C), residualSumRef(x, r), { atol: SUM_ATOL, shape: [rows, C], label: 'sumOut' });
      if (by !== bx && bs !== bx) expectClose(await gpu.readF32(bx, rows * C), x, { atol: 0, label: 'x untouched' });
      if (by !== br && bs !== br) expectClose(await gpu.readF32(br, rows * C), r, { atol: 0, label: 'residual untouched' });
      releaseCalls(gpu, [call]);
      for (const b of new Set([bx, br, bg, bb, by, bs])) if (b) gpu.destroyBuffer(b);
      expect(gpu.liveBuffers).toBe(0);
    });
  }

  it('hardware workgroup sizes (64 and 32): sumOut over the residual, no bias', async () => {
    const gpu = await testGpu();
    const hw = Object.create(gpu, { cpu: { value: false } }) as typeof gpu;
    for (const [rows, C, WG] of [[9, 1024, 64], [7, 100, 32], [5, 1023, 64]] as const) {
      const x = hidden(rows, C, C), r = normal(rows * C, 2), gamma = uniform(C, 3, 0.5, 1.5);
      const bx = gpu.storageFrom('x', x), br = gpu.storageFrom('res', r), bg = gpu.storageFrom('gamma', gamma), by = gpu.storage('y', rows * C * 4);
      const call = layernorm(hw, { x: bx, residual: br, gamma: bg, beta: null, y: by, sumOut: br, rows, C, eps: 1e-5 });
      expect(call.key).toContain(`WG=${WG},`);
      submitCalls(gpu, [call]);
      expectClose(await gpu.readF32(by, rows * C), layernormRef({ x, residual: r, gamma, beta: null, rows, C, eps: 1e-5 }), { atol: ATOL, shape: [rows, C], label: `layernorm WG=${WG}` });
      expectClose(await gpu.readF32(br, rows * C), residualSumRef(x, r), { atol: SUM_ATOL, shape: [rows, C], label: `sumOut WG=${WG}` });
      releaseCalls(hw, [call]); // hw keeps its own byte count
      for (const b of [bx, br, bg, by]) gpu.destroyBuffer(b);
    }
  });

  it('no bias and no residual (rows=5, C=60)', async () => {
    const gpu = await testGpu();
    const rows = 5, C = 60, x = hidden(rows, C, 11), gamma = uniform(C, 12, 0.5, 1.5);
    const bx = gpu.storageFrom('x', x), bg = gpu.storageFrom('gamma', gamma), by = gpu.storage('y', rows * C * 4);
    const call = layernorm(gpu, { x: bx, gamma: bg, beta: null, y: by, rows, C, eps: 1e-5 });
    expect(call.key).toBe('layernorm|WG=16,vec4=1,residual=0,inplace=0,bias=0');
    submitCalls(gpu, [call]);
    expectClose(await gpu.readF32(by, rows * C), layernormRef({ x, gamma, beta: null, rows, C, eps: 1e-5 }), { atol: ATOL, shape: [rows, C], label: 'no bias' });
    releaseCalls(gpu, [call]);
    for (const b of [bx, bg, by]) gpu.destroyBuffer(b);
  });

  it('rejects sumOut without a residual, and y === sumOut', async () => {
    const gpu = await testGpu();
    const x = gpu.storage('x', 1024), r = gpu.storage('r', 1024), g = gpu.storage('g', 256), y = gpu.storage('y', 1024);
    const base = { x, gamma: g, beta: null, rows: 4, C: 64, eps: 1e-5 };
    expect(() => layernorm(gpu, { ...base, y, sumOut: r })).toThrow(/needs a residual/);
    expect(() => layernorm(gpu, { ...base, residual: r, y, sumOut: y })).toThrow(/y and sumOut overlap/);
    expect(() => layernorm(gpu, { ...base, residual: r, y, sumOut: { buffer: r, offset: 256, size: 512 } })).toThrow(/sumOut partly overlaps residual/);
    for (const b of [x, r, g, y]) gpu.destroyBuffer(b);
    expect(gpu.liveBuffers).toBe(0);
    expect(layernormBytes(10, 64, true, { bias: false, sumOut: true })).toBe(10 * 64 * 16 + 256);
  });
});

afterAll(async () => (await testGpu()).destroy());
