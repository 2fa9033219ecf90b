// A minimal ONNX protobuf writer (no dependency): just the messages a float32 inference graph
// needs — ModelProto, GraphProto, NodeProto, AttributeProto, TensorProto (raw_data),
// ValueInfoProto — with field numbers from onnx/onnx.proto. Messages are lists of byte chunks, so
// a 400 MB weight is never copied into a growing buffer; `writeModel` writes the chunks in order.

import { openSync, writeSync, closeSync } from 'node:fs';

/** An encoded message: byte chunks whose concatenation is the wire form. */
export interface Msg {
  parts: Uint8Array[];
  length: number;
}

const WIRE_VARINT = 0;
const WIRE_I32 = 5;
const WIRE_LEN = 2;

function varint(v: number | bigint): Uint8Array {
  let x = BigInt.asUintN(64, BigInt(v)); // negative int64s are 10-byte two's complement, as protobuf wants
  const out: number[] = [];
  do {
    let b = Number(x & 0x7fn);
    x >>= 7n;
    if (x !== 0n) b |= 0x80;
    out.push(b);
  } while (x !== 0n);
  return Uint8Array.from(out);
}

class Builder {
  readonly parts: Uint8Array[] = [];
  length = 0;
  private push(b: Uint8Array): void {
    this.parts.push(b);
    this.length += b.length;
  }
  private tag(field: number, wire: number): void {
    this.push(varint((field << 3) | wire));
  }
  int(field: number, v: number | bigint): this {
    this.tag(field, WIRE_VARINT);
    this.push(varint(v));
    return this;
  }
  float(field: number, v: number): this {
    this.tag(field, WIRE_I32);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, v, true);
    this.push(b);
    return this;
  }
  bytes(field: number, b: Uint8Array): this {
    this.tag(field, WIRE_LEN);
    this.push(varint(b.length));
    this.push(b);
    return this;
  }
  string(field: number, s: string): this {
    return this.bytes(field, new TextEncoder().encode(s));
  }
  msg(field: number, m: Msg): this {
    this.tag(field, WIRE_LEN);
    this.push(varint(m.length));
    for (const p of m.parts) this.push(p);
    return this;
  }
  done(): Msg {
    return { parts: this.parts, length: this.length };
  }
}

export const FLOAT = 1;
export const INT64 = 7;

/** TensorProto: dims (1), data_type (2), name (8), raw_data (9, little-endian). */
export function tensor(name: string, dims: number[], data: Float32Array | BigInt64Array): Msg {
  const b = new Builder();
  for (const d of dims) b.int(1, d);
  b.int(2, data instanceof Float32Array ? FLOAT : INT64);
  b.string(8, name);
  b.bytes(9, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  return b.done();
}

export type Attr = number | number[] | { float: number };

/** AttributeProto: name (1), f (2), i (3), ints (8), type (20: FLOAT 1, INT 2, INTS 7). */
function attribute(name: string, v: Attr): Msg {
  const b = new Builder().string(1, name);
  if (typeof v === 'object' && !Array.isArray(v)) b.float(2, v.float).int(20, 1);
  else if (Array.isArray(v)) {
    for (const x of v) b.int(8, x);
    b.int(20, 7);
  } else b.int(3, v).int(20, 2);
  return b.done();
}

/** NodeProto: input (1), output (2), name (3), op_type (4), attribute (5). */
export function node(op: string, inputs: string[], outputs: string[], name: string, attrs: Record<string, Attr> = {}): Msg {
  const b = new Builder();
  for (const i of inputs) b.string(1, i);
  for (const o of outputs) b.string(2, o);
  b.string(3, name).string(4, op);
  for (const [k, v] of Object.entries(attrs)) b.msg(5, attribute(k, v));
  return b.done();
}

/** ValueInfoProto with a tensor type; dims are numbers or symbolic names ('batch_size'). */
export function valueInfo(name: string, elemType: number, dims: (number | string)[]): Msg {
  const shape = new Builder();
  for (const d of dims) shape.msg(1, typeof d === 'number' ? new Builder().int(1, d).done() : new Builder().string(2, d).done());
  const tensorType = new Builder().int(1, elemType).msg(2, shape.done()).done();
  const type = new Builder().msg(1, tensorType).done();
  return new Builder().string(1, name).msg(2, type).done();
}

export interface Graph {
  name: string;
  nodes: Msg[];
  initializers: Msg[];
  inputs: Msg[];
  outputs: Msg[];
}

/** ModelProto: ir_version (1) 8, producer_name (2), graph (7), opset_import (8) default domain. */
export function model(g: Graph, opset: number): Msg {
  const graph = new Builder();
  for (const n of g.nodes) graph.msg(1, n);
  graph.string(2, g.name);
  for (const t of g.initializers) graph.msg(5, t);
  for (const i of g.inputs) graph.msg(11, i);
  for (const o of g.outputs) graph.msg(12, o);
  return new Builder()
    .int(1, 8)
    .string(2, 'webgpu-embed bench')
    .msg(7, graph.done())
    .msg(8, new Builder().string(1, '').int(2, opset).done())
    .done();
}

export function writeModel(path: string, m: Msg): void {
  const fd = openSync(path, 'w');
  try {
    for (const p of m.parts) {
      let off = 0;
      while (off < p.length) off += writeSync(fd, p, off, p.length - off);
    }
  } finally {
    closeSync(fd);
  }
}

/** The whole message as one buffer (small models, tests). */
export function toBytes(m: Msg): Uint8Array {
  const out = new Uint8Array(m.length);
  let off = 0;
  for (const p of m.parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}
