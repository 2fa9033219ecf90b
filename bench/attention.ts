// Benchmark rows for attention at BERT-base width (12 heads of 64): 32 sequences of 128 tokens
// and 8 of 512 (4096 tokens each): the adapter's default fused kernel, the tiled fused kernel,
// and the unfused path. Validation compares the
// first two sequences with the float64 reference (all of them would cost seconds of CPU).

import type { Gpu } from '../src/gpu/device.js';
import { releaseCalls, submitCalls } from '../src/gpu/calls.js';
import { attention, attentionFlops, attentionScoresBytes, attentionUnfused, type AttentionKernel } from '../src/kernels/attention.js';
import { attentionRef } from '../src/reference/attention.js';
import { normal } from '../test/util/random.js';
import { expectClose } from '../test/util/compare.js';
import { registerCases, type BenchCase } from './kernels.js';

const NH = 12, HD = 64, C = NH * HD;

function attentionCase(B: number, T: number, fused: boolean, kernel?: AttentionKernel): BenchCase {
  const lens = Array(B).fill(T);
  return {
    kernel: 'attention',
    shape: `B=${B} T=${T} NH=${NH} HD=${HD} ${fused ? `fused${kernel ? ` ${kernel}` : ''}` : 'unfused'}`,
    flops: attentionFlops(lens, NH, HD),
    async setup(gpu: Gpu) {
      const N = B * T;
      const qkv = normal(N * 3 * C, 41);
      const seqs = new Uint32Array(lens.flatMap((t, i) => [i * T, t]));
      const qb = gpu.storageFrom('attn_qkv', qkv);
      const sb = gpu.storageFrom('attn_seqs', seqs);
      const out = gpu.storage('attn_out', N * C * 4);
      const scores = fused ? null : gpu.storage('attn_scores', attentionScoresBytes(B, NH, T));
      const args = { qkv: qb, out, seqs: sb, N, B, maxLen: T, NH, HD };
      const calls = fused ? [attention(gpu, args, kernel)] : attentionUnfused(gpu, { ...args, scores: scores! });
      return {
        run: () => calls,
        async validate() {
          submitCalls(gpu, calls);
          const got = await gpu.readF32(out, 2 * T * C);
          const ref = attentionRef(qkv.subarray(0, 2 * T * 3 * C), seqs.subarray(0, 4), NH, HD);
          // Softmax-weighted means of O(1) values with f32 accumulation: ~1e-6.
          expectClose(got, ref, { atol: 1e-4, shape: [2 * T, C], label: `attention ${fused ? 'fused' : 'unfused'}` });
        },
        dispose() {
          releaseCalls(gpu, calls);
          for (const b of [qb, sb, out, scores]) gpu.destroyBuffer(b);
        },
      };
    },
  };
}

// The default fused kernel for this adapter, the portable tiled one, and the unfused reference path.
registerCases(
  attentionCase(32, 128, true), attentionCase(32, 128, true, 'tiled'), attentionCase(32, 128, false),
  attentionCase(8, 512, true), attentionCase(8, 512, true, 'tiled'), attentionCase(8, 512, false),
);
