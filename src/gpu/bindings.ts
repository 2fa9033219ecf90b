// Helpers kernels share about bindings and adapters: the byte range a binding covers, whether two
// bindings overlap (in-place kernels), a dummy buffer for an unused binding, and the workgroup
// size of one-workgroup-per-row kernels.

import type { Gpu } from './device.js';
import type { BufferBinding } from './pipelines.js';

/** The byte range a binding covers. */
export function bindingRange(b: BufferBinding): { buffer: GPUBuffer; offset: number; size: number } {
  if (typeof (b as GPUBuffer).mapState === 'string') {
    const buffer = b as GPUBuffer;
    return { buffer, offset: 0, size: buffer.size };
  }
  const r = b as { buffer: GPUBuffer; offset?: number; size?: number };
  const offset = r.offset ?? 0;
  return { buffer: r.buffer, offset, size: r.size ?? r.buffer.size - offset };
}

/** 'same' when both bindings start at the same byte of one buffer, 'partial' for any other overlap. */
export function overlap(a: BufferBinding, b: BufferBinding): 'none' | 'same' | 'partial' {
  const ra = bindingRange(a), rb = bindingRange(b);
  if (ra.buffer !== rb.buffer) return 'none';
  if (ra.offset === rb.offset) return 'same';
  return ra.offset < rb.offset + rb.size && rb.offset < ra.offset + ra.size ? 'partial' : 'none';
}

/** A 16-byte storage buffer for a binding an in-place pipeline declares but never touches. */
export function dummyStorage(gpu: Gpu, label: string): GPUBuffer {
  return gpu.storage(`${label}_dummy`, 16);
}

/**
 * Workgroup size for a one-workgroup-per-row kernel over `units` (f32 or vec4) per row: 16 on
 * CPU adapters (measured on lavapipe: a 2000 × 1024 layernorm runs 2-4× faster than at 64,
 * the barriers dominate), otherwise 64, or 32 for short rows.
 */
export function rowWorkgroupSize(gpu: Gpu, units: number): number {
  if (gpu.cpu) return 16;
  return units >= 128 ? 64 : 32;
}

/**
 * Where an output of a kernel with x and residual inputs (both bound writable) goes: 0 its own
 * binding, 1 over x, 2 over the residual. A partial overlap is an error.
 */
export function outputSlot(kernel: string, what: string, out: BufferBinding, x: BufferBinding, residual: BufferBinding | null): 0 | 1 | 2 {
  const ox = overlap(out, x), or = residual ? overlap(out, residual) : 'none';
  if (ox === 'partial') throw new Error(`${kernel}: ${what} partly overlaps x (give it x itself or a separate range)`);
  if (or === 'partial') throw new Error(`${kernel}: ${what} partly overlaps residual (give it residual itself or a separate range)`);
  return ox === 'same' ? 1 : or === 'same' ? 2 : 0;
}
