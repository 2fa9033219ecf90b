// In-page half of the browser test (bundled by test/browser/browser.test.ts, run in Chromium):
// loads a fixture (`?model=`, default bge-m3-tiny) by base URL with the browser bundle's
// loadModel, reads golden.json + golden.safetensors itself, and runs the same golden checks, with
// the same tolerances, as the Node golden tests: test/models/golden.test.ts for BGE-M3,
// test/models/golden-suite.ts for the ModernBERT / NomicBERT / Qwen3 fixtures. The outcome is
// published as `window.__golden` (a GoldenPageResult) and printed into the page.

import { loadModel, maxSim, lexicalScore, dot, type Model } from '../../src/index.browser.js';
import { cosine, expectClose, expectRowCosine } from '../util/compare.js';

export interface CheckResult {
  name: string;
  ok: boolean;
  ms: number;
  error?: string;
}

export interface GoldenPageResult {
  ok: boolean;
  /** What navigator.gpu handed out, printed by the test. */
  adapter: Record<string, unknown> | null;
  checks: CheckResult[];
  /** LoadOptions.onProgress as loadModel reported it: number of calls and the last value. */
  progress?: { calls: number; loaded: number; total: number };
  /** A failure before the checks could run (no WebGPU, load error). */
  error?: string;
}

interface GoldenText {
  text: string;
  ids: number[];
  lexical_weights?: Record<string, number>;
  /** qwen3-embed-tiny's `instructed` group: the bare query and the prompt name. */
  query?: string;
  prompt_name?: string;
}

interface Golden {
  max_len: number;
  pooling: string;
  normalize: boolean;
  m3: boolean;
  groups: Record<string, GoldenText[]>;
  scores: Record<string, number[][]>;
  tensors: Map<string, { shape: number[]; data: Float32Array }>;
}

/** A minimal F32-only safetensors reader, independent of the engine's own parser. */
function readSafetensorsF32(buf: ArrayBuffer): Map<string, { shape: number[]; data: Float32Array }> {
  const view = new DataView(buf);
  const n = Number(view.getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(new Uint8Array(buf, 8, n))) as Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
  const out = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const [name, t] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    if (t.dtype !== 'F32') throw new Error(`golden tensor ${name} is ${t.dtype}, expected F32`);
    const [b, e] = t.data_offsets;
    // Copy: the data section need not be 4-byte aligned.
    out.set(name, { shape: t.shape, data: new Float32Array(buf.slice(8 + n + b, 8 + n + e)) });
  }
  return out;
}

async function fetchOk(url: string): Promise<Response> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`GET ${url}: HTTP ${res.status}`);
  return res;
}

async function readGolden(base: string): Promise<Golden> {
  const json = (await (await fetchOk(`${base}golden.json`)).json()) as Omit<Golden, 'tensors'>;
  const tensors = readSafetensorsF32(await (await fetchOk(`${base}golden.safetensors`)).arrayBuffer());
  return { ...json, tensors };
}

function tensor(g: Golden, group: string, index: number, name: string): { shape: number[]; data: Float32Array } {
  const t = g.tensors.get(`${group}/${index}/${name}`);
  if (!t) throw new Error(`golden has no tensor ${group}/${index}/${name}`);
  return t;
}

function check(cond: boolean, message: string): void {
  if (!cond) throw new Error(message);
}

function sameArray(a: ArrayLike<number>, b: ArrayLike<number>, label: string): void {
  const x = Array.from(a), y = Array.from(b);
  check(x.length === y.length && x.every((v, i) => v === y[i]), `${label}: got [${x.join(', ')}], expected [${y.join(', ')}]`);
}

async function adapterInfo(featureLevel: string | null): Promise<Record<string, unknown> | null> {
  const adapter = await navigator.gpu.requestAdapter(featureLevel ? ({ featureLevel } as GPURequestAdapterOptions) : {});
  if (!adapter) return null;
  const i = adapter.info;
  const l = adapter.limits;
  return {
    vendor: i.vendor,
    architecture: i.architecture,
    device: i.device,
    description: i.description,
    isFallbackAdapter: (i as GPUAdapterInfo & { isFallbackAdapter?: boolean }).isFallbackAdapter ?? null,
    featureLevel: featureLevel ?? 'core',
    features: [...adapter.features].sort(),
    limits: {
      maxStorageBuffersPerShaderStage: l.maxStorageBuffersPerShaderStage,
      maxStorageBufferBindingSize: l.maxStorageBufferBindingSize,
      maxBufferSize: l.maxBufferSize,
      maxComputeWorkgroupStorageSize: l.maxComputeWorkgroupStorageSize,
      maxComputeInvocationsPerWorkgroup: l.maxComputeInvocationsPerWorkgroup,
      maxComputeWorkgroupSizeX: l.maxComputeWorkgroupSizeX,
      maxComputeWorkgroupsPerDimension: l.maxComputeWorkgroupsPerDimension,
    },
  };
}

async function run(): Promise<GoldenPageResult> {
  const params = new URLSearchParams(location.search);
  const base = new URL(params.get('model') ?? '/fixtures/bge-m3-tiny/', location.href).href;
  const featureLevel = params.get('featureLevel') as 'core' | 'compatibility' | null;
  if (!isSecureContext) return { ok: false, adapter: null, checks: [], error: `${location.origin} is not a secure context: WebGPU needs http://127.0.0.1 / localhost or https` };
  if (!('gpu' in navigator)) return { ok: false, adapter: null, checks: [], error: 'navigator.gpu is missing: this Chromium has no WebGPU (is --enable-unsafe-webgpu set?)' };
  const adapter = await adapterInfo(featureLevel);
  if (!adapter) return { ok: false, adapter: null, checks: [], error: `navigator.gpu.requestAdapter(${featureLevel ? `{ featureLevel: '${featureLevel}' }` : ''}) returned null: Chromium found no WebGPU adapter` };

  let g: Golden;
  try {
    g = await readGolden(base);
  } catch (e) {
    return { ok: false, adapter, checks: [], error: `reading the golden files under ${base}: ${(e as Error).message}` };
  }
  const texts = Object.entries(g.groups).flatMap(([group, items]) => items.map((t, index) => ({ group, index, text: t.text })));
  let model: Model;
  const progress = { calls: 0, loaded: 0, total: 0 };
  try {
    model = await loadModel(base, { featureLevel: featureLevel ?? undefined, onProgress: (p) => Object.assign(progress, { calls: progress.calls + 1, loaded: p.loaded, total: p.total }) });
  } catch (e) {
    return { ok: false, adapter, checks: [], error: `loadModel(${base}) failed: ${(e as Error).stack ?? String(e)}` };
  }
  adapter.engine = { ...model.info.adapter, features: model.gpu.features };

  const checks: CheckResult[] = [];
  const step = async (name: string, body: () => Promise<void>) => {
    const t0 = performance.now();
    try {
      await body();
      checks.push({ name, ok: true, ms: Math.round(performance.now() - t0) });
    } catch (e) {
      checks.push({ name, ok: false, ms: Math.round(performance.now() - t0), error: (e as Error).message ?? String(e) });
    }
  };

  try {
    if (g.m3) await m3Checks(step, model, g, texts);
    else await familyChecks(step, model, g, texts);
  } finally {
    model.dispose();
  }
  return { ok: checks.every((c) => c.ok), adapter, checks, progress };
}

type Step = (name: string, body: () => Promise<void>) => Promise<void>;
type Texts = { group: string; index: number; text: string }[];

/** The ModernBERT / NomicBERT / Qwen3 fixtures: test/models/golden-suite.ts's checks (and Qwen3's prompt). */
async function familyChecks(step: Step, model: Model, g: Golden, texts: Texts): Promise<void> {
  const all = texts.map((t) => t.text);
  await step('reports its configuration', async () => {
    check(model.info.maxLength === g.max_len, `maxLength ${model.info.maxLength}, expected ${g.max_len}`);
    const pooling = g.pooling === 'lasttoken' ? 'last' : g.pooling;
    check(model.info.pooling === pooling, `pooling ${model.info.pooling}, expected ${pooling}`);
    check(model.info.normalize === g.normalize, `normalize ${model.info.normalize}, expected ${g.normalize}`);
  });

  await step('tokenize matches golden ids', async () => {
    const ids = await model.tokenize(all);
    texts.forEach((t, i) => sameArray(ids[i], g.groups[t.group][t.index].ids, `tokenize ${t.group}/${t.index}`));
  });

  await step('hiddenStates matches hidden', async () => {
    const out = await model.hiddenStates(all);
    texts.forEach((t, i) => {
      const ref = tensor(g, t.group, t.index, 'hidden');
      sameArray(out[i].shape, ref.shape, `hidden shape ${t.group}/${t.index}`);
      // As in Node: f32 math through 2–3 layers, 1e-4 of the tensor's largest value.
      expectClose(out[i].data, ref.data, { rtolMax: 1e-4, shape: ref.shape, label: `hidden ${t.group}/${t.index}` });
    });
  });

  await step('embed matches dense', async () => {
    const out = await model.embed(all, { prompt: '' });
    texts.forEach((t, i) => {
      const ref = tensor(g, t.group, t.index, 'dense');
      expectClose(out[i], ref.data, { atol: 2e-5, label: `dense ${t.group}/${t.index}` });
      const c = cosine(out[i], ref.data);
      check(c > 0.99999, `dense ${t.group}/${t.index}: cosine ${c} <= 0.99999`);
    });
  });

  await step('dense scores', async () => {
    const q = await model.embed(g.groups.queries.map((t) => t.text), { prompt: '' });
    const d = await model.embed(g.groups.documents.map((t) => t.text), { prompt: '' });
    expectClose(q.flatMap((qv) => d.map((dv) => dot(qv, dv))), g.scores.dense.flat(), { atol: 3e-5, shape: [q.length, d.length], label: 'dense scores' });
  });

  if (g.groups.instructed) {
    await step('embed with { prompt } matches the instructed queries', async () => {
      const items = g.groups.instructed;
      const out = await model.embed(items.map((t) => t.query!), { prompt: items[0].prompt_name });
      items.forEach((t, i) => expectClose(out[i], tensor(g, 'instructed', i, 'dense').data, { atol: 2e-5, label: `instructed ${i}` }));
    });
  }
}

/** BGE-M3 (bge-m3-tiny): dense, multi-vector and sparse outputs and their scores. */
async function m3Checks(step: Step, model: Model, g: Golden, texts: Texts): Promise<void> {
  const all = texts.map((t) => t.text);
  {
    await step('reports its configuration', async () => {
      check(model.info.maxLength === g.max_len, `maxLength ${model.info.maxLength}, expected ${g.max_len}`);
      check(model.info.pooling === g.pooling, `pooling ${model.info.pooling}, expected ${g.pooling}`);
      check(model.info.normalize === g.normalize, `normalize ${model.info.normalize}, expected ${g.normalize}`);
      check(model.info.outputs.sparse === g.m3, `outputs.sparse ${model.info.outputs.sparse}, expected ${g.m3}`);
      check(model.info.outputs.tokensHead === 'colbert', `tokensHead ${model.info.outputs.tokensHead}, expected colbert`);
    });

    await step('tokenize matches golden ids', async () => {
      const ids = await model.tokenize(all);
      texts.forEach((t, i) => sameArray(ids[i], g.groups[t.group][t.index].ids, `tokenize ${t.group}/${t.index}`));
    });

    await step('embed matches dense', async () => {
      const out = await model.embed(all);
      texts.forEach((t, i) => {
        const ref = tensor(g, t.group, t.index, 'dense');
        // As in the Node golden test: unit vectors, f32 error well under 1e-5; cosine > 0.99999.
        expectClose(out[i], ref.data, { atol: 2e-5, label: `dense ${t.group}/${t.index}` });
        const c = cosine(out[i], ref.data);
        check(c > 0.99999, `dense ${t.group}/${t.index}: cosine ${c} <= 0.99999`);
      });
    });

    await step('embedTokens matches colbert', async () => {
      const out = await model.embedTokens(all);
      texts.forEach((t, i) => {
        const ref = tensor(g, t.group, t.index, 'colbert');
        sameArray(out[i].shape, ref.shape, `colbert shape ${t.group}/${t.index}`);
        sameArray(out[i].tokenIds, g.groups[t.group][t.index].ids.slice(1), `colbert tokenIds ${t.group}/${t.index}`);
        // As in Node: unit rows, entries ≤ 1; f32 errors ~1e-6 through the head.
        expectClose(out[i].data, ref.data, { atol: 2e-5, shape: ref.shape, label: `colbert ${t.group}/${t.index}` });
        expectRowCosine(out[i].data, ref.data, ref.shape[1], 0.99999, `colbert ${t.group}/${t.index}`);
      });
    });

    await step('sparse matches lexical_weights', async () => {
      const out = await model.sparse(all);
      texts.forEach((t, i) => {
        const ref = g.groups[t.group][t.index].lexical_weights!;
        const max = Math.max(1, ...Object.values(ref));
        const keys = new Set([...Object.keys(ref), ...Object.keys(out[i])]);
        for (const k of keys) {
          const a = out[i][k] ?? 0, e = ref[k] ?? 0;
          // As in Node: keys identical except a weight so close to zero that f32 rounding decides it;
          // weights relu(w·h + b) with |h| = O(1) carry ~1e-5 error relative to the largest weight.
          if (!(k in ref) || !(k in out[i])) check(Math.abs(a - e) < 1e-5, `sparse ${t.group}/${t.index} key ${k}: ${a} vs ${e} (present on one side only)`);
          else check(Math.abs(a - e) <= 2e-5 * max, `sparse ${t.group}/${t.index} key ${k}: ${a} vs ${e}`);
        }
      });
    });

    await step('scores: dense, colbert (CPU maxSim and GPU maxSimMatrix) and sparse', async () => {
      const qt = g.groups.queries.map((t) => t.text);
      const dt = g.groups.documents.map((t) => t.text);
      const q = await model.embed(qt);
      const d = await model.embed(dt);
      const shape = [q.length, d.length];
      // Dot products of unit vectors accurate to ~1e-5 each.
      expectClose(q.flatMap((qv) => d.map((dv) => dot(qv, dv))), g.scores.dense.flat(), { atol: 3e-5, shape, label: 'dense scores' });

      const qv = await model.embedTokens(qt);
      const dv = await model.embedTokens(dt);
      // Means of dot products of unit vectors: ~1e-5.
      const cpu = qv.flatMap((a) => dv.map((b) => maxSim(a, b, { reduce: 'mean' })));
      expectClose(cpu, g.scores.colbert.flat(), { atol: 3e-5, shape, label: 'colbert scores (cpu)' });
      const gpu = (await model.maxSimMatrix(qv, dv, { reduce: 'mean' })).flatMap((r) => Array.from(r));
      expectClose(gpu, g.scores.colbert.flat(), { atol: 3e-5, shape, label: 'colbert scores (gpu)' });
      const sum = (await model.maxSimMatrix(qv, dv, { reduce: 'sum' })).flatMap((r) => Array.from(r));
      const sumRef = g.scores.colbert.flatMap((row, i) => row.map((s) => s * qv[i].shape[0]));
      expectClose(sum, sumRef, { atol: 3e-4, shape, label: 'colbert scores (gpu, sum)' });

      const sq = await model.sparse(qt);
      const sd = await model.sparse(dt);
      const maxScore = Math.max(...g.scores.sparse.flat().map(Math.abs), 1);
      // Sums of products of weights each accurate to ~2e-5 relative.
      expectClose(sq.flatMap((a) => sd.map((b) => lexicalScore(a, b))), g.scores.sparse.flat(), { atol: 1e-4 * maxScore, shape, label: 'sparse scores' });
    });
  }
}

declare global {
  interface Window {
    __golden?: GoldenPageResult;
  }
}

function publish(r: GoldenPageResult): void {
  window.__golden = r;
  const pre = document.getElementById('out');
  if (pre) pre.textContent = JSON.stringify(r, null, 2);
  document.title = r.ok ? 'golden: ok' : 'golden: FAILED';
}

run().then(publish, (e: unknown) => publish({ ok: false, adapter: null, checks: [], error: (e as Error)?.stack ?? String(e) }));
