// Smoke test of the GPU runtime through the peak probes: the copy kernel must copy exactly,
// the FMA kernels must produce the closed-form value of their chains (every shape the bench
// tries), the load probe the sums of what it loads.

import { afterAll, describe, expect, it } from 'vitest';
import { testGpu } from '../util/gpu.js';
import { FMA_PROBE_CONFIGS, copyProbe, fmaProbe, fmaProbeWith, loadProbe } from '../../src/kernels/peak.js';
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

  it('every FMA probe shape computes its chains (a[c] += x_k * b[c]) exactly as float64 says', async () => {
    const gpu = await testGpu();
    const n = 70, iters = 32;
    const dst = gpu.storage('dst', n * 16);
    for (const cfg of FMA_PROBE_CONFIGS) {
      const { call, flops } = fmaProbeWith(gpu, dst, n, iters, cfg);
      const width = cfg.vector === 'vec4' ? 4 : 1;
      expect(flops).toBe(n * iters * cfg.chains * width * 2);
      submitCalls(gpu, [call]);
      const out = await gpu.readF32(dst, n * 4);
      const f = Math.fround;
      const ref = new Float64Array(n * 4);
      for (let i = 0; i < n; i++) {
        const a0 = f(f(f(i) * f(1e-6)) + 0.5);
        const xi = f(f(i) * f(1e-9));
        for (let comp = 0; comp < 4; comp++) {
          let s = 0;
          for (let c = 0; c < cfg.chains; c++) {
            const b = cfg.vector === 'vec4' ? comp + 1 + c : 1 + c;
            let a = a0;
            for (let k = 0; k < iters; k += 16) {
              const x = f(f(k) * f(1e-7)) + xi;
              for (let st = 0; st < 16; st++) a += (x + st * 1e-7) * b;
            }
            s += a;
          }
          ref[i * 4 + comp] = s;
        }
      }
      // Sums of <= 24 chains of values near 0.5 + 32 small steps: f32 rounding ~1e-6 relative.
      expectClose(out, ref, { atol: 1e-4, label: `fma ${cfg.chains}x${cfg.vector}`, shape: [n, 4] });
      releaseCalls(gpu, [call]);
    }
    gpu.destroyBuffer(dst);
    expect(gpu.liveBuffers).toBe(0);
  });

  it('load probe sums the rows it loads', async () => {
    const gpu = await testGpu();
    const n = 100, iters = 8;
    const data = uniform(64 * iters * 4, 5);
    const src = gpu.storageFrom('src', data);
    const dst = gpu.storage('dst', n * 16);
    const { call, words } = loadProbe(gpu, src, dst, n, iters);
    expect(words).toBe(n * iters * 4);
    submitCalls(gpu, [call]);
    const out = await gpu.readF32(dst, n * 4);
    const ref = new Float64Array(n * 4);
    for (let i = 0; i < n; i++) {
      const row = (i & 63) * iters;
      for (let k = 0; k < iters; k++) for (let c = 0; c < 4; c++) ref[i * 4 + c] += data[(row + k) * 4 + c];
    }
    // 8 f32 additions of values in [-1, 1): rounding below 8·2^-24·8.
    expectClose(out, ref, { atol: 1e-5, label: 'load', shape: [n, 4] });
    releaseCalls(gpu, [call]);
    gpu.destroyBuffer(src);
    gpu.destroyBuffer(dst);
    expect(gpu.liveBuffers).toBe(0);
  });
});

afterAll(async () => (await testGpu()).destroy());
