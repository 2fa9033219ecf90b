// `npm run bench:peers`: this engine vs transformers.js (WebGPU and CPU) on the same random
// weights and texts (see index.ts). Table on stdout, progress on stderr.
// Default: MiniLM-L6 shape (6 × 384), 64 texts of ~117 tokens in batches of 32, 2 timed passes
// (about 2 minutes on 2 unloaded cores; transformers.js WebGPU is most of it).
//   --long          add the 8 × 512-token workload
//   --full          MiniLM-L6 and BERT-base (12 × 768), both workloads, 3 timed passes
//   --shape NAME    only this model shape ('MiniLM-L6' or 'BERT-base')
//   --rounds N      timed passes per runner (the median is reported)
//   --only NAME     only workload NAME ('64x~117 b32' or '8x512')
//   --json FILE     write { machine, rows } to FILE
// Exits 1 when a row fails validation or errors ('unavailable' runners are reported, not failures).

import { writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { nodeGpu } from '../../src/gpu/node.js';
import { BERT_BASE, MINILM_L6, formatPeers, runPeers } from './index.js';
import type { BertShape } from '../random-model.js';

interface Args {
  full: boolean;
  long: boolean;
  rounds?: number;
  only?: string;
  shape?: string;
  json?: string;
}

function parseArgs(argv: string[]): Args {
  const a: Args = { full: false, long: false };
  for (let i = 0; i < argv.length; i++) {
    const x = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${x} needs a value`);
      return v;
    };
    if (x === '--full') a.full = true;
    else if (x === '--long') a.long = true;
    else if (x === '--rounds') {
      a.rounds = Number(value());
      if (!Number.isInteger(a.rounds) || a.rounds < 1) throw new Error('--rounds needs a positive integer');
    } else if (x === '--only') a.only = value();
    else if (x === '--json') a.json = value();
    else if (x === '--shape') a.shape = value();
    else throw new Error(`unknown argument "${x}" (use --long, --full, --rounds N, --only NAME, --shape NAME, --json FILE)`);
  }
  return a;
}

function shapeNamed(name: string): BertShape {
  const s = [MINILM_L6, BERT_BASE].find((x) => x.name.toLowerCase() === name.toLowerCase());
  if (!s) throw new Error(`--shape ${name}: unknown (use MiniLM-L6 or BERT-base)`);
  return s;
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  const log = (m: string): void => void process.stderr.write(m + '\n');
  const gpu = await nodeGpu();
  const adapter = gpu.adapter.description || gpu.adapter.device;
  gpu.destroy();
  const { version } = (await import('@huggingface/transformers')).env;
  const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'CPU'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB; adapter: ${adapter}; Node ${process.version}; transformers.js ${version}`;
  log(`machine: ${machine}`);
  const t0 = performance.now();
  const rows = await runPeers({
    shapes: args.shape ? [shapeNamed(args.shape)] : args.full ? [MINILM_L6, BERT_BASE] : [MINILM_L6],
    workloads: args.only ? [args.only] : args.full || args.long ? undefined : ['64x~117 b32'],
    rounds: args.rounds ?? (args.full ? 3 : 2),
    log,
  });
  process.stdout.write(`machine: ${machine}\n${formatPeers(rows)}\n`);
  log(`peers took ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  if (args.json) writeFileSync(args.json, JSON.stringify({ machine, rows }, null, 2) + '\n');
  return rows.some((r) => r.status === 'invalid' || r.status === 'error') ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (e) => {
    process.stderr.write(`bench:peers failed: ${(e as Error).stack ?? e}\n`);
    process.exit(1);
  },
);
