// A pickle *parser* (protocols 0–5) that never executes anything. It builds plain values from
// opcodes; GLOBAL / STACK_GLOBAL / INST names are checked against an allow-list the moment the
// opcode is read (like torch.load(weights_only=True)), and "calling" an allowed global runs a
// builder the caller supplied, never Python. Memo size, stack depth, string lengths and integer
// sizes are bounded, so hostile input cannot hang the parser or make it allocate absurd memory.
//
// Values: None → null, bool → boolean, int → number (bigint past 2^53), float → number,
// str → string, bytes / bytearray → Uint8Array, list → array, tuple → frozen array,
// dict → PyDict, set / frozenset → Set, an allowed global → PyGlobal.

import { ModelFileError } from './errors.js';

/** An allowed global; `call` builds the value for REDUCE / NEWOBJ / INST / OBJ. */
export interface PyGlobal {
  readonly kind: 'global';
  readonly module: string;
  readonly name: string;
  readonly call?: (args: readonly unknown[], at: number) => unknown;
}

/** A dict; keys that are str / int / bool / None compare by value, anything else by identity. */
export class PyDict {
  readonly map = new Map<unknown, unknown>();
  /** Attributes set by BUILD (e.g. OrderedDict._metadata in torch state dicts). */
  attrs: unknown = undefined;
  constructor(readonly className = 'dict') {}
}

export interface PickleOptions {
  /** Allowed globals, keyed 'module name' (one space), e.g. 'collections OrderedDict'. */
  globals: ReadonlyMap<string, PyGlobal>;
  /** Resolves PERSID / BINPERSID; absent → persistent ids are refused. */
  persistentLoad?: (pid: unknown, at: number) => unknown;
  /** BUILD: applies `state` to `obj`; absent → only PyDict (attributes stored) is accepted. */
  build?: (obj: unknown, state: unknown, at: number) => unknown;
  /** Names the input in messages (e.g. 'colbert_linear.pt (data.pkl)'). */
  what?: string;
}

export const PICKLE_LIMITS = { memo: 1_000_000, stack: 1_000_000, marks: 10_000, longBytes: 1024 };

const MARK = Symbol('mark');
const OPNAMES: Record<number, string> = {
  0x28: 'MARK', 0x2e: 'STOP', 0x30: 'POP', 0x31: 'POP_MARK', 0x32: 'DUP', 0x46: 'FLOAT', 0x49: 'INT', 0x4a: 'BININT',
  0x4b: 'BININT1', 0x4c: 'LONG', 0x4d: 'BININT2', 0x4e: 'NONE', 0x50: 'PERSID', 0x51: 'BINPERSID', 0x52: 'REDUCE',
  0x53: 'STRING', 0x54: 'BINSTRING', 0x55: 'SHORT_BINSTRING', 0x56: 'UNICODE', 0x58: 'BINUNICODE', 0x61: 'APPEND',
  0x62: 'BUILD', 0x63: 'GLOBAL', 0x64: 'DICT', 0x7d: 'EMPTY_DICT', 0x65: 'APPENDS', 0x67: 'GET', 0x68: 'BINGET',
  0x69: 'INST', 0x6a: 'LONG_BINGET', 0x6c: 'LIST', 0x5d: 'EMPTY_LIST', 0x6f: 'OBJ', 0x70: 'PUT', 0x71: 'BINPUT',
  0x72: 'LONG_BINPUT', 0x73: 'SETITEM', 0x74: 'TUPLE', 0x29: 'EMPTY_TUPLE', 0x75: 'SETITEMS', 0x47: 'BINFLOAT',
  0x80: 'PROTO', 0x81: 'NEWOBJ', 0x82: 'EXT1', 0x83: 'EXT2', 0x84: 'EXT4', 0x85: 'TUPLE1', 0x86: 'TUPLE2', 0x87: 'TUPLE3',
  0x88: 'NEWTRUE', 0x89: 'NEWFALSE', 0x8a: 'LONG1', 0x8b: 'LONG4', 0x42: 'BINBYTES', 0x43: 'SHORT_BINBYTES',
  0x8c: 'SHORT_BINUNICODE', 0x8d: 'BINUNICODE8', 0x8e: 'BINBYTES8', 0x8f: 'EMPTY_SET', 0x90: 'ADDITEMS', 0x91: 'FROZENSET',
  0x92: 'NEWOBJ_EX', 0x93: 'STACK_GLOBAL', 0x94: 'MEMOIZE', 0x95: 'FRAME', 0x96: 'BYTEARRAY8', 0x97: 'NEXT_BUFFER',
  0x98: 'READONLY_BUFFER',
};

/** A short, bounded description of a value for messages (never walks deep or cyclic data). */
export function describe(v: unknown): string {
  if (v === null) return 'None';
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean') return String(v);
  if (v instanceof Uint8Array) return `bytes(${v.length})`;
  if (Array.isArray(v)) return `${Object.isFrozen(v) ? 'tuple' : 'list'}(${v.length})`;
  if (v instanceof PyDict) return `${v.className}(${v.map.size})`;
  if (v instanceof Set) return `set(${v.size})`;
  if (typeof v === 'object' && (v as PyGlobal).kind === 'global') return `global '${(v as PyGlobal).module} ${(v as PyGlobal).name}'`;
  return typeof v === 'object' ? ((v as object).constructor?.name ?? 'object') : typeof v;
}

/** Parses one pickle; returns the value STOP leaves on the stack. */
export function unpickle(bytes: Uint8Array, file: string, opts: PickleOptions): unknown {
  const what = opts.what ?? file;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = bytes.length;
  let pos = 0;
  let opAt = 0;
  let op = 0;
  const stack: unknown[] = [];
  const marks: number[] = [];
  const memo = new Map<number, unknown>();
  const utf8 = new TextDecoder('utf-8', { fatal: true });

  const fail = (why: string): never => {
    throw new ModelFileError(`${what}: invalid pickle at byte ${opAt} (${OPNAMES[op] ?? `opcode 0x${op.toString(16)}`}): ${why}`, file);
  };
  const need = (k: number) => {
    if (k < 0 || k > n - pos) fail(`needs ${k} bytes but only ${n - pos} remain (truncated?)`);
  };
  const u8 = () => (need(1), bytes[pos++]);
  const u16 = () => (need(2), (pos += 2), dv.getUint16(pos - 2, true));
  const u32 = () => (need(4), (pos += 4), dv.getUint32(pos - 4, true));
  const i32 = () => (need(4), (pos += 4), dv.getInt32(pos - 4, true));
  const u64 = () => {
    need(8);
    const lo = dv.getUint32(pos, true);
    const hi = dv.getUint32(pos + 4, true);
    pos += 8;
    return hi * 2 ** 32 + lo; // beyond 2^53 it is inexact but then far larger than any input
  };
  const take = (k: number) => (need(k), (pos += k), bytes.subarray(pos - k, pos));
  const text = (k: number) => {
    try {
      return utf8.decode(take(k));
    } catch (err) {
      if (err instanceof ModelFileError) throw err;
      return fail('string is not valid UTF-8');
    }
  };
  const line = () => {
    const end = bytes.indexOf(0x0a, pos);
    if (end < 0) fail('line without a newline (truncated?)');
    const s = new TextDecoder('latin1').decode(bytes.subarray(pos, end));
    pos = end + 1;
    return s;
  };
  const push = (v: unknown) => {
    if (stack.length >= PICKLE_LIMITS.stack) fail(`stack deeper than ${PICKLE_LIMITS.stack}`);
    stack.push(v);
  };
  const pop = () => {
    if (stack.length === 0 || (marks.length && stack.length <= marks[marks.length - 1])) fail('stack underflow');
    return stack.pop();
  };
  const top = () => {
    if (stack.length === 0 || (marks.length && stack.length <= marks[marks.length - 1])) fail('stack underflow');
    return stack[stack.length - 1];
  };
  const popMark = () => {
    if (!marks.length) fail('no MARK on the stack');
    return stack.splice(marks.pop()!);
  };
  const memoPut = (i: number) => {
    if (!memo.has(i) && memo.size >= PICKLE_LIMITS.memo) fail(`memo larger than ${PICKLE_LIMITS.memo} entries`);
    memo.set(i, top());
  };
  const memoGet = (i: number) => {
    if (!memo.has(i)) fail(`memo key ${i} was never stored`);
    push(memo.get(i));
  };
  const findGlobal = (module: string, name: string): PyGlobal => {
    const g = opts.globals.get(`${module} ${name}`);
    if (!g) {
      const shown = `${module} ${name}`.replace(/[^\x20-\x7e]/g, '?').slice(0, 120);
      throw new ModelFileError(
        `${what}: webgpu-embed refuses to load: pickle references disallowed global '${shown}' (${OPNAMES[op]} at byte ${opAt}). ` +
          `Only torch tensors and state dicts can be loaded, as with torch.load(weights_only=True); nothing in the file was run.`,
        file,
      );
    }
    return g;
  };
  const call = (fn: unknown, args: unknown): unknown => {
    if (!Array.isArray(args)) fail(`arguments are ${describe(args)}, not a tuple`);
    const g = fn as PyGlobal;
    if (typeof fn !== 'object' || fn === null || g.kind !== 'global') fail(`${describe(fn)} is not callable`);
    if (!g.call) fail(`global '${g.module} ${g.name}' cannot be called`);
    return g.call!(args as unknown[], opAt);
  };
  const key = (k: unknown) => {
    if (Array.isArray(k) && !Object.isFrozen(k)) fail('a list cannot be a dict key');
    if (k instanceof PyDict) fail('a dict cannot be a dict key');
    return k;
  };
  const setItems = (d: unknown, items: unknown[]) => {
    if (!(d instanceof PyDict)) fail(`cannot set items on ${describe(d)}`);
    if (items.length % 2) fail('odd number of items for a dict');
    for (let i = 0; i < items.length; i += 2) (d as PyDict).map.set(key(items[i]), items[i + 1]);
  };
  const append = (l: unknown, items: unknown[]) => {
    if (!Array.isArray(l) || Object.isFrozen(l)) fail(`cannot append to ${describe(l)}`);
    for (const it of items) (l as unknown[]).push(it);
  };
  const long = (b: Uint8Array): number | bigint => {
    if (b.length > PICKLE_LIMITS.longBytes) fail(`integer of ${b.length} bytes`);
    if (b.length === 0) return 0;
    let v = 0n;
    for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]);
    if (b[b.length - 1] & 0x80) v -= 1n << BigInt(8 * b.length);
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  };
  const decimal = (s: string): number | bigint => {
    const t = s.endsWith('L') ? s.slice(0, -1) : s;
    if (!/^[-+]?\d{1,400}$/.test(t)) fail(`bad integer literal ${describe(s)}`);
    const v = BigInt(t);
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  };
  const quoted = (s: string): Uint8Array => {
    if (s.length < 2 || (s[0] !== "'" && s[0] !== '"') || s[s.length - 1] !== s[0]) fail('STRING argument is not quoted');
    const body = s.slice(1, -1);
    const out: number[] = [];
    for (let i = 0; i < body.length; i++) {
      const c = body[i];
      if (c !== '\\') {
        out.push(body.charCodeAt(i) & 0xff);
        continue;
      }
      const d = body[++i];
      const simple: Record<string, number> = { n: 10, t: 9, r: 13, '\\': 92, "'": 39, '"': 34, '0': 0 };
      if (d === 'x' && /^[0-9a-fA-F]{2}$/.test(body.slice(i + 1, i + 3))) {
        out.push(parseInt(body.slice(i + 1, i + 3), 16));
        i += 2;
      } else if (d !== undefined && d in simple) out.push(simple[d]);
      else fail('unsupported escape in STRING');
    }
    return Uint8Array.from(out);
  };

  while (true) {
    opAt = pos;
    if (pos >= n) fail('ended without STOP (truncated?)');
    op = bytes[pos++];
    switch (op) {
      case 0x80: { // PROTO
        const v = u8();
        if (v > 5) fail(`protocol ${v} is newer than 5`);
        break;
      }
      case 0x95: u64(); break; // FRAME: framing is only a hint for buffered readers
      case 0x2e: { // STOP
        if (stack.length !== 1 || marks.length) fail(`STOP with ${stack.length} values on the stack`);
        return stack[0];
      }
      case 0x28: // MARK
        if (marks.length >= PICKLE_LIMITS.marks) fail(`MARKs nested deeper than ${PICKLE_LIMITS.marks}`);
        marks.push(stack.length);
        break;
      case 0x30: pop(); break; // POP
      case 0x31: popMark(); break; // POP_MARK
      case 0x32: push(top()); break; // DUP
      case 0x4e: push(null); break;
      case 0x88: push(true); break;
      case 0x89: push(false); break;
      case 0x4a: push(i32()); break; // BININT
      case 0x4b: push(u8()); break; // BININT1
      case 0x4d: push(u16()); break; // BININT2
      case 0x8a: push(long(take(u8()))); break; // LONG1
      case 0x8b: { // LONG4
        const k = i32();
        if (k < 0) fail('negative length');
        push(long(take(k)));
        break;
      }
      case 0x49: { // INT (protocol 0); '01' / '00' are True / False
        const s = line();
        push(s === '01' ? true : s === '00' ? false : decimal(s));
        break;
      }
      case 0x4c: push(decimal(line())); break; // LONG
      case 0x46: { // FLOAT
        const s = line().trim();
        const v = Number(s);
        if (s === '' || (Number.isNaN(v) && !/^[-+]?nan$/i.test(s))) fail(`bad float literal ${describe(s)}`);
        push(v);
        break;
      }
      case 0x47: need(8); push(dv.getFloat64(pos, false)); pos += 8; break; // BINFLOAT (big-endian)
      case 0x58: push(text(u32())); break; // BINUNICODE
      case 0x8c: push(text(u8())); break; // SHORT_BINUNICODE
      case 0x8d: push(text(u64())); break; // BINUNICODE8
      case 0x56: push(line()); break; // UNICODE (raw-unicode-escape; escapes are kept literally)
      case 0x53: push(quoted(line())); break; // STRING (Python 2 str: bytes)
      case 0x54: { // BINSTRING
        const k = i32();
        if (k < 0) fail('negative length');
        push(take(k).slice());
        break;
      }
      case 0x55: push(take(u8()).slice()); break; // SHORT_BINSTRING
      case 0x42: push(take(u32()).slice()); break; // BINBYTES
      case 0x43: push(take(u8()).slice()); break; // SHORT_BINBYTES
      case 0x8e: case 0x96: push(take(u64()).slice()); break; // BINBYTES8, BYTEARRAY8
      case 0x5d: push([]); break; // EMPTY_LIST
      case 0x6c: push(popMark()); break; // LIST
      case 0x61: { const v = pop(); append(top(), [v]); break; } // APPEND
      case 0x65: { const items = popMark(); append(top(), items); break; } // APPENDS
      case 0x29: push(Object.freeze([])); break; // EMPTY_TUPLE
      case 0x74: push(Object.freeze(popMark())); break; // TUPLE
      case 0x85: { const a = pop(); push(Object.freeze([a])); break; }
      case 0x86: { const b = pop(); const a = pop(); push(Object.freeze([a, b])); break; }
      case 0x87: { const c = pop(); const b = pop(); const a = pop(); push(Object.freeze([a, b, c])); break; }
      case 0x7d: push(new PyDict()); break; // EMPTY_DICT
      case 0x64: { const d = new PyDict(); setItems(d, popMark()); push(d); break; } // DICT
      case 0x73: { const v = pop(); const k = pop(); setItems(top(), [k, v]); break; } // SETITEM
      case 0x75: { const items = popMark(); setItems(top(), items); break; } // SETITEMS
      case 0x8f: push(new Set()); break; // EMPTY_SET
      case 0x90: { // ADDITEMS
        const items = popMark();
        const s = top();
        if (!(s instanceof Set)) fail(`cannot add items to ${describe(s)}`);
        for (const it of items) (s as Set<unknown>).add(key(it));
        break;
      }
      case 0x91: push(new Set(popMark().map(key))); break; // FROZENSET
      case 0x70: { // PUT
        const s = line();
        if (!/^\d{1,10}$/.test(s)) fail('bad memo key');
        memoPut(Number(s));
        break;
      }
      case 0x71: memoPut(u8()); break; // BINPUT
      case 0x72: memoPut(u32()); break; // LONG_BINPUT
      case 0x94: memoPut(memo.size); break; // MEMOIZE
      case 0x67: { // GET
        const s = line();
        if (!/^\d{1,10}$/.test(s)) fail('bad memo key');
        memoGet(Number(s));
        break;
      }
      case 0x68: memoGet(u8()); break; // BINGET
      case 0x6a: memoGet(u32()); break; // LONG_BINGET
      case 0x63: { // GLOBAL: checked here, before anything can use it
        const module = line();
        push(findGlobal(module, line()));
        break;
      }
      case 0x93: { // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') fail('STACK_GLOBAL needs two strings');
        push(findGlobal(module as string, name as string));
        break;
      }
      case 0x69: { // INST: module\nname\n, arguments since MARK
        const module = line();
        const g = findGlobal(module, line());
        push(call(g, popMark()));
        break;
      }
      case 0x6f: { // OBJ: class and arguments since MARK
        const items = popMark();
        if (!items.length) fail('OBJ without a class');
        push(call(items[0], items.slice(1)));
        break;
      }
      case 0x52: { const args = pop(); const fn = pop(); push(call(fn, args)); break; } // REDUCE
      case 0x81: { const args = pop(); const cls = pop(); push(call(cls, args)); break; } // NEWOBJ
      case 0x92: { // NEWOBJ_EX
        const kwargs = pop();
        const args = pop();
        const cls = pop();
        if (!(kwargs instanceof PyDict) || kwargs.map.size) fail('NEWOBJ_EX with keyword arguments is not supported');
        push(call(cls, args));
        break;
      }
      case 0x62: { // BUILD
        const state = pop();
        const obj = top();
        if (opts.build) stack[stack.length - 1] = opts.build(obj, state, opAt);
        else if (obj instanceof PyDict) obj.attrs = state;
        else fail(`cannot BUILD ${describe(obj)}`);
        break;
      }
      case 0x50: // PERSID
      case 0x51: { // BINPERSID
        const pid = op === 0x50 ? line() : pop();
        if (!opts.persistentLoad) fail('persistent ids are not allowed here');
        push(opts.persistentLoad!(pid, opAt));
        break;
      }
      case 0x82: case 0x83: case 0x84: // EXT1/2/4: the extension registry names globals indirectly
        fail('extension-registry globals are not allowed');
        break;
      case 0x97: case 0x98: // NEXT_BUFFER, READONLY_BUFFER
        fail('out-of-band buffers are not supported');
        break;
      default:
        fail('unknown opcode');
    }
  }
}
