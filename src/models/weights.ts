// Strict checkpoint loading: a WeightStore hands out tensors by their checkpoint key (after the
// `bert.` / `roberta.` prefix), remembers which keys were used, and uploads them to the GPU in
// bounded row slices (never two full copies in memory). Tensors larger than one storage binding
// are split into row chunks, each its own GPUBuffer.

import type { Gpu } from '../gpu/device.js';
import { ModelFileError } from '../io/errors.js';
import { readTensor, toF16Bits, toF32, type TensorEntry } from '../io/safetensors.js';
import type { ModelFiles } from '../io/sources.js';

export type WeightDtype = 'f32' | 'f16';

/** A weight on the GPU: one buffer, or row chunks of one when it exceeds a binding. */
export interface GpuWeight {
  name: string;
  shape: number[];
  dtype: WeightDtype;
  /** Row chunks in order; a tensor that fits a binding has exactly one. */
  chunks: { buffer: GPUBuffer; rowStart: number; rowCount: number }[];
}

/** How a store finds its keys: a key every checkpoint has, the prefixes to try, keys to ignore. */
export interface KeyScheme {
  probe: string;
  prefixes?: readonly string[];
  /** Keys (after the prefix) that are present but deliberately not loaded. */
  ignored?: readonly RegExp[];
}

/** Bytes read from the file per upload step: bounds host memory while streaming. */
const SLICE_BYTES = 32 << 20;

export class WeightStore {
  readonly prefix: string;
  private ignored: readonly RegExp[];
  private used = new Set<string>();
  /** Every GPU buffer uploaded through this store (freed by the model's dispose). */
  readonly buffers: GPUBuffer[] = [];
  /** Weights uploaded in more than one row chunk (larger than one storage binding), for the debug log. */
  readonly chunked: GpuWeight[] = [];

  constructor(
    private gpu: Gpu,
    private files: ModelFiles,
    private tensors: Map<string, TensorEntry>,
    private dtype: WeightDtype,
    keys: KeyScheme,
    private onProgress?: (p: { loaded: number; total: number }) => void,
  ) {
    const probe = keys.probe;
    const prefixes = keys.prefixes ?? [''];
    const IGNORED = (this.ignored = keys.ignored ?? []);
    const found = prefixes.find((p) => tensors.has(p + probe));
    if (found === undefined) {
      throw new ModelFileError(
        `checkpoint has no "${probe}" (tried prefixes ${prefixes.map((p) => `"${p}"`).join(', ')}); ` +
          `first keys: ${[...tensors.keys()].slice(0, 5).join(', ')}`,
        [...tensors.values()][0]?.file ?? 'model.safetensors',
      );
    }
    this.prefix = found;
    for (const [k, t] of tensors) if (!IGNORED.some((re) => re.test(k.slice(found.length)))) this.totalBytes += t.end - t.begin;
  }

  /** Checkpoint bytes to upload (ignored keys excluded) and bytes uploaded so far, for progress. */
  readonly totalBytes: number = 0;
  loadedBytes = 0;

  /** The checkpoint entry for `key` (without prefix); a missing key is an error naming it. */
  entry(key: string, shape?: number[]): TensorEntry {
    const full = this.prefix + key;
    const t = this.tensors.get(full);
    if (!t) throw new ModelFileError(`missing weight "${full}" in the checkpoint`, 'model.safetensors');
    if (shape && (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i]))) {
      throw new ModelFileError(`weight "${full}" has shape [${t.shape}], expected [${shape}]`, t.file);
    }
    this.used.add(full);
    return t;
  }

  /** The most bytes one weight buffer may hold: one storage binding (and one buffer). */
  private get maxChunkBytes(): number {
    return Math.min(this.gpu.limits.maxStorageBufferBindingSize, this.gpu.limits.maxBufferSize);
  }

  /** Uploads `key` as `dtype` (default: the store's dtype). Weights over one binding are row-chunked. */
  async upload(key: string, shape: number[], dtype: WeightDtype = this.dtype): Promise<GpuWeight> {
    const t = this.entry(key, shape);
    const rows = shape.length > 1 ? shape[0] : 1;
    const rowElems = shape.length > 1 ? shape.slice(1).reduce((a, b) => a * b, 1) : shape[0];
    const el = dtype === 'f16' ? 2 : 4;
    const maxBytes = this.maxChunkBytes;
    const rowsPerChunk = Math.max(1, Math.floor(maxBytes / (rowElems * el)));
    const chunks: GpuWeight['chunks'] = [];
    for (let r0 = 0; r0 < rows; r0 += rowsPerChunk) {
      const n = Math.min(rowsPerChunk, rows - r0);
      const buffer = this.gpu.storage(`${t.name}[${r0}:${r0 + n}]`, n * rowElems * el);
      this.buffers.push(buffer);
      await this.streamRows(t, r0, n, rowElems, dtype, buffer, 0);
      chunks.push({ buffer, rowStart: r0, rowCount: n });
    }
    const w: GpuWeight = { name: t.name, shape, dtype, chunks };
    if (chunks.length > 1) this.chunked.push(w);
    return w;
  }

  /** Uploads several [rows_i, cols] tensors stacked along rows into one buffer (fused QKV). */
  async uploadStacked(keys: string[], shapes: number[][], dtype: WeightDtype = this.dtype): Promise<GpuWeight> {
    const cols = shapes[0].length > 1 ? shapes[0][1] : 1;
    const totalRows = shapes.reduce((a, s) => a + s[0], 0);
    const el = dtype === 'f16' ? 2 : 4;
    const buffer = this.gpu.storage(keys.join('+'), totalRows * cols * el);
    this.buffers.push(buffer);
    let row = 0;
    for (let i = 0; i < keys.length; i++) {
      const t = this.entry(keys[i], shapes[i]);
      await this.streamRows(t, 0, shapes[i][0], cols, dtype, buffer, row * cols * el);
      row += shapes[i][0];
    }
    const shape = shapes[0].length > 1 ? [totalRows, cols] : [totalRows];
    return { name: keys.join('+'), shape, dtype, chunks: [{ buffer, rowStart: 0, rowCount: totalRows }] };
  }

  /** Reads rows [r0, r0+n) of `t` in bounded slices, converts and writes them at `byteOffset`. */
  private async streamRows(t: TensorEntry, r0: number, n: number, rowElems: number, dtype: WeightDtype, buffer: GPUBuffer, byteOffset: number) {
    const srcEl = (t.end - t.begin) / Math.max(1, t.shape.reduce((a, b) => a * b, 1));
    const srcRow = rowElems * srcEl;
    const dstEl = dtype === 'f16' ? 2 : 4;
    // Slices hold an even number of rows so every f16 write stays 4-byte aligned.
    let step = Math.max(1, Math.floor(SLICE_BYTES / Math.max(srcRow, 1)));
    if (dtype === 'f16' && step > 1 && step % 2 === 1) step -= 1;
    for (let r = 0; r < n; r += step) {
      const m = Math.min(step, n - r);
      const begin = t.begin + (r0 + r) * srcRow;
      const bytes = await this.files.read(t.file, begin, begin + m * srcRow);
      const what = `${t.name} in ${t.file}`;
      const data = dtype === 'f16' ? toF16Bits(bytes, t.dtype, what) : toF32(bytes, t.dtype, what);
      this.gpu.upload(buffer, data, byteOffset + r * rowElems * dstEl);
      this.loadedBytes += bytes.byteLength;
      this.onProgress?.({ loaded: this.loadedBytes, total: this.totalBytes });
    }
  }

  /** One debug line per chunked weight: its row ranges and the binding size that forced the split. */
  chunkSummary(): string[] {
    const bytes = this.maxChunkBytes;
    return this.chunked.map(
      (w) =>
        `${w.name} [${w.shape}] ${w.dtype} in ${w.chunks.length} row chunks ` +
        `(${w.chunks.map((c) => `rows ${c.rowStart}..${c.rowStart + c.rowCount - 1}`).join(', ')}; one binding holds at most ${bytes} bytes)`,
    );
  }

  /** Keys neither used nor known-ignorable: the caller logs them (debug), never fails on them. */
  unusedKeys(): string[] {
    return [...this.tensors.keys()].filter(
      (k) => !this.used.has(k) && !this.ignored.some((re) => re.test(k.slice(this.prefix.length))),
    );
  }

  /** Keys that are present but deliberately ignored (stale buffers, pooler). */
  ignoredKeys(): string[] {
    return [...this.tensors.keys()].filter((k) => !this.used.has(k) && this.ignored.some((re) => re.test(k.slice(this.prefix.length))));
  }

  destroy(): void {
    for (const b of this.buffers) this.gpu.destroyBuffer(b);
    this.buffers.length = 0;
  }
}
