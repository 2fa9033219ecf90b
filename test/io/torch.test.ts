// torch.save reading: BGE-M3's colbert_linear.pt / sparse_linear.pt checked against golden outputs,
// Half / BFloat16 storages, strides, storage offsets, protocol 4 and ZIP64 archives built here with
// the tiny pickle + zip writer of test/util/torch-writer.ts, and the refusal of hostile pickles
// (nothing is ever executed).

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ModelFileError } from '../../src/io/errors.js';
import { readSafetensorsHeader, readTensor, toF32 } from '../../src/io/safetensors.js';
import { folderFiles } from '../../src/io/sources.node.js';
import { readTorchStateDict, readZipDirectory } from '../../src/io/torch-zip.js';
import { expectClose } from '../util/compare.js';
import { ascii, le, statePickle, zip, type TorchTensorSpec as T } from '../util/torch-writer.js';

const FIX = join(import.meta.dirname, '../fixtures');
const u16 = (xs: number[]) => new Uint8Array(Uint16Array.from(xs).buffer);
const f32 = (xs: number[]) => new Uint8Array(Float32Array.from(xs).buffer);

async function errorOf(fn: () => unknown): Promise<string> {
  try {
    await fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ModelFileError);
    return (err as Error).message;
  }
  throw new Error('expected a ModelFileError');
}

describe('BGE-M3 heads (fixtures)', () => {
  it('colbert_linear.pt and sparse_linear.pt reproduce the golden colbert and sparse outputs', async () => {
    const colbert = readTorchStateDict(new Uint8Array(readFileSync(join(FIX, 'bge-m3-tiny/colbert_linear.pt'))), 'colbert_linear.pt');
    const sparse = readTorchStateDict(new Uint8Array(readFileSync(join(FIX, 'bge-m3-tiny/sparse_linear.pt'))), 'sparse_linear.pt');
    expect([...colbert.keys()]).toEqual(['weight', 'bias']);
    const cw = colbert.get('weight')!;
    expect({ dtype: cw.dtype, shape: cw.shape }).toEqual({ dtype: 'F32', shape: [64, 64] });
    expect([...cw.data.subarray(0, 3)]).toEqual([-0.009580536745488644, 0.04498519003391266, -0.09775210171937943]); // Python struct
    const cb = colbert.get('bias')!.data;
    expect(sparse.get('weight')!.shape).toEqual([1, 64]);
    expect([...sparse.get('bias')!.data]).toEqual([Math.fround(0.1)]);
    const sw = sparse.get('weight')!.data;
    const sb = sparse.get('bias')!.data[0];

    const files = folderFiles(join(FIX, 'bge-m3-tiny'));
    const g = await readSafetensorsHeader(files, 'golden.safetensors');
    const read = async (k: string) => toF32(await readTensor(files, g.get(k)!), 'F32', k);
    let checked = 0;
    for (const key of g.keys()) {
      if (!key.endsWith('/hidden')) continue;
      const base = key.slice(0, -'hidden'.length);
      const hidden = await read(key);
      const L = hidden.length / 64;
      const wantSparse = await read(`${base}sparse`);
      const wantColbert = await read(`${base}colbert`);
      const gotSparse = new Float64Array(L);
      const gotColbert = new Float64Array((L - 1) * 64);
      for (let i = 0; i < L; i++) {
        let s = sb;
        for (let c = 0; c < 64; c++) s += sw[c] * hidden[i * 64 + c];
        gotSparse[i] = Math.max(0, s);
        if (i === 0) continue;
        let norm = 0;
        for (let o = 0; o < 64; o++) {
          let v = cb[o];
          for (let c = 0; c < 64; c++) v += cw.data[o * 64 + c] * hidden[i * 64 + c];
          gotColbert[(i - 1) * 64 + o] = v;
          norm += v * v;
        }
        for (let o = 0; o < 64; o++) gotColbert[(i - 1) * 64 + o] /= Math.sqrt(norm);
      }
      // golden was computed in float64 from unrounded hidden states; ours starts from the float32-rounded
      // hidden in golden.safetensors, so ~1e-7 relative error per term: 1e-5 of the largest value is ample
      expectClose(gotSparse, wantSparse, { rtolMax: 1e-5, atol: 1e-7, label: `${base}sparse` });
      expectClose(gotColbert, wantColbert, { rtolMax: 1e-5, shape: [L - 1, 64], label: `${base}colbert` });
      checked++;
    }
    expect(checked).toBe(20);
  });
});

describe('hand-built torch.save archives', () => {
  it('Half and BFloat16 storages, as real BAAI/bge-m3 heads hold, in a 64-byte aligned archive', () => {
    const half = [0x3c00, 0xc000, 0x3555, 0x7bff, 0x0001, 0x8000, 0x2e66, 0xbc00, 0x4248, 0x0400, 0x3800, 0x3a00];
    const bf = [0x3f80, 0xc000, 0x3dcd, 0x4049];
    const pkl = statePickle([
      { name: 'weight', storage: 'HalfStorage', key: '0', numel: 12, shape: [3, 4], stride: [4, 1] },
      { name: 'bias', storage: 'BFloat16Storage', key: '1', numel: 4, shape: [4], stride: [1] },
    ]);
    const bytes = zip([['archive/data.pkl', pkl], ['archive/byteorder', new TextEncoder().encode('little')], ['archive/data/0', u16(half)], ['archive/data/1', u16(bf)], ['archive/version', new TextEncoder().encode('3\n')]], { align: true });
    const sd = readTorchStateDict(bytes, 'colbert_linear.pt');
    expect(sd.get('weight')).toEqual({ dtype: 'F16', shape: [3, 4], data: Float32Array.from([1, -2, 0.333251953125, 65504, 2 ** -24, -0, 0.0999755859375, -1, 3.140625, 2 ** -14, 0.5, 0.75]) });
    expect(Object.is(sd.get('weight')!.data[5], -0)).toBe(true);
    expect(sd.get('bias')).toEqual({ dtype: 'BF16', shape: [4], data: Float32Array.from([1, -2, 0.10009765625, 3.140625]) });
  });

  it('honours strides, storage offsets, shared storages and parameters; protocol 4; ZIP64; big-endian', () => {
    const store = f32([0, 1, 2, 3, 4, 5, 6, 7]);
    const tensors: T[] = [
      { name: 't', storage: 'FloatStorage', key: '0', numel: 8, offset: 0, shape: [3, 2], stride: [1, 3] }, // a transposed (2, 3) view
      { name: 'tail', storage: 'FloatStorage', key: '0', numel: 8, offset: 5, shape: [3], stride: [1] },
      { name: 'p', storage: 'FloatStorage', key: '0', numel: 8, offset: 1, shape: [2, 2], stride: [4, 2], param: true },
      { name: 'scalar', storage: 'FloatStorage', key: '0', numel: 8, offset: 7, shape: [], stride: [] },
    ];
    const want = {
      t: [0, 3, 1, 4, 2, 5],
      tail: [5, 6, 7],
      p: [1, 3, 5, 7],
      scalar: [7],
    };
    for (const proto of [2, 4]) {
      for (const zip64 of [false, true]) {
        const sd = readTorchStateDict(zip([['m/data.pkl', statePickle(tensors, proto)], ['m/data/0', store]], { zip64 }), 'm.pt');
        for (const [k, v] of Object.entries(want)) expect([...sd.get(k)!.data], `${k} proto ${proto} zip64 ${zip64}`).toEqual(v);
        expect(sd.get('t')!.shape).toEqual([3, 2]);
        expect(sd.get('scalar')!.shape).toEqual([]);
      }
    }
    const bigEndian = new Uint8Array(8);
    new DataView(bigEndian.buffer).setFloat32(0, 1.5, false);
    new DataView(bigEndian.buffer).setFloat32(4, -3, false);
    const sd = readTorchStateDict(
      zip([['be/data.pkl', statePickle([{ name: 'w', storage: 'FloatStorage', key: '0', numel: 2, shape: [2], stride: [1] }])], ['be/byteorder', new TextEncoder().encode('big')], ['be/data/0', bigEndian]]),
      'be.pt',
    );
    expect([...sd.get('w')!.data]).toEqual([1.5, -3]);
    expect([...readZipDirectory(zip([['a', new Uint8Array(3)], ['b/c', new Uint8Array(0)]], { zip64: true }), 'z').keys()]).toEqual(['a', 'b/c']);
  });

  it('explains unsupported storages, out-of-range views, damaged archives and non-state-dicts', async () => {
    const one = (t: Partial<T>, extra: [string, Uint8Array][] = [['a/data/0', f32([1, 2, 3, 4])]], opts = {}) =>
      readTorchStateDict(zip([['a/data.pkl', statePickle([{ name: 'w', storage: 'FloatStorage', key: '0', numel: 4, shape: [4], stride: [1], ...t }])], ...extra], opts), 'h.pt');
    expect(await errorOf(() => one({ storage: 'LongStorage', numel: 2 }))).toBe("h.pt: tensor 'w' has unsupported storage torch.LongStorage (supported: FloatStorage, HalfStorage, BFloat16Storage)");
    expect(await errorOf(() => one({ shape: [2, 2], stride: [3, 1] }))).toBe("h.pt: tensor 'w' (shape [2, 2], stride [3, 1], offset 0) reaches past its storage of 4 elements");
    expect(await errorOf(() => one({ numel: 5 }))).toBe('h.pt: storage data/0 holds 16 bytes, less than its 5 F32 elements');
    expect(await errorOf(() => one({ key: '1' }))).toBe("h.pt: storage data/1 of tensor 'w' is missing from the archive");
    expect(await errorOf(() => one({ key: '../0' }))).toMatch(/^h\.pt \(a\/data\.pkl\): bad persistent id at pickle byte \d+: storage key "\.\.\/0"$/);
    expect(await errorOf(() => one({}, [['a/data/0', f32([1, 2, 3, 4])]], { method: 8 }))).toContain('a/data.pkl is a compressed entry (method 8), which is not supported');
    const good = zip([['a/data.pkl', statePickle([{ name: 'w', storage: 'FloatStorage', key: '0', numel: 1, shape: [1], stride: [1] }])], ['a/data/0', f32([1])]]);
    const flipped = good.slice();
    flipped[flipped.indexOf(0x80) + 1] ^= 0x01; // PROTO 2 → 3 inside data.pkl
    expect(await errorOf(() => readTorchStateDict(flipped, 'h.pt'))).toBe('h.pt: zip entry a/data.pkl fails its CRC check (damaged file)');
    expect(await errorOf(() => readTorchStateDict(good.subarray(0, good.length - 30), 'h.pt'))).toBe(
      'h.pt is not a valid zip archive (no end-of-central-directory record; truncated download?); torch.save files are zip archives',
    );
    expect(await errorOf(() => readTorchStateDict(Uint8Array.from([0x80, 0x02, 0x8a, 0x0a]), 'old.bin'))).toMatch(/^old\.bin is not a zip-format torch\.save file; files from torch older than 1\.6/);
    expect(await errorOf(() => readTorchStateDict(zip([['x/version', new Uint8Array(1)]]), 'h.pt'))).toBe('h.pt has no data.pkl: not a torch.save archive');
    const list = Uint8Array.from([0x80, 2, 0x5d, 0x2e]); // []
    expect(await errorOf(() => readTorchStateDict(zip([['a/data.pkl', list]]), 'h.pt'))).toBe('h.pt holds list(0), not a state dict (a dict of tensors)');
    const notTensor = Uint8Array.from([0x80, 2, 0x7d, 0x8c, 1, 0x77, 0x4b, 3, 0x73, 0x2e]); // {'w': 3}
    expect(await errorOf(() => readTorchStateDict(zip([['a/data.pkl', notTensor]]), 'h.pt'))).toBe("h.pt: state dict entry 'w' is 3, not a tensor");
  });
});

describe('hostile pickles', () => {
  const hostile = (name: string) => readTorchStateDict(new Uint8Array(readFileSync(join(FIX, 'hostile', name))), name);
  const pkl = (ops: number[]) => readTorchStateDict(zip([['e/data.pkl', Uint8Array.from(ops)]]), 'e.pt');

  it('evil_system.pt (posix.system) and evil_eval.pt (__builtin__.eval) are refused, nothing runs', async () => {
    expect(await errorOf(() => hostile('evil_system.pt'))).toBe(
      "evil_system.pt (evil_system/data.pkl): webgpu-embed refuses to load: pickle references disallowed global 'posix system' (GLOBAL at byte 2). " +
        'Only torch tensors and state dicts can be loaded, as with torch.load(weights_only=True); nothing in the file was run.',
    );
    expect(await errorOf(() => hostile('evil_eval.pt'))).toMatch(/^evil_eval\.pt \(evil_eval\/data\.pkl\): webgpu-embed refuses to load: pickle references disallowed global '__builtin__ eval' \(GLOBAL at byte 46\)/);
    expect(existsSync('/tmp/webgpu-embed-pwned')).toBe(false);
  });

  it('refuses at the opcode that names the global, before any REDUCE or later garbage', async () => {
    const sg = [0x80, 4, 0x8c, 8, ...ascii('builtins'), 0x8c, 4, ...ascii('exec'), 0x93, 0xff, 0xff];
    expect(await errorOf(() => pkl(sg))).toContain("refuses to load: pickle references disallowed global 'builtins exec' (STACK_GLOBAL at byte 18)");
    const inst = [0x80, 2, 0x28, 0x69, ...ascii('os\nsystem\n'), 0x00];
    expect(await errorOf(() => pkl(inst))).toContain("disallowed global 'os system' (INST at byte 3)");
    const lookalike = [0x80, 2, 0x63, ...ascii('torch._utils\n_rebuild_tensor_v2 \n')];
    expect(await errorOf(() => pkl(lookalike))).toContain("disallowed global 'torch._utils _rebuild_tensor_v2 '");
    // a storage type cannot be called, and extension codes / unknown opcodes are refused
    expect(await errorOf(() => pkl([0x80, 2, 0x63, ...ascii('torch\nFloatStorage\n'), 0x29, 0x52, 0x2e]))).toContain("global 'torch FloatStorage' cannot be called");
    expect(await errorOf(() => pkl([0x80, 2, 0x82, 1, 0x2e]))).toBe('e.pt (e/data.pkl): invalid pickle at byte 2 (EXT1): extension-registry globals are not allowed');
    expect(await errorOf(() => pkl([0x80, 2, 0xfe]))).toBe('e.pt (e/data.pkl): invalid pickle at byte 2 (opcode 0xfe): unknown opcode');
  });

  it('bounds lengths, memo and stack', async () => {
    expect(await errorOf(() => pkl([0x80, 2, 0x58, 0xff, 0xff, 0xff, 0x7f, 0x61]))).toBe('e.pt (e/data.pkl): invalid pickle at byte 2 (BINUNICODE): needs 2147483647 bytes but only 1 remain (truncated?)');
    expect(await errorOf(() => pkl([0x80, 2, 0x8d, ...le(2 ** 52, 8)]))).toContain('needs 4503599627370496 bytes but only 0 remain');
    expect(await errorOf(() => pkl([0x80, 2, 0x68, 9, 0x2e]))).toContain('memo key 9 was never stored');
    expect(await errorOf(() => pkl([0x80, 2, 0x30, 0x2e]))).toContain('(POP): stack underflow');
    expect(await errorOf(() => pkl([0x80, 2, 0x28, 0x28, 0x2e]))).toContain('STOP with 0 values on the stack');
    expect(await errorOf(() => pkl([0x80, 2, ...new Array(20_000).fill(0x28)]))).toContain('MARKs nested deeper than 10000');
    expect(await errorOf(() => pkl([0x80, 2, 0x8b, ...le(4096, 4), ...new Array(4096).fill(1)]))).toContain('integer of 4096 bytes');
    expect(await errorOf(() => pkl([0x80, 2, 0x29, 0x4b, 1, 0x61, 0x2e]))).toContain('cannot append to tuple(0)');
  });
});
