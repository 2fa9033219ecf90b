// The main job (`npm run demo`): vLLM's multi_vector_retrieval.py in TypeScript. Loads a model
// (default BAAI/bge-m3 from the Hub; `--model` takes a Hub id or a local folder), prints dense
// and per-token embedding shapes for four prompts, then ranks documents for a query by BGE-M3's
// hybrid score (dense cosine, sparse lexical score where the model has it, and MaxSim), every
// output of a text set coming from one encoder pass (`model.encode`).
//
// Without Hub access it says so in one line and runs on the bundled bge-m3-tiny fixture.

import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BGE_M3_WEIGHTS, dot, hybridScore, isHubId, lexicalScore, loadModel, maxSim, type EncodeResult, type Model } from '../src/index.node.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const FIXTURE = join(ROOT, 'test', 'fixtures', 'bge-m3-tiny');

export const PROMPTS = [
  'Hello, my name is',
  'The president of the United States is',
  'The capital of France is',
  'The future of AI is',
];

export const QUERY = 'What is the capital of France?';
export const DOCUMENTS = [
  'Paris is the capital and largest city of France.',
  'Berlin is the capital of Germany.',
  'The president of the United States lives in the White House.',
  'WebGPU brings modern GPU compute to browsers and Node.',
  'France is a country in Western Europe; its capital is Paris.',
];

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

function progressBar(): (p: { file: string; loaded: number; total: number; fileIndex: number; fileCount: number }) => void {
  let last = '';
  return (p) => {
    const pct = p.total ? Math.floor((100 * p.loaded) / p.total) : 0;
    const line = `  [${p.fileIndex + 1}/${p.fileCount}] ${p.file} ${pct}%`;
    if (line !== last && process.stderr.isTTY) process.stderr.write(`\r${line.padEnd(70)}`);
    last = line;
  };
}

interface Opened {
  model: Model;
  /** What really runs: the Hub id or folder, or the bundled fixture after a fallback. */
  name: string;
  note: string | null;
}

async function open(source: string): Promise<Opened> {
  if (!isHubId(source) || existsSync(source)) return { model: await loadModel(source), name: source, note: null };
  try {
    return { model: await loadModel(source, { download: { onProgress: progressBar() } }), name: source, note: null };
  } catch (e) {
    const why = (e as Error).message.split('\n')[0];
    console.log(`Hub unavailable for ${source} (${why}); running on the bundled test/fixtures/bge-m3-tiny instead.`);
    return {
      model: await loadModel(FIXTURE),
      name: `test/fixtures/bge-m3-tiny (bundled fixture, random weights; ${source} was requested)`,
      note: 'NOTICE: bge-m3-tiny has random weights: its rankings and scores are meaningless, only the pipeline is real.',
    };
  }
}

export async function main(): Promise<void> {
  const source = arg('--model') ?? 'BAAI/bge-m3';
  const { model, name, note } = await open(source);
  try {
    const i = model.info;
    console.log(`Model: ${name} — ${i.architecture}, ${i.numLayers} layers, hidden ${i.hiddenSize}, max ${i.maxLength} tokens, ${i.dtype}`);
    console.log(`Adapter: ${[i.adapter.vendor, i.adapter.architecture, i.adapter.description].filter(Boolean).join(' / ')}`);
    if (note) console.log(note);
    const sparse = i.outputs.sparse;

    // One encoder pass per text set gives every output (FlagEmbedding's encode(return_dense,
    // return_sparse, return_colbert_vecs)).
    const prompts = await model.encode(PROMPTS, { dense: true, tokens: true, sparse });
    console.log('\nDense embeddings (one vector per prompt):');
    PROMPTS.forEach((p, k) => console.log(`  ${JSON.stringify(p)}: dim ${prompts.dense![k].length}`));
    console.log('\nMulti-vector embeddings (one vector per token):');
    PROMPTS.forEach((p, k) => console.log(`  ${JSON.stringify(p)}: [${prompts.tokens![k].shape.join(', ')}]`));

    const q = await model.encode([QUERY], { dense: true, tokens: true, sparse });
    const d = await model.encode(DOCUMENTS, { dense: true, tokens: true, sparse });
    console.log(`\nOne forward per text set: the prompts, the query and the ${DOCUMENTS.length} documents each ran the encoder once for dense${sparse ? ', sparse' : ''} and multi-vector outputs.`);
    const part = (o: EncodeResult, k: number) => ({ dense: o.dense![k], tokens: o.tokens![k], sparse: o.sparse?.[k] });
    // BGE-M3's model card weights; without a sparse head its weight is 0.
    const weights: [number, number, number] = [BGE_M3_WEIGHTS[0], sparse ? BGE_M3_WEIGHTS[1] : 0, BGE_M3_WEIGHTS[2]];
    const gpuScores = (await model.maxSimMatrix(q.tokens!, d.tokens!, { reduce: 'mean' }))[0];

    const rows = DOCUMENTS.map((doc, k) => ({
      doc,
      hybrid: hybridScore(part(q, 0), part(d, k), weights),
      colbert: maxSim(q.tokens![0], d.tokens![k], { reduce: 'mean' }),
      gpu: gpuScores[k],
      dense: dot(q.dense![0], d.dense![k]),
      sparse: sparse ? lexicalScore(q.sparse![0], d.sparse![k]) : null,
    })).sort((a, b) => b.hybrid - a.hybrid);

    const [wd, ws, wc] = weights;
    console.log(`\nQuery: ${JSON.stringify(QUERY)}`);
    console.log(`ranked by hybrid = (${wd}·dense + ${ws}·sparse + ${wc}·colbert) / ${wd + ws + wc} (FlagEmbedding's compute_score; colbert = MaxSim mean over ${q.tokens![0].shape[0]} query vectors)`);
    console.log(`rank | hybrid  | colbert | dense  | sparse | document`);
    rows.forEach((r, k) =>
      console.log(
        `${String(k + 1).padStart(4)} | ${r.hybrid.toFixed(4).padStart(7)} | ${r.colbert.toFixed(4).padStart(7)} | ${r.dense.toFixed(4)} | ${r.sparse === null ? '  -   ' : r.sparse.toFixed(4)} | ${r.doc}`,
      ),
    );
    const worst = Math.max(...rows.map((r) => Math.abs(r.colbert - r.gpu)));
    console.log(`(GPU maxSimMatrix agrees with the CPU MaxSim to ${worst.toExponential(1)})`);
  } finally {
    model.dispose();
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().then(
    () => process.exit(0),
    (e) => {
      console.error(`demo failed: ${(e as Error).message}`);
      process.exit(1);
    },
  );
}
