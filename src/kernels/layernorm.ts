// Host side of shaders/layernorm.wgsl: y = LayerNorm(x + residual) · gamma + beta per row of C,
// one workgroup per row. Also the small helpers the other row kernels share (embeddings,
// normalize, gelu): workgroup sizing per adapter, and binding-overlap checks that
// turn "y is x" into an in-place pipeline (WebGPU forbids binding one range twice when one
// binding is writable).

import type { Gpu } from '../gpu/device.js';
import { grid2D, makeCall, packUniform, type BufferBinding, type KernelCall } from '../gpu/pipelines.js';

export interface LayernormArgs {
  x: BufferBinding; // (rows, C)
  residual?: BufferBinding | null; // (rows, C), added to x before normalizing
  gamma: BufferBinding; // (C)
  beta: BufferBinding; // (C)
  y: BufferBinding; // (rows, C); may be x or residual (in place)
  rows: number;
  C: number;
  eps: number;
}

/** True on CPU implementations (Mesa's lavapipe/llvmpipe, SwiftShader), where barriers are dear. */
export function isSoftwareAdapter(gpu: Gpu): boolean {
  const a = gpu.adapter;
  return a.architecture === 'software' || /llvmpipe|lavapipe|swiftshader/i.test(`${a.device} ${a.description}`);
}

/**
 * Workgroup size for a one-workgroup-per-row kernel over `units` (f32 or vec4) per row: 16 on
 * software adapters (measured on lavapipe: a 2000 × 1024 layernorm runs 2-4× faster than at 64,
 * the barriers dominate), otherwise 64, or 32 for short rows.
 */
export function rowWorkgroupSize(gpu: Gpu, units: number): number {
  if (isSoftwareAdapter(gpu)) return 16;
  return units >= 128 ? 64 : 32;
}

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
 * LayerNorm(x + residual) · gamma + beta over `rows` rows of C f32. `y` may be `x` or `residual`
 * (in place); LN(x + r) is symmetric in x and r, so y === residual swaps the two.
 */
export function layernorm(gpu: Gpu, a: LayernormArgs): KernelCall {
  let x = a.x;
  let residual = a.residual ?? null;
  if (residual && overlap(a.y, residual) === 'same') [x, residual] = [residual, x];
  for (const [name, b] of [['x', x], ['residual', residual]] as const) {
    if (b && overlap(a.y, b) === 'partial') throw new Error(`layernorm: y partly overlaps ${name}`);
  }
  // x is bound writable (for the in-place case), so nothing else may overlap it.
  if (residual && overlap(x, residual) !== 'none') throw new Error('layernorm: residual overlaps x');
  const inplace = overlap(a.y, x) === 'same';
  const vec4 = a.C % 4 === 0;
  const WG = rowWorkgroupSize(gpu, vec4 ? a.C / 4 : a.C);
  const hasRes = residual !== null;
  const p = gpu.pipelines.get({
    key: `layernorm|WG=${WG},vec4=${+vec4},residual=${+hasRes},inplace=${+inplace}`,
    shader: 'layernorm',
    entryPoint: vec4 ? 'main4' : 'main',
    constants: { WG, RES: +hasRes, INPLACE: +inplace },
    bindings: ['uniform', 'write', 'read', 'read', 'read', 'write'],
  });
  const u = gpu.uniform('layernorm', packUniform([['u32', a.rows], ['u32', a.C], ['f32', a.eps]]));
  const owned = [u];
  let y = a.y;
  if (inplace) owned.push((y = dummyStorage(gpu, 'layernorm')));
  // Without a residual, gamma stands in for the unused (read-only) residual binding.
  return makeCall(gpu.device, p, [u, x, residual ?? a.gamma, a.gamma, a.beta, y], grid2D(a.rows), owned);
}

/** Bytes read plus written by one layernorm call (x, residual, y, gamma, beta once each). */
export function layernormBytes(rows: number, C: number, residual: boolean): number {
  return rows * C * 4 * (residual ? 3 : 2) + 2 * C * 4;
}
