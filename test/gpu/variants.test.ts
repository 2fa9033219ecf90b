// The load-time kernel choice (src/gpu/variants.ts): both forms are timed where both can run,
// the answer is cached per device, matmul() follows it, and nothing is left allocated.

import { afterAll, describe, expect, it } from 'vitest';
import { testGpu } from '../util/gpu.js';
import { chooseVariants, chosenVariants, forgetVariants } from '../../src/gpu/variants.js';
import { matmulConfig, subgroupKernelUsable, SUBGROUP_DEFAULT, TILED_DEFAULT } from '../../src/kernels/matmul.js';
import { attentionSubgroupUsable } from '../../src/kernels/attention.js';

describe('chooseVariants', () => {
  it('times both forms, caches per device, and matmulConfig follows the choice', async () => {
    const gpu = await testGpu();
    forgetVariants(gpu);
    expect(chosenVariants(gpu)).toBeUndefined();
    const live = gpu.liveBuffers;
    const p = chooseVariants(gpu, { samples: 2, minMs: 2 });
    expect(chooseVariants(gpu)).toBe(p); // one probe per device, even while it runs
    const v = await p;
    expect(gpu.liveBuffers).toBe(live);
    expect(chosenVariants(gpu)).toBe(v);
    expect(['tiled', 'sg']).toContain(v.matmul);
    expect(['tiled', 'sg']).toContain(v.attention);
    if (subgroupKernelUsable(gpu)) {
      // Both forms ran and the faster one won.
      const t = v.timings.matmul;
      expect(t.sg).toBeGreaterThan(0);
      expect(t.tiled).toBeGreaterThan(0);
      expect(v.matmul).toBe(t.sg! < t.tiled! ? 'sg' : 'tiled');
      expect(v.timings.reps.matmul).toBeGreaterThanOrEqual(1);
      // (Which form is faster is a benchmark fact, not a test: on lavapipe sg wins 3.8 ms vs 62 ms.)
      expect(matmulConfig(gpu, { K: 768 })).toEqual(v.matmul === 'sg' ? SUBGROUP_DEFAULT : TILED_DEFAULT);
    } else {
      expect(v.matmul).toBe('tiled');
      expect(v.timings.matmul).toEqual({});
    }
    if (attentionSubgroupUsable(gpu)) {
      const t = v.timings.attention;
      expect(v.attention).toBe(t.sg! < t.tiled! ? 'sg' : 'tiled');
    } else {
      expect(v.attention).toBe('tiled');
    }
    // K % 4 != 0 always takes the tiled kernel, whatever was chosen.
    expect(matmulConfig(gpu, { K: 7 })).toEqual(TILED_DEFAULT);
  });
});

afterAll(async () => (await testGpu()).destroy());
