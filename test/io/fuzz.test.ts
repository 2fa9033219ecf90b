// Fuzzing the file readers with seeded truncations and mutations: of bert-mean's safetensors header
// region, and of colbert_linear.pt (zip structures, and data.pkl with its CRC re-patched so the
// pickle parser itself is exercised). Every case must either parse into consistent values or throw
// a ModelFileError naming the file: never another error type, never a hang, never a huge allocation.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ModelFileError } from '../../src/io/errors.js';
import { DTYPE_SIZE, readSafetensorsHeader } from '../../src/io/safetensors.js';
import { mapFiles, type ModelFiles } from '../../src/io/sources.js';
import { readTorchStateDict, readZipDirectory } from '../../src/io/torch-zip.js';
import { rng } from '../util/random.js';

const FIX = join(import.meta.dirname, '../fixtures');

interface Tally { ok: number; refused: number; slowest: number }

/** Runs one case: success is checked by `check`; anything thrown must be a ModelFileError naming `file`. */
async function runCase(tally: Tally, file: string, label: string, fn: () => unknown, check: (v: never) => void): Promise<void> {
  const t0 = performance.now();
  let value: unknown;
  try {
    value = await fn();
  } catch (err) {
    if (!(err instanceof ModelFileError) || !err.message.includes(file)) {
      throw new Error(`${label}: expected a ModelFileError naming ${file}, got ${(err as Error)?.name}: ${(err as Error)?.message}`);
    }
    tally.refused++;
    return;
  } finally {
    tally.slowest = Math.max(tally.slowest, performance.now() - t0);
  }
  check(value as never);
  tally.ok++;
}

const INTERESTING = [...'0123456789"{}[],:.-e +'].map((c) => c.charCodeAt(0));

describe('fuzz: safetensors header', () => {
  it('3000 truncations and mutations of bert-mean/model.safetensors', async () => {
    const base = new Uint8Array(readFileSync(join(FIX, 'bert-mean/model.safetensors')));
    const headerEnd = 8 + 4112;
    const r = rng(20240611);
    const pick = (n: number) => Math.floor(r() * n);
    const tally: Tally = { ok: 0, refused: 0, slowest: 0 };
    const name = 'model.safetensors';

    for (let k = 0; k < 3000; k++) {
      const kind = k % 5;
      let bytes: Uint8Array;
      if (kind === 0) {
        bytes = base.subarray(0, r() < 0.5 ? pick(headerEnd + 16) : pick(base.length)); // truncation
      } else {
        bytes = base.slice();
        const edits = 1 + pick(4);
        for (let e = 0; e < edits; e++) {
          if (kind === 1) bytes[pick(headerEnd)] = pick(256); // random byte
          else if (kind === 2) bytes[8 + pick(headerEnd - 8)] = INTERESTING[pick(INTERESTING.length)]; // JSON-significant character
          else if (kind === 3) bytes[pick(8)] = pick(256); // the header length itself
          else bytes[8 + pick(headerEnd - 8)] ^= 1 << pick(8); // bit flip
        }
      }
      let requested = 0;
      const inner = mapFiles({ [name]: bytes }, 'fuzz');
      const files: ModelFiles = { ...inner, read: (n, s, e) => ((requested += (e ?? bytes.length) - (s ?? 0)), inner.read(n, s, e)) };
      await runCase(tally, name, `case ${k}`, () => readSafetensorsHeader(files, name), (t: Map<string, { dtype: keyof typeof DTYPE_SIZE; shape: number[]; begin: number; end: number }>) => {
        for (const e of t.values()) {
          const numel = e.shape.reduce((a, b) => a * b, 1);
          if (!(e.begin >= 8 && e.begin <= e.end && e.end <= bytes.length && e.end - e.begin === numel * DTYPE_SIZE[e.dtype])) {
            throw new Error(`case ${k}: inconsistent entry ${JSON.stringify(e)}`);
          }
        }
      });
      // never more than the file itself is requested (so a lying header length allocates nothing big)
      if (requested > bytes.length + 8) throw new Error(`case ${k}: requested ${requested} bytes of a ${bytes.length}-byte file`);
    }
    expect(tally.ok + tally.refused).toBe(3000);
    expect(tally.refused).toBeGreaterThan(1000); // most mutations must be caught …
    expect(tally.ok).toBeGreaterThan(100); // … while harmless ones (e.g. in a float's digits or the data) still parse
    expect(tally.slowest).toBeLessThan(1000);
  });
});

function crc32(b: Uint8Array): number {
  let c = 0xffffffff;
  for (const x of b) {
    c ^= x;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xedb88320 : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}

describe('fuzz: torch.save zip + pickle', () => {
  const base = new Uint8Array(readFileSync(join(FIX, 'bge-m3-tiny/colbert_linear.pt')));
  const file = 'colbert_linear.pt';
  const pkl = readZipDirectory(base, file).get('colbert_linear/data.pkl')!;
  const pklStart = pkl.localOffset + 30 + base[pkl.localOffset + 26] + 256 * base[pkl.localOffset + 27] + base[pkl.localOffset + 28] + 256 * base[pkl.localOffset + 29];
  const pklEnd = pklStart + pkl.size;
  // the CRC of data.pkl sits in its local header and its central-directory entry
  const crcAt: number[] = [];
  const crcBytes = new Uint8Array(new Uint32Array([pkl.crc32]).buffer);
  for (let i = 0; i + 4 <= base.length; i++) if (crcBytes.every((b, j) => base[i + j] === b)) crcAt.push(i);

  const check = (sd: Map<string, { shape: number[]; data: Float32Array }>) => {
    let total = 0;
    for (const t of sd.values()) {
      if (t.data.length !== t.shape.reduce((a, b) => a * b, 1)) throw new Error('data length differs from shape');
      total += t.data.length;
    }
    if (total * 2 > base.length) throw new Error(`${total} elements from a ${base.length}-byte file`);
  };

  it('the fixture parses and the mutation points are where expected', () => {
    expect(crcAt.length).toBe(2);
    expect([base[pklStart], base[pklStart + 1]]).toEqual([0x80, 0x02]); // PROTO 2
    expect(base[pklEnd - 1]).toBe(0x2e); // STOP
    check(readTorchStateDict(base, file));
  });

  it('1500 truncations and mutations of the zip structure', async () => {
    const r = rng(99);
    const pick = (n: number) => Math.floor(r() * n);
    const tally: Tally = { ok: 0, refused: 0, slowest: 0 };
    const structure = [...Array(base.length).keys()].filter((i) => i < pklEnd || i >= base.length - 400 || (i >= 16384 && i < 16960));
    for (let k = 0; k < 1500; k++) {
      let bytes: Uint8Array;
      if (k % 3 === 0) bytes = base.subarray(0, pick(base.length));
      else {
        bytes = base.slice();
        for (let e = 0, n = 1 + pick(3); e < n; e++) {
          const at = k % 3 === 1 ? structure[pick(structure.length)] : pick(base.length);
          bytes[at] = r() < 0.5 ? pick(256) : bytes[at] ^ (1 << pick(8));
        }
      }
      await runCase(tally, file, `zip case ${k}`, () => readTorchStateDict(bytes, file), check);
    }
    expect(tally.refused).toBeGreaterThan(900);
    expect(tally.slowest).toBeLessThan(1000);
  });

  it('2500 mutations and splices of data.pkl with its CRC re-patched', async () => {
    const r = rng(4242);
    const pick = (n: number) => Math.floor(r() * n);
    const tally: Tally = { ok: 0, refused: 0, slowest: 0 };
    const opcodes = [0x28, 0x29, 0x2e, 0x30, 0x31, 0x32, 0x4b, 0x4d, 0x4a, 0x52, 0x51, 0x58, 0x5d, 0x61, 0x62, 0x63, 0x65, 0x68, 0x71, 0x73, 0x74, 0x75, 0x7d, 0x80, 0x81, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x8c, 0x93, 0x94, 0x95];
    for (let k = 0; k < 2500; k++) {
      const bytes = base.slice();
      const mode = k % 4;
      for (let e = 0, n = 1 + pick(3); e < n; e++) {
        const at = pklStart + pick(pkl.size);
        if (mode === 0) bytes[at] = pick(256);
        else if (mode === 1) bytes[at] = opcodes[pick(opcodes.length)];
        else if (mode === 2) bytes[at] = pick(4) === 0 ? 0xff : pick(140); // small ints: memo keys, shapes, strides, lengths
        else {
          const len = 1 + pick(24);
          const from = pklStart + pick(pkl.size - len);
          bytes.copyWithin(pklStart + pick(pkl.size - len), from, from + len); // splice a run of opcodes elsewhere
        }
      }
      const crc = new Uint8Array(new Uint32Array([crc32(bytes.subarray(pklStart, pklEnd))]).buffer);
      for (const at of crcAt) bytes.set(crc, at);
      await runCase(tally, file, `pickle case ${k}`, () => readTorchStateDict(bytes, file), check);
    }
    expect(tally.ok + tally.refused).toBe(2500);
    expect(tally.refused).toBeGreaterThan(1000);
    expect(tally.ok).toBeGreaterThan(50);
    expect(tally.slowest).toBeLessThan(1000);
  });
});
