// Node's WebGPU: Dawn through the `webgpu` npm package. Imported only by index.node.ts.

import { create } from 'webgpu';
import { requestGpu, type Gpu, type GpuOptions } from './device.js';

let dawn: GPU | undefined;

/** A Gpu on Dawn (Vulkan, Metal or D3D12; Mesa's lavapipe on Linux without a GPU). */
export async function nodeGpu(opts: GpuOptions = {}): Promise<Gpu> {
  if (opts.device) return requestGpu(undefined, opts);
  dawn ??= create([]) as GPU;
  return requestGpu(dawn, opts);
}
