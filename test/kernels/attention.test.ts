// Attention kernels (shaders/attention.wgsl) against the float64 reference: the fused flash-style
// kernel and the unfused scores → softmax → P·V path, on packed batches of mixed lengths, with
// huge logits, with NaN-filled gaps between sequences, and (fused only) one 3000-token sequence.

import { afterAll, describe, expect, it } from 'vitest';
import { testGpu } from '../util/gpu.js';
import { expectClose } from '../util/compare.js';
import { normal } from '../util/random.js';
import { releaseCalls, submitCalls } from '../../src/gpu/calls.js';
import type { Gpu } from '../../src/gpu/device.js';
import { attention, attentionFlops, attentionScoresBytes, attentionUnfused } from '../../src/kernels/attention.js';
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

/** Runs the fused or unfused path; `out` starts filled with SENTINEL. */
async function run(gpu: Gpu, fused: boolean, x: Batch, NH: number, HD: number): Promise<Float32Array> {
  const C = NH * HD, B = x.lens.length, maxLen = Math.max(...x.lens);
  const qkv = gpu.storageFrom('qkv', x.qkv);
  const seqs = gpu.storageFrom('seqs', x.seqs);
  const out = gpu.storageFrom('out', new Float32Array(x.N * C).fill(SENTINEL));
  const args = { qkv, seqs, out, N: x.N, B, maxLen, NH, HD };
  const scores = fused ? undefined : gpu.storage('scores', attentionScoresBytes(B, NH, maxLen));
  const calls = scores ? attentionUnfused(gpu, { ...args, scores }) : [attention(gpu, args)];
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
 * Error bound for out = Σ_j p_j v_j / Σ_j p_j in f32: recursive sums of T positive weights and of
 * T weighted v's each carry at most (T-1)·ε relative error (2·T·ε·max|v| together), and a logit
 * error Δs moves the weights by ‖Δp‖₁ <= 2·Δs, i.e. the output by 2·Δs·max|v|. Δs of an HD-term
 * f32 dot product (plus the scale and log2 e factors) is <= (HD + 4)·ε·scale·max‖q‖·max‖k‖.
 * The floor 1e-5·max|v| covers lavapipe's approximate exp2 (a few ulp).
 */
function bound(x: Batch, NH: number, HD: number): number {
  const C = NH * HD, scale = 1 / Math.sqrt(HD);
  let maxV = 0, maxQ = 0, maxK = 0;
  x.lens.forEach((T, b) => {
    for (let n = x.seqs[2 * b]; n < x.seqs[2 * b] + T; n++) {
      for (let h = 0; h < NH; h++) {
        let qq = 0, kk = 0;
        for (let d = 0; d < HD; d++) {
          const o = n * 3 * C + h * HD + d;
          qq += x.qkv[o] ** 2;
          kk += x.qkv[o + C] ** 2;
          maxV = Math.max(maxV, Math.abs(x.qkv[o + 2 * C]));
        }
        maxQ = Math.max(maxQ, Math.sqrt(qq));
        maxK = Math.max(maxK, Math.sqrt(kk));
      }
    }
  });
  const T = Math.max(...x.lens);
  const ds = (HD + 4) * EPS * scale * maxQ * maxK;
  return maxV * (1e-5 + 2 * T * EPS + 2 * ds);
}

async function check(gpu: Gpu, fused: boolean, x: Batch, NH: number, HD: number, label: string): Promise<void> {
  const C = NH * HD;
  const got = await run(gpu, fused, x, NH, HD);
  const ref = attentionRef(x.qkv, x.seqs, NH, HD);
  const real = realRows(got, x, C);
  expectClose(real, realRows(ref, x, C), { atol: bound(x, NH, HD), shape: [real.length / C, C], label });
  // Rows between sequences are never written.
  const inSeq = new Uint8Array(x.N);
  x.lens.forEach((T, b) => inSeq.fill(1, x.seqs[2 * b], x.seqs[2 * b] + T));
  for (let n = 0; n < x.N; n++) {
    if (inSeq[n]) continue;
    for (let c = 0; c < C; c++) if (got[n * C + c] !== SENTINEL) throw new Error(`${label}: gap row ${n} col ${c} = ${got[n * C + c]}`);
  }
}

const PATHS = [['fused', true], ['unfused', false]] as const;

describe('attention', () => {
  for (const [name, fused] of PATHS) {
    it(`${name}: packed lengths 1, 7, 33, 129 (NH×HD = 3×20, 4×64, 2×32) and 1×128`, async () => {
      const gpu = await testGpu();
      const lens = [1, 7, 33, 129];
      for (const [NH, HD] of [[3, 20], [4, 64], [2, 32]]) {
        await check(gpu, fused, makeBatch(lens, NH, HD, 10 + HD), NH, HD, `${name} NH=${NH} HD=${HD}`);
      }
      await check(gpu, fused, makeBatch([5, 40], 1, 128, 7), 1, 128, `${name} NH=1 HD=128`);
      expect(gpu.liveBuffers).toBe(0);
    });

    it(`${name}: logits in the thousands stay finite and match`, async () => {
      const gpu = await testGpu();
      // q, k ~ N(0, 40²): logits q·k/√HD have standard deviation 1600.
      const x = makeBatch([3, 33, 64], 2, 32, 99, 40);
      await check(gpu, fused, x, 2, 32, `${name} large logits`);
    });

    it(`${name}: sequences with NaN-filled gaps; gap rows of out untouched`, async () => {
      const gpu = await testGpu();
      const x = makeBatch([5, 33, 1, 20], 3, 20, 5, 1, [2, 10, 50, 53], 80);
      expect(Number.isNaN(x.qkv[0]) && Number.isNaN(x.qkv[79 * 180])).toBe(true);
      await check(gpu, fused, x, 3, 20, `${name} gaps`);
    });
  }

  it('fused: one 3000-token sequence (NH=2, HD=32)', async () => {
    const gpu = await testGpu();
    await check(gpu, true, makeBatch([3000], 2, 32, 3), 2, 32, 'fused T=3000');
  });

  it('reports FLOPs and scores bytes', () => {
    expect(attentionFlops([1, 7, 33], 2, 32)).toBe(4 * (1 + 49 + 1089) * 32 * 2);
    expect(attentionScoresBytes(3, 2, 33)).toBe(3 * 2 * 33 * 33 * 4);
  });
});

afterAll(async () => (await testGpu()).destroy());
