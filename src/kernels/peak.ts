// Host side of shaders/peak.wgsl: the FMA-throughput, copy-bandwidth and load-cost probes that
// the benchmark reports every kernel against. FLOPs and bytes per dispatch come from here too.
//
// What the FMA ceiling is and why it is searched for: a kernel's "% of peak" is only honest if the
// peak is the most arithmetic the adapter can do, so the probe runs chains of dependent FMAs
// in registers (a[c] += x·b[c], the dependency shape of a matmul inner loop), with enough
// independent chains per invocation to hide the add latency and no memory traffic, and takes the
// best of several shapes (FMA_PROBE_CONFIGS).
// One fixed shape can under-read: too few chains leave the FMA units waiting on latency; too
// many spill to the stack; on CPU adapters the SIMD width, the register file (16 or 32 vector
// registers) and the per-loop-trip mask blending of loop-carried values differ per machine.
// On lavapipe each invocation is one SIMD lane and WGSL fma() compiles to a vector multiply plus
// a vector add (no fused FMA instruction), exactly as in the matmul kernels, so the best probe
// is the ceiling those kernels can reach.

import type { Gpu } from '../gpu/device.js';
import { grid2D, makeCall, packUniform, type BufferBinding, type KernelCall } from '../gpu/pipelines.js';

const WG = 256;

export interface FmaProbe {
  call: KernelCall;
  /** Floating-point operations per dispatch (an FMA counts 2). */
  flops: number;
}

/** `n` invocations, each running 4 vec4 FMA chains of `iters` steps; writes n vec4 to `dst`. */
export function fmaProbe(gpu: Gpu, dst: BufferBinding, n: number, iters = 256): FmaProbe {
  if (iters % 8 !== 0) throw new RangeError(`fmaProbe: iters must be a multiple of 8, got ${iters}`);
  const p = gpu.pipelines.get({
    key: `peak_fma|WG=${WG},ITERS=${iters}`,
    shader: 'peak',
    entryPoint: 'fma_probe',
    constants: { WG, ITERS: iters },
    bindings: ['uniform', 'read', 'write'],
  });
  const u = gpu.uniform('peak_fma', packUniform([['u32', n], ['f32', 0.5]]));
  const dummy = gpu.storage('peak_fma_src', 16);
  const call = makeCall(gpu.device, p, [u, dummy, dst], grid2D(Math.ceil(n / WG)), [u, dummy]);
  return { call, flops: n * iters * 4 * 4 * 2 };
}

/** One FMA probe shape: `chains` independent chains of vec4 or scalar f32 per invocation. */
export interface FmaProbeConfig {
  vector: 'vec4' | 'f32';
  chains: number;
}

/** The shapes the benchmark tries (the best one is the reported ceiling). */
export const FMA_PROBE_CONFIGS: FmaProbeConfig[] = [
  { vector: 'vec4', chains: 2 },
  { vector: 'vec4', chains: 4 },
  { vector: 'vec4', chains: 6 },
  { vector: 'f32', chains: 8 },
  { vector: 'f32', chains: 16 },
  { vector: 'f32', chains: 24 },
];

export function fmaProbeLabel(c: FmaProbeConfig): string {
  return `${c.chains}x${c.vector}`;
}

/** `n` invocations, each running `config.chains` chains of `iters` steps; writes n vec4 to `dst`. */
export function fmaProbeWith(gpu: Gpu, dst: BufferBinding, n: number, iters: number, config: FmaProbeConfig): FmaProbe {
  const max = config.vector === 'vec4' ? 16 : 32;
  if (iters % 16 !== 0) throw new RangeError(`fmaProbeWith: iters must be a multiple of 16, got ${iters}`);
  if (!Number.isInteger(config.chains) || config.chains < 1 || config.chains > max) {
    throw new RangeError(`fmaProbeWith: ${config.vector} chains must be 1..${max}, got ${config.chains}`);
  }
  const p = gpu.pipelines.get({
    key: `peak_fma|${fmaProbeLabel(config)},WG=${WG},ITERS=${iters}`,
    shader: 'peak',
    entryPoint: config.vector === 'vec4' ? 'fma_vec4' : 'fma_scalar',
    constants: { WG, ITERS: iters, CHAINS: config.chains },
    bindings: ['uniform', 'read', 'write'],
  });
  const u = gpu.uniform('peak_fma', packUniform([['u32', n], ['f32', 0.5]]));
  const dummy = gpu.storage('peak_fma_src', 16);
  const call = makeCall(gpu.device, p, [u, dummy, dst], grid2D(Math.ceil(n / WG)), [u, dummy]);
  const width = config.vector === 'vec4' ? 4 : 1;
  return { call, flops: n * iters * config.chains * width * 2 };
}

export interface LoadProbe {
  call: KernelCall;
  /** 32-bit words loaded per dispatch, summed over invocations (a vec4 load counts 4). */
  words: number;
}

/** `n` invocations, each loading `iters` vec4 from `src` (which must hold 64·iters vec4). */
export function loadProbe(gpu: Gpu, src: BufferBinding, dst: BufferBinding, n: number, iters: number): LoadProbe {
  if (iters % 2 !== 0) throw new RangeError(`loadProbe: iters must be even, got ${iters}`);
  const p = gpu.pipelines.get({
    key: `peak_load|WG=${WG},ITERS=${iters}`,
    shader: 'peak',
    entryPoint: 'load_probe',
    constants: { WG, ITERS: iters },
    bindings: ['uniform', 'read', 'write'],
  });
  const u = gpu.uniform('peak_load', packUniform([['u32', n], ['f32', 0]]));
  const call = makeCall(gpu.device, p, [u, src, dst], grid2D(Math.ceil(n / WG)), [u]);
  return { call, words: n * iters * 4 };
}

export interface CopyProbe {
  call: KernelCall;
  /** Bytes read plus bytes written per dispatch. */
  bytes: number;
}

/** Copies `n` vec4<f32> from `src` to `dst`. */
export function copyProbe(gpu: Gpu, src: BufferBinding, dst: BufferBinding, n: number): CopyProbe {
  const p = gpu.pipelines.get({
    key: `peak_copy|WG=${WG}`,
    shader: 'peak',
    entryPoint: 'copy_probe',
    constants: { WG, ITERS: 1 },
    bindings: ['uniform', 'read', 'write'],
  });
  const u = gpu.uniform('peak_copy', packUniform([['u32', n], ['f32', 0]]));
  const call = makeCall(gpu.device, p, [u, src, dst], grid2D(Math.ceil(n / WG)), [u]);
  return { call, bytes: n * 16 * 2 };
}
