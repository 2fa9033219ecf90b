// Pooling kernel (shaders/pool.wgsl) against its float64 reference: cls, mean and last over
// sequences of different lengths (1 token, long ones, an empty one), with gaps between the
// sequences, scalar and vec4 widths.

import { afterAll, describe, expect, it } from 'vitest';
import { testGpu } from '../util/gpu.js';
import { pool, poolBytes } from '../../src/kernels/pool.js';
import { poolRef } from '../../src/reference/pool.js';
import { releaseCalls, submitCalls } from '../../src/gpu/calls.js';
import { expectClose } from '../util/compare.js';
import { normal } from '../util/random.js';

/** Back-to-back sequences of the given lengths, leaving `gap` unused rows after each. */
function packed(lens: number[], gap: number): { seqs: Uint32Array; N: number } {
  const seqs = new Uint32Array(lens.length * 2);
  let at = 0;
  lens.forEach((len, b) => {
    seqs[2 * b] = at;
    seqs[2 * b + 1] = len;
    at += len + gap;
  });
  return { seqs, N: Math.max(at, 1) };
}

describe('pool', () => {
  const cases: Array<[lens: number[], C: number, gap: number]> = [
    [[1], 60, 0],
    [[5, 1, 17, 0, 3, 40, 2], 100, 0],
    [[7, 33, 1, 129], 384, 2],
    [[3, 0, 12], 1023, 1],
    [[129, 1, 64, 7, 9, 2, 33, 1, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29], 1024, 0],
  ];
  for (const [lens, C, gap] of cases) {
    for (const mode of ['cls', 'mean', 'last'] as const) {
      it(`${mode}: B=${lens.length} C=${C} lens=${lens.slice(0, 6).join(',')}${lens.length > 6 ? ',…' : ''}`, async () => {
        const gpu = await testGpu();
        const B = lens.length;
        const { seqs, N } = packed(lens, gap);
        const hidden = normal(N * C, N + C);
        const bH = gpu.storageFrom('hidden', hidden), bS = gpu.storageFrom('seqs', seqs);
        const bO = gpu.storageFrom('out', new Float32Array(B * C).fill(NaN)); // every row must be written
        const call = pool(gpu, { hidden: bH, seqs: bS, out: bO, B, C, mode });
        expect(call.key).toBe(`pool|WG=64,mode=${mode},vec4=${+(C % 4 === 0)}`);
        submitCalls(gpu, [call]);
        const out = await gpu.readF32(bO, B * C);
        const ref = poolRef({ hidden, seqs, B, C, mode });
        // cls / last copy a row: exact. mean: a sequential f32 sum of <= 129 standard normal
        // values (partial sums |s| <~ 40, each step off by <= ulp(40)/2 = 1.9e-6, random signs:
        // ~√129 · 1.9e-6 ≈ 2e-5 at worst-typical), divided by the length: 2e-6 (measured 1.3e-7).
        expectClose(out, ref, { atol: mode === 'mean' ? 2e-6 : 0, shape: [B, C], label: `pool ${mode} C=${C}` });
        releaseCalls(gpu, [call]);
        for (const b of [bH, bS, bO]) gpu.destroyBuffer(b);
      });
    }
  }

  it('counts bytes', () => {
    expect(poolBytes(100, 4, 8, 'mean')).toBe(100 * 32 + 32 + 128);
    expect(poolBytes(100, 4, 8, 'cls')).toBe(4 * 32 + 32 + 128);
  });
});

afterAll(async () => (await testGpu()).destroy());
