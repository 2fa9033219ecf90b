// Gated activation kernel (shaders/glu.wgsl) against its float64 reference: GeGLU (gelu_erf,
// gelu_tanh) and SwiGLU (silu), scalar (I % 4 != 0) and vec4 paths, odd sizes, gate values out in
// both tails (±30, ±88) and at 0; and a check that its GELU code is the shared shaders/lib/gelu.wgsl.

import { afterAll, describe, expect, it } from 'vitest';
import { testGpu } from '../util/gpu.js';
import { glu, gluBytes, type GluAct } from '../../src/kernels/glu.js';
import { gluRef } from '../../src/reference/glu.js';
import { releaseCalls, submitCalls } from '../../src/gpu/calls.js';
import { SHADERS } from '../../src/gpu/shaders.gen.js';
import { expectClose } from '../util/compare.js';
import { normal } from '../util/random.js';

// Gates |a| <= 12 (and b = 0.5 at the tail values), |b| <= ~4.5: the activation is within
// ~1e-7·|a| + ulp/2 (<= 1.7e-6, see gelu.wgsl; silu's exp/divide a few ulp), times |b|, plus the
// rounding of the product (ulp(54)/2 = 1.9e-6): 1e-5.
const ATOL = 1e-5;
const TAILS = [30, -30, 88, -88, 0, 1e-3, -1e-3, 12, -12];

function gluInput(N: number, I: number, seed: number): Float32Array {
  const x = normal(N * 2 * I, seed, 3);
  for (let n = 0; n < N; n++) {
    for (let i = 0; i < I; i++) {
      const ai = n * 2 * I + i, bi = ai + I;
      x[ai] = Math.max(-12, Math.min(12, x[ai]));
      x[bi] = Math.max(-4.5, Math.min(4.5, x[bi] / 3));
      const t = (n * I + i) % 17; // sprinkle the tail values
      if (t < TAILS.length && (n + i) % 3 === 0) { x[ai] = TAILS[t]; x[bi] = 0.5; }
    }
  }
  return x;
}

describe('glu', () => {
  const cases: Array<[N: number, I: number, act: GluAct]> = [
    [1, 60, 'gelu_erf'], [7, 99, 'silu'], [33, 384, 'gelu_tanh'], [5, 1023, 'gelu_erf'], [13, 256, 'silu'], [3, 5, 'gelu_tanh'], [9, 77, 'gelu_erf'],
  ];
  for (const [N, I, act] of cases) {
    it(`N=${N} I=${I} ${act}`, async () => {
      const gpu = await testGpu();
      const x = gluInput(N, I, N * 7 + I);
      const bx = gpu.storageFrom('x', x), by = gpu.storage('y', N * I * 4);
      const call = glu(gpu, { x: bx, y: by, N, I, act });
      expect(call.key).toBe(`glu|WG=256,act=${act},vec4=${+(I % 4 === 0)}`);
      submitCalls(gpu, [call]);
      expectClose(await gpu.readF32(by, N * I), gluRef({ x, N, I, act }), { atol: ATOL, shape: [N, I], label: `glu ${N}x${I} ${act}` });
      releaseCalls(gpu, [call]);
      for (const b of [bx, by]) gpu.destroyBuffer(b);
      expect(gpu.liveBuffers).toBe(0);
    });
  }

  it('takes its GELU forms from shaders/lib/gelu.wgsl, as gelu.wgsl does (one copy of the math)', () => {
    for (const name of ['glu', 'gelu']) {
      const text = SHADERS[name];
      expect(text, name).toContain('// ---- from shaders/lib/gelu.wgsl ----');
      expect(text.match(/fn phi\(/g), name).toHaveLength(1);
      expect(text.match(/fn gelu_tanh\(/g), name).toHaveLength(1);
    }
  });

  it('rejects an overlapping y and an unknown activation; counts bytes', async () => {
    const gpu = await testGpu();
    const x = gpu.storage('x', 1024), y = gpu.storage('y', 16);
    expect(() => glu(gpu, { x, y: { buffer: x, offset: 0, size: 256 }, N: 2, I: 16, act: 'silu' })).toThrow(/y overlaps x/);
    expect(() => glu(gpu, { x, y, N: 1, I: 1, act: 'relu' as GluAct })).toThrow(/unknown activation "relu"/);
    for (const b of [x, y]) gpu.destroyBuffer(b);
    expect(gpu.liveBuffers).toBe(0);
    expect(gluBytes(2, 8)).toBe(192);
  });
});

afterAll(async () => (await testGpu()).destroy());
