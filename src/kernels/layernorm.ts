// Host side of shaders/layernorm.wgsl: y = LayerNorm(x + residual) · gamma + beta per row of C,
// one workgroup per row. "y is x" (or residual) becomes an in-place pipeline, since WebGPU
// forbids binding one range twice when one binding is writable (see gpu/bindings.ts).
// Options: no beta (LayerNorm(bias=False), ModernBERT), and `sumOut`, which also stores
// x + residual (the running sum a pre-norm block carries on), to its own buffer or over x / residual.

import type { Gpu } from '../gpu/device.js';
import { dummyStorage, outputSlot, overlap, rowWorkgroupSize } from '../gpu/bindings.js';
import { grid2D, makeCall, packUniform, type BufferBinding, type KernelCall } from '../gpu/pipelines.js';

export interface LayernormArgs {
  x: BufferBinding; // (rows, C)
  residual?: BufferBinding | null; // (rows, C), added to x before normalizing
  gamma: BufferBinding; // (C)
  beta: BufferBinding | null; // (C); null: no bias (LayerNorm(bias=False))
  y: BufferBinding; // (rows, C); may be x or residual (in place)
  /** (rows, C): also store x + residual here; may be x or residual (not y). Needs a residual. */
  sumOut?: BufferBinding | null;
  rows: number;
  C: number;
  eps: number;
}

/**
 * LayerNorm(x + residual) · gamma + beta over `rows` rows of C f32. `y` may be `x` or `residual`
 * (in place); LN(x + r) is symmetric in x and r, so y === residual swaps the two. `beta: null`
 * leaves out the bias; `sumOut` also stores x + residual (see layernormSum).
 */
export function layernorm(gpu: Gpu, a: LayernormArgs): KernelCall {
  if (a.sumOut) return layernormSum(gpu, a, a.sumOut);
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
  // Calls with a beta keep the key and constants they always had.
  const noBias = a.beta == null;
  const p = gpu.pipelines.get({
    key: `layernorm|WG=${WG},vec4=${+vec4},residual=${+hasRes},inplace=${+inplace}${noBias ? ',bias=0' : ''}`,
    shader: 'layernorm',
    entryPoint: vec4 ? 'main4' : 'main',
    constants: { WG, RES: +hasRes, INPLACE: +inplace, ...(noBias ? { BIAS: 0 } : {}) },
    bindings: ['uniform', 'write', 'read', 'read', 'read', 'write'],
  });
  const u = gpu.uniform('layernorm', packUniform([['u32', a.rows], ['u32', a.C], ['f32', a.eps]]));
  const owned = [u];
  let y = a.y;
  if (inplace) owned.push((y = dummyStorage(gpu, 'layernorm')));
  // Without a residual (or beta), gamma stands in for the unused (read-only) binding.
  return makeCall(gpu.device, p, [u, x, residual ?? a.gamma, a.gamma, a.beta ?? a.gamma, y], grid2D(a.rows), owned);
}

const AT_NAMES = ['buf', 'x', 'res'] as const;

/**
 * The pre-norm form: s = x + residual is stored to `sumOut` and y = LayerNorm(s) · gamma + beta.
 * Either output may be x or the residual (both are bound writable); they must differ.
 */
function layernormSum(gpu: Gpu, a: LayernormArgs, sumOut: BufferBinding): KernelCall {
  const { x } = a;
  const residual = a.residual ?? null;
  if (!residual) throw new Error('layernorm: sumOut stores x + residual, so it needs a residual (pass residual, or drop sumOut)');
  if (overlap(x, residual) !== 'none') throw new Error('layernorm: residual overlaps x');
  if (overlap(a.y, sumOut) !== 'none') throw new Error('layernorm: y and sumOut overlap; give them different buffers');
  const sumAt = outputSlot('layernorm', 'sumOut', sumOut, x, residual);
  const yAt = outputSlot('layernorm', 'y', a.y, x, residual);
  const vec4 = a.C % 4 === 0;
  const WG = rowWorkgroupSize(gpu, vec4 ? a.C / 4 : a.C);
  const noBias = a.beta == null;
  const p = gpu.pipelines.get({
    key: `layernorm|WG=${WG},vec4=${+vec4},residual=1,sumout=${AT_NAMES[sumAt]},y=${AT_NAMES[yAt]}${noBias ? ',bias=0' : ''}`,
    shader: 'layernorm',
    entryPoint: vec4 ? 'main4_sum' : 'main_sum',
    constants: { WG, SUM_AT: sumAt, Y_AT: yAt, BIAS: +!noBias },
    bindings: ['uniform', 'write', 'write', 'read', 'read', 'write', 'write'],
  });
  const u = gpu.uniform('layernorm', packUniform([['u32', a.rows], ['u32', a.C], ['f32', a.eps]]));
  const owned = [u];
  const y = yAt === 0 ? a.y : dummyStorage(gpu, 'layernorm_y');
  const s = sumAt === 0 ? sumOut : dummyStorage(gpu, 'layernorm_sum');
  if (yAt !== 0) owned.push(y as GPUBuffer);
  if (sumAt !== 0) owned.push(s as GPUBuffer);
  return makeCall(gpu.device, p, [u, x, residual, a.gamma, a.beta ?? a.gamma, y, s], grid2D(a.rows), owned);
}

/** Bytes read plus written by one layernorm call (x, residual, y, sumOut, gamma, beta once each). */
export function layernormBytes(rows: number, C: number, residual: boolean, opts: { bias?: boolean; sumOut?: boolean } = {}): number {
  return rows * C * 4 * ((residual ? 3 : 2) + (opts.sumOut ? 1 : 0)) + (opts.bias === false ? 1 : 2) * C * 4;
}
