// The kernel benchmark registry and runner. A BenchCase sets up buffers and recorded
// KernelCalls once; the runner validates it against the reference first (a wrong kernel fails
// the whole benchmark), then times replays with tinybench, each one submitted and waited for
// with gpu.sync(), and reports the median against the adapter peak.
//
// Adding a kernel family takes a few lines in its own bench/<family>.ts:
//   registerCases({ kernel: 'layernorm', shape: '4096x768', bytes: 2 * 4096 * 768 * 4,
//     async setup(gpu) { ...buffers...; const calls = [layernorm(gpu, args)];
//       return { run: () => calls, validate: async () => { ...compare with reference... },
//                dispose: () => { releaseCalls(gpu, calls); ...destroy buffers... } }; } });
// and one `import './<family>.js'` in bench/index.ts.

import { Bench } from 'tinybench';
import type { Gpu } from '../src/gpu/device.js';
import { submitCalls } from '../src/gpu/calls.js';
import type { KernelCall } from '../src/gpu/pipelines.js';
import { cpuRate, median, type Peak } from './peak.js';

export interface BenchInstance {
  /** The calls of one timed run: recorded once in setup, replayed every iteration. */
  run(): KernelCall[];
  /** Runs the calls once and compares with the reference; throws on a mismatch. */
  validate(): Promise<void>;
  /** Frees the buffers and the calls' owned uniforms. */
  dispose(): void;
}

export interface BenchCase {
  /** Kernel family, e.g. 'matmul'. */
  kernel: string;
  /** Human-readable problem size, e.g. '4096x768 -> 2304 f32'. */
  shape: string;
  /** Floating-point operations per run (FMA = 2): the row reports GFLOP/s against the FMA peak. */
  flops?: number;
  /** Bytes read + written per run: the row reports GB/s against the copy peak (when no flops). */
  bytes?: number;
  /** Rows with the same compareKey are compared with TF.js (e.g. 'matmul:4096x2304x768'). */
  compareKey?: string;
  /** Runs in the default (quick) bench; other cases only with --full. See isHeadline(). */
  headline?: boolean;
  /** Why this adapter cannot run the case (e.g. no shader-f16), or null. */
  unsupported?(gpu: Gpu): string | null;
  setup(gpu: Gpu): Promise<BenchInstance>;
}

export type RowStatus = 'ok' | 'invalid' | 'unsupported' | 'error';

export interface KernelRow {
  /** Pipeline key(s) of the timed calls. */
  kernel: string;
  family: string;
  shape: string;
  compareKey?: string;
  status: RowStatus;
  error?: string;
  medianMs?: number;
  minMs?: number;
  samples?: number;
  /** Median process CPU time per run (Dawn and lavapipe run in-process), ms. */
  cpuMedianMs?: number;
  /** The rate per CPU time over the probe's rate per CPU time: steadier on a shared machine. */
  cpuPeakFraction?: number;
  gflops?: number;
  gbps?: number;
  /** Achieved rate over the adapter peak (FMA for flops rows, copy for bytes rows). */
  peakFraction?: number;
  /** TF.js median time over ours, for rows with a TF.js row of the same compareKey. */
  tfjsRatio?: number;
}

export interface RunOptions {
  /** Minimum timed iterations per case. */
  iterations: number;
  /** Time budget per case in ms (fast kernels run until it is spent). */
  time: number;
  warmupIterations: number;
  log(msg: string): void;
}

const registry: BenchCase[] = [];

export function registerCases(...cases: BenchCase[]): void {
  registry.push(...cases);
}

export function registeredCases(): BenchCase[] {
  return [...registry];
}

/**
 * Whether a case runs in the default bench: its own `headline` flag, else the attention rows of
 * the adapter's default fused kernel (bench/attention.ts registers them with a shape ending in
 * "fused"; the tiled and unfused variants run with --full).
 */
export function isHeadline(c: BenchCase): boolean {
  return c.headline ?? (c.kernel === 'attention' && c.shape.endsWith(' fused'));
}

/** Case-insensitive substring match on "family shape". */
export function matchesFilter(c: { kernel: string; shape: string }, filter: string | undefined): boolean {
  return !filter || `${c.kernel} ${c.shape}`.toLowerCase().includes(filter.toLowerCase());
}

function callKeys(calls: KernelCall[]): string {
  return [...new Set(calls.map((c) => c.key))].join(' + ');
}

async function timeCase(gpu: Gpu, name: string, calls: KernelCall[], opts: RunOptions): Promise<{ median: number; min: number; samples: number; cpuMedian: number }> {
  const bench = new Bench({
    name,
    iterations: opts.iterations,
    time: opts.time,
    warmupIterations: opts.warmupIterations,
    warmupTime: 0,
    throws: true,
  });
  const cpu: number[] = [];
  bench.add(name, async () => {
    const c0 = process.cpuUsage();
    submitCalls(gpu, calls, 'bench');
    await gpu.sync();
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1000);
  });
  const [task] = await bench.run();
  const r = task.result;
  if (r.state !== 'completed') throw new Error(`tinybench task ended in state ${r.state}`);
  // The last samples are the timed ones (tinybench runs the warm-up iterations first).
  return { median: r.latency.p50, min: r.latency.min, samples: r.latency.samplesCount, cpuMedian: median(cpu.slice(-r.latency.samplesCount)) };
}

/** Validates then times each case; never throws for a case (its row records the failure). */
export async function runKernelCases(gpu: Gpu, cases: BenchCase[], peak: Peak, opts: RunOptions): Promise<KernelRow[]> {
  const rows: KernelRow[] = [];
  for (const c of cases) {
    const row: KernelRow = { kernel: c.kernel, family: c.kernel, shape: c.shape, compareKey: c.compareKey, status: 'ok' };
    rows.push(row);
    const why = c.unsupported?.(gpu) ?? null;
    if (why) {
      row.status = 'unsupported';
      row.error = why;
      opts.log(`  ${c.kernel} ${c.shape}: skipped (${why})`);
      continue;
    }
    let inst: BenchInstance | undefined;
    try {
      inst = await c.setup(gpu);
      const calls = inst.run();
      row.kernel = callKeys(calls);
      opts.log(`  ${c.kernel} ${c.shape}: validating ${row.kernel}`);
      try {
        await inst.validate();
      } catch (e) {
        row.status = 'invalid';
        row.error = (e as Error).message;
        opts.log(`  ${c.kernel} ${c.shape}: VALIDATION FAILED: ${row.error}`);
        continue;
      }
      const t = await timeCase(gpu, `${c.kernel} ${c.shape}`, calls, opts);
      row.medianMs = t.median;
      row.minMs = t.min;
      row.samples = t.samples;
      row.cpuMedianMs = t.cpuMedian;
      if (c.flops) {
        row.gflops = c.flops / t.median / 1e6;
        row.peakFraction = row.gflops / peak.fmaGflops;
        if (peak.fmaCpuGflops) row.cpuPeakFraction = cpuRate(c.flops, t.cpuMedian) / peak.fmaCpuGflops;
      } else if (c.bytes) {
        row.gbps = c.bytes / t.median / 1e6;
        row.peakFraction = row.gbps / peak.copyGbps;
      }
      opts.log(`  ${c.kernel} ${c.shape}: ${t.median.toFixed(2)} ms (${t.samples} runs)`);
    } catch (e) {
      row.status = 'error';
      row.error = (e as Error).message;
      opts.log(`  ${c.kernel} ${c.shape}: ERROR ${row.error}`);
    } finally {
      inst?.dispose();
    }
  }
  return rows;
}
