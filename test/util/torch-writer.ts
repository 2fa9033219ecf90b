// Writers for torch.save archives in tests: a tiny pickle emitter (Pickler), the data.pkl torch.save
// writes for a state dict (statePickle), a STORED / ZIP64 zip writer, and torchSave, which puts
// them together as torch.save(state_dict) does for float32 tensors (BGE-M3's colbert_linear.pt /
// sparse_linear.pt). Used by test/io/torch.test.ts and by tests that build checkpoints at test time.

export const ascii = (s: string) => [...new TextEncoder().encode(s)];
export const le = (v: number, n: number) => Array.from({ length: n }, (_, i) => Math.floor(v / 2 ** (8 * i)) & 0xff);

/** Emits pickle opcodes. */
export class Pickler {
  readonly b: number[] = [];
  op(...xs: number[]) {
    this.b.push(...xs);
    return this;
  }
  str(s: string) {
    const e = ascii(s);
    return e.length < 256 && this.short ? this.op(0x8c, e.length, ...e) : this.op(0x58, ...le(e.length, 4), ...e);
  }
  int(n: number) {
    return n < 256 ? this.op(0x4b, n) : n < 65536 ? this.op(0x4d, ...le(n, 2)) : this.op(0x4a, ...le(n, 4));
  }
  global(module: string, name: string) {
    return this.stack ? this.str(module).str(name).op(0x93) : this.op(0x63, ...ascii(`${module}\n${name}\n`));
  }
  ints(xs: number[]) {
    this.op(0x28);
    xs.forEach((x) => this.int(x));
    return this.op(0x74);
  }
  constructor(
    readonly short = false,
    readonly stack = false,
  ) {}
}

/** One tensor entry of a state dict: its storage (type, key, size) and the view on it. */
export interface TorchTensorSpec { name: string; storage: string; key: string; numel: number; offset?: number; shape: number[]; stride: number[]; param?: boolean }

/** The data.pkl torch.save writes for a state dict (protocol 2, or 4 with STACK_GLOBAL / FRAME / MEMOIZE). */
export function statePickle(tensors: TorchTensorSpec[], proto = 2): Uint8Array {
  const p = new Pickler(proto >= 4, proto >= 4);
  p.op(0x80, proto);
  if (proto >= 4) p.op(0x95, ...le(0, 8)); // FRAME (length is only a hint)
  p.global('collections', 'OrderedDict').op(0x29, 0x52);
  if (proto >= 4) p.op(0x94); // MEMOIZE
  p.op(0x28);
  for (const t of tensors) {
    p.str(t.name);
    if (t.param) p.global('torch._utils', '_rebuild_parameter').op(0x28);
    p.global('torch._utils', '_rebuild_tensor_v2').op(0x28, 0x28).str('storage').global('torch', t.storage).str(t.key).str('cpu').int(t.numel).op(0x74, 0x51);
    p.int(t.offset ?? 0).ints(t.shape).ints(t.stride).op(0x89);
    p.global('collections', 'OrderedDict').op(0x29, 0x52, 0x74, 0x52);
    if (t.param) p.op(0x89).global('collections', 'OrderedDict').op(0x29, 0x52, 0x74, 0x52);
  }
  p.op(0x75, 0x2e);
  return Uint8Array.from(p.b);
}

export function crc32(b: Uint8Array): number {
  let c = 0xffffffff;
  for (const x of b) {
    c ^= x;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xedb88320 : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}

/** A STORED zip; `align` pads local headers so data starts at multiples of 64 (as torch does); `zip64` writes ZIP64 records. */
export function zip(entries: [string, Uint8Array][], { align = false, zip64 = false, method = 0 } = {}): Uint8Array {
  const out: number[] = [];
  const central: number[] = [];
  for (const [name, data] of entries) {
    const off = out.length;
    const n = ascii(name);
    let extra: number[] = [];
    if (align) {
      const pad = (64 - ((off + 30 + n.length + 4) % 64)) % 64;
      extra = [0x46, 0x42, ...le(pad, 2), ...new Array(pad).fill(0x5a)];
    }
    const crc = crc32(data);
    out.push(...le(0x04034b50, 4), 20, 0, 0, 0, ...le(method, 2), 0, 0, 0, 0, ...le(crc, 4), ...le(data.length, 4), ...le(data.length, 4), ...le(n.length, 2), ...le(extra.length, 2), ...n, ...extra);
    for (const x of data) out.push(x);
    const big = zip64 ? 0xffffffff : -1;
    const x64 = zip64 ? [1, 0, 24, 0, ...le(data.length, 8), ...le(data.length, 8), ...le(off, 8)] : [];
    central.push(...le(0x02014b50, 4), 45, 0, 45, 0, 0, 0, ...le(method, 2), 0, 0, 0, 0, ...le(crc, 4));
    central.push(...le(big >= 0 ? big : data.length, 4), ...le(big >= 0 ? big : data.length, 4), ...le(n.length, 2), ...le(x64.length, 2), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
    central.push(...le(big >= 0 ? big : off, 4), ...n, ...x64);
  }
  const cdOff = out.length;
  out.push(...central);
  if (zip64) {
    const eocd64 = out.length;
    out.push(...le(0x06064b50, 4), ...le(44, 8), 45, 0, 45, 0, 0, 0, 0, 0, 0, 0, 0, 0, ...le(entries.length, 8), ...le(entries.length, 8), ...le(central.length, 8), ...le(cdOff, 8));
    out.push(...le(0x07064b50, 4), 0, 0, 0, 0, ...le(eocd64, 8), 1, 0, 0, 0);
    out.push(...le(0x06054b50, 4), 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, ...le(0xffffffff, 4), ...le(0xffffffff, 4), 0, 0);
  } else {
    out.push(...le(0x06054b50, 4), 0, 0, 0, 0, ...le(entries.length, 2), ...le(entries.length, 2), ...le(central.length, 4), ...le(cdOff, 4), 0, 0);
  }
  return Uint8Array.from(out);
}

/** A float32 tensor of a state dict, row-major. */
export interface SaveTensor {
  data: Float32Array;
  shape: number[];
}

/**
 * The bytes torch.save(state_dict, "NAME.pt") writes for float32 tensors: a 64-byte aligned STORED
 * zip under `NAME/` with data.pkl (protocol 2), byteorder, one storage per tensor and version.
 */
export function torchSave(state: Record<string, SaveTensor>, name = 'archive'): Uint8Array {
  const specs: TorchTensorSpec[] = [];
  const storages: [string, Uint8Array][] = [];
  Object.entries(state).forEach(([key, t], i) => {
    const n = t.shape.reduce((a, b) => a * b, 1);
    if (t.data.length !== n) throw new Error(`torchSave: ${key} has ${t.data.length} values, shape [${t.shape}] needs ${n}`);
    const stride = t.shape.map((_, d) => t.shape.slice(d + 1).reduce((a, b) => a * b, 1));
    specs.push({ name: key, storage: 'FloatStorage', key: String(i), numel: n, shape: t.shape, stride });
    storages.push([`${name}/data/${i}`, new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength)]);
  });
  const text = (s: string) => new TextEncoder().encode(s);
  return zip(
    [[`${name}/data.pkl`, statePickle(specs)], [`${name}/byteorder`, text('little')], ...storages, [`${name}/version`, text('3\n')]],
    { align: true },
  );
}
