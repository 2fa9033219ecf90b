// torch.save files (PyTorch ≥ 1.6 zip format): a small zip reader (central directory, STORED
// entries, ZIP64, CRC-checked) and readTorchStateDict, which unpickles <archive>/data.pkl with a
// weights-only allow-list and gathers each tensor from <archive>/data/<key>, widened to float32.

import { ModelFileError } from './errors.js';
import { bf16BitsToF32, f16Table32 } from './half.js';
import { PyDict, describe, unpickle, type PyGlobal } from './pickle.js';

export interface ZipEntry {
  name: string;
  method: number;
  flags: number;
  compressedSize: number;
  size: number;
  crc32: number;
  localOffset: number;
}

const SIG_EOCD = 0x06054b50;
const SIG_EOCD64 = 0x06064b50;
const SIG_LOC64 = 0x07064b50;
const SIG_CEN = 0x02014b50;
const SIG_LOC = 0x04034b50;

/** Reads the central directory (ZIP64 aware). */
export function readZipDirectory(bytes: Uint8Array, file: string): Map<string, ZipEntry> {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = bytes.length;
  const bad = (why: string): never => {
    throw new ModelFileError(`${file} is not a valid zip archive (${why}); torch.save files are zip archives`, file);
  };
  const u64 = (at: number) => dv.getUint32(at, true) + dv.getUint32(at + 4, true) * 2 ** 32;
  let eocd = -1;
  for (let i = n - 22; i >= Math.max(0, n - 22 - 65535); i--) {
    if (dv.getUint32(i, true) === SIG_EOCD && i + 22 + dv.getUint16(i + 20, true) <= n) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) bad('no end-of-central-directory record; truncated download?');
  let count = dv.getUint16(eocd + 10, true);
  let cdSize = dv.getUint32(eocd + 12, true);
  let cdOffset = dv.getUint32(eocd + 16, true);
  if (eocd >= 20 && dv.getUint32(eocd - 20, true) === SIG_LOC64) {
    const at = u64(eocd - 20 + 8);
    if (at > n - 56 || dv.getUint32(at, true) !== SIG_EOCD64) bad('broken ZIP64 end-of-central-directory record');
    count = u64(at + 32);
    cdSize = u64(at + 40);
    cdOffset = u64(at + 48);
  }
  if (cdOffset > n || cdSize > n - cdOffset || count > cdSize / 46) bad('central directory out of range');
  const out = new Map<string, ZipEntry>();
  const names = new TextDecoder('utf-8');
  let p = cdOffset;
  for (let k = 0; k < count; k++) {
    if (p + 46 > cdOffset + cdSize || dv.getUint32(p, true) !== SIG_CEN) bad(`central directory entry ${k} is damaged`);
    const flags = dv.getUint16(p + 8, true);
    const method = dv.getUint16(p + 10, true);
    const crc32 = dv.getUint32(p + 16, true);
    let compressedSize = dv.getUint32(p + 20, true);
    let size = dv.getUint32(p + 24, true);
    const nameLen = dv.getUint16(p + 28, true);
    const extraLen = dv.getUint16(p + 30, true);
    const commentLen = dv.getUint16(p + 32, true);
    let localOffset = dv.getUint32(p + 42, true);
    const end = p + 46 + nameLen + extraLen + commentLen;
    if (end > cdOffset + cdSize) bad(`central directory entry ${k} is damaged`);
    const name = names.decode(bytes.subarray(p + 46, p + 46 + nameLen));
    // ZIP64 extended information: 8-byte values for whichever 32-bit fields are 0xffffffff.
    for (let e = p + 46 + nameLen; e + 4 <= p + 46 + nameLen + extraLen; ) {
      const id = dv.getUint16(e, true);
      const len = dv.getUint16(e + 2, true);
      if (e + 4 + len > p + 46 + nameLen + extraLen) bad(`extra field of ${name} is damaged`);
      if (id === 1) {
        let q = e + 4;
        const next = () => {
          if (q + 8 > e + 4 + len) bad(`ZIP64 field of ${name} is too short`);
          q += 8;
          return u64(q - 8);
        };
        if (size === 0xffffffff) size = next();
        if (compressedSize === 0xffffffff) compressedSize = next();
        if (localOffset === 0xffffffff) localOffset = next();
      }
      e += 4 + len;
    }
    out.set(name, { name, method, flags, compressedSize, size, crc32, localOffset });
    p = end;
  }
  return out;
}

let crcTable: Int32Array | null = null;
function crc32(b: Uint8Array): number {
  if (!crcTable) {
    crcTable = new Int32Array(256);
    for (let i = 0; i < 256; i++) {
      let c = i;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[i] = c;
    }
  }
  let c = -1;
  for (let i = 0; i < b.length; i++) c = crcTable[(c ^ b[i]) & 0xff] ^ (c >>> 8);
  return (c ^ -1) >>> 0;
}

/** The bytes of one STORED entry (a view into `bytes`), CRC-checked. */
export function zipEntryData(bytes: Uint8Array, e: ZipEntry, file: string): Uint8Array {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (e.flags & 1) throw new ModelFileError(`${file}: zip entry ${e.name} is encrypted`, file);
  if (e.method !== 0) {
    throw new ModelFileError(
      `${file}: zip entry ${e.name} is a compressed entry (method ${e.method}), which is not supported; torch.save writes uncompressed (stored) entries, so re-save the file with torch.save`,
      file,
    );
  }
  const at = e.localOffset;
  if (at > bytes.length - 30 || dv.getUint32(at, true) !== SIG_LOC) {
    throw new ModelFileError(`${file}: local header of zip entry ${e.name} is missing (truncated or damaged file)`, file);
  }
  const start = at + 30 + dv.getUint16(at + 26, true) + dv.getUint16(at + 28, true);
  if (e.size !== e.compressedSize || start > bytes.length || e.size > bytes.length - start) {
    throw new ModelFileError(`${file}: zip entry ${e.name} runs past the end of the file (truncated download?)`, file);
  }
  const data = bytes.subarray(start, start + e.size);
  if (crc32(data) !== e.crc32) throw new ModelFileError(`${file}: zip entry ${e.name} fails its CRC check (damaged file)`, file);
  return data;
}

// ---------------------------------------------------------------------------------------------
// torch state dicts

export interface TorchTensor {
  dtype: 'F32' | 'F16' | 'BF16';
  shape: number[];
  data: Float32Array;
}

const STORAGES: Record<string, { dtype: string; elsize: number }> = {
  FloatStorage: { dtype: 'F32', elsize: 4 },
  HalfStorage: { dtype: 'F16', elsize: 2 },
  BFloat16Storage: { dtype: 'BF16', elsize: 2 },
  DoubleStorage: { dtype: 'F64', elsize: 8 },
  LongStorage: { dtype: 'I64', elsize: 8 },
  IntStorage: { dtype: 'I32', elsize: 4 },
  ShortStorage: { dtype: 'I16', elsize: 2 },
  CharStorage: { dtype: 'I8', elsize: 1 },
  ByteStorage: { dtype: 'U8', elsize: 1 },
  BoolStorage: { dtype: 'BOOL', elsize: 1 },
};

interface StorageRef { kind: 'storage'; type: string; dtype: string; elsize: number; key: string; numel: number }
interface TensorRef { kind: 'tensor'; storage: StorageRef; offset: number; shape: number[]; stride: number[] }

const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

function torchGlobals(file: string, what: string): Map<string, PyGlobal> {
  const err = (at: number, why: string) => new ModelFileError(`${what}: ${why} (pickle byte ${at})`, file);
  const asTensor = (v: unknown, at: number): TensorRef => {
    if ((v as TensorRef)?.kind !== 'tensor') throw err(at, `expected a tensor, got ${describe(v)}`);
    return v as TensorRef;
  };
  const g = new Map<string, PyGlobal>();
  const add = (module: string, name: string, call?: PyGlobal['call']) => g.set(`${module} ${name}`, { kind: 'global', module, name, call });
  add('collections', 'OrderedDict', (args, at) => {
    const d = new PyDict('OrderedDict');
    if (args.length > 1) throw err(at, 'OrderedDict takes at most one argument');
    if (args.length === 1) {
      if (!Array.isArray(args[0])) throw err(at, `OrderedDict argument is ${describe(args[0])}`);
      for (const pair of args[0]) {
        if (!Array.isArray(pair) || pair.length !== 2) throw err(at, 'OrderedDict items must be pairs');
        d.map.set(pair[0], pair[1]);
      }
    }
    return d;
  });
  add('torch._utils', '_rebuild_tensor_v2', (args, at): TensorRef => {
    const [storage, offset, size, stride] = args;
    if (args.length < 4 || args.length > 7) throw err(at, `_rebuild_tensor_v2 takes 4 to 7 arguments, got ${args.length}`);
    if ((storage as StorageRef)?.kind !== 'storage') throw err(at, `tensor storage is ${describe(storage)}`);
    if (!isInt(offset)) throw err(at, `storage offset is ${describe(offset)}`);
    if (!Array.isArray(size) || size.length > 16 || !size.every(isInt)) throw err(at, `tensor size is ${describe(size)}`);
    if (!Array.isArray(stride) || stride.length !== size.length || !stride.every(isInt)) throw err(at, `tensor stride is ${describe(stride)}`);
    return { kind: 'tensor', storage: storage as StorageRef, offset, shape: [...size], stride: [...stride] };
  });
  add('torch._utils', '_rebuild_parameter', (args, at) => asTensor(args[0], at));
  add('torch._utils', '_rebuild_parameter_with_state', (args, at) => asTensor(args[0], at));
  for (const s of Object.keys(STORAGES)) add('torch', s);
  return g;
}

/**
 * Reads a torch.save'd state dict (e.g. BGE-M3's colbert_linear.pt). Refuses any pickle global
 * outside the weights-only allow-list. Tensors are widened to float32; storage offsets and strides
 * are honoured (non-contiguous tensors are materialized).
 */
export function readTorchStateDict(bytes: Uint8Array, file: string): Map<string, TorchTensor> {
  if (bytes.length < 4 || bytes[0] !== 0x50 || bytes[1] !== 0x4b) {
    throw new ModelFileError(
      `${file} is not a zip-format torch.save file; files from torch older than 1.6 (or torch.save(..., _use_new_zipfile_serialization=False)) are not supported: re-save it with a recent torch`,
      file,
    );
  }
  const dir = readZipDirectory(bytes, file);
  const pkl = [...dir.keys()].find((k) => k === 'data.pkl' || k.endsWith('/data.pkl'));
  if (pkl === undefined) throw new ModelFileError(`${file} has no data.pkl: not a torch.save archive`, file);
  const prefix = pkl.slice(0, -'data.pkl'.length);
  const entry = (name: string) => dir.get(prefix + name);
  let bigEndian = false;
  const bo = entry('byteorder');
  if (bo) {
    const s = new TextDecoder().decode(zipEntryData(bytes, bo, file)).trim();
    if (s !== 'little' && s !== 'big') throw new ModelFileError(`${file}: unknown byteorder ${describe(s)}`, file);
    bigEndian = s === 'big';
  }
  const what = `${file} (${pkl})`;
  const globals = torchGlobals(file, what);
  const root = unpickle(zipEntryData(bytes, dir.get(pkl)!, file), file, {
    globals,
    what,
    persistentLoad(pid, at): StorageRef {
      const bad = (why: string) => new ModelFileError(`${what}: bad persistent id at pickle byte ${at}: ${why}`, file);
      if (!Array.isArray(pid) || pid.length !== 5 || pid[0] !== 'storage') throw bad(`${describe(pid)} is not ('storage', type, key, location, numel)`);
      const [, type, key, , numel] = pid as unknown[];
      const t = type as PyGlobal;
      if (t?.kind !== 'global' || t.module !== 'torch' || !STORAGES[t.name]) throw bad(`storage type ${describe(type)}`);
      if (typeof key !== 'string' || !/^[\w.-]{1,64}$/.test(key)) throw bad(`storage key ${describe(key)}`);
      if (!isInt(numel)) throw bad(`storage size ${describe(numel)}`);
      return { kind: 'storage', type: t.name, ...STORAGES[t.name], key, numel };
    },
  });
  if (!(root instanceof PyDict)) throw new ModelFileError(`${file} holds ${describe(root)}, not a state dict (a dict of tensors)`, file);

  const storages = new Map<string, Uint8Array>();
  const out = new Map<string, TorchTensor>();
  for (const [name, value] of root.map) {
    if (typeof name !== 'string') throw new ModelFileError(`${file}: state dict key ${describe(name)} is not a string`, file);
    const t = value as TensorRef;
    if (t?.kind !== 'tensor') throw new ModelFileError(`${file}: state dict entry '${name}' is ${describe(value)}, not a tensor`, file);
    out.set(name, materialize(bytes, file, name, t, storages, entry, bigEndian));
  }
  return out;
}

function materialize(
  bytes: Uint8Array,
  file: string,
  name: string,
  t: TensorRef,
  storages: Map<string, Uint8Array>,
  entry: (n: string) => ZipEntry | undefined,
  bigEndian: boolean,
): TorchTensor {
  const s = t.storage;
  if (s.dtype !== 'F32' && s.dtype !== 'F16' && s.dtype !== 'BF16') {
    throw new ModelFileError(`${file}: tensor '${name}' has unsupported storage torch.${s.type} (supported: FloatStorage, HalfStorage, BFloat16Storage)`, file);
  }
  let raw = storages.get(s.key);
  if (!raw) {
    const e = entry(`data/${s.key}`);
    if (!e && s.numel === 0) raw = new Uint8Array(0);
    else if (!e) throw new ModelFileError(`${file}: storage data/${s.key} of tensor '${name}' is missing from the archive`, file);
    else raw = zipEntryData(bytes, e, file);
    storages.set(s.key, raw);
  }
  if (raw.length < s.numel * s.elsize) {
    throw new ModelFileError(`${file}: storage data/${s.key} holds ${raw.length} bytes, less than its ${s.numel} ${s.dtype} elements`, file);
  }
  let numel = 1;
  for (const d of t.shape) numel *= d;
  let last = t.offset;
  for (let i = 0; i < t.shape.length; i++) last += (t.shape[i] - 1) * t.stride[i];
  if (numel > 0 && (numel > s.numel || last >= s.numel)) {
    throw new ModelFileError(
      `${file}: tensor '${name}' (shape [${t.shape.join(', ')}], stride [${t.stride.join(', ')}], offset ${t.offset}) reaches past its storage of ${s.numel} elements`,
      file,
    );
  }
  const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const le = !bigEndian;
  const table = s.dtype === 'F16' ? f16Table32() : null;
  const at = (i: number): number =>
    s.dtype === 'F32' ? dv.getFloat32(i * 4, le) : s.dtype === 'F16' ? table![dv.getUint16(i * 2, le)] : bf16BitsToF32(dv.getUint16(i * 2, le));
  const data = new Float32Array(numel);
  const nd = t.shape.length;
  const idx = new Array<number>(nd).fill(0);
  let src = t.offset;
  for (let k = 0; k < numel; k++) {
    data[k] = at(src);
    for (let d = nd - 1; d >= 0; d--) {
      if (++idx[d] < t.shape[d]) {
        src += t.stride[d];
        break;
      }
      src -= (t.shape[d] - 1) * t.stride[d];
      idx[d] = 0;
    }
  }
  return { dtype: s.dtype, shape: t.shape, data };
}
