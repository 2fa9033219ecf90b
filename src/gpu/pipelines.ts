// Compute pipelines with readable cache keys (`matmul|TM=64,TN=64,bias=1,act=gelu_erf`),
// explicit bind-group layouts, the one helper that specialises WGSL text where `override`
// cannot (element types), and `KernelCall`: a recorded dispatch that a forward pass replays.

import { ShaderStage } from './flags.js';
import { SHADERS } from './shaders.gen.js';

/** Binding kinds in binding order (group 0): uniform, read-only storage, read-write storage. */
export type BindingKind = 'uniform' | 'read' | 'write';

export interface PipelineSpec {
  /** Readable cache key; also labels benchmark rows. */
  key: string;
  /** Shader file name in shaders/ without `.wgsl`. */
  shader: string;
  entryPoint?: string;
  /** Values for the shader's `override` constants. */
  constants?: Record<string, number>;
  bindings: BindingKind[];
  /** Element types for the shader's `alias NAME = f32;` lines (see specializeShader). */
  types?: Record<string, 'f32' | 'f16'>;
}

export interface Pipeline {
  key: string;
  pipeline: GPUComputePipeline;
  layout: GPUBindGroupLayout;
}

/**
 * The one place WGSL text is generated: `override` cannot change types, so a shader declares
 * `alias WT = f32;` and this rewrites it to f16 (adding `enable f16;`) when asked.
 */
export function specializeShader(name: string, types: Record<string, 'f32' | 'f16'> = {}): string {
  let code = SHADERS[name];
  if (code === undefined) throw new Error(`unknown shader "${name}" (have: ${Object.keys(SHADERS).join(', ')})`);
  let needsF16 = false;
  for (const [alias, ty] of Object.entries(types)) {
    const re = new RegExp(`alias\\s+${alias}\\s*=\\s*f32\\s*;`);
    if (!re.test(code)) throw new Error(`shader "${name}" has no "alias ${alias} = f32;" to specialise`);
    code = code.replace(re, `alias ${alias} = ${ty};`);
    if (ty === 'f16') needsF16 = true;
  }
  return needsF16 ? `enable f16;\n${code}` : code;
}

export class PipelineCache {
  private cache = new Map<string, Pipeline>();
  constructor(private device: GPUDevice) {}

  get(spec: PipelineSpec): Pipeline {
    const hit = this.cache.get(spec.key);
    if (hit) return hit;
    const code = specializeShader(spec.shader, spec.types);
    const module = this.device.createShaderModule({ label: spec.key, code });
    const layout = this.device.createBindGroupLayout({
      label: spec.key,
      entries: spec.bindings.map((kind, binding) => ({
        binding,
        visibility: ShaderStage.COMPUTE,
        buffer: { type: kind === 'uniform' ? 'uniform' : kind === 'read' ? 'read-only-storage' : 'storage' },
      })),
    });
    const pipeline = this.device.createComputePipeline({
      label: spec.key,
      layout: this.device.createPipelineLayout({ label: spec.key, bindGroupLayouts: [layout] }),
      compute: { module, entryPoint: spec.entryPoint ?? 'main', constants: spec.constants },
    });
    const entry = { key: spec.key, pipeline, layout };
    this.cache.set(spec.key, entry);
    return entry;
  }

  keys(): string[] {
    return [...this.cache.keys()];
  }

  clear(): void {
    this.cache.clear();
  }
}

/** A buffer or a byte range of one, as bound to a shader. */
export type BufferBinding = GPUBuffer | { buffer: GPUBuffer; offset?: number; size?: number };

/** One recorded dispatch: replayed as-is by every forward with the same batch shape. */
export interface KernelCall {
  key: string;
  pipeline: GPUComputePipeline;
  bindGroup: GPUBindGroup;
  workgroups: [number, number, number];
  /** Buffers created for this call alone (its uniforms), destroyed by releaseCalls. */
  owned: GPUBuffer[];
}

function isGPUBuffer(b: BufferBinding): b is GPUBuffer {
  return typeof (b as GPUBuffer).mapState === 'string';
}

export function makeCall(
  device: GPUDevice,
  p: Pipeline,
  buffers: BufferBinding[],
  workgroups: [number, number, number],
  owned: GPUBuffer[] = [],
): KernelCall {
  const bindGroup = device.createBindGroup({
    label: p.key,
    layout: p.layout,
    entries: buffers.map((b, binding) => ({
      binding,
      resource: isGPUBuffer(b) ? { buffer: b } : { buffer: b.buffer, offset: b.offset ?? 0, size: b.size },
    })),
  });
  return { key: p.key, pipeline: p.pipeline, bindGroup, workgroups, owned };
}

/** Records `calls` in order into one compute pass of `encoder`. */
export function encodeCalls(encoder: GPUCommandEncoder, calls: KernelCall[], label = 'forward'): void {
  const pass = encoder.beginComputePass({ label });
  for (const c of calls) {
    if (c.workgroups[0] === 0 || c.workgroups[1] === 0 || c.workgroups[2] === 0) continue;
    pass.setPipeline(c.pipeline);
    pass.setBindGroup(0, c.bindGroup);
    pass.dispatchWorkgroups(c.workgroups[0], c.workgroups[1], c.workgroups[2]);
  }
  pass.end();
}

/**
 * Splits `count` workgroups over x and y so neither exceeds `maxPerDim` (65535 by default).
 * Shaders recover the flat index as `wg.x + wg.y * num_workgroups.x` and skip overshoot.
 */
export function grid2D(count: number, maxPerDim = 65535): [number, number, number] {
  if (count <= maxPerDim) return [Math.max(count, 0), 1, 1];
  const y = Math.ceil(count / maxPerDim);
  return [Math.ceil(count / y), y, 1];
}

/** Packs numbers into a uniform struct: `u32`/`i32`/`f32` fields in declaration order, 16-byte padded. */
export function packUniform(fields: Array<['u32' | 'i32' | 'f32', number]>): Uint8Array {
  const bytes = new ArrayBuffer(Math.max(16, Math.ceil((fields.length * 4) / 16) * 16));
  const view = new DataView(bytes);
  fields.forEach(([ty, v], i) => {
    if (ty === 'f32') view.setFloat32(i * 4, v, true);
    else if (ty === 'i32') view.setInt32(i * 4, v, true);
    else view.setUint32(i * 4, v >>> 0, true);
  });
  return new Uint8Array(bytes);
}
