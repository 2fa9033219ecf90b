// Adapter peaks that every benchmark row is reported against: FMA throughput (GFLOP/s) and
// storage-buffer copy bandwidth (GB/s), measured with the probes of src/kernels/peak.ts.
// Each figure is the median of several synchronised dispatches sized to run tens of ms.

import type { Gpu } from '../src/gpu/device.js';
import { releaseCalls, submitCalls } from '../src/gpu/calls.js';
import type { KernelCall } from '../src/gpu/pipelines.js';
import { copyProbe, fmaProbe } from '../src/kernels/peak.js';

export interface Peak {
  fmaGflops: number;
  copyGbps: number;
}

export interface TimingOptions {
  /** Timed runs (the median is reported). */
  runs: number;
  /** Untimed runs first (pipeline compilation, first-touch of buffers). */
  warmup: number;
}

/** Submits `calls` and waits for the queue: one timed sample, in ms. */
export async function timeCalls(gpu: Gpu, calls: KernelCall[]): Promise<number> {
  const t0 = performance.now();
  submitCalls(gpu, calls, 'bench');
  await gpu.sync();
  return performance.now() - t0;
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

/** FMA peak: 2^16 invocations × 4 vec4 chains × 1024 steps (≈ 2.1 GFLOP per dispatch). */
export async function measureFma(gpu: Gpu, opts: TimingOptions): Promise<number> {
  const n = 1 << 16;
  const dst = gpu.storage('peak_fma_dst', n * 16);
  const { call, flops } = fmaProbe(gpu, dst, n, 1024);
  try {
    const ms = await medianOf(gpu, [call], opts);
    return flops / ms / 1e6;
  } finally {
    releaseCalls(gpu, [call]);
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

export async function measurePeak(gpu: Gpu, opts: TimingOptions): Promise<Peak> {
  return { fmaGflops: await measureFma(gpu, opts), copyGbps: await measureCopy(gpu, opts) };
}
