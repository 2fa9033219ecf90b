// TF.js (tfjs-backend-webgpu) matMul on the same WebGPU adapter, the comparison rows for our
// matmul. TF.js looks for navigator.gpu, so this module (and only the benchmark) puts Dawn's
// GPU from the `webgpu` package and its globals on globalThis before importing TF.js.
// Each shape: one untimed run whose result is spot-checked in float64, then timed runs of
// tf.matMul(x, w, false, true), each followed by submitting TF.js's queue and waiting for it.

import { create, globals } from 'webgpu';
import { median } from './peak.js';
import type { MatmulShape } from './matmul.js';

export interface TfjsRow {
  kernel: string;
  shape: string;
  compareKey: string;
  status: 'ok' | 'unavailable' | 'invalid' | 'error';
  error?: string;
  medianMs?: number;
  samples?: number;
  gflops?: number;
}

export interface TfjsOptions {
  runs: number;
  log(msg: string): void;
}

type Tf = typeof import('@tensorflow/tfjs-core');

interface WebGpuBackendLike {
  device: GPUDevice;
  ensureCommandEncoderReady(): void;
  endComputePassEncoder(): void;
  submitQueue(): void;
}

let tfPromise: Promise<Tf> | undefined;

async function loadTfjs(): Promise<Tf> {
  const g = globalThis as Record<string, unknown>;
  Object.assign(g, globals);
  const gpu = create([]) as GPU;
  const nav = g.navigator as Record<string, unknown> | undefined;
  if (nav === undefined) {
    Object.defineProperty(g, 'navigator', { value: { gpu }, configurable: true, writable: true });
  } else if (!nav.gpu) {
    Object.defineProperty(nav, 'gpu', { value: gpu, configurable: true });
  }
  const tf = await import('@tensorflow/tfjs-core');
  await import('@tensorflow/tfjs-backend-webgpu');
  if (!(await tf.setBackend('webgpu'))) throw new Error('tf.setBackend("webgpu") returned false');
  await tf.ready();
  if (tf.getBackend() !== 'webgpu') throw new Error(`TF.js picked backend ${tf.getBackend()}`);
  return tf;
}

async function syncBackend(tf: Tf): Promise<void> {
  // The same steps TF.js takes before a readback: close the open pass, submit pending work.
  const backend = tf.backend() as unknown as WebGpuBackendLike;
  backend.ensureCommandEncoderReady();
  backend.endComputePassEncoder();
  backend.submitQueue();
  await backend.device.queue.onSubmittedWorkDone();
}

/** float64 check of 64 entries of Y = X·Wᵀ against TF.js's result (relative to the row scale). */
function spotCheck(x: Float32Array, w: Float32Array, y: Float32Array, s: MatmulShape): void {
  const { M, N, K } = s;
  for (let t = 0; t < 64; t++) {
    const m = (t * 7919) % M;
    const n = (t * 104729) % N;
    let ref = 0;
    let abs = 0;
    for (let k = 0; k < K; k++) {
      ref += x[m * K + k] * w[n * K + k];
      abs += Math.abs(x[m * K + k] * w[n * K + k]);
    }
    // Same f32 accumulation bound as our kernels (4·sqrt(K)·eps·Σ|x·w|), times 4 for
    // whatever summation order TF.js uses.
    if (!(Math.abs(y[m * N + n] - ref) <= 16 * Math.sqrt(K) * 2 ** -24 * abs + 1e-6)) {
      throw new Error(`TF.js Y[${m}, ${n}] = ${y[m * N + n]}, expected ${ref}`);
    }
  }
}

export async function runTfjs(shapes: MatmulShape[], labels: (s: MatmulShape) => { shape: string; compareKey: string }, opts: TfjsOptions): Promise<TfjsRow[]> {
  const rows: TfjsRow[] = shapes.map((s) => ({ kernel: 'tfjs.matMul(x, w, false, true)', ...labels(s), status: 'unavailable' as const }));
  let tf: Tf;
  try {
    tfPromise ??= loadTfjs();
    tf = await tfPromise;
  } catch (e) {
    const why = `TF.js WebGPU backend unavailable: ${(e as Error).message}`;
    opts.log(`  ${why}`);
    for (const r of rows) r.error = why;
    return rows;
  }
  for (let i = 0; i < shapes.length; i++) {
    const s = shapes[i];
    const row = rows[i];
    const x = tf.randomUniform([s.M, s.K], -1, 1, 'float32', 21);
    const w = tf.randomUniform([s.N, s.K], -1, 1, 'float32', 22);
    try {
      opts.log(`  tfjs ${row.shape}: validating`);
      const y0 = tf.matMul(x, w, false, true);
      try {
        spotCheck(await x.data() as Float32Array, await w.data() as Float32Array, await y0.data() as Float32Array, s);
      } catch (e) {
        row.status = 'invalid';
        row.error = (e as Error).message;
        continue;
      } finally {
        y0.dispose();
      }
      const samples: number[] = [];
      for (let r = 0; r < opts.runs; r++) {
        await syncBackend(tf);
        const t0 = performance.now();
        const y = tf.matMul(x, w, false, true);
        await syncBackend(tf);
        samples.push(performance.now() - t0);
        y.dispose();
      }
      row.status = 'ok';
      row.medianMs = median(samples);
      row.samples = samples.length;
      row.gflops = (2 * s.M * s.N * s.K) / row.medianMs / 1e6;
      opts.log(`  tfjs ${row.shape}: ${row.medianMs.toFixed(1)} ms`);
    } catch (e) {
      row.status = 'error';
      row.error = (e as Error).message;
      opts.log(`  tfjs ${row.shape}: ERROR ${row.error}`);
    } finally {
      x.dispose();
      w.dispose();
    }
  }
  return rows;
}

/** Releases TF.js's device so the process can exit. */
export async function disposeTfjs(): Promise<void> {
  if (!tfPromise) return;
  try {
    const tf = await tfPromise;
    tf.engine().reset();
  } catch {
    // TF.js never initialised: nothing to release.
  }
}
