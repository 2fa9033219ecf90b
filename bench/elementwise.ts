// Benchmark rows for the row-wise and elementwise kernels at BERT-base activation size
// [4096, 768]: LayerNorm with its fused residual add, and standalone GELU (erf and tanh).
// Each is validated against its float64 reference on every element before it is timed.

import type { Gpu } from '../src/gpu/device.js';
import { releaseCalls, submitCalls } from '../src/gpu/calls.js';
import { layernorm, layernormBytes } from '../src/kernels/layernorm.js';
import { gelu, geluBytes } from '../src/kernels/gelu.js';
import { layernormRef } from '../src/reference/layernorm.js';
import { geluRef } from '../src/reference/gelu.js';
import { normal, uniform } from '../test/util/random.js';
import { expectClose } from '../test/util/compare.js';
import { registerCases, type BenchCase } from './kernels.js';

const ROWS = 4096, C = 768;

function layernormCase(): BenchCase {
  return {
    kernel: 'layernorm',
    shape: `${ROWS}x${C} +residual eps=1e-12`,
    bytes: layernormBytes(ROWS, C, true),
    async setup(gpu: Gpu) {
      const x = normal(ROWS * C, 21), r = normal(ROWS * C, 22), g = uniform(C, 23, 0.5, 1.5), b = uniform(C, 24);
      const bufs = [x, r, g, b].map((d, i) => gpu.storageFrom(`ln${i}`, d));
      const y = gpu.storage('ln_y', ROWS * C * 4);
      const calls = [layernorm(gpu, { x: bufs[0], residual: bufs[1], gamma: bufs[2], beta: bufs[3], y, rows: ROWS, C, eps: 1e-12 })];
      return {
        run: () => calls,
        async validate() {
          submitCalls(gpu, calls);
          const got = await gpu.readF32(y, ROWS * C);
          // Outputs O(1); f32 mean/variance over 768 values: ~1e-6.
          expectClose(got, layernormRef({ x, residual: r, gamma: g, beta: b, rows: ROWS, C, eps: 1e-12 }), { atol: 2e-5, shape: [ROWS, C], label: 'layernorm' });
        },
        dispose() {
          releaseCalls(gpu, calls);
          for (const buf of [...bufs, y]) gpu.destroyBuffer(buf);
        },
      };
    },
  };
}

function geluCase(kind: 'gelu_erf' | 'gelu_tanh'): BenchCase {
  const n = ROWS * C;
  return {
    kernel: 'gelu',
    shape: `${ROWS}x${C} ${kind}`,
    bytes: geluBytes(n),
    async setup(gpu: Gpu) {
      const x = normal(n, 31, 2);
      const xb = gpu.storageFrom('gelu_x', x);
      const y = gpu.storage('gelu_y', n * 4);
      const calls = [gelu(gpu, { x: xb, y, n, kind })];
      return {
        run: () => calls,
        async validate() {
          submitCalls(gpu, calls);
          // |x| ≲ 10: the shader's erf / tanh forms are accurate to ~2e-7 absolute, times |x|.
          expectClose(await gpu.readF32(y, n), geluRef({ x, kind }), { atol: 5e-6, label: kind });
        },
        dispose() {
          releaseCalls(gpu, calls);
          gpu.destroyBuffer(xb);
          gpu.destroyBuffer(y);
        },
      };
    },
  };
}

registerCases(layernormCase(), geluCase('gelu_erf'), geluCase('gelu_tanh'));
