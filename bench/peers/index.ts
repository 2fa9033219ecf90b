// Peer comparison: this engine vs transformers.js (`device: 'webgpu'`, onnxruntime-node's WebGPU
// provider; `device: 'cpu'`, its CPU provider) on one random-weight BERT checkpoint written both
// ways (folder.ts), the same texts and the same batches, in one run.
//
// Per model shape: (1) the ONNX graph's last_hidden_state (onnxruntime CPU) is checked against this
// engine's hidden states, padding included; (2) transformers.js's token ids are checked against
// this engine's, and every runner's warm-up batch gives vectors checked against this engine's —
// timing wrong math would mean nothing; (3) timed passes, interleaved round-robin with the
// order rotated each round, so machine-load drift hits every runner alike. A row's figure is
// the median pass; tokens are the real tokens of the texts (padding excluded), the same for all.
// Ratios to this engine: of median tokens/s; paired (median of same-round ratios); and of CPU
// time per pass (the process's user + system time, all threads), which load does not inflate.

import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { loadModel, type Model } from '../../src/index.node.js';
import { median } from '../peak.js';
import { BERT_BASE, MINILM_L6, textOfTokens, type BertShape } from '../random-model.js';
import { writePeerFolder, type PeerFolder } from './folder.js';
import { loadPeer, type PeerDevice, type PeerPipeline } from './transformers-js.js';

export type Runner = 'webgpu-embed' | 'transformers.js webgpu' | 'transformers.js cpu';
export const RUNNERS: Runner[] = ['webgpu-embed', 'transformers.js webgpu', 'transformers.js cpu'];

export interface Workload {
  name: string; // '64x~117 b32'
  /** Batches of texts, each passed to one embed call. */
  batches: string[][];
}

export interface PeerRow {
  kernel: string; // 'peers|MiniLM-L6,64x~117 b32,transformers.js webgpu'
  model: string;
  workload: string;
  runner: Runner;
  status: 'ok' | 'invalid' | 'unavailable' | 'error';
  error?: string;
  /** Real tokens per pass (specials included, padding excluded). */
  tokens?: number;
  /** Milliseconds of each timed pass, in run order. */
  samplesMs?: number[];
  medianMs?: number;
  /** CPU time of this process (user + system, all threads: lavapipe's and onnxruntime's) per timed pass. */
  cpuMs?: number[];
  medianCpuMs?: number;
  tokensPerSec?: number;
  /** webgpu-embed's median tokens/s over this row's (1 for the engine itself). */
  engineSpeedup?: number;
  /** Median over rounds of (webgpu-embed's pass tokens/s / this row's in the same round): adjacent passes, less drift. */
  pairedSpeedup?: number;
  /** This row's median CPU time per pass over webgpu-embed's (work done, whatever the load). */
  cpuRatio?: number;
  /** Worst |difference| of any vector element from this engine's vectors in the warm-up batch. */
  maxAbsDiff?: number;
}

export interface PeerOptions {
  /** Model shapes (default MiniLM-L6). */
  shapes?: BertShape[];
  /** Workload names to run (default both: '64x~117 b32' and '8x512'). */
  workloads?: string[];
  runners?: Runner[];
  /** Timed passes per runner and workload (after one validated warm-up batch). */
  rounds: number;
  log(msg: string): void;
}

// Unit vectors from two f32 implementations of the same math (different summation orders and
// kernels): measured worst differences ~1e-7 (MiniLM-L6 and BERT-base shapes). 1e-4 leaves room
// for other adapters and is still far below an element's size (~0.05 in a 384-d unit vector).
const VECTOR_ATOL = 1e-4;
// Hidden states are O(1) after LayerNorm; measured 1.9e-6 (MiniLM-L6) and 2.8e-6 (BERT-base).
const HIDDEN_ATOL = 1e-3;

/** The bench texts: 64 of 106–128 tokens (mean ~117) in batches of 32, and 8 of 512 in one batch. */
export function workloads(): Workload[] {
  const short = Array.from({ length: 64 }, (_, i) => textOfTokens(106 + ((i * 7) % 23), i));
  const long = Array.from({ length: 8 }, (_, i) => textOfTokens(512, 100 + i));
  return [
    { name: '64x~117 b32', batches: [short.slice(0, 32), short.slice(32)] },
    { name: '8x512', batches: [long] },
  ];
}

function worstDiff(a: Float32Array[], b: Float32Array[]): number {
  let m = 0;
  a.forEach((v, i) => v.forEach((x, j) => (m = Math.max(m, Math.abs(x - b[i][j]) || (Number.isNaN(x - b[i][j]) ? Infinity : 0)))));
  return m;
}

/** The ONNX graph on onnxruntime CPU vs this engine's hidden states, two texts of different lengths (padding path). */
async function checkGraph(model: Model, dir: string, C: number): Promise<number> {
  const texts = [textOfTokens(40, 7), textOfTokens(23, 8)];
  const ids = await model.tokenize(texts);
  const hs = await model.hiddenStates(texts);
  const B = ids.length, T = Math.max(...ids.map((r) => r.length));
  const flat = new BigInt64Array(B * T), mask = new BigInt64Array(B * T);
  ids.forEach((r, b) => r.forEach((v, t) => ((flat[b * T + t] = BigInt(v)), (mask[b * T + t] = 1n))));
  const sess = await ort.InferenceSession.create(join(dir, 'onnx', 'model.onnx'), { executionProviders: ['cpu'] });
  try {
    const t = (d: BigInt64Array) => new ort.Tensor('int64', d, [B, T]);
    const out = await sess.run({ input_ids: t(flat), attention_mask: t(mask), token_type_ids: t(new BigInt64Array(B * T)) });
    const y = out.last_hidden_state.data as Float32Array;
    let worst = 0;
    hs.forEach((h, b) => {
      for (let i = 0; i < h.shape[0] * C; i++) {
        const d = Math.abs(h.data[i] - y[b * T * C + i]);
        worst = Number.isNaN(d) ? Infinity : Math.max(worst, d);
      }
    });
    return worst;
  } finally {
    await sess.release();
  }
}

interface Live {
  runner: Runner;
  embed(texts: string[]): Promise<Float32Array[]>;
  dispose(): Promise<void> | void;
}

async function loadRunners(dir: string, runners: Runner[], engine: Model, rows: (r: Runner) => PeerRow[], log: (m: string) => void): Promise<Live[]> {
  const live: Live[] = [];
  for (const runner of runners) {
    if (runner === 'webgpu-embed') {
      live.push({ runner, embed: (t) => engine.embed(t), dispose: () => undefined });
      continue;
    }
    const device: PeerDevice = runner === 'transformers.js webgpu' ? 'webgpu' : 'cpu';
    let p: PeerPipeline;
    try {
      p = await loadPeer(dir, device);
    } catch (e) {
      const error = `transformers.js could not load with device '${device}': ${(e as Error).message}`;
      log(`  ${runner}: ${error}`);
      for (const r of rows(runner)) Object.assign(r, { status: 'unavailable', error });
      continue;
    }
    live.push({ runner, embed: (t) => p.embed(t), dispose: () => p.dispose() });
  }
  return live;
}

async function runShape(s: BertShape, opts: PeerOptions, out: PeerRow[]): Promise<void> {
  const runners = opts.runners ?? RUNNERS;
  const loads = workloads().filter((w) => !opts.workloads || opts.workloads.includes(w.name));
  const rows = new Map<string, PeerRow>();
  const key = (w: string, r: Runner) => `${w}|${r}`;
  for (const w of loads) {
    for (const runner of runners) {
      const row: PeerRow = { kernel: `peers|${s.name},${w.name},${runner}`, model: s.name, workload: w.name, runner, status: 'ok' };
      rows.set(key(w.name, runner), row);
      out.push(row);
    }
  }
  const fail = (status: PeerRow['status'], error: string, which: PeerRow[] = [...rows.values()]) => {
    for (const r of which) if (r.status === 'ok') Object.assign(r, { status, error });
  };

  opts.log(`peers ${s.name}: writing the random checkpoint (safetensors + ONNX)...`);
  let folder: PeerFolder | undefined;
  let engine: Model | undefined;
  let live: Live[] = [];
  try {
    folder = await writePeerFolder(s);
    engine = await loadModel(folder.dir, { dtype: 'f32' });
    const graphDiff = await checkGraph(engine, folder.dir, s.hidden);
    opts.log(`  ONNX graph vs this engine (hidden states, padded batch): worst |diff| ${graphDiff.toExponential(2)}`);
    if (!(graphDiff <= HIDDEN_ATOL)) return fail('invalid', `ONNX graph's last_hidden_state differs from this engine's by ${graphDiff} (> ${HIDDEN_ATOL})`);

    live = await loadRunners(folder.dir, runners, engine, (r) => [...rows.values()].filter((x) => x.runner === r), opts.log);
    for (const w of loads) {
      const texts = w.batches.flat();
      const ids = await engine.tokenize(texts);
      const tokens = ids.reduce((a, r) => a + r.length, 0);
      if (live.some((l) => l.runner !== 'webgpu-embed')) {
        const p = await loadPeerTokenizerIds(folder.dir, texts);
        if (JSON.stringify(p) !== JSON.stringify(ids)) fail('invalid', 'transformers.js tokenized the texts differently from this engine', [...rows.values()].filter((r) => r.workload === w.name && r.runner !== 'webgpu-embed'));
      }
      // Warm-up on the first batch (compiles, sizes buffers; every batch of a workload pads to the
      // same shape) = validation against this engine's vectors.
      const first = w.batches[0];
      let ref: Float32Array[] | undefined;
      for (const l of live) {
        const row = rows.get(key(w.name, l.runner))!;
        if (row.status !== 'ok') continue;
        try {
          const t0 = performance.now();
          const vecs = await l.embed(first);
          const ms = performance.now() - t0;
          if (l.runner === 'webgpu-embed') ref = vecs;
          ref ??= await engine.embed(first);
          row.maxAbsDiff = worstDiff(vecs, ref);
          row.tokens = tokens;
          opts.log(`  ${s.name} ${w.name} ${l.runner}: warm-up ${ms.toFixed(0)} ms, worst |diff| vs this engine ${row.maxAbsDiff.toExponential(2)}`);
          if (!(row.maxAbsDiff <= VECTOR_ATOL)) fail('invalid', `vectors differ from this engine's by ${row.maxAbsDiff} (> ${VECTOR_ATOL})`, [row]);
        } catch (e) {
          fail('error', (e as Error).message, [row]);
        }
      }
      // Timed passes, interleaved; the runner order rotates each round.
      const active = live.filter((l) => rows.get(key(w.name, l.runner))!.status === 'ok');
      for (let round = 0; round < opts.rounds; round++) {
        for (let k = 0; k < active.length; k++) {
          const l = active[(k + round) % active.length];
          const row = rows.get(key(w.name, l.runner))!;
          if (row.status !== 'ok') continue;
          try {
            const c0 = process.cpuUsage();
            const t0 = performance.now();
            for (const b of w.batches) await l.embed(b);
            const ms = performance.now() - t0;
            const c = process.cpuUsage(c0);
            (row.samplesMs ??= []).push(ms);
            (row.cpuMs ??= []).push((c.user + c.system) / 1000);
            opts.log(`  ${s.name} ${w.name} ${l.runner}: round ${round + 1}/${opts.rounds} ${ms.toFixed(0)} ms (${((tokens / ms) * 1000).toFixed(0)} tokens/s)`);
          } catch (e) {
            fail('error', (e as Error).message, [row]);
          }
        }
      }
      for (const r of runners) {
        const row = rows.get(key(w.name, r))!;
        if (row.status !== 'ok' || !row.samplesMs?.length) continue;
        row.medianMs = median(row.samplesMs);
        row.medianCpuMs = median(row.cpuMs!);
        row.tokensPerSec = (tokens / row.medianMs) * 1000;
      }
      const mine = rows.get(key(w.name, 'webgpu-embed'));
      for (const r of runners) {
        const row = rows.get(key(w.name, r))!;
        if (!mine?.tokensPerSec || !row.tokensPerSec) continue;
        row.engineSpeedup = mine.tokensPerSec / row.tokensPerSec;
        const n = Math.min(mine.samplesMs!.length, row.samplesMs!.length);
        row.pairedSpeedup = median(Array.from({ length: n }, (_, i) => row.samplesMs![i] / mine.samplesMs![i]));
        row.cpuRatio = row.medianCpuMs! / mine.medianCpuMs!;
      }
    }
  } catch (e) {
    fail('error', (e as Error).message);
  } finally {
    for (const l of live) await l.dispose();
    engine?.dispose();
    folder?.remove();
  }
}

/** Token ids from transformers.js's own tokenizer (loaded alone: no session). */
async function loadPeerTokenizerIds(dir: string, texts: string[]): Promise<number[][]> {
  const { AutoTokenizer } = await import('@huggingface/transformers');
  const tok = await AutoTokenizer.from_pretrained(dir);
  return texts.map((t) => Array.from(tok.encode(t)));
}

/** Runs the comparison; rows in shape × workload × runner order. Never throws for a runner's failure (see row.status). */
export async function runPeers(opts: PeerOptions): Promise<PeerRow[]> {
  const out: PeerRow[] = [];
  for (const s of opts.shapes ?? [MINILM_L6]) await runShape(s, opts, out);
  return out;
}

export { MINILM_L6, BERT_BASE };

export function formatPeers(rows: PeerRow[]): string {
  const lines = [
    'peers (same random weights, texts and batches; one run; medians)',
    'model      | texts        | runner                 | median ms | tokens/s | this engine is | paired | CPU s/pass | CPU ratio | worst |diff|',
    '-----------|--------------|------------------------|-----------|----------|----------------|--------|------------|-----------|-------------',
  ];
  for (const r of rows) {
    const head = `${r.model.padEnd(10)} | ${r.workload.padEnd(12)} | ${r.runner.padEnd(22)}`;
    if (r.status !== 'ok') {
      lines.push(`${head} | ${r.status}: ${r.error}`);
      continue;
    }
    const self = r.runner === 'webgpu-embed';
    const speed = self ? '' : r.engineSpeedup !== undefined ? `${r.engineSpeedup.toFixed(2)}x` : '-';
    const cpu = r.medianCpuMs !== undefined ? (r.medianCpuMs / 1000).toFixed(1) : '-';
    const x = (v?: number) => (self ? '' : v !== undefined ? `${v.toFixed(2)}x` : '-');
    lines.push(
      `${head} | ${(r.medianMs?.toFixed(0) ?? '-').padStart(9)} | ${(r.tokensPerSec?.toFixed(0) ?? '-').padStart(8)} | ${speed.padStart(14)} | ${x(r.pairedSpeedup).padStart(6)} | ${cpu.padStart(10)} | ${x(r.cpuRatio).padStart(9)} | ${self ? '(reference)' : (r.maxAbsDiff?.toExponential(1) ?? '-')}`,
    );
  }
  return lines.join('\n');
}
