// Matmul benchmark rows: the four BERT-base linear layers at 4096 tokens (QKV 768→2304,
// attention output 768→768, FFN up 768→3072 with gelu, FFN down 3072→768) with f32 weights and,
// when the adapter has shader-f16, f16 weights, plus FFN up without the epilogue (the gelu_erf
// cost); these are the default rows. With --full also a square 1024³ and the tiled (GPU) form
// at the BERT-base shapes. Validation compares a sample of output rows with the float64
// reference (all rows would cost minutes of CPU).

import type { Gpu } from '../src/gpu/device.js';
import { releaseCalls, submitCalls } from '../src/gpu/calls.js';
import { matmul, matmulWith, matmulFlops, TILED_DEFAULT, type Activation, type MatmulConfig } from '../src/kernels/matmul.js';
import { matmulRef, matmulTolerance, roundToF16, toF16Bits } from '../src/reference/matmul.js';
import { uniform } from '../test/util/random.js';
import { expectClose } from '../test/util/compare.js';
import { registerCases, type BenchCase } from './kernels.js';

export interface MatmulShape {
  M: number;
  N: number;
  K: number;
  act: Activation;
  label: string;
}

/** BERT-base at 4096 tokens, then 1024³ (also the TF.js comparison shapes). */
export const MATMUL_SHAPES: MatmulShape[] = [
  { M: 4096, K: 768, N: 2304, act: 'none', label: 'qkv' },
  { M: 4096, K: 768, N: 768, act: 'none', label: 'attn-out' },
  { M: 4096, K: 768, N: 3072, act: 'gelu_erf', label: 'ffn-up' },
  { M: 4096, K: 3072, N: 768, act: 'none', label: 'ffn-down' },
  { M: 1024, K: 1024, N: 1024, act: 'none', label: 'square' },
];

export function matmulShapeLabel(s: MatmulShape): string {
  return `${s.M}x${s.K} -> ${s.N} (${s.label})`;
}

export function matmulCompareKey(s: MatmulShape): string {
  return `matmul:${s.M}x${s.N}x${s.K}`;
}

/** Output rows checked against the reference: 24 spread over M, first and last included. */
function sampleRows(M: number): number[] {
  const n = Math.min(M, 24);
  return [...new Set(Array.from({ length: n }, (_, i) => Math.round((i * (M - 1)) / Math.max(n - 1, 1))))];
}

function matmulCase(s: MatmulShape, wDtype: 'f32' | 'f16', headline: boolean, config?: MatmulConfig): BenchCase {
  const { M, N, K, act } = s;
  return {
    kernel: 'matmul',
    shape: `${matmulShapeLabel(s)} ${act === 'none' ? '' : `+${act} `}w=${wDtype}${config ? ` ${config.kind}` : ''}`,
    flops: matmulFlops(M, N, K),
    compareKey: matmulCompareKey(s),
    headline,
    unsupported: (gpu) => (wDtype === 'f16' && !gpu.features.f16 ? 'no shader-f16' : null),
    async setup(gpu: Gpu) {
      const x = uniform(M * K, 11);
      const w32 = uniform(N * K, 12);
      const w = wDtype === 'f16' ? roundToF16(w32) : w32;
      const b = uniform(N, 13);
      const xb = gpu.storageFrom('bench_x', x);
      const wb = gpu.storageFrom('bench_w', wDtype === 'f16' ? toF16Bits(w) : w);
      const bb = gpu.storageFrom('bench_b', b);
      const yb = gpu.storage('bench_y', M * N * 4);
      const args = { x: xb, w: wb, b: bb, y: yb, M, N, K, act, wDtype };
      const calls = [config ? matmulWith(gpu, args, config) : matmul(gpu, args)];
      return {
        run: () => calls,
        async validate() {
          submitCalls(gpu, calls, 'validate');
          const y = await gpu.readF32(yb, M * N);
          const rows = sampleRows(M);
          const xs = new Float32Array(rows.length * K);
          const got = new Float32Array(rows.length * N);
          rows.forEach((m, i) => {
            xs.set(x.subarray(m * K, (m + 1) * K), i * K);
            got.set(y.subarray(m * N, (m + 1) * N), i * N);
          });
          const ref = matmulRef(xs, w, b, rows.length, N, K, act);
          const atol = matmulTolerance(xs, w, b, rows.length, N, K, ref, rows.map((_, i) => i));
          expectClose(got, ref, { atol, shape: [rows.length, N], label: `${calls[0].key} ${M}x${N}x${K} (rows ${rows.length} of ${M})` });
        },
        dispose() {
          releaseCalls(gpu, calls);
          for (const buf of [xb, wb, bb, yb]) gpu.destroyBuffer(buf);
        },
      };
    },
  };
}

const BERT_SHAPES = MATMUL_SHAPES.filter((s) => s.M === 4096);
/** FFN up without the epilogue: the gelu_erf row over this one is the epilogue's cost. */
const FFN_UP_PLAIN: MatmulShape = { ...MATMUL_SHAPES[2], act: 'none', label: 'ffn-up' };

export const MATMUL_CASES: BenchCase[] = [
  ...BERT_SHAPES.map((s) => matmulCase(s, 'f32', true)),
  matmulCase(FFN_UP_PLAIN, 'f32', true),
  ...BERT_SHAPES.map((s) => matmulCase(s, 'f16', true)),
  matmulCase(FFN_UP_PLAIN, 'f16', false),
  ...MATMUL_SHAPES.filter((s) => s.M !== 4096).map((s) => matmulCase(s, 'f32', false)),
  ...BERT_SHAPES.map((s) => matmulCase(s, 'f32', false, TILED_DEFAULT)),
];

registerCases(...MATMUL_CASES);
