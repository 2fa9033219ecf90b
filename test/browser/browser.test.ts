// Browser test: the library's browser bundle in headless Chromium (Debian's /usr/bin/chromium,
// driven by playwright-core). (1) golden.html loads the bge-m3-tiny fixture (then modernbert-tiny,
// nomic-bert-tiny, qwen3-embed-tiny) by base URL over a loopback HTTP server and runs the golden
// checks of the Node golden tests in the page (golden-page.ts), once per software adapter
// (SwiftShader: core feature level with subgroups; lavapipe through OpenGL ES: compatibility
// mode); (2) the demo page (examples/browser) loads the bge-m3-tiny model (and colbertv2-tiny),
// scores a query and is saved as test-results/demo-heatmap*.png for a person to look at;
// (3) late-page.ts runs the ColBERT / PyLate / cross-encoder golden checks in the page. A missing
// Chromium, WebGPU or adapter fails the test; nothing is skipped.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
// @ts-expect-error plain ESM script without types
import { bundleBrowser, bundlePage, ROOT } from '../../scripts/build.mjs';
import { closeServer, listen, startDemo, staticServer } from '../../examples/browser/serve.mjs';
import type { GoldenPageResult } from './golden-page.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/**
 * How Chromium gets a WebGPU adapter on a machine without a GPU. `swiftshader`: Chromium's
 * default, its own CPU Vulkan (a core-feature-level fallback adapter with subgroups, no
 * shader-f16). `lavapipe`: Dawn's OpenGL ES backend through ANGLE's Vulkan backend on Mesa's
 * lavapipe (llvmpipe), a compatibility-mode adapter (no optional features; adapter info empty).
 * Both run by default; WEBGPU_EMBED_BROWSER_ADAPTER=swiftshader|lavapipe runs one.
 */
const ADAPTERS = {
  swiftshader: { args: [] as string[], featureLevel: null },
  lavapipe: { args: ['--use-angle=vulkan', '--use-webgpu-adapter=opengles'], featureLevel: 'compatibility' },
} as const;
type AdapterName = keyof typeof ADAPTERS;
const ONLY = process.env.WEBGPU_EMBED_BROWSER_ADAPTER;
const SELECTED = (ONLY ? [ONLY] : Object.keys(ADAPTERS)) as AdapterName[];

const SCREENSHOT = join(ROOT as string, 'test-results', 'demo-heatmap.png');

/** Console lines and uncaught errors of a page, for failure messages. */
function recordPage(page: Page): string[] {
  const lines: string[] = [];
  page.on('console', (m) => lines.push(`[console.${m.type()}] ${m.text()}`));
  page.on('pageerror', (e) => lines.push(`[pageerror] ${e.stack ?? e.message}`));
  page.on('requestfailed', (r) => lines.push(`[requestfailed] ${r.url()} ${r.failure()?.errorText ?? ''}`));
  return lines;
}

async function launch(adapter: AdapterName): Promise<Browser> {
  if (!(adapter in ADAPTERS)) throw new Error(`WEBGPU_EMBED_BROWSER_ADAPTER must be one of ${Object.keys(ADAPTERS).join(', ')}, got ${adapter}`);
  if (!existsSync(CHROMIUM)) {
    throw new Error(`Chromium is missing at ${CHROMIUM}: install Debian's chromium (scripts/setup.sh --browser does) or set CHROMIUM_PATH`);
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless=new',
      '--no-sandbox',
      '--enable-unsafe-webgpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--disable-dev-shm-usage',
      ...ADAPTERS[adapter].args,
    ],
    timeout: 60_000,
  });
}

/** Serves the browser bundle, the golden page and the fixtures; runs the page on `model`; fails on any failed check. */
async function goldenPage(browser: Browser, adapter: AdapterName, model: string): Promise<GoldenPageResult> {
  // The real browser bundle (throws if it imports node:* or contains the webgpu package) and
  // the test page, bundled against it as an external module.
  const lib: { code: string } = await bundleBrowser();
  const page = await bundlePage(join(ROOT, 'test/browser/golden-page.ts'), './index.browser.js');
  const server = staticServer([
    { path: '/', body: readFileSync(join(ROOT, 'test/browser/golden.html')), type: 'text/html; charset=utf-8' },
    { path: '/golden-page.js', body: page },
    { path: '/index.browser.js', body: lib.code },
    { prefix: '/fixtures/', dir: join(ROOT, 'test/fixtures') },
  ]);
  const url = await listen(server);
  const tab = await browser.newPage();
  const log = recordPage(tab);
  try {
    const fl = ADAPTERS[adapter].featureLevel;
    await tab.goto(`${url}/?model=/fixtures/${model}/${fl ? `&featureLevel=${fl}` : ''}`);
    await tab.waitForFunction(() => window.__golden !== undefined, null, { timeout: 140_000, polling: 200 }).catch((e: Error) => {
      throw new Error(`the golden page did not finish: ${e.message}\n${log.join('\n')}`);
    });
    const r = (await tab.evaluate(() => window.__golden)) as GoldenPageResult;
    console.log(`[browser] ${model} adapter: ${JSON.stringify(r.adapter)}`);
    console.log(`[browser] ${model} loadModel onProgress: ${JSON.stringify(r.progress)}`);
    for (const c of r.checks) console.log(`[browser] ${model} ${c.ok ? 'ok  ' : 'FAIL'} ${c.name} (${c.ms} ms)${c.error ? `: ${c.error}` : ''}`);
    if (!r.ok) {
      const failed = r.checks.filter((c) => !c.ok).map((c) => `${c.name}: ${c.error}`);
      throw new Error(`${model} in Chromium (${adapter}): ${[r.error, ...failed].filter(Boolean).join('\n')}\n--- page log ---\n${log.join('\n')}`);
    }
    return r;
  } finally {
    await tab.close();
    await closeServer(server);
  }
}

for (const ADAPTER of SELECTED) describe(`browser golden (headless Chromium, ${ADAPTER} adapter)`, () => {
  let browser: Browser | undefined;

  beforeAll(async () => {
    browser = await launch(ADAPTER);
  });

  afterAll(async () => {
    await browser?.close();
  });

  it('passes the bge-m3-tiny golden checks through the browser bundle', async () => {
    const r = await goldenPage(browser!, ADAPTER, 'bge-m3-tiny');
    expect(r.checks.map((c) => c.name)).toEqual([
      'reports its configuration',
      'tokenize matches golden ids',
      'embed matches dense',
      'embedTokens matches colbert',
      'sparse matches lexical_weights',
      'scores: dense, colbert (CPU maxSim and GPU maxSimMatrix) and sparse',
    ]);
  }, 150_000);

  // ModernBERT (local window, alternating layers), NomicBERT (rotary, SwiGLU), Qwen3 (BF16, GQA,
  // causal, last token, prompts): the checks of test/models/golden-suite.ts in the page.
  for (const name of ['modernbert-tiny', 'nomic-bert-tiny', 'qwen3-embed-tiny']) {
    it(`passes the ${name} golden checks through the browser bundle`, async () => {
      const r = await goldenPage(browser!, ADAPTER, name);
      expect(r.checks.map((c) => c.name)).toEqual([
        'reports its configuration',
        'tokenize matches golden ids',
        'hiddenStates matches hidden',
        'embed matches dense',
        'dense scores',
        ...(name === 'qwen3-embed-tiny' ? ['embed with { prompt } matches the instructed queries'] : []),
      ]);
    }, 150_000);
  }

  it('passes the ColBERT, PyLate and cross-encoder golden checks through the browser bundle', async () => {
    const lib: { code: string } = await bundleBrowser();
    const page = await bundlePage(join(ROOT, 'test/browser/late-page.ts'), './index.browser.js');
    const server = staticServer([
      { path: '/', body: readFileSync(join(ROOT, 'test/browser/golden.html')), type: 'text/html; charset=utf-8' },
      { path: '/golden-page.js', body: page }, // golden.html's script, here the late-interaction page
      { path: '/index.browser.js', body: lib.code },
      { prefix: '/fixtures/', dir: join(ROOT, 'test/fixtures') },
    ]);
    const url = await listen(server);
    const tab = await browser!.newPage();
    const log = recordPage(tab);
    try {
      const fl = ADAPTERS[ADAPTER].featureLevel;
      await tab.goto(`${url}/${fl ? `?featureLevel=${fl}` : ''}`);
      await tab.waitForFunction(() => window.__golden !== undefined, null, { timeout: 150_000, polling: 200 }).catch((e: Error) => {
        throw new Error(`the late-interaction page did not finish: ${e.message}\n${log.join('\n')}`);
      });
      const r = (await tab.evaluate(() => window.__golden)) as GoldenPageResult;
      for (const c of r.checks) console.log(`[browser] ${c.ok ? 'ok  ' : 'FAIL'} ${c.name} (${c.ms} ms)${c.error ? `: ${c.error}` : ''}`);
      if (!r.ok) {
        const failed = r.checks.filter((c) => !c.ok).map((c) => `${c.name}: ${c.error}`);
        throw new Error(`in Chromium (${ADAPTER}): ${[r.error, ...failed].filter(Boolean).join('\n')}\n--- page log ---\n${log.join('\n')}`);
      }
      expect(r.checks.map((c) => c.name)).toEqual(['colbertv2-tiny', 'pylate-tiny', 'cross-encoder-bert-tiny', 'cross-encoder-xlmr-tiny']);
    } finally {
      await tab.close();
      await closeServer(server);
    }
  }, 200_000);

});

describe(`browser demo (headless Chromium, ${SELECTED[0]} adapter)`, () => {
  const ADAPTER = SELECTED[0];
  let browser: Browser | undefined;

  beforeAll(async () => {
    browser = await launch(ADAPTER);
  });

  afterAll(async () => {
    await browser?.close();
  });

  it('runs the demo page: ranking and token heatmap, saved as test-results/demo-heatmap.png', async () => {
    const demo = await startDemo();
    const tab = await browser!.newPage({ viewport: { width: 1440, height: 900 }, deviceScaleFactor: 1 });
    const log = recordPage(tab);
    const waitState = async (want: string) => {
      await tab.waitForFunction((w) => ['error', w].includes(document.body.dataset.state ?? ''), want, { timeout: 60_000, polling: 100 });
      const state = await tab.evaluate(() => document.body.dataset.state);
      if (state === 'error') {
        const msg = await tab.evaluate(() => Array.from(document.querySelectorAll('.status.error')).map((e) => e.textContent).join('\n'));
        throw new Error(`demo page error while waiting for "${want}": ${msg}\n${log.join('\n')}`);
      }
    };
    try {
      const fl = ADAPTERS[ADAPTER].featureLevel;
      // The demo requests a core adapter; in compatibility mode it must ask for one explicitly.
      if (fl) await tab.addInitScript(() => {
        const gpu = navigator.gpu;
        const orig = gpu.requestAdapter.bind(gpu);
        gpu.requestAdapter = (o?: GPURequestAdapterOptions) => orig({ ...o, featureLevel: 'compatibility' } as GPURequestAdapterOptions);
      });
      await tab.goto(`${demo.url}/`);
      await tab.click('#load-url');
      await waitState('loaded');
      await tab.fill('#query', 'What is the capital of France?');
      await tab.click('#score');
      await waitState('scored');
      const rows = await tab.locator('#ranking tr.doc').count();
      expect(rows).toBe(5);
      // Every query token row marks exactly one matched document token.
      const qTokens = await tab.locator('#heatmap .rowlab').count();
      expect(qTokens).toBeGreaterThan(1);
      expect(await tab.locator('#heatmap .cell.best').count()).toBe(qTokens);
      // The page's MaxSim column (4 decimals) agrees with the fixture's golden colbert scores for
      // this query (query 0): rounding 5e-5 + the golden tolerance 3e-5.
      const golden = JSON.parse(readFileSync(join(ROOT, 'test/fixtures/bge-m3-tiny/golden.json'), 'utf8')) as { groups: Record<string, { text: string }[]>; scores: Record<string, number[][]> };
      const ref = new Map(golden.groups.documents.map((d, j) => [d.text, golden.scores.colbert[0][j]]));
      const shown = await tab.locator('#ranking tr.doc').evaluateAll((trs) => trs.map((tr) => [tr.getAttribute('title') ?? '', Number(tr.querySelectorAll('td.num')[1]?.querySelector('.v')?.textContent)] as const));
      expect(shown.length).toBe(5);
      for (const [text, v] of shown) {
        expect(ref.has(text), text).toBe(true);
        expect(Math.abs(v - ref.get(text)!), `MaxSim of "${text}": shown ${v}, golden ${ref.get(text)}`).toBeLessThanOrEqual(8e-5);
      }
      expect(shown.map(([, v]) => v)).toEqual([...shown.map(([, v]) => v)].sort((a, b) => b - a));
      mkdirSync(join(ROOT, 'test-results'), { recursive: true });
      await tab.screenshot({ path: SCREENSHOT, fullPage: true });
      console.log(`[browser] demo screenshot: ${SCREENSHOT}`);

      // The folder picker path: the same model as picked files (mapFiles over File blobs) gives
      // the same ranking.
      await tab.setInputFiles('#folder', join(ROOT, 'test/fixtures/bge-m3-tiny'));
      await waitState('loaded');
      expect(await tab.textContent('#load-status')).toMatch(/^Loaded folder bge-m3-tiny \(\d+ files\)/);
      await tab.click('#score');
      await waitState('scored');
      const again = await tab.locator('#ranking tr.doc').evaluateAll((trs) => trs.map((tr) => [tr.getAttribute('title') ?? '', Number(tr.querySelectorAll('td.num')[1]?.querySelector('.v')?.textContent)] as const));
      expect(again).toEqual(shown);
    } finally {
      await tab.close();
      await demo.close();
    }
  }, 120_000);

  it('runs the demo page on a ColBERT checkpoint: [MASK] expansion rows drawn apart, MaxSim sum; saved as test-results/demo-heatmap-colbert.png', async () => {
    const demo = await startDemo();
    const tab = await browser!.newPage({ viewport: { width: 1440, height: 900 }, deviceScaleFactor: 1 });
    const log = recordPage(tab);
    const waitState = async (want: string) => {
      await tab.waitForFunction((w) => ['error', w].includes(document.body.dataset.state ?? ''), want, { timeout: 60_000, polling: 100 });
      if ((await tab.evaluate(() => document.body.dataset.state)) === 'error') {
        const msg = await tab.evaluate(() => Array.from(document.querySelectorAll('.status.error')).map((e) => e.textContent).join('\n'));
        throw new Error(`demo page error while waiting for "${want}": ${msg}\n${log.join('\n')}`);
      }
    };
    try {
      const fl = ADAPTERS[ADAPTER].featureLevel;
      if (fl) await tab.addInitScript(() => {
        const gpu = navigator.gpu;
        const orig = gpu.requestAdapter.bind(gpu);
        gpu.requestAdapter = (o?: GPURequestAdapterOptions) => orig({ ...o, featureLevel: 'compatibility' } as GPURequestAdapterOptions);
      });
      await tab.goto(`${demo.url}/`);
      await tab.fill('#url', '/fixtures/colbertv2-tiny/');
      await tab.click('#load-url');
      await waitState('loaded');
      await tab.fill('#query', 'What is the capital of France?');
      await tab.click('#score');
      await waitState('scored');
      expect(await tab.locator('#ranking tr.doc').count()).toBe(5);
      expect(await tab.locator('#ranking th').allTextContents()).toEqual(['#', 'document', 'MaxSim (sum)']);
      // 12 query rows: [CLS] [Q] 7 word pieces [SEP] and 2 [MASK] expansion rows, marked apart.
      expect(await tab.locator('#heatmap .rowlab').count()).toBe(12);
      expect(await tab.locator('#heatmap .rowlab.expansion').allTextContents()).toEqual(['[MASK]', '[MASK]']);
      expect(await tab.textContent('#heatmap .legend')).toContain('2 [MASK] query expansion tokens (not attended to)');
      expect(await tab.textContent('#heatmap .hm-title')).toMatch(/MaxSim = sum of the 12 row maxima/);
      mkdirSync(join(ROOT, 'test-results'), { recursive: true });
      await tab.screenshot({ path: join(ROOT as string, 'test-results', 'demo-heatmap-colbert.png'), fullPage: true });
    } finally {
      await tab.close();
      await demo.close();
    }
  }, 120_000);
});
