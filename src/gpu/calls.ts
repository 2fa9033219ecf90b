// Running recorded KernelCalls: one command encoder, one submit, and releasing what calls own.

import type { Gpu } from './device.js';
import { encodeCalls, type KernelCall } from './pipelines.js';

/** Records `calls` into one encoder and submits it (no readback). */
export function submitCalls(gpu: Gpu, calls: KernelCall[], label = 'calls'): void {
  gpu.checkAlive();
  const enc = gpu.device.createCommandEncoder({ label });
  encodeCalls(enc, calls, label);
  gpu.device.queue.submit([enc.finish()]);
}

/** Destroys the buffers the calls own (their uniforms). */
export function releaseCalls(gpu: Gpu, calls: KernelCall[]): void {
  for (const c of calls) for (const b of c.owned) gpu.destroyBuffer(b);
  calls.length = 0;
}
