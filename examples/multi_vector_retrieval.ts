// The main job (`npm run demo`): vLLM's multi_vector_retrieval.py in TypeScript. Loads a model
// (default BAAI/bge-m3 from the Hub; `--model` takes a Hub id or a local folder), prints dense
// and per-token embedding shapes for four prompts, then ranks documents for a query by MaxSim,
// dense cosine and (where the model has it) sparse lexical score.
//
// Without Hub access it says so in one line and runs on the bundled bge-m3-tiny fixture.

import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { dot, isHubId, lexicalScore, loadModel, maxSim, type Model } from '../src/index.node.js';

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

async function open(source: string): Promise<{ model: Model; note: string | null }> {
  if (!isHubId(source) || existsSync(source)) return { model: await loadModel(source), note: null };
  try {
    return { model: await loadModel(source, { download: { onProgress: progressBar() } }), note: null };
  } catch (e) {
    const why = (e as Error).message.split('\n')[0];
    console.log(`Hub unavailable for ${source} (${why}); running on the bundled test/fixtures/bge-m3-tiny instead.`);
    return {
      model: await loadModel(FIXTURE),
      note: 'NOTICE: bge-m3-tiny has random weights: its rankings and scores are meaningless, only the pipeline is real.',
    };
  }
}

export async function main(): Promise<void> {
  const source = arg('--model') ?? 'BAAI/bge-m3';
  const { model, note } = await open(source);
  try {
    const i = model.info;
    console.log(`Model: ${source} — ${i.architecture}, ${i.numLayers} layers, hidden ${i.hiddenSize}, max ${i.maxLength} tokens, ${i.dtype}`);
    console.log(`Adapter: ${[i.adapter.vendor, i.adapter.architecture, i.adapter.description].filter(Boolean).join(' / ')}`);
    if (note) console.log(note);

    console.log('\nDense embeddings (one vector per prompt):');
    const dense = await model.embed(PROMPTS);
    PROMPTS.forEach((p, k) => console.log(`  ${JSON.stringify(p)}: dim ${dense[k].length}`));

    console.log('\nMulti-vector embeddings (one vector per token):');
    const tokens = await model.embedTokens(PROMPTS);
    PROMPTS.forEach((p, k) => console.log(`  ${JSON.stringify(p)}: [${tokens[k].shape.join(', ')}]`));

    const [qDense] = await model.embed([QUERY]);
    const dDense = await model.embed(DOCUMENTS);
    const [qTok] = await model.embedTokens([QUERY]);
    const dTok = await model.embedTokens(DOCUMENTS);
    const sparse = i.outputs.sparse ? await model.sparse([QUERY, ...DOCUMENTS]) : null;
    const gpuScores = (await model.maxSimMatrix([qTok], dTok, { reduce: 'sum' }))[0];

    const rows = DOCUMENTS.map((doc, k) => ({
      doc,
      maxsim: maxSim(qTok, dTok[k], { reduce: 'sum' }),
      gpu: gpuScores[k],
      dense: dot(qDense, dDense[k]),
      sparse: sparse ? lexicalScore(sparse[0], sparse[k + 1]) : null,
    })).sort((a, b) => b.maxsim - a.maxsim);

    console.log(`\nQuery: ${JSON.stringify(QUERY)}   (ranked by MaxSim, sum over ${qTok.shape[0]} query tokens)`);
    console.log(`rank | maxsim   | dense  | sparse | document`);
    rows.forEach((r, k) =>
      console.log(
        `${String(k + 1).padStart(4)} | ${r.maxsim.toFixed(4).padStart(8)} | ${r.dense.toFixed(4)} | ${r.sparse === null ? '  -   ' : r.sparse.toFixed(4)} | ${r.doc}`,
      ),
    );
    const worst = Math.max(...rows.map((r) => Math.abs(r.maxsim - r.gpu)));
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
