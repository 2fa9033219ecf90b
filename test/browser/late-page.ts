// In-page half of the browser test for late-interaction models and rerankers (bundled by
// test/browser/browser.test.ts, run in Chromium): loads colbertv2-tiny, pylate-tiny,
// cross-encoder-bert-tiny and cross-encoder-xlmr-tiny by base URL with the browser bundle's
// loadModel and runs the checks of test/models/golden-{colbert,pylate,cross-encoder}.test.ts with
// the same tolerances: query vectors with the [MASK] expansion, document vectors with the skiplist
// removed, token ids, MaxSim sums, reranker logits and order. Publishes `window.__golden`.

import { loadModel, maxSim, type Model } from '../../src/index.browser.js';
import { expectClose, expectRowCosine } from '../util/compare.js';
import type { CheckResult, GoldenPageResult } from './golden-page.js';

type Tensors = Map<string, { shape: number[]; data: Float32Array }>;

/** A minimal F32-only safetensors reader, independent of the engine's own parser. */
function readSafetensorsF32(buf: ArrayBuffer): Tensors {
  const view = new DataView(buf);
  const n = Number(view.getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(new Uint8Array(buf, 8, n))) as Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
  const out: Tensors = new Map();
  for (const [name, t] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    if (t.dtype !== 'F32') throw new Error(`golden tensor ${name} is ${t.dtype}, expected F32`);
    out.set(name, { shape: t.shape, data: new Float32Array(buf.slice(8 + n + t.data_offsets[0], 8 + n + t.data_offsets[1])) });
  }
  return out;
}

async function golden<T>(base: string): Promise<T & { tensors: Tensors }> {
  const get = async (f: string) => {
    const r = await fetch(`${base}${f}`);
    if (!r.ok) throw new Error(`GET ${base}${f}: HTTP ${r.status}`);
    return r;
  };
  const json = (await (await get('golden.json')).json()) as T;
  return { ...json, tensors: readSafetensorsF32(await (await get('golden.safetensors')).arrayBuffer()) };
}

function check(cond: boolean, message: string): void {
  if (!cond) throw new Error(message);
}

function same(a: ArrayLike<number>, b: ArrayLike<number>, label: string): void {
  const x = Array.from(a), y = Array.from(b);
  check(x.length === y.length && x.every((v, i) => v === y[i]), `${label}: got [${x.join(', ')}], expected [${y.join(', ')}]`);
}

function tensor(t: Tensors, key: string): { shape: number[]; data: Float32Array } {
  const x = t.get(key);
  if (!x) throw new Error(`golden has no tensor ${key}`);
  return x;
}

interface LateGolden {
  settings: { query_length: number; dim: number; skiplist_ids: number[] };
  groups: { queries: { text: string; ids: number[]; expansion: number[] }[]; documents: { text: string; kept_ids: number[] }[] };
  scores: { maxsim: number[][] };
}

interface CrossGolden {
  queries: string[];
  documents: string[];
  scores: { logits: number[][]; sigmoid: number[][] };
  rank: number[][];
}

async function lateChecks(model: Model, g: LateGolden & { tensors: Tensors }): Promise<void> {
  const s = g.settings;
  const q = await model.embedTokens(g.groups.queries.map((x) => x.text), { kind: 'query' });
  const d = await model.embedTokens(g.groups.documents.map((x) => x.text));
  g.groups.queries.forEach((gq, i) => {
    same(q[i].tokenIds, gq.ids, `query ${i} ids`);
    same(q[i].expansion!, gq.expansion, `query ${i} expansion`);
    const ref = tensor(g.tensors, `queries/${i}/vectors`);
    // As in Node: normalized f32 outputs of a 2-layer forward, 2e-5 absolute.
    expectClose(q[i].data, ref.data, { atol: 2e-5, shape: ref.shape, label: `query ${i} vectors` });
    expectRowCosine(q[i].data, ref.data, s.dim, 0.99999, `query ${i}`);
  });
  const skip = new Set(s.skiplist_ids);
  g.groups.documents.forEach((gd, j) => {
    same(d[j].tokenIds, gd.kept_ids, `document ${j} kept ids`);
    check(!Array.from(d[j].tokenIds).some((t) => skip.has(t)), `document ${j} keeps a skiplisted token`);
    const ref = tensor(g.tensors, `documents/${j}/vectors`);
    expectClose(d[j].data, ref.data, { atol: 2e-5, shape: ref.shape, label: `document ${j} vectors` });
  });
  const m = await model.maxSimMatrix(q, d);
  g.scores.maxsim.forEach((row, i) => {
    // As in Node: sums of 10-12 maxima of unit-vector dot products, 2e-5.
    expectClose(m[i], row, { atol: 2e-5, shape: [row.length], label: `maxsim row ${i}` });
    row.forEach((ref, j) => check(Math.abs(maxSim(q[i], d[j]) - ref) < 2e-5, `cpu maxSim ${i},${j}`));
  });
}

async function crossChecks(model: Model, g: CrossGolden): Promise<void> {
  check(model.info.task === 'score', `task ${model.info.task}, expected score`);
  for (const [qi, query] of g.queries.entries()) {
    // As in Node: logits 2e-5, sigmoid 5e-6.
    expectClose(await model.score(query, g.documents), g.scores.logits[qi], { atol: 2e-5, label: `logits of query ${qi}` });
    expectClose(await model.score(query, g.documents, { activation: 'sigmoid' }), g.scores.sigmoid[qi], { atol: 5e-6, label: `sigmoid of query ${qi}` });
    same((await model.rerank(query, g.documents)).map((r) => r.index), g.rank[qi], `rerank of query ${qi}`);
  }
}

async function run(): Promise<GoldenPageResult> {
  const params = new URLSearchParams(location.search);
  const featureLevel = params.get('featureLevel') as 'core' | 'compatibility' | null;
  if (!('gpu' in navigator)) return { ok: false, adapter: null, checks: [], error: 'navigator.gpu is missing: this Chromium has no WebGPU' };
  const checks: CheckResult[] = [];
  const fixtures: [string, (m: Model, base: string) => Promise<void>][] = [
    ['colbertv2-tiny', async (m, base) => lateChecks(m, await golden<LateGolden>(base))],
    ['pylate-tiny', async (m, base) => lateChecks(m, await golden<LateGolden>(base))],
    ['cross-encoder-bert-tiny', async (m, base) => crossChecks(m, await golden<CrossGolden>(base))],
    ['cross-encoder-xlmr-tiny', async (m, base) => crossChecks(m, await golden<CrossGolden>(base))],
  ];
  for (const [name, body] of fixtures) {
    const base = new URL(`/fixtures/${name}/`, location.href).href;
    const t0 = performance.now();
    let model: Model | undefined;
    try {
      model = await loadModel(base, { featureLevel: featureLevel ?? undefined });
      await body(model, base);
      checks.push({ name, ok: true, ms: Math.round(performance.now() - t0) });
    } catch (e) {
      checks.push({ name, ok: false, ms: Math.round(performance.now() - t0), error: (e as Error).stack ?? String(e) });
    } finally {
      model?.dispose();
    }
  }
  return { ok: checks.every((c) => c.ok), adapter: null, checks };
}

function publish(r: GoldenPageResult): void {
  window.__golden = r;
  const pre = document.getElementById('out');
  if (pre) pre.textContent = JSON.stringify(r, null, 2);
  document.title = r.ok ? 'golden: ok' : 'golden: FAILED';
}

run().then(publish, (e: unknown) => publish({ ok: false, adapter: null, checks: [], error: (e as Error)?.stack ?? String(e) }));
