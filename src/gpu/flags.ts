// WebGPU's numeric flag constants (fixed by the spec). Node's `webgpu` package does not put
// GPUBufferUsage & co. on globalThis, so the engine uses these instead of the globals.

export const BufferUsage = {
  MAP_READ: 0x1,
  MAP_WRITE: 0x2,
  COPY_SRC: 0x4,
  COPY_DST: 0x8,
  UNIFORM: 0x40,
  STORAGE: 0x80,
  QUERY_RESOLVE: 0x200,
} as const;

export const ShaderStage = { COMPUTE: 0x4 } as const;
export const MapMode = { READ: 0x1, WRITE: 0x2 } as const;
