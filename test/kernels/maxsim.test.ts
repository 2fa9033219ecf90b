// Late-interaction kernel (shaders/maxsim.wgsl) against its float64 reference: many queries ×
// many documents of different lengths (1 token, more than one 32-token query block, long
// documents, an empty document), mean and sum reductions, vec4 and scalar widths.

import { afterAll, describe, expect, it } from 'vitest';
import { testGpu } from '../util/gpu.js';
import { maxsim, maxsimBytes, maxsimFlops } from '../../src/kernels/maxsim.js';
import { maxsimRef } from '../../src/reference/maxsim.js';
import { releaseCalls, submitCalls } from '../../src/gpu/calls.js';
import { expectClose } from '../util/compare.js';
import { normal } from '../util/random.js';

/** `n` unit rows of D (ColBERT token vectors are L2-normalized). */
function unitRows(n: number, D: number, seed: number): Float32Array {
  const v = normal(n * D, seed);
  for (let r = 0; r < n; r++) {
    let s = 0;
    for (let k = 0; k < D; k++) s += v[r * D + k] ** 2;
    const inv = 1 / Math.sqrt(s);
    for (let k = 0; k < D; k++) v[r * D + k] *= inv;
  }
  return v;
}

function seqsOf(lens: number[]): { seqs: Uint32Array; N: number } {
  const seqs = new Uint32Array(lens.length * 2);
  let at = 0;
  lens.forEach((len, i) => {
    seqs[2 * i] = at;
    seqs[2 * i + 1] = len;
    at += len;
  });
  return { seqs, N: Math.max(at, 1) };
}

describe('maxsim', () => {
  const cases: Array<[qLens: number[], dLens: number[], D: number]> = [
    [[1], [1], 128],
    [[5, 1, 40, 32], [1, 7, 33, 100, 0, 64], 128],
    [[3, 33], [2, 31, 65], 60],
    [[9, 1, 17], [1, 10, 37], 33],
  ];
  for (const [qLens, dLens, D] of cases) {
    for (const reduce of ['mean', 'sum'] as const) {
      it(`${reduce}: Q=${qLens.length} (${qLens.join(',')}) × Dn=${dLens.length} (${dLens.join(',')}), D=${D}`, async () => {
        const gpu = await testGpu();
        const Q = qLens.length, Dn = dLens.length;
        const qs = seqsOf(qLens), ds = seqsOf(dLens);
        const q = unitRows(qs.N, D, D + qs.N), d = unitRows(ds.N, D, D + ds.N + 1);
        const bq = gpu.storageFrom('q', q), bqs = gpu.storageFrom('q_seqs', qs.seqs);
        const bd = gpu.storageFrom('d', d), bds = gpu.storageFrom('d_seqs', ds.seqs);
        const bs = gpu.storageFrom('scores', new Float32Array(Q * Dn).fill(NaN)); // every pair must be written
        const call = maxsim(gpu, { q: bq, qSeqs: bqs, d: bd, dSeqs: bds, scores: bs, Q, Dn, D, reduce });
        expect(call.key).toBe(`maxsim|reduce=${reduce},vec4=${+(D % 4 === 0)}`);
        submitCalls(gpu, [call]);
        const out = await gpu.readF32(bs, Q * Dn);
        const ref = maxsimRef({ q, qSeqs: qs.seqs, d, dSeqs: ds.seqs, Q, Dn, D, reduce });
        // Unit vectors: each f32 dot over D <= 128 terms is within ~√D·2^-24 ≈ 7e-7 of float64
        // (random-sign rounding of terms <= 1), and a max of such values is as close. 'sum' adds
        // up to 40 of them: ~4e-6, 2e-5 with margin; 'mean' divides by the length: 1e-6.
        // (Measured on lavapipe: 7e-7 and 2e-8.)
        expectClose(out, ref, { atol: reduce === 'sum' ? 2e-5 : 1e-6, shape: [Q, Dn], label: `maxsim ${reduce} D=${D}` });
        releaseCalls(gpu, [call]);
        for (const b of [bq, bqs, bd, bds, bs]) gpu.destroyBuffer(b);
      });
    }
  }

  it('counts bytes and flops', () => {
    expect(maxsimBytes(10, 20, 8, 2, 3)).toBe(30 * 32 + 40 + 24);
    expect(maxsimFlops(10, 20, 8)).toBe(3200);
  });
});

afterAll(async () => (await testGpu()).destroy());
