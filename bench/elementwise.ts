// Benchmark rows for the row-wise and elementwise kernels at BERT-base activation size
// [4096, 768]: LayerNorm with its fused residual add (and ModernBERT's pre-norm form: no bias,
// x + residual stored too), standalone GELU (erf and tanh); at Qwen3-Embedding-0.6B size
// (C = 1024, 16 q / 8 kv heads of 128): RMSNorm with residual and sumOut, q_norm / k_norm, and
// rotary embedding (theta 1e6); the gated activations at ModernBERT-base (GeGLU, I = 1152) and
// Qwen3-Embedding-0.6B (SwiGLU, I = 3072) sizes.
// Each is validated against its float64 reference on every element before it is timed.

import type { Gpu } from '../src/gpu/device.js';
import { releaseCalls, submitCalls } from '../src/gpu/calls.js';
import { layernorm, layernormBytes } from '../src/kernels/layernorm.js';
import { gelu, geluBytes } from '../src/kernels/gelu.js';
import { layernormRef, residualSumRef } from '../src/reference/layernorm.js';
import { rmsnorm, rmsnormBytes, rmsnormHeads, rmsnormHeadsBytes } from '../src/kernels/rmsnorm.js';
import { rmsnormHeadsRef, rmsnormRef } from '../src/reference/rmsnorm.js';
import { rope, ropeBytes } from '../src/kernels/rope.js';
import { ropeRef } from '../src/reference/rope.js';
import { glu, gluBytes, type GluAct } from '../src/kernels/glu.js';
import { gluRef } from '../src/reference/glu.js';
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

/** ModernBERT's pre-norm step: s = x + residual stored over the residual, y = LN(s) · gamma (no bias). */
export function layernormSumCase(): BenchCase {
  return {
    kernel: 'layernorm',
    shape: `${ROWS}x${C} +residual, sumOut over residual, no bias, eps=1e-5`,
    bytes: layernormBytes(ROWS, C, true, { bias: false, sumOut: true }),
    async setup(gpu: Gpu) {
      const x = normal(ROWS * C, 25), r = normal(ROWS * C, 26), g = uniform(C, 27, 0.5, 1.5);
      const [bx, br, bg] = [x, r, g].map((d, i) => gpu.storageFrom(`lns${i}`, d));
      const y = gpu.storage('lns_y', ROWS * C * 4);
      const calls = [layernorm(gpu, { x: bx, residual: br, gamma: bg, beta: null, y, sumOut: br, rows: ROWS, C, eps: 1e-5 })];
      return {
        run: () => calls,
        async validate() {
          // Validation runs once, on the original residual (the timed runs keep adding x to it).
          submitCalls(gpu, calls);
          expectClose(await gpu.readF32(y, ROWS * C), layernormRef({ x, residual: r, gamma: g, beta: null, rows: ROWS, C, eps: 1e-5 }), { atol: 2e-5, shape: [ROWS, C], label: 'layernorm sumOut' });
          expectClose(await gpu.readF32(br, ROWS * C), residualSumRef(x, r), { atol: 2e-6, shape: [ROWS, C], label: 'layernorm sum' });
        },
        dispose() {
          releaseCalls(gpu, calls);
          for (const buf of [bx, br, bg, y]) gpu.destroyBuffer(buf);
        },
      };
    },
  };
}

const Q_ROWS = 4096, Q_C = 1024, Q_NH = 16, Q_NKV = 8, Q_HD = 128;

/** Qwen3's post-attention RMSNorm: s = x + residual into its own buffer, y = RMSNorm(s) · weight. */
export function rmsnormCase(): BenchCase {
  return {
    kernel: 'rmsnorm',
    shape: `${Q_ROWS}x${Q_C} +residual, sumOut, eps=1e-6`,
    bytes: rmsnormBytes(Q_ROWS, Q_C, true, true),
    async setup(gpu: Gpu) {
      const x = normal(Q_ROWS * Q_C, 41), r = normal(Q_ROWS * Q_C, 42), w = uniform(Q_C, 43, 0.5, 1.5);
      const [bx, br, bw] = [x, r, w].map((d, i) => gpu.storageFrom(`rms${i}`, d));
      const y = gpu.storage('rms_y', Q_ROWS * Q_C * 4), s = gpu.storage('rms_s', Q_ROWS * Q_C * 4);
      const calls = [rmsnorm(gpu, { x: bx, residual: br, weight: bw, y, sumOut: s, rows: Q_ROWS, C: Q_C, eps: 1e-6 })];
      return {
        run: () => calls,
        async validate() {
          submitCalls(gpu, calls);
          // Outputs O(1..5); one f32 sum of squares over 1024 values: ~1e-6.
          expectClose(await gpu.readF32(y, Q_ROWS * Q_C), rmsnormRef({ x, residual: r, weight: w, rows: Q_ROWS, C: Q_C, eps: 1e-6 }), { atol: 2e-5, shape: [Q_ROWS, Q_C], label: 'rmsnorm' });
          expectClose(await gpu.readF32(s, Q_ROWS * Q_C), residualSumRef(x, r), { atol: 2e-6, shape: [Q_ROWS, Q_C], label: 'rmsnorm sum' });
        },
        dispose() {
          releaseCalls(gpu, calls);
          for (const buf of [bx, br, bw, y, s]) gpu.destroyBuffer(buf);
        },
      };
    },
  };
}

/** Qwen3's q_norm / k_norm over a packed qkv buffer, in place. */
export function rmsnormHeadsCase(): BenchCase {
  const W = (Q_NH + 2 * Q_NKV) * Q_HD;
  return {
    kernel: 'rmsnorm_heads',
    shape: `${Q_ROWS} tokens, ${Q_NH}+${Q_NKV} heads x ${Q_HD}, eps=1e-6`,
    bytes: rmsnormHeadsBytes(Q_ROWS, Q_NH, Q_NKV, Q_HD),
    async setup(gpu: Gpu) {
      const qkv = normal(Q_ROWS * W, 51), wq = uniform(Q_HD, 52, 0.5, 1.5), wk = uniform(Q_HD, 53, 0.5, 1.5);
      const [bq, bwq, bwk] = [qkv, wq, wk].map((d, i) => gpu.storageFrom(`rmsh${i}`, d));
      const calls = [rmsnormHeads(gpu, { qkv: bq, qWeight: bwq, kWeight: bwk, N: Q_ROWS, NH: Q_NH, NKV: Q_NKV, HD: Q_HD, eps: 1e-6 })];
      return {
        run: () => calls,
        async validate() {
          submitCalls(gpu, calls);
          const ref = rmsnormHeadsRef({ qkv, qWeight: wq, kWeight: wk, N: Q_ROWS, NH: Q_NH, NKV: Q_NKV, HD: Q_HD, eps: 1e-6 });
          expectClose(await gpu.readF32(bq, Q_ROWS * W), ref, { atol: 2e-5, shape: [Q_ROWS, W], label: 'rmsnorm heads' });
        },
        dispose() {
          releaseCalls(gpu, calls);
          for (const buf of [bq, bwq, bwk]) gpu.destroyBuffer(buf);
        },
      };
    },
  };
}

/** Rotary embedding of Qwen3's q and k heads in place, positions 0 .. 4095. */
export function ropeCase(): BenchCase {
  const W = (Q_NH + 2 * Q_NKV) * Q_HD;
  return {
    kernel: 'rope',
    shape: `${Q_ROWS} tokens, ${Q_NH}+${Q_NKV} heads x ${Q_HD}, theta=1e6`,
    bytes: ropeBytes(Q_ROWS, Q_NH, Q_NKV, Q_HD),
    async setup(gpu: Gpu) {
      const qkv = normal(Q_ROWS * W, 61);
      const posIds = Uint32Array.from({ length: Q_ROWS }, (_, i) => i);
      const bq = gpu.storageFrom('rope_qkv', qkv), bp = gpu.storageFrom('rope_pos', posIds);
      const args = { N: Q_ROWS, NH: Q_NH, NKV: Q_NKV, HD: Q_HD, rotaryDim: Q_HD, theta: 1e6 };
      const calls = [rope(gpu, { qkv: bq, posIds: bp, ...args })];
      return {
        run: () => calls,
        async validate() {
          submitCalls(gpu, calls);
          // Against f32 angles (HF's arithmetic): the kernel's cos/sin within ~1.5e-7, |x| <= ~5.
          expectClose(await gpu.readF32(bq, Q_ROWS * W), ropeRef({ qkv, posIds, ...args, angles: 'f32' }), { atol: 5e-6, shape: [Q_ROWS, W], label: 'rope' });
        },
        dispose() {
          releaseCalls(gpu, calls);
          for (const buf of [bq, bp]) gpu.destroyBuffer(buf);
        },
      };
    },
  };
}

/** The gated activation after a GeGLU / SwiGLU up-projection: (ROWS, 2·I) → (ROWS, I). */
export function gluCase(I: number, act: GluAct): BenchCase {
  return {
    kernel: 'glu',
    shape: `${ROWS}x${2 * I} -> ${I} ${act}`,
    bytes: gluBytes(ROWS, I),
    async setup(gpu: Gpu) {
      const x = normal(ROWS * 2 * I, 71, 2);
      const bx = gpu.storageFrom('glu_x', x), y = gpu.storage('glu_y', ROWS * I * 4);
      const calls = [glu(gpu, { x: bx, y, N: ROWS, I, act })];
      return {
        run: () => calls,
        async validate() {
          submitCalls(gpu, calls);
          // |a|, |b| ≲ 10: activation error ~1e-7·|a| plus roundings, times |b|.
          expectClose(await gpu.readF32(y, ROWS * I), gluRef({ x, N: ROWS, I, act }), { atol: 5e-5, shape: [ROWS, I], label: `glu ${act}` });
        },
        dispose() {
          releaseCalls(gpu, calls);
          gpu.destroyBuffer(bx);
          gpu.destroyBuffer(y);
        },
      };
    },
  };
}

registerCases(layernormCase(), geluCase('gelu_erf'), geluCase('gelu_tanh'));
registerCases(layernormSumCase(), rmsnormCase(), rmsnormHeadsCase(), ropeCase(), gluCase(1152, 'gelu_erf'), gluCase(3072, 'silu'));
