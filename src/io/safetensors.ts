// safetensors reading: header parsing with full validation (every error names the file and
// tensor), sharded checkpoints (model.safetensors.index.json), range reads of single tensors, and
// dtype conversion to float32 / half bits.
//
// Format: u64 little-endian header length N, N bytes of JSON
// `{ name: { dtype, shape, data_offsets: [begin, end] }, "__metadata__": {..} }`, then the data
// section; offsets are relative to the start of the data section (byte 8 + N).

import { ModelFileError } from './errors.js';
import { f16Table32, f32BitsToF16Bits, f32ToF16Bits } from './half.js';
import type { ModelFiles } from './sources.js';

export type DType = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'BOOL' | 'F8_E4M3' | 'F8_E5M2' | 'U16' | 'U32' | 'U64';

/** begin / end are absolute byte offsets in `file`. */
export interface TensorEntry {
  name: string;
  file: string;
  dtype: DType;
  shape: number[];
  begin: number;
  end: number;
}

export const DTYPE_SIZE: Readonly<Record<DType, number>> = {
  F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1, F8_E4M3: 1, F8_E5M2: 1, U16: 2, U32: 4, U64: 8,
};

/** Largest header accepted (the reference implementation's limit is the same 100 MB). */
export const MAX_HEADER_BYTES = 100_000_000;

export const INDEX_FILE = 'model.safetensors.index.json';
export const SINGLE_FILE = 'model.safetensors';

function isDType(s: unknown): s is DType {
  return typeof s === 'string' && Object.prototype.hasOwnProperty.call(DTYPE_SIZE, s);
}

/** Reads and validates the header of one safetensors file. */
export async function readSafetensorsHeader(files: ModelFiles, file: string): Promise<Map<string, TensorEntry>> {
  const where = `${file} in ${files.origin}`;
  const size = await files.size(file);
  if (size < 8) throw new ModelFileError(`${where} is not a safetensors file: ${size} bytes, shorter than the 8-byte header length (truncated download?)`, file);
  const lenBytes = await files.read(file, 0, 8);
  const dv = new DataView(lenBytes.buffer, lenBytes.byteOffset, 8);
  const n = dv.getUint32(0, true) + dv.getUint32(4, true) * 2 ** 32; // exact below 2^53, huge above
  if (n > MAX_HEADER_BYTES) {
    throw new ModelFileError(`${where} declares a ${n}-byte header (more than ${MAX_HEADER_BYTES}); the file is corrupt or not safetensors`, file);
  }
  if (n > size - 8) {
    throw new ModelFileError(`${where} declares a ${n}-byte header but the file has only ${size - 8} bytes after the length (truncated download?)`, file);
  }
  const headerBytes = await files.read(file, 8, 8 + n);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(headerBytes));
  } catch (err) {
    throw new ModelFileError(`${where} has a header that is not valid JSON (${(err as Error).message}); the file is corrupt or not safetensors`, file);
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) {
    throw new ModelFileError(`${where} has a header that is not a JSON object`, file);
  }
  const dataStart = 8 + n;
  const dataLen = size - dataStart;
  const out = new Map<string, TensorEntry>();
  for (const [name, raw] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') continue;
    const bad = (why: string) => new ModelFileError(`${where}: tensor '${name}' ${why}`, file);
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw bad('has an entry that is not an object');
    const { dtype, shape, data_offsets: offs } = raw as Record<string, unknown>;
    if (!isDType(dtype)) throw bad(`has unknown dtype ${JSON.stringify(dtype)} (known: ${Object.keys(DTYPE_SIZE).join(', ')})`);
    if (!Array.isArray(shape) || shape.length > 16 || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw bad(`has an invalid shape ${JSON.stringify(shape)?.slice(0, 80)}`);
    }
    if (!Array.isArray(offs) || offs.length !== 2 || !offs.every((o) => Number.isSafeInteger(o) && o >= 0)) {
      throw bad(`has invalid data_offsets ${JSON.stringify(offs)?.slice(0, 80)}`);
    }
    const [b, e] = offs as [number, number];
    if (b > e) throw bad(`has data_offsets [${b}, ${e}] with begin after end`);
    if (e > dataLen) {
      throw bad(`has data_offsets [${b}, ${e}] past the end of the data section (${dataLen} bytes; truncated download?)`);
    }
    let numel = 1;
    for (const d of shape as number[]) numel *= d;
    if (numel * DTYPE_SIZE[dtype] !== e - b) {
      throw bad(`has shape [${shape.join(', ')}] of ${dtype} (${numel * DTYPE_SIZE[dtype]} bytes) but data_offsets [${b}, ${e}] span ${e - b} bytes`);
    }
    out.set(name, { name, file, dtype, shape: [...(shape as number[])], begin: dataStart + b, end: dataStart + e });
  }
  return out;
}

/**
 * Every tensor of the checkpoint: model.safetensors, or the shards listed by
 * model.safetensors.index.json (each shard header validated; a key mapped to a shard lacking it is an error).
 * `prefix` looks in a subfolder (e.g. '0_Transformer/').
 */
export async function listCheckpointTensors(files: ModelFiles, prefix = ''): Promise<Map<string, TensorEntry>> {
  const single = prefix + SINGLE_FILE;
  const index = prefix + INDEX_FILE;
  if (await files.has(single)) return readSafetensorsHeader(files, single);
  if (!(await files.has(index))) {
    const bin = (await files.has(`${prefix}pytorch_model.bin`))
      ? ` It has ${prefix}pytorch_model.bin, which is not supported: convert it to safetensors (e.g. the Hub's "convert to safetensors" tool or safetensors.torch.save_file).`
      : '';
    throw new ModelFileError(`no weights found in ${files.origin}: looked for ${single} and ${index}.${bin}`, single);
  }
  const idx = await files.json<unknown>(index);
  const map = (idx as { weight_map?: unknown } | null)?.weight_map;
  if (map === null || typeof map !== 'object' || Array.isArray(map)) {
    throw new ModelFileError(`${index} in ${files.origin} has no "weight_map" object`, index);
  }
  const shards = new Map<string, Map<string, TensorEntry>>();
  const out = new Map<string, TensorEntry>();
  for (const [key, shard] of Object.entries(map as Record<string, unknown>)) {
    if (typeof shard !== 'string' || !shard.endsWith('.safetensors')) {
      throw new ModelFileError(`${index} in ${files.origin} maps '${key}' to ${JSON.stringify(shard)}, not a .safetensors file`, index);
    }
    const shardFile = prefix + shard;
    let header = shards.get(shardFile);
    if (!header) {
      header = await readSafetensorsHeader(files, shardFile);
      shards.set(shardFile, header);
    }
    const t = header.get(key);
    if (!t) throw new ModelFileError(`${index} in ${files.origin} maps tensor '${key}' to ${shardFile}, which does not contain it`, shardFile);
    out.set(key, t);
  }
  return out;
}

/** Just the tensor's bytes (a range read). */
export async function readTensor(files: ModelFiles, t: TensorEntry): Promise<Uint8Array> {
  return files.read(t.file, t.begin, t.end);
}

function unsupported(dtype: DType, what: string): ModelFileError {
  return new ModelFileError(`unsupported dtype ${dtype} for tensor ${what} (supported: F32, F16, BF16)`, what);
}

function checkLength(bytes: Uint8Array, dtype: DType, what: string): number {
  const es = DTYPE_SIZE[dtype];
  if (bytes.length % es !== 0) throw new ModelFileError(`tensor ${what}: ${bytes.length} bytes is not a whole number of ${dtype} elements`, what);
  return bytes.length / es;
}

/** A typed view when the offset is aligned, otherwise an aligned copy (safetensors does not promise alignment). */
function view<T>(bytes: Uint8Array, es: number, Ctor: new (b: ArrayBufferLike, o: number, n: number) => T): T {
  const n = bytes.length / es;
  if (bytes.byteOffset % es === 0) return new Ctor(bytes.buffer, bytes.byteOffset, n);
  return new Ctor(bytes.slice().buffer, 0, n);
}

/** F32 / F16 / BF16 / F64 → float32 (little-endian data, as safetensors stores it). */
export function toF32(bytes: Uint8Array, dtype: DType, what: string): Float32Array {
  if (dtype !== 'F32' && dtype !== 'F16' && dtype !== 'BF16' && dtype !== 'F64') throw unsupported(dtype, what);
  const n = checkLength(bytes, dtype, what);
  if (dtype === 'F32') return view(bytes, 4, Float32Array).slice();
  if (dtype === 'F64') return Float32Array.from(view(bytes, 8, Float64Array));
  const src = view(bytes, 2, Uint16Array);
  const out = new Float32Array(n);
  if (dtype === 'F16') {
    const table = f16Table32();
    for (let i = 0; i < n; i++) out[i] = table[src[i]];
  } else {
    const bits = new Uint32Array(out.buffer);
    for (let i = 0; i < n; i++) bits[i] = src[i] << 16;
  }
  return out;
}

/** F32 / F16 / BF16 / F64 → IEEE half bits, rounded to nearest even (F16 is copied as is). */
export function toF16Bits(bytes: Uint8Array, dtype: DType, what: string): Uint16Array {
  if (dtype !== 'F32' && dtype !== 'F16' && dtype !== 'BF16' && dtype !== 'F64') throw unsupported(dtype, what);
  const n = checkLength(bytes, dtype, what);
  if (dtype === 'F16') return view(bytes, 2, Uint16Array).slice();
  const out = new Uint16Array(n);
  if (dtype === 'F32') {
    const src = view(bytes, 4, Uint32Array);
    for (let i = 0; i < n; i++) out[i] = f32BitsToF16Bits(src[i]);
  } else if (dtype === 'BF16') {
    const src = view(bytes, 2, Uint16Array);
    for (let i = 0; i < n; i++) out[i] = f32BitsToF16Bits(src[i] << 16);
  } else {
    const src = view(bytes, 8, Float64Array);
    for (let i = 0; i < n; i++) out[i] = f32ToF16Bits(src[i]); // one rounding, straight from the double
  }
  return out;
}
