// End-to-end benchmark rows: random-weight MiniLM-L6- and BERT-base-shaped models (generated at
// bench time), batch 32 × 128 and 8 × 512 tokens, f32 and f16 weights, through the public
// `embed()` (tokenize → one forward → pooled, normalized vectors). Each row is validated first
// (finite unit vectors; the first text alone gives the same vector as in the batch), then timed:
// tokens/s, ms per batch, and the ratio to the matmul-only bound (the forward's matmul FLOPs
// over the matmul throughput measured in the same run).

import { nodeGpu } from '../src/gpu/node.js';
import { loadModelFromFiles, type Model } from '../src/embed/model.js';
import { BERT_BASE, MINILM_L6, forwardFlops, randomBertFiles, textOfTokens, type BertShape } from './random-model.js';
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
  filter?: string;
  log(msg: string): void;
}

const BATCHES: [number, number][] = [[32, 128], [8, 512]];

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
  const [alone] = await model.embed([texts[0]]);
  const d = maxAbsDiff(alone, out[0]);
  // Same sequence, same math: only the batch around it differs.
  if (d > 1e-5) throw new Error(`first text alone differs from its batched vector by ${d}`);
}

async function runRow(s: BertShape, B: number, T: number, dtype: 'f32' | 'f16', opts: E2EOptions): Promise<E2ERow> {
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
    const first = await model.embed(texts); // warm-up: compiles pipelines, sizes the arena
    try {
      await validate(model, texts, first);
    } catch (e) {
      return { ...row, status: 'invalid', error: (e as Error).message };
    }
    const times: number[] = [];
    for (let i = 0; i < opts.iterations; i++) {
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
  for (const s of [MINILM_L6, BERT_BASE]) {
    for (const [B, T] of BATCHES) {
      for (const dtype of ['f32', 'f16'] as const) {
        const label = `e2e ${s.name} ${B}x${T} ${dtype}`;
        if (opts.filter && !label.toLowerCase().includes(opts.filter.toLowerCase())) continue;
        opts.log(`  ${label}...`);
        rows.push(await runRow(s, B, T, dtype, opts));
      }
    }
  }
  return rows;
}

export function formatE2E(rows: E2ERow[]): string {
  const lines = [
    'end to end (embed, random weights)',
    'model      | batch  | dtype | median ms | tokens/s | GFLOP/s | matmul-only bound ms | ratio',
    '-----------|--------|-------|-----------|----------|---------|----------------------|------',
  ];
  for (const r of rows) {
    if (r.status !== 'ok') {
      lines.push(`${r.model.padEnd(10)} | ${r.shape.padEnd(6)} | ${r.dtype}   | ${r.status}: ${r.error}`);
      continue;
    }
    lines.push(
      `${r.model.padEnd(10)} | ${r.shape.padEnd(6)} | ${r.dtype}   | ${r.medianMs!.toFixed(0).padStart(9)} | ${r.tokensPerSec!.toFixed(0).padStart(8)} | ${r.gflops!.toFixed(1).padStart(7)} | ${(r.boundMs?.toFixed(0) ?? '-').padStart(20)} | ${r.boundRatio?.toFixed(2) ?? '-'}`,
    );
  }
  return lines.join('\n');
}
