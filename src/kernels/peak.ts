// Host side of shaders/peak.wgsl: the FMA-throughput and copy-bandwidth probes that the
// benchmark reports every kernel against. FLOPs and bytes per dispatch come from here too.

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
