// Benchmark rows for attention. At BERT-base width (12 heads of 64): 32 sequences of 128 tokens
// and 8 of 512 (4096 tokens each): the adapter's default fused kernel, the tiled fused kernel,
// and the unfused path; 8 × 512 with a 128-token sliding window (ModernBERT's local layers) and
// causal with 4 KV heads (grouped-query). One 8192-token sequence of 16 heads of 64 (BGE-M3's
// headline length; ~275 GFLOP, tens of seconds per run here, so only with `--full`), and the
// same with a 128-token window. Validation compares query rows of the first two sequences with
// the float64 reference (all of them would cost seconds to minutes of CPU).

import type { Gpu } from '../src/gpu/device.js';
import { releaseCalls, submitCalls } from '../src/gpu/calls.js';
import {
  attention, attentionFlops, attentionQkvStride, attentionScoresBytes, attentionUnfused, type AttentionKernel,
} from '../src/kernels/attention.js';
import { attentionRef } from '../src/reference/attention.js';
import { normal } from '../test/util/random.js';
import { expectClose } from '../test/util/compare.js';
import { registerCases, type BenchCase } from './kernels.js';

interface Shape {
  B: number;
  T: number;
  NH?: number;
  HD?: number;
  NKV?: number;
  causal?: boolean;
  window?: number;
}

function attentionCase(sh: Shape, fused: boolean, kernel?: AttentionKernel): BenchCase {
  const { B, T, NH = 12, HD = 64, NKV = NH, causal, window } = sh;
  const C = NH * HD, S = attentionQkvStride(NH, HD, NKV);
  const lens = Array(B).fill(T);
  const mask = `${NKV !== NH ? `/${NKV}` : ''} HD=${HD}${causal ? ' causal' : ''}${window ? ` window=${window}` : ''}`;
  // Reference rows: whole sequences up to 512 tokens, else the first 64 queries.
  const nq = T <= 512 ? T : 64, nseq = Math.min(B, 2);
  return {
    kernel: 'attention',
    shape: `B=${B} T=${T} NH=${NH}${mask} ${fused ? `fused${kernel ? ` ${kernel}` : ''}` : 'unfused'}`,
    flops: attentionFlops(lens, NH, HD, { causal, window }),
    async setup(gpu: Gpu) {
      const N = B * T;
      const qkv = normal(N * S, 41);
      const seqs = new Uint32Array(lens.flatMap((t, i) => [i * T, t]));
      const qb = gpu.storageFrom('attn_qkv', qkv);
      const sb = gpu.storageFrom('attn_seqs', seqs);
      const out = gpu.storage('attn_out', N * C * 4);
      const scores = fused ? null : gpu.storage('attn_scores', attentionScoresBytes(B, NH, T));
      const args = { qkv: qb, out, seqs: sb, N, B, maxLen: T, NH, HD, NKV: NKV === NH ? undefined : NKV, causal, window };
      const calls = fused ? [attention(gpu, args, kernel)] : attentionUnfused(gpu, { ...args, scores: scores! });
      return {
        run: () => calls,
        async validate() {
          submitCalls(gpu, calls);
          const got = await gpu.readF32(out, nseq * T * C);
          const ref = attentionRef(qkv.subarray(0, nseq * T * S), seqs.subarray(0, 2 * nseq), NH, HD,
            { NKV, causal, window, queries: [0, nq] });
          const pick = (a: ArrayLike<number>) => {
            const r = new Float64Array(nseq * nq * C);
            for (let b = 0; b < nseq; b++) for (let i = 0; i < nq * C; i++) r[b * nq * C + i] = a[b * T * C + i];
            return r;
          };
          // Softmax-weighted means of O(1) values with f32 accumulation: ~1e-6.
          expectClose(pick(got), pick(ref), { atol: 1e-4, shape: [nseq * nq, C], label: `attention ${fused ? 'fused' : 'unfused'}` });
        },
        dispose() {
          releaseCalls(gpu, calls);
          for (const b of [qb, sb, out, scores]) gpu.destroyBuffer(b);
        },
      };
    },
  };
}

/** `--full` (or BENCH_FULL=1) adds the rows that take tens of seconds per run. */
const FULL = process.argv.includes('--full') || process.env.BENCH_FULL === '1';

// The default fused kernel for this adapter, the portable tiled one, and the unfused reference path.
registerCases(
  attentionCase({ B: 32, T: 128 }, true), attentionCase({ B: 32, T: 128 }, true, 'tiled'), attentionCase({ B: 32, T: 128 }, false),
  attentionCase({ B: 8, T: 512 }, true), attentionCase({ B: 8, T: 512 }, true, 'tiled'), attentionCase({ B: 8, T: 512 }, false),
  attentionCase({ B: 8, T: 512, window: 128 }, true),
  attentionCase({ B: 8, T: 512, NKV: 4, causal: true }, true),
  attentionCase({ B: 1, T: 8192, NH: 16, window: 128 }, true),
  ...(FULL ? [attentionCase({ B: 1, T: 8192, NH: 16 }, true)] : []),
);
