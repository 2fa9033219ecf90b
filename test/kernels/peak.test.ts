// Smoke test of the GPU runtime through the peak probes: the copy kernel must copy exactly,
// the FMA kernel must produce the closed-form value of its chains.

import { afterAll, describe, expect, it } from 'vitest';
import { testGpu } from '../util/gpu.js';
import { copyProbe, fmaProbe } from '../../src/kernels/peak.js';
import { releaseCalls, submitCalls } from '../../src/gpu/calls.js';
import { expectClose } from '../util/compare.js';
import { uniform } from '../util/random.js';

describe('peak probes', () => {
  it('copy copies every vec4 exactly (n = 1, 7, 1000, 70000)', async () => {
    const gpu = await testGpu();
    for (const n of [1, 7, 1000, 70000]) {
      const data = uniform(n * 4, n);
      const src = gpu.storageFrom('src', data);
      const dst = gpu.storage('dst', n * 16);
      const { call } = copyProbe(gpu, src, dst, n);
      submitCalls(gpu, [call]);
      const out = await gpu.readF32(dst, n * 4);
      expectClose(out, data, { atol: 0, label: `copy n=${n}` });
      releaseCalls(gpu, [call]);
      gpu.destroyBuffer(src);
      gpu.destroyBuffer(dst);
    }
  });

  it('fma chains match their float64 closed form', async () => {
    const gpu = await testGpu();
    const n = 300, iters = 64;
    const dst = gpu.storage('dst', n * 16);
    const { call, flops } = fmaProbe(gpu, dst, n, iters);
    expect(flops).toBe(n * iters * 32);
    submitCalls(gpu, [call]);
    const out = await gpu.readF32(dst, n * 4);
    const m = [0.9999, 0.9998, 0.9997, 0.9996];
    const ref = new Float64Array(n * 4);
    for (let i = 0; i < n; i++) {
      const a0 = Math.fround(Math.fround(i * 1e-6) + 0.5);
      for (let c = 0; c < 4; c++) {
        let s = 0;
        for (const start of [a0, a0 + 1, a0 + 2, a0 + 3]) {
          let v = start;
          for (let k = 0; k < iters; k++) v = v * m[c] + 0.001;
          s += v;
        }
        ref[i * 4 + c] = s;
      }
    }
    // f32 chains of 64 FMAs from values near 1..4: rounding error stays below ~64 ulp(4) ≈ 3e-5.
    expectClose(out, ref, { atol: 1e-4, label: 'fma', shape: [n, 4] });
    releaseCalls(gpu, [call]);
    gpu.destroyBuffer(dst);
    expect(gpu.liveBuffers).toBe(0);
  });
});

afterAll(async () => (await testGpu()).destroy());
