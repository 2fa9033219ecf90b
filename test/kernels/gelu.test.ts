// GELU kernel (shaders/gelu.wgsl) against its float64 reference, both kinds, scalar and vec4
// paths, in place, and the tails (±20, ±100) where a naive tanh or erf breaks; plus the float64
// erf / erfc the references share, against mpmath values.

import { afterAll, describe, expect, it } from 'vitest';
import { testGpu } from '../util/gpu.js';
import { gelu, geluBytes } from '../../src/kernels/gelu.js';
import { erf64, erfc64, geluRef, type GeluKind } from '../../src/reference/gelu.js';
import { releaseCalls, submitCalls } from '../../src/gpu/calls.js';
import { expectClose } from '../util/compare.js';
import { normal } from '../util/random.js';

async function runGelu(x: Float32Array, kind: GeluKind, inplace = false): Promise<Float32Array> {
  const gpu = await testGpu();
  const bx = gpu.storageFrom('x', x);
  const by = inplace ? bx : gpu.storage('y', x.length * 4);
  const call = gelu(gpu, { x: bx, y: by, n: x.length, kind });
  expect(call.key).toBe(`gelu|WG=256,kind=${kind},vec4=${+(x.length % 4 === 0)},inplace=${+inplace}`);
  submitCalls(gpu, [call]);
  const out = await gpu.readF32(by, x.length);
  releaseCalls(gpu, [call]);
  gpu.destroyBuffer(bx);
  if (!inplace) gpu.destroyBuffer(by);
  return out;
}

/** Evenly spaced values in [lo, hi], n of them. */
function sweep(lo: number, hi: number, n: number): Float32Array {
  const v = new Float32Array(n);
  for (let i = 0; i < n; i++) v[i] = lo + ((hi - lo) * i) / (n - 1);
  return v;
}

describe('erf64 / erfc64 (float64 reference)', () => {
  it('match mpmath to ~1e-15 relative', () => {
    // [x, erf(x), erfc(x)] from mpmath at 40 digits.
    const table: Array<[number, number, number]> = [
      [0.1, 0.1124629160182849, 0.887537083981715],
      [0.5, 0.5204998778130465, 0.4795001221869535],
      [1, 0.8427007929497149, 0.15729920705028513],
      [2, 0.9953222650189527, 0.004677734981047266],
      [3, 0.9999779095030014, 2.209049699858544e-05],
      [5, 0.9999999999984626, 1.537459794428035e-12],
      [10, 1, 2.088487583762545e-45],
      [-0.7, -0.6778011938374184, 1.6778011938374184],
    ];
    for (const [x, e, c] of table) {
      // A few ulp of float64.
      expect(Math.abs(erf64(x) - e)).toBeLessThanOrEqual(4e-16 * Math.abs(e));
      expect(Math.abs(erfc64(x) - c)).toBeLessThanOrEqual(4e-16 * c);
    }
    expect(erf64(0)).toBe(0);
    expect(erf64(-3)).toBe(-erf64(3));
  });
});

describe('gelu', () => {
  for (const kind of ['gelu_erf', 'gelu_tanh'] as const) {
    it(`${kind}: dense sweep of [-12, 12] (n = 4801, scalar path)`, async () => {
      const x = sweep(-12, 12, 4801);
      const out = await runGelu(x, kind);
      const ref = geluRef({ x, kind });
      // |x| <= 1: Φ is within ~1e-7 (see shaders/gelu.wgsl), times |x|,
      // plus rounding of |y| <= 1: 2e-7 absolute.
      const small = [...x.keys()].filter((i) => Math.abs(x[i]) <= 1);
      expectClose(small.map((i) => out[i]), small.map((i) => ref[i]), { atol: 2e-7, label: `${kind} |x|<=1` });
      // Everywhere: ~2 ulp of |y| <= 12 (ulp(8..16) = 9.5e-7) plus |x|·1e-7 from Φ: 3e-6.
      expectClose(out, ref, { atol: 3e-6, label: `${kind} [-12, 12]` });
      // Negative tail keeps relative accuracy (no 1 + tanh / 1 + erf cancellation): for
      // x in [-12, -3], |y| < 0.01 and the error stays within 1e-5 of |y| (exp's error grows with
      // its argument: ~2e-5 relative measured at x = -12, where |y| ~ 1e-32) plus 1e-12.
      for (let i = 0; i < x.length; i++) {
        if (x[i] > -3) continue;
        const bound = 1e-5 * Math.abs(ref[i]) + 1e-12;
        if (!(Math.abs(out[i] - ref[i]) <= bound)) throw new Error(`${kind} x=${x[i]}: ${out[i]} vs ${ref[i]}`);
      }
    });

    it(`${kind}: random normal values ×3 (vec4 path), in place`, async () => {
      const x = normal(4096, kind.length, 3);
      const out = await runGelu(x, kind, true);
      // |x| <~ 12: as above.
      expectClose(out, geluRef({ x, kind }), { atol: 3e-6, label: `${kind} normal` });
    });

    it(`${kind}: large |x| stays finite (±20, ±100, ±1e4, ±3e38)`, async () => {
      const x = new Float32Array([20, -20, 100, -100, 1e4, -1e4, 3e38, -3e38, 0, 30, -30, 7, -7]);
      const out = await runGelu(x, kind);
      const ref = geluRef({ x, kind });
      // Positive x: y rounds to x itself (1 - Φ(x) < 1e-11 for x >= 7), so within 1 ulp (6e-8
      // relative). Negative x: |y| < 1e-10 (x = -7), < 1e-30 beyond.
      for (let i = 0; i < x.length; i++) {
        const bound = 6e-8 * Math.abs(ref[i]) + (x[i] === -7 ? 1e-10 : 1e-30);
        expect(Number.isFinite(out[i])).toBe(true);
        if (!(Math.abs(out[i] - ref[i]) <= bound)) throw new Error(`${kind} x=${x[i]}: ${out[i]} vs ${ref[i]}`);
      }
    });
  }

  it('counts bytes', () => {
    expect(geluBytes(1000)).toBe(8000);
  });
});

afterAll(async () => (await testGpu()).destroy());
