// Browser demo script (bundled by examples/browser/serve.mjs against dist/index.browser.js):
// loads a model from a base URL or a picked folder with a progress bar, scores documents against
// a query (dense cosine, MaxSim on the GPU, BGE-M3 lexical score) and draws the query-token ×
// document-token similarity heatmap, marking the document token each query token matched. A
// ColBERT / PyLate model encodes the query as a query (its [MASK] expansion rows are drawn
// apart from the text's own tokens) and ranks by the MaxSim sum; a cross-encoder reranks by logit.
// `document.body.dataset.state` (idle / loading / loaded / scoring / scored / error) lets the
// browser test drive the page.

import { loadModel, maxSimAlignment, lexicalScore, dot, type Model, type TokenEmbeddings } from '../../src/index.browser.js';

const $ = <T extends HTMLElement>(id: string): T => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`demo page is missing #${id}`);
  return el as T;
};

const ui = {
  url: $<HTMLInputElement>('url'),
  loadUrl: $<HTMLButtonElement>('load-url'),
  folder: $<HTMLInputElement>('folder'),
  dtype: $<HTMLSelectElement>('dtype'),
  progress: $<HTMLProgressElement>('progress'),
  loadStatus: $('load-status'),
  modelInfo: $('model-info'),
  adapter: $('adapter'),
  query: $<HTMLInputElement>('query'),
  docs: $<HTMLTextAreaElement>('docs'),
  score: $<HTMLButtonElement>('score'),
  scoreStatus: $('score-status'),
  ranking: $('ranking'),
  timing: $('timing'),
  heatmap: $('heatmap'),
};

type State = 'idle' | 'loading' | 'loaded' | 'scoring' | 'scored' | 'error';
const setState = (s: State) => (document.body.dataset.state = s);

let model: Model | null = null;

interface Scored {
  index: number;
  text: string;
  /** Dense cosine; for a cross-encoder, its logit. */
  dense: number | null;
  maxsim: number | null;
  lexical: number | null;
  tokens: TokenEmbeddings | null;
}
let last: { query: TokenEmbeddings | null; docs: Scored[]; selected: number; reduce: 'mean' | 'sum' } | null = null;

/** createElement with properties (`style` as CSS text) and children. */
type Props<K extends keyof HTMLElementTagNameMap> = Omit<Partial<HTMLElementTagNameMap[K]>, 'style'> & { style?: string };
function el<K extends keyof HTMLElementTagNameMap>(tag: K, props?: Props<K>, ...children: (Node | string)[]): HTMLElementTagNameMap[K] {
  const { style, ...rest } = props ?? ({} as Props<K>);
  const e = Object.assign(document.createElement(tag), rest);
  if (style) e.style.cssText = style;
  e.append(...children);
  return e;
}

function showError(where: HTMLElement, e: unknown): void {
  where.classList.add('error');
  where.textContent = e instanceof Error ? e.message : String(e);
  console.error(e);
  setState('error');
}

/** Display text of a token: SentencePiece's word-start mark '▁' becomes a visible '·' prefix. */
function tokenLabel(id: number): string {
  const t = model?.tokenizer.tokenText(id) ?? `#${id}`;
  return t.replace(/▁/g, '·');
}

// ---------------------------------------------------------------------------------------------
// Loading

async function load(source: string | Record<string, Blob>, what: string): Promise<void> {
  ui.loadStatus.classList.remove('error');
  ui.loadUrl.disabled = ui.score.disabled = true;
  setState('loading');
  model?.dispose();
  model = null;
  last = null;
  ui.progress.hidden = false;
  ui.progress.value = 0;
  ui.loadStatus.textContent = `Loading ${what}…`;
  ui.modelInfo.textContent = '';
  const t0 = performance.now();
  try {
    model = await loadModel(source, {
      dtype: ui.dtype.value as 'f32' | 'f16',
      onProgress: ({ loaded, total }) => {
        ui.progress.max = Math.max(total, 1);
        ui.progress.value = loaded;
        ui.loadStatus.textContent = `Loading ${what}: ${loaded} / ${total} tensors`;
      },
    });
    const i = model.info;
    const a = i.adapter;
    ui.progress.value = ui.progress.max;
    ui.loadStatus.textContent = `Loaded ${what} in ${((performance.now() - t0) / 1000).toFixed(2)} s.`;
    ui.modelInfo.textContent =
      `${i.architecture}, ${i.numLayers} layers × ${i.hiddenSize} hidden, ${i.numHeads} heads, max ${i.maxLength} tokens, ${i.dtype} weights · ` +
      (i.task === 'score'
        ? `cross-encoder: one logit per (query, document) pair · `
        : i.lateInteraction
          ? `late interaction (${i.lateInteraction.source}): tokens ${i.outputs.tokens}-d, queries ${i.lateInteraction.queryLength} tokens with [MASK] expansion, documents up to ${i.lateInteraction.documentLength} · `
          : `dense ${i.outputs.dense}-d (${i.pooling} pooling), tokens ${i.outputs.tokens}-d (${i.outputs.tokensHead})${i.outputs.sparse ? ', sparse' : ''} · `) +
      `${(model.gpuBytes / 2 ** 20).toFixed(1)} MiB on the GPU`;
    ui.adapter.textContent = `WebGPU: ${[a.vendor, a.architecture, a.description].filter(Boolean).join(' / ') || 'adapter (no info exposed)'}`;
    ui.score.disabled = false;
    setState('loaded');
  } catch (e) {
    ui.progress.hidden = true;
    showError(ui.loadStatus, e);
  } finally {
    ui.loadUrl.disabled = false;
  }
}

ui.loadUrl.addEventListener('click', () => {
  const url = new URL(ui.url.value.trim() || '/fixtures/bge-m3-tiny/', location.href).href;
  void load(url, url.replace(location.origin, ''));
});

ui.folder.addEventListener('change', () => {
  const files = Array.from(ui.folder.files ?? []);
  if (files.length === 0) return;
  const map: Record<string, Blob> = {};
  for (const f of files) map[f.webkitRelativePath || f.name] = f;
  const top = (files[0].webkitRelativePath || files[0].name).split('/')[0];
  void load(map, `folder ${top} (${files.length} files)`);
});

// ---------------------------------------------------------------------------------------------
// Scoring

async function score(): Promise<void> {
  if (!model) return;
  const m = model;
  const query = ui.query.value.trim();
  const docs = ui.docs.value.split('\n').map((s) => s.trim()).filter(Boolean);
  ui.scoreStatus.classList.remove('error');
  if (!query || docs.length === 0) {
    ui.scoreStatus.textContent = 'Enter a query and at least one document.';
    return;
  }
  ui.score.disabled = true;
  ui.scoreStatus.textContent = 'Scoring…';
  setState('scoring');
  const t0 = performance.now();
  try {
    let scored: Scored[];
    let qTok: TokenEmbeddings | null = null;
    const late = m.info.lateInteraction !== null;
    if (m.info.task === 'score') {
      // Cross-encoder: each (query, document) pair runs together; no per-token vectors to draw.
      const logits = await m.score(query, docs);
      scored = docs.map((text, index) => ({ index, text, dense: logits[index], maxsim: null, lexical: null, tokens: null }));
      scored.sort((a, b) => b.dense! - a.dense!);
    } else {
      // ColBERT / PyLate: the query as a query ([MASK] expansion), documents as documents.
      const dDense = late ? null : await m.embed(docs);
      const qDense = late ? null : (await m.embed([query]))[0];
      [qTok] = await m.embedTokens([query], { kind: 'query' });
      const dTok = await m.embedTokens(docs, { kind: 'document' });
      const [maxsim] = await m.maxSimMatrix([qTok], dTok, { reduce: late ? 'sum' : 'mean' });
      let lexical: number[] | null = null;
      if (m.info.outputs.sparse) {
        const [qs] = await m.sparse([query]);
        lexical = (await m.sparse(docs)).map((d) => lexicalScore(qs, d));
      }
      scored = docs.map((text, index) => ({
        index,
        text,
        dense: qDense && dDense ? dot(qDense, dDense[index]) : null,
        maxsim: maxsim[index],
        lexical: lexical ? lexical[index] : null,
        tokens: dTok[index],
      }));
      scored.sort((a, b) => b.maxsim! - a.maxsim!);
    }
    const ms = performance.now() - t0;
    last = { query: qTok, docs: scored, selected: scored[0].index, reduce: late ? 'sum' : 'mean' };
    ui.timing.textContent = `${docs.length} documents scored in ${ms.toFixed(0)} ms`;
    ui.scoreStatus.textContent = '';
    renderRanking();
    renderHeatmap();
    setState('scored');
  } catch (e) {
    showError(ui.scoreStatus, e);
  } finally {
    ui.score.disabled = false;
  }
}

ui.score.addEventListener('click', () => void score());
ui.query.addEventListener('keydown', (e) => {
  if (e.key === 'Enter' && !ui.score.disabled) void score();
});

function bar(value: number, max: number, cls = ''): HTMLElement {
  const w = max > 0 ? Math.max(0, value / max) * 90 : 0;
  return el('div', { className: 'bar' }, el('span', { className: 'v' }, value.toFixed(4)), el('i', { className: cls, style: `width: ${w.toFixed(1)}px` }));
}

function renderRanking(): void {
  if (!last) return;
  const { docs } = last;
  const maxOf = (f: (d: Scored) => number) => Math.max(...docs.map(f), 1e-9);
  const md = maxOf((d) => Math.abs(d.dense ?? 0)), mm = maxOf((d) => d.maxsim ?? 0), ml = maxOf((d) => d.lexical ?? 0);
  const hasLex = docs[0].lexical !== null;
  const hasDense = docs[0].dense !== null, hasMaxSim = docs[0].maxsim !== null;
  const cross = model?.info.task === 'score';
  const head = el('tr', {}, el('th', {}, '#'), el('th', {}, 'document'));
  if (hasDense) head.append(el('th', {}, cross ? 'cross-encoder logit' : 'dense cosine'));
  if (hasMaxSim) head.append(el('th', {}, `MaxSim (${last.reduce})`));
  if (hasLex) head.append(el('th', {}, 'lexical'));
  const table = el('table', {}, el('thead', {}, head));
  const body = el('tbody');
  docs.forEach((d, rank) => {
    const tr = el('tr', { className: `doc${d.index === last!.selected ? ' selected' : ''}`, title: d.text },
      el('td', { className: 'rank' }, String(rank + 1)),
      el('td', { className: 'text' }, d.text));
    if (hasDense) tr.append(el('td', { className: 'num' }, bar(d.dense!, md, 'alt')));
    if (hasMaxSim) tr.append(el('td', { className: 'num' }, bar(d.maxsim!, mm)));
    if (hasLex) tr.append(el('td', { className: 'num' }, bar(d.lexical ?? 0, ml, 'lex')));
    tr.dataset.index = String(d.index);
    tr.addEventListener('click', () => {
      last!.selected = d.index;
      renderRanking();
      renderHeatmap();
    });
    body.append(tr);
  });
  table.append(body);
  ui.ranking.replaceChildren(table);
}

/** Colour of t in [0, 1]: white → light blue → deep blue. */
function ramp(t: number): string {
  const stops: [number, number, number][] = [[247, 251, 255], [158, 202, 225], [49, 130, 189], [8, 48, 107]];
  const x = Math.min(1, Math.max(0, t)) * (stops.length - 1);
  const i = Math.min(stops.length - 2, Math.floor(x));
  const f = x - i;
  const c = stops[i].map((v, k) => Math.round(v + (stops[i + 1][k] - v) * f));
  return `rgb(${c[0]}, ${c[1]}, ${c[2]})`;
}

function renderHeatmap(): void {
  if (!last) return;
  const found = last.docs.find((d) => d.index === last!.selected)!;
  if (!last.query || !found.tokens) {
    ui.heatmap.replaceChildren(el('p', { className: 'hm-title' }, 'A cross-encoder reads each (query, document) pair as one input: there are no per-token vectors to draw.'));
    return;
  }
  const doc = { ...found, tokens: found.tokens };
  const q = last.query;
  const { best, scores, sim } = maxSimAlignment(q, doc.tokens);
  const nq = q.shape[0], nd = doc.tokens.shape[0];
  // ColBERT query expansion rows ([MASK] padding), drawn apart from the text's own tokens.
  const exp = (i: number) => q.expansion?.[i] === 1;
  const nExp = q.expansion ? q.expansion.reduce((a, b) => a + b, 0) : 0;
  let lo = Infinity, hi = -Infinity;
  for (const s of sim) {
    lo = Math.min(lo, s);
    hi = Math.max(hi, s);
  }
  const span = hi - lo || 1;
  const showNumbers = nd <= 32;

  const grid = el('div', { className: 'hm' });
  grid.style.gridTemplateColumns = `auto repeat(${nd}, 30px) auto`;
  // Header row: document tokens (vertical), those matched by some query token highlighted.
  const matched = new Set(Array.from(best));
  grid.append(el('div'));
  for (let j = 0; j < nd; j++) {
    grid.append(el('div', { className: `col${matched.has(j) ? ' hit' : ''}`, title: `document token ${j}: id ${doc.tokens.tokenIds[j]}` }, tokenLabel(doc.tokens.tokenIds[j])));
  }
  grid.append(el('div'));
  for (let i = 0; i < nq; i++) {
    const rowTitle = exp(i) ? `query expansion token ${i} ([MASK] padding): id ${q.tokenIds[i]}` : `query token ${i}: id ${q.tokenIds[i]}`;
    grid.append(el('div', { className: `rowlab${exp(i) ? ' expansion' : ''}`, title: rowTitle }, tokenLabel(q.tokenIds[i])));
    for (let j = 0; j < nd; j++) {
      const s = sim[i * nd + j];
      const t = (s - lo) / span;
      const cell = el('div', { className: `cell${best[i] === j ? ' best' : ''}${exp(i) && j === 0 ? ' expansion' : ''}`, title: `${tokenLabel(q.tokenIds[i])} · ${tokenLabel(doc.tokens.tokenIds[j])} = ${s.toFixed(4)}` });
      cell.style.background = ramp(t);
      cell.style.color = t > 0.55 ? '#fff' : '#1d2330';
      if (showNumbers) cell.textContent = s.toFixed(2).replace(/^(-?)0\./, '$1.');
      grid.append(cell);
    }
    grid.append(el('div', { className: 'match' }, '→ ', el('b', {}, best[i] >= 0 ? tokenLabel(doc.tokens.tokenIds[best[i]]) : '—'), ` ${scores[i].toFixed(3)}`));
  }

  const sum = scores.reduce((a, b) => a + b, 0);
  const total = last.reduce === 'sum' ? sum : sum / Math.max(nq, 1);
  const title = el('p', { className: 'hm-title' }, 'Document: ', el('b', {}, `“${doc.text}”`), ` · MaxSim = ${last.reduce} of the ${nq} row maxima = ${total.toFixed(4)}`);
  const legend = el('div', { className: 'legend' },
    el('span', {}, lo.toFixed(2)),
    el('div', { className: 'ramp', style: `background: linear-gradient(to right, ${[0, 0.33, 0.67, 1].map(ramp).join(', ')})` }),
    el('span', {}, hi.toFixed(2)),
    el('span', { style: 'width: 18px' }),
    el('div', { className: 'swatch' }),
    el('span', {}, 'best document token for the query token (its MaxSim term)'));
  if (nExp > 0) legend.append(el('span', { style: 'width: 18px' }), el('div', { className: 'exp' }), el('span', {}, `${nExp} [MASK] query expansion tokens${model?.info.lateInteraction?.attendToExpansionTokens ? '' : ' (not attended to)'}`));
  ui.heatmap.replaceChildren(title, el('div', { className: 'hm-wrap' }, grid), legend);
}

// ?model=URL preloads that model; ?autorun=1 also scores the default texts.
const params = new URLSearchParams(location.search);
if (params.get('model')) ui.url.value = params.get('model')!;
if (!('gpu' in navigator)) {
  showError(ui.loadStatus, new Error('This browser has no WebGPU (navigator.gpu is missing). Use a recent Chrome, Edge or Safari, over http://localhost or https.'));
} else if (params.has('autorun') || params.has('model')) {
  ui.loadUrl.click();
  if (params.has('autorun')) {
    const wait = setInterval(() => {
      if (document.body.dataset.state === 'loaded') {
        clearInterval(wait);
        void score();
      } else if (document.body.dataset.state === 'error') clearInterval(wait);
    }, 50);
  }
}
