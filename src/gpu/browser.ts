// The browser's WebGPU: navigator.gpu. Imported only by index.browser.ts.

import { NO_ADAPTER_HELP, requestGpu, type Gpu, type GpuOptions } from './device.js';

export async function browserGpu(opts: GpuOptions = {}): Promise<Gpu> {
  if (opts.device) return requestGpu(undefined, opts);
  const gpu = (globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu;
  if (!gpu) throw new Error(`navigator.gpu is missing: this browser or page has no WebGPU. ${NO_ADAPTER_HELP}`);
  return requestGpu(gpu, opts);
}
