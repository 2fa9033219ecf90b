// Which kernel form runs on this adapter, chosen at load time by timing both forms, not by
// vendor or adapter name. Matmul and attention each have a tiled form (workgroup memory,
// barriers: what GPUs run well) and a subgroup form (register shuffles, no barriers: what CPU
// adapters such as lavapipe run well, 3-4x faster there). chooseVariants() runs each form of
// each kernel on a small representative problem, takes the faster, and caches the answer per
// adapter (its vendor, architecture, device, description and subgroup support) for the process,
// so a second model, or a second device on the same adapter, costs nothing.
//
// Timing: one untimed dispatch first (pipeline compilation), then the best of `samples`
// submissions, each `reps` copies of the dispatch in one command buffer; `reps` grows until one
// submission takes `minMs`, so on a fast GPU the submit/wait overhead does not decide the race.
// Where subgroups are missing (or too narrow for the subgroup kernels) only `tiled` can run and
// nothing is timed.

import type { Gpu } from './device.js';
import { releaseCalls, submitCalls } from './calls.js';
import type { KernelCall } from './pipelines.js';
import { matmulWith, subgroupKernelUsable, SUBGROUP_DEFAULT, TILED_DEFAULT } from '../kernels/matmul.js';
import { attention, attentionSubgroupUsable } from '../kernels/attention.js';

export type KernelForm = 'tiled' | 'sg';

export interface Variants {
  matmul: KernelForm;
  attention: KernelForm;
  /** Best submission time per form, ms (absent where a form could not run); reps per submission. */
  timings: {
    matmul: Partial<Record<KernelForm, number>>;
    attention: Partial<Record<KernelForm, number>>;
    reps: { matmul: number; attention: number };
  };
}

export interface ChooseOptions {
  /** Timed submissions per form (best taken). Default 3. */
  samples?: number;
  /** Grow reps until one submission takes at least this long. Default 5 ms. */
  minMs?: number;
}

const cache = new Map<string, Promise<Variants>>();
const settled = new Map<string, Variants>();

/** One adapter (and what the kernels can use of it): devices on it get the same answer. */
function adapterKey(gpu: Gpu): string {
  const a = gpu.adapter;
  return [a.vendor, a.architecture, a.device, a.description, `subgroups=${+gpu.features.subgroups}`].join('|');
}

/** The matmul and attention forms for this adapter (timed once per adapter, then cached). */
export function chooseVariants(gpu: Gpu, opts: ChooseOptions = {}): Promise<Variants> {
  const key = adapterKey(gpu);
  let v = cache.get(key);
  if (!v) {
    v = probe(gpu, opts);
    cache.set(key, v);
    v.then((r) => settled.set(key, r), () => {});
    // A failed probe (e.g. device lost) must not poison later calls.
    v.catch(() => cache.delete(key));
  }
  return v;
}

/**
 * The choice chooseVariants() made for this device, once it has finished; undefined before.
 * Kernel hosts read it (matmulConfig) so that callers need only await chooseVariants() at load.
 */
export function chosenVariants(gpu: Gpu): Variants | undefined {
  return settled.get(adapterKey(gpu));
}

/** Forgets the cached choice for this adapter (tests). */
export function forgetVariants(gpu: Gpu): void {
  cache.delete(adapterKey(gpu));
  settled.delete(adapterKey(gpu));
}

async function probe(gpu: Gpu, opts: ChooseOptions): Promise<Variants> {
  const samples = opts.samples ?? 3;
  const minMs = opts.minMs ?? 5;
  const mm = await race(gpu, subgroupKernelUsable(gpu), (form) => matmulCalls(gpu, form), samples, minMs);
  const at = await race(gpu, attentionSubgroupUsable(gpu), (form) => attentionCalls(gpu, form), samples, minMs);
  return {
    matmul: mm.winner,
    attention: at.winner,
    timings: { matmul: mm.ms, attention: at.ms, reps: { matmul: mm.reps, attention: at.reps } },
  };
}

interface Problem {
  calls: KernelCall[];
  dispose(): void;
}

async function race(
  gpu: Gpu,
  sgUsable: boolean,
  make: (form: KernelForm) => Problem,
  samples: number,
  minMs: number,
): Promise<{ winner: KernelForm; ms: Partial<Record<KernelForm, number>>; reps: number }> {
  if (!sgUsable) return { winner: 'tiled', ms: {}, reps: 0 };
  const forms: KernelForm[] = ['tiled', 'sg'];
  const problems = forms.map(make);
  try {
    for (const p of problems) await once(gpu, p.calls, 1); // compile
    // Size reps on the faster form's single-dispatch time (capped at 64).
    let reps = 1;
    let first = Infinity;
    for (const p of problems) first = Math.min(first, await once(gpu, p.calls, 1));
    while (reps < 64 && first * reps < minMs) reps *= 2;
    const ms: Partial<Record<KernelForm, number>> = {};
    for (let s = 0; s < samples; s++) {
      for (const [i, p] of problems.entries()) {
        const t = await once(gpu, p.calls, reps);
        ms[forms[i]] = Math.min(ms[forms[i]] ?? Infinity, t);
      }
    }
    return { winner: ms.sg! < ms.tiled! ? 'sg' : 'tiled', ms, reps };
  } finally {
    for (const p of problems) p.dispose();
  }
}

async function once(gpu: Gpu, calls: KernelCall[], reps: number): Promise<number> {
  const all = Array.from({ length: reps }, () => calls).flat();
  const t0 = performance.now();
  submitCalls(gpu, all, 'variants');
  await gpu.sync();
  return performance.now() - t0;
}

/** Deterministic filler in [-1, 1) (the values do not matter, only that they are finite). */
function filler(n: number, seed: number): Float32Array {
  const a = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    a[i] = s / 2 ** 31 - 1;
  }
  return a;
}

/** A BERT-like projection, 256 tokens × 384 → 384 with bias (one encoder's Q·Kᵀ-sized slice). */
function matmulCalls(gpu: Gpu, form: KernelForm): Problem {
  const M = 256, K = 384, N = 384;
  const x = gpu.storageFrom('variants_x', filler(M * K, 1));
  const w = gpu.storageFrom('variants_w', filler(N * K, 2));
  const b = gpu.storageFrom('variants_b', filler(N, 3));
  const y = gpu.storage('variants_y', M * N * 4);
  const calls = [matmulWith(gpu, { x, w, b, y, M, N, K }, form === 'sg' ? SUBGROUP_DEFAULT : TILED_DEFAULT)];
  return {
    calls,
    dispose() {
      releaseCalls(gpu, calls);
      for (const buf of [x, w, b, y]) gpu.destroyBuffer(buf);
    },
  };
}

/** Attention over 2 sequences of 128 tokens, 4 heads of 64. */
function attentionCalls(gpu: Gpu, form: KernelForm): Problem {
  const B = 2, T = 128, NH = 4, HD = 64, C = NH * HD, N = B * T;
  const qkv = gpu.storageFrom('variants_qkv', filler(N * 3 * C, 4));
  const out = gpu.storage('variants_out', N * C * 4);
  const seqs = gpu.storageFrom('variants_seqs', new Uint32Array([0, T, T, T]));
  const calls = [attention(gpu, { qkv, out, seqs, N, B, maxLen: T, NH, HD }, form === 'sg' ? 'subgroup' : 'tiled')];
  return {
    calls,
    dispose() {
      releaseCalls(gpu, calls);
      for (const buf of [qkv, out, seqs]) gpu.destroyBuffer(buf);
    },
  };
}
