// Adapter peaks that every benchmark row is reported against: FMA throughput (GFLOP/s, the best
// of several probe shapes; see src/kernels/peak.ts for why the best), storage-buffer copy
// bandwidth (GB/s), and the cost of per-invocation storage loads (G 32-bit words/s), which is
// what bounds matmul on CPU adapters. Each figure is the median of several synchronised
// dispatches sized to run tens of ms; the FMA shapes are sampled round-robin so that load from
// other processes hits them alike. Every sample also records the process CPU time it took
// (Dawn and lavapipe run in this process), a steadier measure when the machine is shared.

import { availableParallelism } from 'node:os';
import type { Gpu } from '../src/gpu/device.js';
import { releaseCalls, submitCalls } from '../src/gpu/calls.js';
import type { KernelCall } from '../src/gpu/pipelines.js';
import { FMA_PROBE_CONFIGS, copyProbe, fmaProbeLabel, fmaProbeWith, loadProbe } from '../src/kernels/peak.js';

export interface Peak {
  /** Best FMA probe shape's median rate (the ceiling "% peak" is against). */
  fmaGflops: number;
  /** Which shape won, e.g. '8xvec4'. */
  fmaConfig: string;
  /** The same best shape's rate per CPU-second of this process × the cores it used (see cpuRate). */
  fmaCpuGflops?: number;
  /** Every shape tried: median wall-clock rate and CPU-time rate. */
  fmaProbes: { config: string; gflops: number; cpuGflops: number }[];
  copyGbps: number;
  /** Storage loads as matmul inner loops do them (per-invocation vec4 loads), G words/s. */
  loadGwords?: number;
}

export interface TimingOptions {
  /** Timed runs (the median is reported). */
  runs: number;
  /** Untimed runs first (pipeline compilation, first-touch of buffers). */
  warmup: number;
}

export interface Sample {
  ms: number;
  /** Process CPU time (user + system) during the sample, ms. */
  cpuMs: number;
}

/** Submits `calls` and waits for the queue: one timed sample, wall-clock and CPU ms. */
export async function timeCallsBoth(gpu: Gpu, calls: KernelCall[]): Promise<Sample> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  submitCalls(gpu, calls, 'bench');
  await gpu.sync();
  const ms = performance.now() - t0;
  const c = process.cpuUsage(c0);
  return { ms, cpuMs: (c.user + c.system) / 1000 };
}

/** Submits `calls` and waits for the queue: one timed sample, in ms. */
export async function timeCalls(gpu: Gpu, calls: KernelCall[]): Promise<number> {
  return (await timeCallsBoth(gpu, calls)).ms;
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const h = s.length >> 1;
  return s.length % 2 ? s[h] : (s[h - 1] + s[h]) / 2;
}

async function medianOf(gpu: Gpu, calls: KernelCall[], opts: TimingOptions): Promise<number> {
  for (let i = 0; i < opts.warmup; i++) await timeCalls(gpu, calls);
  const samples: number[] = [];
  for (let i = 0; i < opts.runs; i++) samples.push(await timeCalls(gpu, calls));
  return median(samples);
}

/**
 * Rate per CPU time, scaled to wall-clock units: work / (cpuMs / threads), where threads is the
 * adapter's worker count (lavapipe: one per core). Comparable between rows of one run.
 */
export function cpuRate(work: number, cpuMs: number): number {
  return work / (cpuMs / cpuThreads()) / 1e6;
}

function cpuThreads(): number {
  const env = Number(process.env.LP_NUM_THREADS);
  if (Number.isInteger(env) && env > 0) return env;
  return availableParallelism(); // lavapipe's default: one worker per core
}

/** FMA peak: every shape of FMA_PROBE_CONFIGS at ≈ 1 GFLOP per dispatch; the best median wins. */
export async function measureFma(gpu: Gpu, opts: TimingOptions): Promise<Pick<Peak, 'fmaGflops' | 'fmaConfig' | 'fmaCpuGflops' | 'fmaProbes'>> {
  const n = 1 << 16;
  const dst = gpu.storage('peak_fma_dst', n * 16);
  const probes = FMA_PROBE_CONFIGS.map((c) => {
    const per = c.chains * (c.vector === 'vec4' ? 4 : 1) * 2;
    const iters = Math.max(16, Math.round((1 << 30) / (n * per) / 16) * 16);
    return { config: fmaProbeLabel(c), ...fmaProbeWith(gpu, dst, n, iters, c), samples: [] as Sample[] };
  });
  try {
    for (let i = 0; i < opts.warmup; i++) for (const p of probes) await timeCallsBoth(gpu, [p.call]);
    for (let i = 0; i < opts.runs; i++) for (const p of probes) p.samples.push(await timeCallsBoth(gpu, [p.call]));
    const rows = probes.map((p) => ({
      config: p.config,
      gflops: p.flops / median(p.samples.map((s) => s.ms)) / 1e6,
      cpuGflops: cpuRate(p.flops, median(p.samples.map((s) => s.cpuMs))),
    }));
    const best = rows.reduce((a, b) => (b.gflops > a.gflops ? b : a));
    return { fmaGflops: best.gflops, fmaConfig: best.config, fmaCpuGflops: Math.max(...rows.map((r) => r.cpuGflops)), fmaProbes: rows };
  } finally {
    releaseCalls(gpu, probes.map((p) => p.call));
    gpu.destroyBuffer(dst);
  }
}

/** Copy bandwidth: 2^21 vec4 (32 MiB) read and written per dispatch. */
export async function measureCopy(gpu: Gpu, opts: TimingOptions): Promise<number> {
  const n = 1 << 21;
  const src = gpu.storage('peak_copy_src', n * 16);
  const dst = gpu.storage('peak_copy_dst', n * 16);
  const { call, bytes } = copyProbe(gpu, src, dst, n);
  try {
    const ms = await medianOf(gpu, [call], opts);
    return bytes / ms / 1e6;
  } finally {
    releaseCalls(gpu, [call]);
    gpu.destroyBuffer(src);
    gpu.destroyBuffer(dst);
  }
}

/** Load cost: 2^15 invocations × 512 vec4 loads each (64 Mi words) per dispatch, G words/s. */
export async function measureLoad(gpu: Gpu, opts: TimingOptions): Promise<number> {
  const n = 1 << 15;
  const iters = 512;
  const src = gpu.storage('peak_load_src', 64 * iters * 16);
  const dst = gpu.storage('peak_load_dst', n * 16);
  const { call, words } = loadProbe(gpu, src, dst, n, iters);
  try {
    const ms = await medianOf(gpu, [call], opts);
    return words / ms / 1e6;
  } finally {
    releaseCalls(gpu, [call]);
    gpu.destroyBuffer(src);
    gpu.destroyBuffer(dst);
  }
}

export async function measurePeak(gpu: Gpu, opts: TimingOptions): Promise<Peak> {
  const fma = await measureFma(gpu, opts);
  return { ...fma, copyGbps: await measureCopy(gpu, opts), loadGwords: await measureLoad(gpu, opts) };
}
