// Bench row for the HTTP server's request coalescing: N clients (default 64) each POST one short
// text to /v1/embeddings, (a) one after another, each waiting for the previous answer, and
// (b) all at once, so the server merges them into packed batches. Reports requests/s and p50/p99
// latency of each, and the engine batches the concurrent rounds took. Every answer is checked
// (status 200, a finite unit vector of the model's width) before it counts.
//   npm run bench:serve [-- --model DIR|HUB_ID] [--clients 64] [--tokens 16] [--rounds 5] [--dtype f16] [--json FILE]
// Default model: a random-weight MiniLM-L6-shaped BERT built in memory (bench/random-model.ts).
// `runServeBench` is the same, for the main bench.

import { writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { nodeGpu } from '../src/gpu/node.js';
import type { Model } from '../src/embed/model.js';
import { loadModelFromFiles } from '../src/embed/load.js';
import { loadModel } from '../src/index.node.js';
import { createServer } from '../src/server/app.js';
import { engineFromModel } from '../src/server/engine.js';
import { MINILM_L6, randomBertFiles, textOfTokens } from './random-model.js';

export interface ServeBenchOptions {
  /** Folder or Hub id; default a random-weight MiniLM-L6. */
  model?: string;
  dtype?: 'f32' | 'f16';
  clients?: number;
  /** Tokens per text (with [CLS]/[SEP]); for the default model's tokenizer exactly. */
  tokens?: number;
  /** Rounds of each mode (the first warm-up round is not counted). */
  rounds?: number;
  log?: (msg: string) => void;
}

export interface ServeModeStats {
  requests: number;
  requestsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  /** Engine batches these requests ran in. */
  batches: number;
}

export interface ServeBenchRow {
  kernel: string; // 'serve|MiniLM-L6,64 clients x 16 tokens'
  model: string;
  adapter: string;
  clients: number;
  tokens: number;
  sequential: ServeModeStats;
  concurrent: ServeModeStats;
  /** concurrent.requestsPerSec / sequential.requestsPerSec */
  speedup: number;
}

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}

async function embedOne(url: string, text: string, width: number): Promise<number> {
  const t0 = performance.now();
  const res = await fetch(`${url}/v1/embeddings`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ input: text }) });
  const body = (await res.json()) as { data?: { embedding: number[] }[] };
  const ms = performance.now() - t0;
  const v = body.data?.[0]?.embedding;
  if (res.status !== 200 || !v) throw new Error(`serve bench: status ${res.status}: ${JSON.stringify(body).slice(0, 200)}`);
  let n = 0;
  for (const x of v) n += x * x;
  if (v.length !== width || !(Math.abs(Math.sqrt(n) - 1) < 1e-3)) throw new Error(`serve bench: bad vector (length ${v.length}, norm ${Math.sqrt(n)})`);
  return ms;
}

export async function runServeBench(opts: ServeBenchOptions = {}): Promise<ServeBenchRow> {
  const clients = opts.clients ?? 64;
  const tokens = opts.tokens ?? 16;
  const rounds = opts.rounds ?? 5;
  const log = opts.log ?? (() => {});
  let model: Model;
  let label: string;
  if (opts.model) {
    model = await loadModel(opts.model, { dtype: opts.dtype });
    label = opts.model;
  } else {
    model = await loadModelFromFiles(randomBertFiles(MINILM_L6), await nodeGpu(), { dtype: opts.dtype });
    label = `${MINILM_L6.name} (random weights)`;
  }
  const app = createServer(engineFromModel(model), { modelName: label });
  try {
    const url = await app.listen({ host: '127.0.0.1', port: 0 });
    const width = model.info.outputs.dense;
    const texts = Array.from({ length: clients }, (_, i) => textOfTokens(tokens, i + 1));
    const stats = app.ctx.batcher.stats;

    const measure = async (mode: 'sequential' | 'concurrent'): Promise<ServeModeStats> => {
      const lat: number[] = [];
      let wall = 0;
      const b0 = stats.batches;
      for (let r = 0; r <= rounds; r++) {
        const t0 = performance.now();
        const ms = mode === 'sequential' ? [] as number[] : await Promise.all(texts.map((t) => embedOne(url, t, width)));
        if (mode === 'sequential') for (const t of texts) ms.push(await embedOne(url, t, width));
        const dt = performance.now() - t0;
        if (r === 0) {
          // Warm-up round: compiles the pipelines for these batch shapes.
          stats.batches = b0;
          continue;
        }
        wall += dt;
        lat.push(...ms);
      }
      return {
        requests: lat.length,
        requestsPerSec: lat.length / (wall / 1000),
        p50Ms: percentile(lat, 50),
        p99Ms: percentile(lat, 99),
        batches: stats.batches - b0,
      };
    };
    log(`serve bench: ${label}, ${clients} clients x ${tokens} tokens, ${rounds} rounds each`);
    const sequential = await measure('sequential');
    log(`  one at a time: ${sequential.requestsPerSec.toFixed(1)} req/s, p50 ${sequential.p50Ms.toFixed(1)} ms, p99 ${sequential.p99Ms.toFixed(1)} ms`);
    const concurrent = await measure('concurrent');
    log(`  ${clients} at once: ${concurrent.requestsPerSec.toFixed(1)} req/s, p50 ${concurrent.p50Ms.toFixed(1)} ms, p99 ${concurrent.p99Ms.toFixed(1)} ms, ${concurrent.batches} batches`);
    const a = model.info.adapter;
    return {
      kernel: `serve|${opts.model ? label : MINILM_L6.name},${clients} clients x ${tokens} tokens`,
      model: label,
      adapter: a.description || a.device || a.vendor,
      clients,
      tokens,
      sequential,
      concurrent,
      speedup: concurrent.requestsPerSec / sequential.requestsPerSec,
    };
  } finally {
    await app.close();
    model.dispose();
  }
}

export function formatServeRow(r: ServeBenchRow): string {
  const line = (name: string, s: ServeModeStats) =>
    `| ${name.padEnd(22)} | ${s.requestsPerSec.toFixed(1).padStart(8)} | ${s.p50Ms.toFixed(1).padStart(8)} | ${s.p99Ms.toFixed(1).padStart(8)} | ${String(s.batches).padStart(7)} |`;
  return [
    `${r.model} on ${r.adapter}: ${r.clients} clients, one ${r.tokens}-token text each`,
    `| mode                   |    req/s | p50 (ms) | p99 (ms) | batches |`,
    `|------------------------|---------:|---------:|---------:|--------:|`,
    line('one at a time', r.sequential),
    line(`${r.clients} concurrent`, r.concurrent),
    `coalescing: ${r.speedup.toFixed(1)}x the requests/s`,
  ].join('\n');
}

function parse(argv: string[]): ServeBenchOptions & { json?: string } {
  const o: ServeBenchOptions & { json?: string } = {};
  const int = (v: string | undefined, name: string) => {
    const n = Number(v);
    if (!Number.isSafeInteger(n) || n < 1) throw new Error(`${name} needs a positive integer, got ${v}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--model') o.model = argv[++i];
    else if (a === '--clients') o.clients = int(argv[++i], a);
    else if (a === '--tokens') o.tokens = int(argv[++i], a);
    else if (a === '--rounds') o.rounds = int(argv[++i], a);
    else if (a === '--dtype') o.dtype = argv[++i] as 'f32' | 'f16';
    else if (a === '--json') o.json = argv[++i];
    else throw new Error(`unknown argument "${a}" (use --model, --clients, --tokens, --rounds, --dtype, --json)`);
  }
  return o;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const o = parse(process.argv.slice(2));
  runServeBench({ ...o, log: (m) => void process.stderr.write(m + '\n') })
    .then((row) => {
      process.stdout.write(formatServeRow(row) + '\n');
      if (o.json) writeFileSync(o.json, JSON.stringify(row, null, 2) + '\n');
    })
    .catch((e) => {
      process.stderr.write(`${(e as Error).stack ?? e}\n`);
      process.exit(1);
    });
}
