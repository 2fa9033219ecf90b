// Attention kernels against the float64 reference: both fused flash-style kernels (`tiled`,
// shaders/attention.wgsl, and `subgroup`, shaders/attention_sg.wgsl) and the unfused
// scores → softmax → P·V path, on packed batches of mixed lengths, with huge logits, with
// NaN-filled gaps between sequences, with key lengths (masked trailing keys whose k and v are
// NaN), and (fused only) one 3000-token sequence.

import { afterAll, describe, expect, it } from 'vitest';
import { testGpu } from '../util/gpu.js';
import { expectClose } from '../util/compare.js';
import { normal } from '../util/random.js';
import { releaseCalls, submitCalls } from '../../src/gpu/calls.js';
import type { Gpu } from '../../src/gpu/device.js';
import {
  attention, attentionFlops, attentionKernel, attentionScoresBytes, attentionSubgroupUsable, attentionUnfused,
  type AttentionKernel,
} from '../../src/kernels/attention.js';
import { attentionRef } from '../../src/reference/attention.js';

const EPS = 2 ** -24; // f32 unit roundoff
const SENTINEL = 12345.5;

interface Batch {
  qkv: Float32Array; // (N, 3C)
  seqs: Uint32Array; // (B, 2)
  N: number;
  lens: number[];
}

/**
 * Sequences of `lens` placed at `starts` (back to back when omitted) in N rows; q and k are
 * normal(σ = qkScale), v normal(1). Rows outside every sequence are NaN.
 */
function makeBatch(lens: number[], NH: number, HD: number, seed: number, qkScale = 1, starts?: number[], N?: number): Batch {
  const C = NH * HD;
  const st = starts ?? lens.map((_, b) => lens.slice(0, b).reduce((a, x) => a + x, 0));
  const rows = N ?? st[st.length - 1] + lens[lens.length - 1];
  const qkv = new Float32Array(rows * 3 * C).fill(NaN);
  const qk = normal(rows * 2 * C, seed, qkScale), v = normal(rows * C, seed + 1);
  const seqs = new Uint32Array(2 * lens.length);
  lens.forEach((T, b) => {
    seqs[2 * b] = st[b];
    seqs[2 * b + 1] = T;
    for (let n = st[b]; n < st[b] + T; n++) {
      qkv.set(qk.subarray(n * 2 * C, (n + 1) * 2 * C), n * 3 * C);
      qkv.set(v.subarray(n * C, (n + 1) * C), n * 3 * C + 2 * C);
    }
  });
  return { qkv, seqs, N: rows, lens };
}

type Path = AttentionKernel | 'unfused';

/** Runs one path; `out` starts filled with SENTINEL. */
async function run(gpu: Gpu, path: Path, x: Batch, NH: number, HD: number, scale?: number, keyLens?: number[]): Promise<Float32Array> {
  const C = NH * HD, B = x.lens.length, maxLen = Math.max(...x.lens);
  const qkv = gpu.storageFrom('qkv', x.qkv);
  const seqs = gpu.storageFrom('seqs', keyLens ? Uint32Array.from([...x.seqs, ...keyLens]) : x.seqs);
  const out = gpu.storageFrom('out', new Float32Array(x.N * C).fill(SENTINEL));
  const args = { qkv, seqs, out, N: x.N, B, maxLen, NH, HD, scale, keyLens: !!keyLens };
  const scores = path === 'unfused' ? gpu.storage('scores', attentionScoresBytes(B, NH, maxLen)) : undefined;
  const calls = path === 'unfused' ? attentionUnfused(gpu, { ...args, scores: scores! }) : [attention(gpu, args, path)];
  submitCalls(gpu, calls);
  const res = await gpu.readF32(out, x.N * C);
  releaseCalls(gpu, calls);
  for (const b of [qkv, seqs, out, scores]) gpu.destroyBuffer(b);
  return res;
}

/** Rows of `a` (N, C) that lie inside a sequence, concatenated. */
function realRows(a: ArrayLike<number>, x: Batch, C: number): Float64Array {
  const r: number[] = [];
  x.lens.forEach((T, b) => {
    for (let n = x.seqs[2 * b]; n < x.seqs[2 * b] + T; n++) for (let c = 0; c < C; c++) r.push(a[n * C + c]);
  });
  return Float64Array.from(r);
}

/**
 * Tolerance for out = Σ_j p_j v_j / Σ_j p_j computed in f32. Both sums run over T keys with
 * weights in [0, 1] (times 2^8 at most in the tiled kernel), so their rounding error is at most
 * T·ε relative and in practice ~√T·ε; lavapipe's exp2 adds a few ulp per weight. An f32 logit
 * error (≈ HD·ε·|logit|, up to ~1e-2 when logits are ~1e3) moves the output only where two
 * logits nearly tie. Bound used: max|v|·(1e-5 + 8·√T·ε), 10-100x above the errors measured on
 * these seeded inputs (≤ 1.1e-6 absolute for max|v| ≈ 4, also with logits in the thousands);
 * a broken max, rescale or mask gives O(1) errors or NaN.
 */
function tolerance(x: Batch, NH: number, HD: number): number {
  const C = NH * HD;
  let maxV = 0;
  x.lens.forEach((T, b) => {
    for (let n = x.seqs[2 * b]; n < x.seqs[2 * b] + T; n++) {
      for (let c = 0; c < C; c++) {
        const v = Math.abs(x.qkv[n * 3 * C + 2 * C + c]);
        if (v > maxV) maxV = v; // NaN (masked keys' v) skipped
      }
    }
  });
  return maxV * (1e-5 + 8 * Math.sqrt(Math.max(...x.lens)) * EPS);
}

async function check(
  gpu: Gpu, path: Path, x: Batch, NH: number, HD: number, label: string, ref?: Float64Array, scale?: number, keyLens?: number[],
): Promise<void> {
  const C = NH * HD;
  const got = await run(gpu, path, x, NH, HD, scale, keyLens);
  ref ??= attentionRef(x.qkv, x.seqs, NH, HD, scale, keyLens);
  const real = realRows(got, x, C);
  expectClose(real, realRows(ref, x, C), { atol: tolerance(x, NH, HD), shape: [real.length / C, C], label });
  // Rows between sequences are never written.
  const inSeq = new Uint8Array(x.N);
  x.lens.forEach((T, b) => inSeq.fill(1, x.seqs[2 * b], x.seqs[2 * b] + T));
  for (let n = 0; n < x.N; n++) {
    if (inSeq[n]) continue;
    for (let c = 0; c < C; c++) if (got[n * C + c] !== SENTINEL) throw new Error(`${label}: gap row ${n} col ${c} = ${got[n * C + c]}`);
  }
}

const PATHS: Path[] = ['tiled', 'subgroup', 'unfused'];

/**
 * Whether `path` can run here. The subgroup kernel needs subgroups of 8+ lanes (lavapipe has
 * them, so it runs in CI); where they are missing attention() must not pick it.
 */
async function available(path: Path): Promise<boolean> {
  const gpu = await testGpu();
  if (path !== 'subgroup' || attentionSubgroupUsable(gpu)) return true;
  expect(attentionKernel(gpu)).toBe('tiled');
  return false;
}

describe('attention', () => {
  for (const path of PATHS) {
    it(`${path}: packed lengths 1, 7, 33, 129 (NH×HD = 3×20, 4×64, 2×32), 1×128, explicit scale`, async () => {
      if (!(await available(path))) return;
      const gpu = await testGpu();
      const lens = [1, 7, 33, 129];
      for (const [NH, HD] of [[3, 20], [4, 64], [2, 32]]) {
        await check(gpu, path, makeBatch(lens, NH, HD, 10 + HD), NH, HD, `${path} NH=${NH} HD=${HD}`);
      }
      await check(gpu, path, makeBatch([5, 40], 1, 128, 7), 1, 128, `${path} NH=1 HD=128`);
      await check(gpu, path, makeBatch([7, 33], 2, 32, 8), 2, 32, `${path} scale=0.3`, undefined, 0.3);
      expect(gpu.liveBuffers).toBe(0);
    });

    it(`${path}: logits in the thousands stay finite and match`, async () => {
      if (!(await available(path))) return;
      // q, k ~ N(0, 40²): logits q·k/√HD have standard deviation 1600.
      const x = makeBatch([3, 33, 64], 2, 32, 99, 40);
      await check(await testGpu(), path, x, 2, 32, `${path} large logits`);
    });

    it(`${path}: key lengths (ColBERT's unattended [MASK] tokens): masked keys never read, their rows computed`, async () => {
      if (!(await available(path))) return;
      const [NH, HD] = [2, 16], C = NH * HD;
      const lens = [12, 40, 1, 9], keyLens = [9, 33, 1, 9];
      const x = makeBatch(lens, NH, HD, 21);
      // k and v of every masked key are NaN: one read of them would poison its sequence's rows.
      lens.forEach((T, b) => {
        for (let n = x.seqs[2 * b] + keyLens[b]; n < x.seqs[2 * b] + T; n++) x.qkv.fill(NaN, n * 3 * C + C, (n + 1) * 3 * C);
      });
      await check(await testGpu(), path, x, NH, HD, `${path} key lengths`, undefined, undefined, keyLens);
    });

    it(`${path}: sequences with NaN-filled gaps; gap rows of out untouched`, async () => {
      if (!(await available(path))) return;
      const x = makeBatch([5, 33, 1, 20], 3, 20, 5, 1, [2, 10, 50, 53], 80);
      expect(Number.isNaN(x.qkv[0]) && Number.isNaN(x.qkv[79 * 180])).toBe(true);
      await check(await testGpu(), path, x, 3, 20, `${path} gaps`);
    });
  }

  it('fused kernels: one 3000-token sequence (NH=2, HD=32)', async () => {
    const gpu = await testGpu();
    const x = makeBatch([3000], 2, 32, 3);
    const ref = attentionRef(x.qkv, x.seqs, 2, 32);
    for (const path of ['tiled', 'subgroup'] as const) {
      if (await available(path)) await check(gpu, path, x, 2, 32, `${path} T=3000`, ref);
    }
  });

  it('reports FLOPs and scores bytes', () => {
    expect(attentionFlops([1, 7, 33], 2, 32)).toBe(4 * (1 + 49 + 1089) * 32 * 2);
    expect(attentionScoresBytes(3, 2, 33)).toBe(3 * 2 * 33 * 33 * 4);
  });
});

afterAll(async () => (await testGpu()).destroy());
