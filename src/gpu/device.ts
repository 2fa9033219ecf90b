// The GPU runtime: one `Gpu` wraps a GPUDevice with the limits and features we asked for,
// device-loss tracking, GPU-memory accounting, buffer helpers and the pipeline cache.
// It never imports `webgpu` or `node:*`: index.node.ts / index.browser.ts hand it a `GPU`.

import { BufferUsage, MapMode } from './flags.js';
import { PipelineCache } from './pipelines.js';

/** Features we use when the adapter offers them. */
const WANTED_FEATURES = ['shader-f16', 'subgroups', 'timestamp-query'] as const;

/** Limits we raise to the adapter's maximum. */
const WANTED_LIMITS = [
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupSizeY',
  'maxStorageBuffersPerShaderStage',
  'maxComputeWorkgroupsPerDimension',
] as const;

export type GpuLimits = Record<(typeof WANTED_LIMITS)[number], number> & {
  minStorageBufferOffsetAlignment: number;
  minUniformBufferOffsetAlignment: number;
};

export interface GpuFeatures {
  f16: boolean;
  subgroups: boolean;
  timestamp: boolean;
}

export interface AdapterSummary {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
}

export interface GpuOptions {
  /** Use this device instead of requesting one. It is never destroyed by us. */
  device?: GPUDevice;
  powerPreference?: GPUPowerPreference;
  /** 'compatibility' lets browsers hand out OpenGL ES-backed adapters. */
  featureLevel?: 'core' | 'compatibility';
}

export const NO_ADAPTER_HELP =
  'No WebGPU adapter was found. On a machine with a GPU, install its Vulkan (Linux), Metal (macOS) or ' +
  'D3D12 (Windows) driver. On Linux without a GPU, install Mesa\'s software Vulkan driver (lavapipe), ' +
  'version 24 or newer: on Debian 12, `apt-get install -t bookworm-backports mesa-vulkan-drivers` ' +
  '(Debian 12\'s own 22.3 lacks a feature Dawn needs). In a browser, use one with WebGPU enabled over ' +
  'http://localhost or https.';

/** Thrown by every call made after the device was lost or destroyed. */
export class DeviceLostError extends Error {
  constructor(reason: string) {
    super(`WebGPU device lost: ${reason}. Load the model again (loadModel) to get a new device.`);
    this.name = 'DeviceLostError';
  }
}

export class Gpu {
  readonly pipelines: PipelineCache;
  /** Bytes in live buffers created through this Gpu (weights, activations, uniforms, staging). */
  bytesAllocated = 0;
  lostReason: string | null = null;
  /** Uncaptured WebGPU errors (validation, out-of-memory) not yet reported to a caller. */
  private errors: string[] = [];
  private live = new Map<GPUBuffer, number>();
  private lostListeners = new Set<(reason: string) => void>();

  /**
   * True when the adapter runs shaders on the CPU (Mesa's lavapipe / llvmpipe, SwiftShader, WARP):
   * kernels then pick shapes that suit SIMD lanes (few barriers, subgroup broadcasts).
   */
  readonly cpu: boolean;

  constructor(
    readonly device: GPUDevice,
    readonly features: GpuFeatures,
    readonly limits: GpuLimits,
    readonly adapter: AdapterSummary,
    /** True when the device came from the caller: dispose() must leave it alive. */
    readonly external: boolean,
  ) {
    this.pipelines = new PipelineCache(device);
    this.cpu = adapter.architecture === 'software' || /llvmpipe|lavapipe|swiftshader|warp/i.test(`${adapter.device} ${adapter.description}`);
    device.addEventListener('uncapturederror', (ev) => {
      const msg = (ev as GPUUncapturedErrorEvent).error?.message ?? String(ev);
      this.errors.push(msg);
    });
    device.lost.then((info) => {
      this.lostReason = `${info.reason ?? 'unknown'}${info.message ? ` (${info.message})` : ''}`;
      for (const l of this.lostListeners) l(this.lostReason);
    });
  }

  onLost(listener: (reason: string) => void): () => void {
    this.lostListeners.add(listener);
    return () => this.lostListeners.delete(listener);
  }

  /** Throws DeviceLostError if the device is gone. Call before encoding work. */
  checkAlive(): void {
    if (this.lostReason !== null) throw new DeviceLostError(this.lostReason);
  }

  /** Throws (and clears) WebGPU errors raised since the last check: a bug in our encoding. */
  checkErrors(): void {
    if (this.errors.length === 0) return;
    const msgs = this.errors.splice(0);
    throw new Error(`WebGPU error${msgs.length > 1 ? 's' : ''}: ${msgs.join('\n')}`);
  }

  createBuffer(label: string, size: number, usage: GPUBufferUsageFlags): GPUBuffer {
    this.checkAlive();
    const aligned = Math.max(16, Math.ceil(size / 16) * 16);
    if (aligned > this.limits.maxBufferSize) {
      throw new Error(`buffer "${label}" needs ${aligned} bytes, over this adapter's maxBufferSize ${this.limits.maxBufferSize}`);
    }
    const buffer = this.device.createBuffer({ label, size: aligned, usage });
    this.live.set(buffer, aligned);
    this.bytesAllocated += aligned;
    return buffer;
  }

  /** A storage buffer that kernels read and write, also usable as copy source/destination. */
  storage(label: string, size: number): GPUBuffer {
    return this.createBuffer(label, size, BufferUsage.STORAGE | BufferUsage.COPY_SRC | BufferUsage.COPY_DST);
  }

  /** A storage buffer initialised from `data`. */
  storageFrom(label: string, data: ArrayBufferView): GPUBuffer {
    const buf = this.storage(label, data.byteLength);
    this.upload(buf, data);
    return buf;
  }

  /** A uniform buffer holding `data` (a packed struct; see kernels' uniform layouts). */
  uniform(label: string, data: ArrayBufferView): GPUBuffer {
    const buf = this.createBuffer(label, data.byteLength, BufferUsage.UNIFORM | BufferUsage.COPY_DST);
    this.upload(buf, data);
    return buf;
  }

  destroyBuffer(buffer: GPUBuffer | null | undefined): void {
    if (!buffer) return;
    const size = this.live.get(buffer);
    if (size === undefined) return;
    this.live.delete(buffer);
    this.bytesAllocated -= size;
    buffer.destroy();
  }

  get liveBuffers(): number {
    return this.live.size;
  }

  /** writeBuffer, padding to a multiple of 4 bytes as WebGPU requires. */
  upload(buffer: GPUBuffer, data: ArrayBufferView, byteOffset = 0): void {
    this.checkAlive();
    let bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    if (bytes.byteLength % 4 !== 0) {
      const padded = new Uint8Array(Math.ceil(bytes.byteLength / 4) * 4);
      padded.set(bytes);
      bytes = padded;
    }
    this.device.queue.writeBuffer(buffer, byteOffset, bytes as Uint8Array<ArrayBuffer>);
  }

  /** Copies `size` bytes of `buffer` to the CPU. Resolves after all submitted work is done. */
  async readback(buffer: GPUBuffer, size = buffer.size, byteOffset = 0): Promise<ArrayBuffer> {
    this.checkAlive();
    const staged = Math.ceil(size / 4) * 4;
    const staging = this.createBuffer('readback', staged, BufferUsage.MAP_READ | BufferUsage.COPY_DST);
    try {
      const enc = this.device.createCommandEncoder({ label: 'readback' });
      enc.copyBufferToBuffer(buffer, byteOffset, staging, 0, staged);
      this.device.queue.submit([enc.finish()]);
      await this.mapOrLost(staging);
      this.checkErrors();
      const out = staging.getMappedRange(0, staged).slice(0, size);
      staging.unmap();
      return out;
    } finally {
      this.destroyBuffer(staging);
    }
  }

  async readF32(buffer: GPUBuffer, count: number, elementOffset = 0): Promise<Float32Array> {
    return new Float32Array(await this.readback(buffer, count * 4, elementOffset * 4));
  }

  /** mapAsync that rejects with DeviceLostError instead of hanging when the device goes away. */
  async mapOrLost(buffer: GPUBuffer): Promise<void> {
    let off: () => void = () => {};
    const lost = new Promise<never>((_, reject) => {
      off = this.onLost((r) => reject(new DeviceLostError(r)));
    });
    try {
      await Promise.race([buffer.mapAsync(MapMode.READ), lost]);
    } catch (e) {
      // A destroyed device rejects mapAsync before `device.lost` settles: give it a moment.
      if (this.lostReason === null) await new Promise((r) => setTimeout(r, 50));
      if (this.lostReason !== null) throw new DeviceLostError(this.lostReason);
      throw e;
    } finally {
      off();
    }
  }

  /** Resolves when the queue has finished all submitted work (or rejects on device loss). */
  async sync(): Promise<void> {
    this.checkAlive();
    let off: () => void = () => {};
    const lost = new Promise<never>((_, reject) => {
      off = this.onLost((r) => reject(new DeviceLostError(r)));
    });
    try {
      await Promise.race([this.device.queue.onSubmittedWorkDone(), lost]);
      this.checkErrors();
    } finally {
      off();
    }
  }

  /** Destroys every buffer still alive, and the device unless the caller provided it. */
  destroy(): void {
    for (const b of [...this.live.keys()]) this.destroyBuffer(b);
    this.pipelines.clear();
    if (!this.external) this.device.destroy();
  }
}

/**
 * Gets an adapter and device from `gpu` (navigator.gpu, or `create()` from the `webgpu` package),
 * or wraps `opts.device`. Limits are raised to the adapter's maximum; wanted features are
 * requested when offered.
 */
export async function requestGpu(gpu: GPU | undefined, opts: GpuOptions = {}): Promise<Gpu> {
  if (opts.device) return wrapDevice(opts.device, true, summarize(opts.device.adapterInfo));
  if (!gpu) throw new Error(NO_ADAPTER_HELP);
  const adapterOpts: GPURequestAdapterOptions & { featureLevel?: string } = {};
  if (opts.powerPreference) adapterOpts.powerPreference = opts.powerPreference;
  if (opts.featureLevel) adapterOpts.featureLevel = opts.featureLevel;
  const adapter = await gpu.requestAdapter(adapterOpts);
  if (!adapter) throw new Error(NO_ADAPTER_HELP);
  const requiredFeatures = WANTED_FEATURES.filter((f) => adapter.features.has(f)) as GPUFeatureName[];
  const requiredLimits: Record<string, number> = {};
  for (const name of WANTED_LIMITS) {
    const v = (adapter.limits as unknown as Record<string, number>)[name];
    if (typeof v === 'number') requiredLimits[name] = v;
  }
  const device = await adapter.requestDevice({ label: 'webgpu-embed', requiredFeatures, requiredLimits });
  return wrapDevice(device, false, summarize(adapter.info));
}

function summarize(info: GPUAdapterInfo | undefined): AdapterSummary {
  return {
    vendor: info?.vendor ?? '',
    architecture: info?.architecture ?? '',
    device: info?.device ?? '',
    description: info?.description ?? '',
  };
}

function wrapDevice(device: GPUDevice, external: boolean, adapter: AdapterSummary): Gpu {
  const l = device.limits as unknown as Record<string, number>;
  const limits = {} as GpuLimits;
  for (const name of WANTED_LIMITS) limits[name] = l[name];
  limits.minStorageBufferOffsetAlignment = l.minStorageBufferOffsetAlignment;
  limits.minUniformBufferOffsetAlignment = l.minUniformBufferOffsetAlignment;
  const features: GpuFeatures = {
    f16: device.features.has('shader-f16'),
    subgroups: device.features.has('subgroups'),
    timestamp: device.features.has('timestamp-query'),
  };
  return new Gpu(device, features, limits, adapter, external);
}
