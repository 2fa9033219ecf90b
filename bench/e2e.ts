// End-to-end benchmark rows: random-weight models (generated at bench time) through the public
// `embed()` (tokenize → one forward → pooled, normalized vectors). Default: MiniLM-L6 at
// 32 × 128 (f32, f16) and 8 × 512 (f32). --full: MiniLM-L6 and BERT-base at 32 × 128 and
// 8 × 512, f32 and f16, and a BGE-M3-shaped encoder (24 × 1024) on one 8192-token text. Each row is validated first
// (finite unit vectors; the first text alone gives the same vector as in the batch), then timed:
// tokens/s, ms per batch, and the ratio to the matmul-only bound (the forward's matmul FLOPs
// over the matmul throughput measured in the same run).

import { nodeGpu } from '../src/gpu/node.js';
import type { Model } from '../src/embed/model.js';
import { loadModelFromFiles } from '../src/embed/load.js';
import { BERT_BASE, BGE_M3_SHAPE, MINILM_L6, forwardFlops, randomBertFiles, textOfTokens, type BertShape } from './random-model.js';
import { median } from './peak.js';

export interface E2ERow {
  kernel: string; // row label, e.g. 'e2e|BERT-base,f16'
  model: string;
  shape: string; // '32x128'
  dtype: 'f32' | 'f16';
  status: 'ok' | 'invalid' | 'unsupported' | 'error';
  error?: string;
  tokens?: number;
  medianMs?: number;
  tokensPerSec?: number;
  /** Matmul FLOPs of one forward (projections + FFN) and attention FLOPs (Q·Kᵀ, P·V). */
  matmulFlops?: number;
  attentionFlops?: number;
  /** The matmul-only bound: matmulFlops / matmul GFLOP/s measured in this run. */
  boundMs?: number;
  /** medianMs / boundMs (1.0 = as fast as the matmuls alone allow). */
  boundRatio?: number;
  gflops?: number;
}

export interface E2EOptions {
  /** Matmul throughput measured in this run (GFLOP/s), per weight dtype. */
  matmulGflops: { f32?: number; f16?: number };
  iterations: number;
  /** All rows (else the default MiniLM rows). */
  full: boolean;
  filter?: string;
  log(msg: string): void;
}

interface E2ECase {
  shape: BertShape;
  B: number;
  T: number;
  dtype: 'f32' | 'f16';
  /** Timed runs (default opts.iterations); 0 = time the first (warm-up) run only. */
  iterations?: number;
}

export function e2eCases(full: boolean): E2ECase[] {
  if (!full) {
    return [
      { shape: MINILM_L6, B: 32, T: 128, dtype: 'f32' },
      { shape: MINILM_L6, B: 32, T: 128, dtype: 'f16' },
      { shape: MINILM_L6, B: 8, T: 512, dtype: 'f32' },
    ];
  }
  const cases: E2ECase[] = [];
  for (const shape of [MINILM_L6, BERT_BASE]) {
    for (const [B, T] of [[32, 128], [8, 512]]) for (const dtype of ['f32', 'f16'] as const) cases.push({ shape, B, T, dtype });
  }
  // Many minutes on a CPU adapter: the first run is the sample.
  cases.push({ shape: BGE_M3_SHAPE, B: 1, T: 8192, dtype: 'f32', iterations: 0 });
  return cases;
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

async function validate(model: Model, texts: string[], out: Float32Array[]): Promise<void> {
  for (const [i, v] of out.entries()) {
    let n = 0;
    for (const x of v) {
      if (!Number.isFinite(x)) throw new Error(`vector ${i} has a non-finite entry`);
      n += x * x;
    }
    if (Math.abs(Math.sqrt(n) - 1) > 1e-4) throw new Error(`vector ${i} has norm ${Math.sqrt(n)}, expected 1`);
  }
  if (texts.length === 1) return; // batch of one: nothing to compare with
  const [alone] = await model.embed([texts[0]]);
  const d = maxAbsDiff(alone, out[0]);
  // Same sequence, same math: only the batch around it differs.
  if (d > 1e-5) throw new Error(`first text alone differs from its batched vector by ${d}`);
}

async function runRow(s: BertShape, B: number, T: number, dtype: 'f32' | 'f16', iterations: number, opts: E2EOptions): Promise<E2ERow> {
  const row: E2ERow = { kernel: `e2e|${s.name},${dtype}`, model: s.name, shape: `${B}x${T}`, dtype, status: 'ok' };
  const gpu = await nodeGpu();
  if (dtype === 'f16' && !gpu.features.f16) {
    gpu.destroy();
    return { ...row, status: 'unsupported', error: 'adapter has no shader-f16' };
  }
  let model: Model | undefined;
  try {
    model = await loadModelFromFiles(randomBertFiles(s), gpu, { dtype, maxBatchTokens: B * T });
    const texts = Array.from({ length: B }, (_, i) => textOfTokens(T, i));
    const ids = await model.tokenize(texts);
    if (ids.some((x) => x.length !== T)) throw new Error(`texts did not tokenize to ${T} tokens`);
    const t0 = performance.now();
    const first = await model.embed(texts); // warm-up: compiles pipelines, sizes the arena
    const firstMs = performance.now() - t0;
    try {
      await validate(model, texts, first);
    } catch (e) {
      return { ...row, status: 'invalid', error: (e as Error).message };
    }
    // iterations 0: the first run is the only sample (its pipeline compiles are seconds of many minutes).
    const times: number[] = iterations === 0 ? [firstMs] : [];
    for (let i = 0; i < iterations; i++) {
      const t0 = performance.now();
      await model.embed(texts);
      times.push(performance.now() - t0);
    }
    const ms = median(times);
    const f = forwardFlops(s, Array(B).fill(T));
    const rate = opts.matmulGflops[dtype];
    row.tokens = B * T;
    row.medianMs = ms;
    row.tokensPerSec = (B * T) / (ms / 1000);
    row.matmulFlops = f.matmul;
    row.attentionFlops = f.attention;
    row.gflops = (f.matmul + f.attention) / ms / 1e6;
    if (rate) {
      row.boundMs = f.matmul / rate / 1e6;
      row.boundRatio = ms / row.boundMs;
    }
    opts.log(`  ${row.kernel} ${row.shape}: ${ms.toFixed(0)} ms, ${row.tokensPerSec.toFixed(0)} tokens/s`);
    return row;
  } catch (e) {
    return { ...row, status: 'error', error: (e as Error).message };
  } finally {
    if (model) model.dispose();
    else gpu.destroy();
  }
}

export async function runE2E(opts: E2EOptions): Promise<E2ERow[]> {
  const rows: E2ERow[] = [];
  for (const c of e2eCases(opts.full)) {
    const label = `e2e ${c.shape.name} ${c.B}x${c.T} ${c.dtype}`;
    if (opts.filter && !label.toLowerCase().includes(opts.filter.toLowerCase())) continue;
    opts.log(`  ${label}...`);
    rows.push(await runRow(c.shape, c.B, c.T, c.dtype, c.iterations ?? opts.iterations, opts));
  }
  return rows;
}

export function formatE2E(rows: E2ERow[]): string {
  const lines = [
    'end to end (embed, random weights)',
    'model        | batch  | dtype | median ms | tokens/s | GFLOP/s | matmul-only bound ms | ratio',
    '-------------|--------|-------|-----------|----------|---------|----------------------|------',
  ];
  for (const r of rows) {
    if (r.status !== 'ok') {
      lines.push(`${r.model.padEnd(12)} | ${r.shape.padEnd(6)} | ${r.dtype}   | ${r.status}: ${r.error}`);
      continue;
    }
    lines.push(
      `${r.model.padEnd(12)} | ${r.shape.padEnd(6)} | ${r.dtype}   | ${r.medianMs!.toFixed(0).padStart(9)} | ${r.tokensPerSec!.toFixed(0).padStart(8)} | ${r.gflops!.toFixed(1).padStart(7)} | ${(r.boundMs?.toFixed(0) ?? '-').padStart(20)} | ${r.boundRatio?.toFixed(2) ?? '-'}`,
    );
  }
  return lines.join('\n');
}
