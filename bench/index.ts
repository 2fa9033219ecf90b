// `npm run bench`: adapter peaks → load-time kernel choice → kernel rows (validated, then timed)
// → TF.js comparison → end to end → table on stdout (progress on stderr) and optionally JSON.
// The default is the headline set, about 3 minutes on a 2-core software adapter: matmul at the
// BERT-base shapes (f32, f16, gelu_erf vs plain) against TF.js, the default fused attention,
// MiniLM-shaped end to end. --full runs everything (tens of minutes on a CPU adapter).
//   --full         every row: square matmul, tiled matmul, tiled/unfused attention, layernorm,
//                  gelu, BERT-base and a BGE-M3-shaped (24 × 1024, 8192 tokens) end to end
//   --json FILE    write { adapter, peak, variants, rows, tfjs, e2e } to FILE
//   --filter STR   only cases whose "family shape" contains STR (case-insensitive)
//   --quick        fewer iterations (smoke runs, CI)
//   --no-tfjs      skip the TF.js rows
//   --no-e2e       skip the end-to-end rows
//   --peers        also transformers.js (webgpu and cpu) on the same random MiniLM weights and texts
//                  (bench/peers; on by --full, where BERT-base is added; `npm run bench:peers` alone)
// Exits 1 when any kernel row fails validation or errors.

import { nodeGpu } from '../src/gpu/node.js';
import { isHeadline, matchesFilter, registeredCases, runKernelCases, type KernelRow } from './kernels.js';
import { chooseVariants } from '../src/gpu/variants.js';
import { measurePeak } from './peak.js';
import { formatReport, tfjsRatio, writeJson, type BenchReport } from './report.js';
import { disposeTfjs, runTfjs } from './tfjs.js';
import { runE2E, type E2ERow } from './e2e.js';
import { MATMUL_SHAPES, matmulCompareKey, matmulShapeLabel } from './matmul.js';
import { BERT_BASE, MINILM_L6, formatPeers, runPeers, type PeerRow } from './peers/index.js';
// Kernel families register their rows on import (add one line per family).
import './matmul.js';
import './attention.js';
import './elementwise.js';

interface Args {
  json?: string;
  filter?: string;
  quick: boolean;
  full: boolean;
  tfjs: boolean;
  e2e: boolean;
  peers: boolean;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { quick: false, full: false, tfjs: true, e2e: true, peers: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--json') args.json = argv[++i];
    else if (a === '--filter') args.filter = argv[++i];
    else if (a === '--quick') args.quick = true;
    else if (a === '--full') args.full = true;
    else if (a === '--no-tfjs') args.tfjs = false;
    else if (a === '--no-e2e') args.e2e = false;
    else if (a === '--peers') args.peers = true;
    else throw new Error(`unknown argument "${a}" (use --full, --json FILE, --filter STR, --quick, --no-tfjs, --no-e2e, --peers)`);
  }
  if (args.json === undefined && argv.includes('--json')) throw new Error('--json needs a file name');
  return args;
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  const log = (msg: string): void => void process.stderr.write(msg + '\n');
  const gpu = await nodeGpu();
  let failed = false;
  try {
    log(`adapter: ${gpu.adapter.description || gpu.adapter.device}`);
    log('peak...');
    const peak = await measurePeak(gpu, args.quick ? { warmup: 1, runs: 3 } : { warmup: 2, runs: 7 });
    log(`  FMA ${peak.fmaGflops.toFixed(2)} GFLOP/s (best of ${peak.fmaProbes.map((p) => `${p.config} ${p.gflops.toFixed(1)}`).join(', ')}), copy ${peak.copyGbps.toFixed(2)} GB/s, loads ${peak.loadGwords?.toFixed(2)} G words/s`);
    log('variants...');
    const v = await chooseVariants(gpu);
    const variants = { matmul: v.matmul, attention: v.attention, timings: v.timings };
    log(`  matmul ${v.matmul}, attention ${v.attention} (best ms: matmul ${JSON.stringify(v.timings.matmul)}, attention ${JSON.stringify(v.timings.attention)})`);

    const cases = registeredCases().filter((c) => (args.full || isHeadline(c)) && matchesFilter(c, args.filter));
    log(`kernels (${cases.length} cases)...`);
    const rows = await runKernelCases(gpu, cases, peak, {
      iterations: args.quick ? 2 : args.full ? 5 : 3,
      time: args.quick ? 200 : 1000,
      warmupIterations: 1,
      log,
    });
    failed = rows.some((r) => r.status === 'invalid' || r.status === 'error');

    const tfShapes = args.tfjs
      ? MATMUL_SHAPES.filter((s) => (args.full || s.M === 4096) && matchesFilter({ kernel: 'matmul', shape: matmulShapeLabel(s) }, args.filter))
      : [];
    if (tfShapes.length) log(`tfjs (${tfShapes.length} shapes)...`);
    const tfjs = tfShapes.length
      ? await runTfjs(tfShapes, (s) => ({ shape: matmulShapeLabel(s), compareKey: matmulCompareKey(s) }), { runs: args.quick || !args.full ? 1 : 2, log })
      : [];

    for (const r of rows) r.tfjsRatio = tfjsRatio(r, tfjs);

    // Matmul throughput of this run at the BERT-base 4096-token shapes: the e2e rows' bound.
    const mm = (w: string) => {
      // The four layers as the model runs them (not the tiled form, not FFN up without its gelu).
      const layer = (x: KernelRow) => !x.shape.endsWith(' tiled') && !(x.shape.includes('(ffn-up)') && !x.shape.includes('gelu'));
      const r = rows.filter((x) => x.status === 'ok' && x.family === 'matmul' && x.shape.startsWith('4096') && x.shape.includes(w) && x.gflops && layer(x));
      return r.length ? r.reduce((a, x) => a + x.gflops!, 0) / r.length : undefined;
    };
    let e2e: E2ERow[] = [];
    if (args.e2e) {
      log('end to end...');
      e2e = await runE2E({ matmulGflops: { f32: mm('f32'), f16: mm('f16') }, iterations: args.quick ? 1 : args.full ? 3 : 2, full: args.full, filter: args.filter, log });
      if (e2e.some((r) => r.status === 'invalid' || r.status === 'error')) failed = true;
    }
    let peers: PeerRow[] = [];
    if (args.peers || args.full) {
      log('peers (transformers.js on the same weights and texts)...');
      peers = await runPeers({ rounds: args.quick ? 1 : 2, shapes: args.full ? [MINILM_L6, BERT_BASE] : [MINILM_L6], workloads: args.full ? undefined : ['64x~117 b32'], log });
    }
    const report: BenchReport = {
      adapter: { vendor: gpu.adapter.vendor, architecture: gpu.adapter.architecture, description: gpu.adapter.description, device: gpu.adapter.device },
      peak,
      variants,
      rows,
      tfjs,
      e2e,
    };
    process.stdout.write(formatReport(report) + '\n');
    if (peers.length) process.stdout.write('\npeers (embed() end to end; same random weights and texts; vectors checked first)\n' + formatPeers(peers) + '\n');
    if (args.json) {
      writeJson(args.json, { ...report, peers });
      log(`wrote ${args.json}`);
    }
    if (failed) log('FAILED: some kernel rows did not validate or errored (see above)');
  } finally {
    await disposeTfjs();
    gpu.destroy();
  }
  return failed ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (e) => {
    process.stderr.write(`bench failed: ${(e as Error).stack ?? e}\n`);
    process.exit(1);
  },
);
