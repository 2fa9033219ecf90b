// Reads a fixture's golden.json and golden.safetensors (F32 only) with a minimal reader of its
// own, independent of the engine's safetensors parser, so golden tests do not check the loader
// against itself.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export const FIXTURES = join(import.meta.dirname, '..', 'fixtures');

export interface GoldenText {
  text: string;
  ids: number[];
  tokens_untruncated: number;
  lexical_weights?: Record<string, number>;
}

export interface Golden {
  model: string;
  max_len: number;
  pooling: string;
  normalize: boolean;
  m3: boolean;
  groups: Record<string, GoldenText[]>;
  scores: Record<string, number[][]>;
  tensors: Map<string, { shape: number[]; data: Float32Array }>;
}

export function readGolden(model: string): Golden {
  return readGoldenAs<Golden>(model);
}

/** golden.json (typed by the caller: the late-interaction and cross-encoder fixtures have their own fields) + golden.safetensors. */
export function readGoldenAs<T extends { tensors: Map<string, { shape: number[]; data: Float32Array }> }>(model: string): T {
  const dir = join(FIXTURES, model);
  const json = JSON.parse(readFileSync(join(dir, 'golden.json'), 'utf8'));
  const bytes = readFileSync(join(dir, 'golden.safetensors'));
  const n = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + n).toString('utf8'));
  const tensors = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const [name, t] of Object.entries(header) as [string, { dtype: string; shape: number[]; data_offsets: [number, number] }][]) {
    if (name === '__metadata__') continue;
    if (t.dtype !== 'F32') throw new Error(`golden tensor ${name} is ${t.dtype}, expected F32`);
    const [b, e] = t.data_offsets;
    const copy = new Uint8Array(bytes.subarray(8 + n + b, 8 + n + e));
    tensors.set(name, { shape: t.shape, data: new Float32Array(copy.buffer) });
  }
  return { ...json, tensors } as T;
}

/** The golden tensor GROUP/INDEX/NAME; throws if absent. */
export function goldenTensor(g: Golden, group: string, index: number, name: string): { shape: number[]; data: Float32Array } {
  const t = g.tensors.get(`${group}/${index}/${name}`);
  if (!t) throw new Error(`golden ${g.model} has no tensor ${group}/${index}/${name}`);
  return t;
}
