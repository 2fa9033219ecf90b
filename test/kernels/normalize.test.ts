// L2 normalization kernel (shaders/normalize.wgsl) against its float64 reference: awkward row
// counts and widths, matryoshka truncation (dims < C), in place, and an all-zero row (no NaN).

import { afterAll, describe, expect, it } from 'vitest';
import { testGpu } from '../util/gpu.js';
import { l2normalize, l2normalizeBytes } from '../../src/kernels/normalize.js';
import { l2normalizeRef } from '../../src/reference/normalize.js';
import { releaseCalls, submitCalls } from '../../src/gpu/calls.js';
import { expectClose } from '../util/compare.js';
import { normal } from '../util/random.js';

describe('l2normalize', () => {
  const cases: Array<[rows: number, C: number, dims: number, inplace: boolean]> = [
    [1, 60, 60, false], [7, 100, 64, false], [33, 384, 384, true], [129, 1023, 1023, false],
    [7, 1024, 256, false], [33, 1024, 1024, true], [129, 100, 100, true], [7, 1023, 511, false],
  ];
  for (const [rows, C, dims, inplace] of cases) {
    it(`rows=${rows} C=${C} dims=${dims}${inplace ? ' in place' : ''}, row 0 all zeros`, async () => {
      const gpu = await testGpu();
      const x = normal(rows * C, rows + C + dims, 2);
      x.fill(0, 0, C); // a zero vector normalizes to zeros
      const bX = gpu.storageFrom('x', x);
      const bY = inplace ? bX : gpu.storage('y', rows * dims * 4);
      const call = l2normalize(gpu, { x: bX, y: bY, rows, C, dims });
      expect(call.key).toContain(`vec4=${+(C % 4 === 0 && dims % 4 === 0)},inplace=${+inplace}`);
      submitCalls(gpu, [call]);
      const out = await gpu.readF32(bY, rows * dims);
      // Unit vectors: |y| <= 1 (mostly < 0.2), f32 sum of squares over <= 1024 terms plus sqrt
      // and a reciprocal: the scale is within ~1e-7 relative, so 2e-7 absolute (measured on
      // lavapipe: <= 3e-8). expectClose fails on any NaN.
      expectClose(out, l2normalizeRef({ x, rows, C, dims }), { atol: 2e-7, shape: [rows, dims], label: `l2normalize ${rows}x${C}→${dims}` });
      expect(Array.from(out.subarray(0, dims)).every((v) => v === 0)).toBe(true);
      releaseCalls(gpu, [call]);
      gpu.destroyBuffer(bX);
      if (!inplace) gpu.destroyBuffer(bY);
    });
  }

  it('hardware workgroup sizes (32 and 64) give the same results', async () => {
    const gpu = await testGpu();
    // The same Gpu seen as a hardware adapter: 64 invocations for 1024 / 4 units, 32 for 100.
    const hw = Object.create(gpu, { cpu: { value: false } }) as typeof gpu;
    for (const [rows, C, dims, WG] of [[7, 1024, 1024, 64], [33, 100, 100, 32]] as const) {
      const x = normal(rows * C, 5);
      const bX = gpu.storageFrom('x', x), bY = gpu.storage('y', rows * dims * 4);
      const call = l2normalize(hw, { x: bX, y: bY, rows, C, dims });
      expect(call.key).toContain(`WG=${WG},`);
      submitCalls(gpu, [call]);
      // As above.
      expectClose(await gpu.readF32(bY, rows * dims), l2normalizeRef({ x, rows, C, dims }), { atol: 2e-7, label: `l2normalize WG=${WG}` });
      releaseCalls(hw, [call]); // hw keeps its own byte count
      gpu.destroyBuffer(bX);
      gpu.destroyBuffer(bY);
    }
  });

  it('rejects truncation in place and dims > C; counts bytes', async () => {
    const gpu = await testGpu();
    const b = gpu.storage('x', 4 * 64 * 4);
    expect(() => l2normalize(gpu, { x: b, y: b, rows: 4, C: 64, dims: 32 })).toThrow(/alias/);
    expect(() => l2normalize(gpu, { x: b, y: b, rows: 4, C: 64, dims: 65 })).toThrow(/dims/);
    gpu.destroyBuffer(b);
    expect(l2normalizeBytes(3, 8)).toBe(192);
  });
});

afterAll(async () => (await testGpu()).destroy());
