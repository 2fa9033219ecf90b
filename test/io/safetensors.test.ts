// safetensors: the fixtures' headers (names, dtypes, shapes, absolute offsets), values checked
// against numpy, F16/BF16/F64 conversion, a sharded checkpoint built in a temp folder, and every
// malformed-file error with its message (hostile fixtures included).

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ModelFileError } from '../../src/io/errors.js';
import { f16BitsToF32 } from '../../src/io/half.js';
import { listCheckpointTensors, readSafetensorsHeader, readTensor, toF16Bits, toF32, type TensorEntry } from '../../src/io/safetensors.js';
import { mapFiles, type ModelFiles } from '../../src/io/sources.js';
import { folderFiles } from '../../src/io/sources.node.js';

const FIX = join(import.meta.dirname, '../fixtures');
const tmp = mkdtempSync(join(tmpdir(), 'webgpu-embed-st-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** A safetensors file from a header object and the data section. */
function safetensors(header: unknown, data: Uint8Array = new Uint8Array(0)): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

/** Runs `fn`, expecting a ModelFileError; returns its message. */
async function errorOf(fn: () => unknown): Promise<string> {
  try {
    await fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ModelFileError);
    expect((err as Error).name).toBe('ModelFileError');
    return (err as Error).message;
  }
  throw new Error('expected a ModelFileError');
}

const one = (bytes: Uint8Array, name = 'x.safetensors') => readSafetensorsHeader(mapFiles({ [name]: bytes }, 'memory'), name);

describe('fixture headers', () => {
  it('bert-mean: 40 tensors, F32 plus a stale I64 position_ids, absolute offsets', async () => {
    const files = folderFiles(join(FIX, 'bert-mean'));
    const t = await listCheckpointTensors(files);
    expect(t.size).toBe(40);
    expect(t.has('__metadata__')).toBe(false);
    const pos = t.get('embeddings.position_ids')!;
    expect(pos).toEqual({ name: 'embeddings.position_ids', file: 'model.safetensors', dtype: 'I64', shape: [1, 128], begin: 8 + 4112 + 33280, end: 8 + 4112 + 34304 });
    const ids = new BigInt64Array((await readTensor(files, pos)).slice().buffer);
    expect([...ids].map(Number)).toEqual([...Array(128).keys()]);
    expect(t.get('embeddings.word_embeddings.weight')).toMatchObject({ dtype: 'F32', shape: [222, 64] });
    expect(t.get('encoder.layer.1.intermediate.dense.weight')).toMatchObject({ dtype: 'F32', shape: [256, 64] });
    const w = t.get('encoder.layer.1.output.dense.weight')!;
    expect(w.shape).toEqual([64, 256]);
    const v = toF32(await readTensor(files, w), w.dtype, w.name);
    // values read with numpy from the same file
    expect([v[0], v[1], v[2], v[v.length - 1]]).toEqual([0.10270769894123077, -0.0439230240881443, 0.029015397652983665, -0.04495198652148247]);
    // numpy sums pairwise, this sums in order: both in float64, so they agree to ~1e-14
    expect(v.reduce((a, b) => a + b, 0)).toBeCloseTo(7.116864776760849, 10);
    expect(await errorOf(() => toF32(new Uint8Array(1024), 'I64', pos.name))).toBe(
      'unsupported dtype I64 for tensor embeddings.position_ids (supported: F32, F16, BF16)',
    );
  });

  it('bert-cls-f16: 55 F16 tensors under a bert. prefix, decoded exactly', async () => {
    const files = folderFiles(join(FIX, 'bert-cls-f16'));
    const t = await listCheckpointTensors(files);
    expect(t.size).toBe(55);
    expect([...t.keys()].every((k) => k.startsWith('bert.'))).toBe(true);
    expect([...t.values()].every((e) => e.dtype === 'F16')).toBe(true);
    expect(t.get('bert.embeddings.position_embeddings.weight')).toMatchObject({ shape: [64, 60], begin: 8 + 5944 + 240, end: 8 + 5944 + 7920 });
    const word = t.get('bert.embeddings.word_embeddings.weight')!;
    const bytes = await readTensor(files, word);
    const v = toF32(bytes, 'F16', word.name);
    expect(v.length).toBe(222 * 60);
    expect([...v.subarray(0, 4)]).toEqual([0.05670166015625, -0.1568603515625, -0.1239013671875, -0.732421875]); // numpy float16
    expect(v.reduce((a, b) => a + b, 0)).toBeCloseTo(40.34371364116669, 10); // numpy float64 sum (pairwise)
    // F16 → F16 bits is the identity, and decoding each bit pattern matches the bulk decode
    const bits = toF16Bits(bytes, 'F16', word.name);
    expect(bits[0]).toBe(0x2b42);
    for (let i = 0; i < bits.length; i++) if (f16BitsToF32(bits[i]) !== v[i]) throw new Error(`element ${i}`);
    const pool = t.get('bert.pooler.dense.weight')!;
    const pv = toF32(await readTensor(files, pool), 'F16', pool.name);
    expect(pv[pv.length - 1]).toBe(-0.09521484375);
    expect(pv.reduce((a, b) => a + b, 0)).toBeCloseTo(-0.4367979168891907, 10);
  });

  it('bge-m3-tiny: 39 F32 tensors, 130 positions, one token type', async () => {
    const t = await listCheckpointTensors(folderFiles(join(FIX, 'bge-m3-tiny')));
    expect(t.size).toBe(39);
    expect(t.get('embeddings.position_embeddings.weight')).toMatchObject({ dtype: 'F32', shape: [130, 64] });
    expect(t.get('embeddings.token_type_embeddings.weight')).toMatchObject({ dtype: 'F32', shape: [1, 64] });
    expect(t.get('pooler.dense.weight')).toMatchObject({ dtype: 'F32', shape: [64, 64] });
  });
});

describe('dtype conversion', () => {
  it('BF16, F64 and F32 (at an unaligned byte offset) to float32 and to half bits', () => {
    const vals = [1, -2, 0.1, 65504, 1e-6, 3.14159];
    const f32 = new Float32Array(vals);
    const raw = new Uint8Array(1 + f32.byteLength);
    raw.set(new Uint8Array(f32.buffer), 1);
    const unaligned = raw.subarray(1);
    expect([...toF32(unaligned, 'F32', 'u')]).toEqual([...f32]);
    expect([...toF16Bits(unaligned, 'F32', 'u')]).toEqual([0x3c00, 0xc000, 0x2e66, 0x7bff, 0x0011, 0x4248]);
    const bf = new Uint16Array([0x3f80, 0xc000, 0x3dcd, 0x4049]);
    const bfBytes = new Uint8Array(1 + 8);
    bfBytes.set(new Uint8Array(bf.buffer), 1);
    expect([...toF32(bfBytes.subarray(1), 'BF16', 'b')]).toEqual([1, -2, 0.10009765625, 3.140625]);
    expect([...toF16Bits(bfBytes.subarray(1), 'BF16', 'b')]).toEqual([0x3c00, 0xc000, 0x2e68, 0x4248]);
    const f64 = new Float64Array([0.1, -1 / 3, 2 ** -24 * 1.5000001]);
    expect([...toF32(new Uint8Array(f64.buffer), 'F64', 'd')]).toEqual([...new Float32Array(f64)]);
    // one rounding straight from the double: 1.5000001·2^-24 is just above the tie, so it rounds up to 2 ulps
    expect([...toF16Bits(new Uint8Array(f64.buffer), 'F64', 'd')]).toEqual([0x2e66, 0xb555, 0x0002]);
  });

  it('refuses other dtypes and ragged byte counts', async () => {
    expect(await errorOf(() => toF16Bits(new Uint8Array(4), 'I32', 'enc.ids'))).toBe('unsupported dtype I32 for tensor enc.ids (supported: F32, F16, BF16)');
    expect(await errorOf(() => toF32(new Uint8Array(4), 'F8_E4M3', 'w'))).toContain('unsupported dtype F8_E4M3 for tensor w');
    expect(await errorOf(() => toF32(new Uint8Array(6), 'F32', 'w'))).toContain('6 bytes is not a whole number of F32 elements');
  });
});

describe('sharded checkpoints', () => {
  const src = readFileSync(join(FIX, 'bert-mean/model.safetensors'));
  const headerLen = Number(src.readBigUInt64LE(0));
  const header = JSON.parse(src.subarray(8, 8 + headerLen).toString('utf8')) as Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
  const names = Object.keys(header).filter((k) => k !== '__metadata__');
  const bytesOf = (k: string) => src.subarray(8 + headerLen + header[k].data_offsets[0], 8 + headerLen + header[k].data_offsets[1]);

  function shard(keys: string[]): Uint8Array {
    const h: Record<string, unknown> = { __metadata__: { format: 'pt' } };
    const parts: Uint8Array[] = [];
    let off = 0;
    for (const k of keys) {
      const b = bytesOf(k);
      h[k] = { dtype: header[k].dtype, shape: header[k].shape, data_offsets: [off, off + b.length] };
      parts.push(b);
      off += b.length;
    }
    return safetensors(h, Buffer.concat(parts));
  }

  it('lists the same tensors as the single file, with bytes read from the right shard', async () => {
    const dir = join(tmp, 'sharded');
    rmSync(dir, { recursive: true, force: true });
    const { mkdirSync } = await import('node:fs');
    mkdirSync(dir);
    const a = names.slice(0, 17);
    const b = names.slice(17);
    writeFileSync(join(dir, 'model-00001-of-00002.safetensors'), shard(a));
    writeFileSync(join(dir, 'model-00002-of-00002.safetensors'), shard(b));
    const weight_map = Object.fromEntries([...a.map((k) => [k, 'model-00001-of-00002.safetensors']), ...b.map((k) => [k, 'model-00002-of-00002.safetensors'])]);
    writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify({ metadata: { total_size: 0 }, weight_map }));
    const files = folderFiles(dir);
    const t = await listCheckpointTensors(files);
    const single = await listCheckpointTensors(folderFiles(join(FIX, 'bert-mean')));
    expect([...t.keys()].sort()).toEqual([...single.keys()].sort());
    for (const [k, e] of t) {
      expect({ dtype: e.dtype, shape: e.shape }).toEqual({ dtype: single.get(k)!.dtype, shape: single.get(k)!.shape });
      expect(e.file).toBe(weight_map[k]);
      expect(Buffer.from(await readTensor(files, e)).equals(bytesOf(k))).toBe(true);
    }

    // a key mapped to a shard that lacks it
    const wrong = { ...weight_map, [a[0]]: 'model-00002-of-00002.safetensors' };
    const bad = mapFiles({ 'model.safetensors.index.json': new TextEncoder().encode(JSON.stringify({ weight_map: wrong })), 'model-00001-of-00002.safetensors': shard(a), 'model-00002-of-00002.safetensors': shard(b) }, 'picked');
    expect(await errorOf(() => listCheckpointTensors(bad))).toBe(
      `model.safetensors.index.json in picked maps tensor '${a[0]}' to model-00002-of-00002.safetensors, which does not contain it`,
    );
  });

  it('refuses an index without weight_map, a missing shard, and shard names outside the folder', async () => {
    const idx = (v: unknown, extra: Record<string, Uint8Array> = {}) => mapFiles({ 'model.safetensors.index.json': new TextEncoder().encode(JSON.stringify(v)), ...extra }, 'picked');
    expect(await errorOf(() => listCheckpointTensors(idx({ metadata: {} })))).toBe('model.safetensors.index.json in picked has no "weight_map" object');
    expect(await errorOf(() => listCheckpointTensors(idx({ weight_map: { w: 'model-1.safetensors' } })))).toMatch(/^model file model-1\.safetensors not found in picked/);
    expect(await errorOf(() => listCheckpointTensors(idx({ weight_map: { w: '../../etc/passwd.safetensors' } })))).toContain('names must be relative paths inside the model folder');
    expect(await errorOf(() => listCheckpointTensors(idx({ weight_map: { w: 7 } })))).toContain("maps 'w' to 7, not a .safetensors file");
  });

  it('with neither file, says which files were looked for', async () => {
    expect(await errorOf(() => listCheckpointTensors(mapFiles({ 'config.json': new Uint8Array(2) }, 'picked'))))
      .toBe('no weights found in picked: looked for model.safetensors and model.safetensors.index.json.');
    expect(await errorOf(() => listCheckpointTensors(mapFiles({ 'pytorch_model.bin': new Uint8Array(2) }, 'picked')))).toContain('It has pytorch_model.bin, which is not supported: convert it to safetensors');
  });
});

describe('malformed and hostile files', () => {
  it('truncated.safetensors: tensors past the end of the data section', async () => {
    const files = folderFiles(join(FIX, 'hostile'));
    const msg = await errorOf(() => readSafetensorsHeader(files, 'truncated.safetensors'));
    expect(msg).toMatch(/^truncated\.safetensors in .*hostile: tensor 'encoder\.layer\.0\.[a-zA-Z.]+' has data_offsets \[\d+, \d+\] past the end of the data section \(252020 bytes; truncated download\?\)$/);
  });

  it('bad_offsets.safetensors: an end offset 10 MB past the end', async () => {
    const msg = await errorOf(() => readSafetensorsHeader(folderFiles(join(FIX, 'hostile')), 'bad_offsets.safetensors'));
    expect(msg).toMatch(/bad_offsets\.safetensors in .*: tensor '[\w.]+' has data_offsets \[\d+, \d+\] past the end of the data section/);
  });

  it('huge_header.safetensors: a 2^40-byte header is refused after reading only the 8-byte length', async () => {
    const inner = folderFiles(join(FIX, 'hostile'));
    const reads: [number | undefined, number | undefined][] = [];
    const spy: ModelFiles = { ...inner, read: (n, s, e) => (reads.push([s, e]), inner.read(n, s, e)) };
    const msg = await errorOf(() => readSafetensorsHeader(spy, 'huge_header.safetensors'));
    expect(msg).toMatch(/^huge_header\.safetensors in .*hostile declares a 1099511627776-byte header \(more than 100000000\); the file is corrupt or not safetensors$/);
    expect(reads).toEqual([[0, 8]]);
  });

  it('names the file and tensor for every header problem', async () => {
    const h = (entry: unknown, data = new Uint8Array(8)) => one(safetensors({ w: entry }, data));
    expect(await errorOf(() => one(new Uint8Array(5)))).toBe('x.safetensors in memory is not a safetensors file: 5 bytes, shorter than the 8-byte header length (truncated download?)');
    expect(await errorOf(() => one(safetensors({}).subarray(0, 9)))).toBe('x.safetensors in memory declares a 2-byte header but the file has only 1 bytes after the length (truncated download?)');
    const notJson = safetensors({});
    notJson[8] = 0x5b; // '[' … '}'
    expect(await errorOf(() => one(notJson))).toMatch(/^x\.safetensors in memory has a header that is not valid JSON/);
    expect(await errorOf(() => one(safetensors([1, 2])))).toBe('x.safetensors in memory has a header that is not a JSON object');
    expect(await errorOf(() => h({ dtype: 'F4', shape: [2], data_offsets: [0, 8] }))).toBe(
      "x.safetensors in memory: tensor 'w' has unknown dtype \"F4\" (known: F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL, F8_E4M3, F8_E5M2, U16, U32, U64)",
    );
    expect(await errorOf(() => h({ dtype: 'F32', shape: [2.5], data_offsets: [0, 8] }))).toBe("x.safetensors in memory: tensor 'w' has an invalid shape [2.5]");
    expect(await errorOf(() => h({ dtype: 'F32', shape: [2], data_offsets: [8, 0] }))).toBe("x.safetensors in memory: tensor 'w' has data_offsets [8, 0] with begin after end");
    expect(await errorOf(() => h({ dtype: 'F32', shape: [2], data_offsets: [-8, 0] }))).toBe("x.safetensors in memory: tensor 'w' has invalid data_offsets [-8,0]");
    expect(await errorOf(() => h({ dtype: 'F32', shape: [3], data_offsets: [0, 8] }))).toBe(
      "x.safetensors in memory: tensor 'w' has shape [3] of F32 (12 bytes) but data_offsets [0, 8] span 8 bytes",
    );
    expect(await errorOf(() => h({ dtype: 'F32', shape: [2], data_offsets: [0, 16] }))).toBe(
      "x.safetensors in memory: tensor 'w' has data_offsets [0, 16] past the end of the data section (8 bytes; truncated download?)",
    );
    expect(await errorOf(() => h('F32'))).toBe("x.safetensors in memory: tensor 'w' has an entry that is not an object");
  });

  it('accepts __metadata__, empty tensors and BOOL / U8 entries', async () => {
    const t = await one(safetensors({ __metadata__: { format: 'pt' }, e: { dtype: 'F32', shape: [0, 4], data_offsets: [0, 0] }, m: { dtype: 'BOOL', shape: [3], data_offsets: [0, 3] } }, new Uint8Array(3)));
    const hl = 8 + JSON.stringify({ __metadata__: { format: 'pt' }, e: { dtype: 'F32', shape: [0, 4], data_offsets: [0, 0] }, m: { dtype: 'BOOL', shape: [3], data_offsets: [0, 3] } }).length;
    expect([...t.values()]).toEqual<TensorEntry[]>([
      { name: 'e', file: 'x.safetensors', dtype: 'F32', shape: [0, 4], begin: hl, end: hl },
      { name: 'm', file: 'x.safetensors', dtype: 'BOOL', shape: [3], begin: hl, end: hl + 3 },
    ]);
  });
});
