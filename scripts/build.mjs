// Builds the package (`npm run build`): dist/index.node.js (Node, ESM, dependencies external),
// dist/cli/{serve,weights}.js (the `webgpu-embed` command's entries),
// dist/index.browser.js (browser, ESM, self-contained: @huggingface/tokenizers bundled, shaders
// inlined through the generated src/gpu/shaders.gen.ts) and dist/types/ (declarations, tsc).
// The browser bundle is checked after every build: it must import nothing at run time (so no
// `node:` module) and must not contain the `webgpu` package (Dawn for Node); a violation fails
// the build. The bundling functions are exported for the browser test and the demo server.

import { build as esbuild } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { genShaders } from './gen-shaders.mjs';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
export const DIST = join(ROOT, 'dist');

/** Module specifiers a browser cannot load: `node:` built-ins (import, export-from, import(), require()). */
const NODE_IMPORT = /(?:\bfrom\s*|\bimport\s*\(?\s*|\brequire\s*\(\s*)["'`](node:[\w/]+)["'`]/;

/**
 * Throws unless an esbuild result (with metafile) for the browser entry is self-contained:
 * no run-time imports at all, no input from the `webgpu` package, no `node:` specifier in the text.
 * `code` is the bundle text (from `outputFiles`, or read back from disk).
 */
export function checkBrowserBundle(metafile, code, label = 'browser bundle') {
  const problems = [];
  for (const [out, info] of Object.entries(metafile.outputs)) {
    if (out.endsWith('.map')) continue;
    for (const imp of info.imports) problems.push(`${out} imports ${JSON.stringify(imp.path)} at run time${imp.external ? ' (external)' : ''}`);
  }
  for (const input of Object.keys(metafile.inputs)) {
    if (/(^|\/)node_modules\/webgpu\//.test(input)) problems.push(`it contains the Node-only \`webgpu\` package (${input})`);
    if (input.startsWith('node:')) problems.push(`it references the Node built-in ${input}`);
  }
  const m = NODE_IMPORT.exec(code);
  if (m) problems.push(`its code imports ${m[1]} (…${code.slice(Math.max(0, m.index - 60), m.index + m[0].length)}…)`);
  if (/(?:\bfrom\s*|\bimport\s*\(?\s*|\brequire\s*\(\s*)["'`]webgpu["'`]/.test(code)) problems.push('its code imports the `webgpu` package');
  if (problems.length) throw new Error(`${label} is not browser-safe:\n  - ${problems.join('\n  - ')}`);
}

/**
 * Bundles src/index.browser.ts for browsers. With `outfile` the bundle is written there; without,
 * it stays in memory. Returns { code, metafile }; throws when the bundle is not browser-safe.
 */
export async function bundleBrowser({ outfile, minify = false, sourcemap = false } = {}) {
  genShaders();
  const result = await esbuild({
    absWorkingDir: ROOT,
    entryPoints: [join(ROOT, 'src/index.browser.ts')],
    outfile: outfile ?? join(ROOT, 'dist/index.browser.js'),
    write: false,
    bundle: true,
    platform: 'browser',
    format: 'esm',
    target: 'es2022',
    // Only the browser/ESM builds of dependencies: never a package's `node` export.
    conditions: ['browser', 'import', 'default'],
    mainFields: ['browser', 'module', 'main'],
    minify,
    sourcemap: sourcemap ? 'linked' : false,
    metafile: true,
    logLevel: 'silent',
    legalComments: 'eof',
  });
  const main = result.outputFiles.find((f) => f.path.endsWith('.js'));
  if (!main) throw new Error('esbuild produced no browser bundle');
  checkBrowserBundle(result.metafile, main.text);
  if (outfile) {
    mkdirSync(dirname(outfile), { recursive: true });
    for (const f of result.outputFiles) writeFileSync(f.path, f.contents);
  }
  return { code: main.text, metafile: result.metafile };
}

/** Bundles Node entries with esbuild (ESM, node20, every package left to node_modules). */
async function bundleForNode(what, entry) {
  genShaders();
  const result = await esbuild({
    absWorkingDir: ROOT,
    ...entry,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    sourcemap: 'linked',
    metafile: true,
    logLevel: 'silent',
  });
  const inputs = Object.keys(result.metafile.inputs).filter((p) => p.includes('node_modules/'));
  if (inputs.length) throw new Error(`the ${what} should leave packages external but contains ${inputs.join(', ')}`);
  return { metafile: result.metafile };
}

/** Bundles src/index.node.ts for Node into `outfile`: ESM, every package left to node_modules. */
export function bundleNode({ outfile = join(DIST, 'index.node.js') } = {}) {
  return bundleForNode('Node bundle', { entryPoints: [join(ROOT, 'src/index.node.ts')], outfile });
}

/** The command-line entries (src/cli/serve.ts, weights.ts) into dist/cli/ for `bin/webgpu-embed.mjs`. */
export function bundleCli() {
  return bundleForNode('CLI bundle', { entryPoints: ['serve', 'weights'].map((n) => join(ROOT, 'src', 'cli', `${n}.ts`)), outdir: join(DIST, 'cli') });
}

/** Declarations into dist/types with `tsc -p tsconfig.json`. */
export function buildTypes() {
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  const r = spawnSync(process.execPath, [tsc, '-p', join(ROOT, 'tsconfig.json')], { cwd: ROOT, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`tsc -p tsconfig.json failed (exit ${r.status}):\n${r.stdout}${r.stderr}`);
}

/**
 * An esbuild plugin for pages that use the library: imports of src/index.browser(.ts|.js) are
 * left as imports of `url` (the library bundle served beside the page), so the page runs against
 * the real browser bundle rather than a second copy of the sources.
 */
export function libraryAsExternal(url) {
  return {
    name: 'webgpu-embed-external',
    setup(b) {
      b.onResolve({ filter: /(^|\/)index\.browser(\.js|\.ts)?$/ }, (args) => {
        const abs = join(args.resolveDir, args.path.replace(/\.(js|ts)$/, ''));
        if (abs !== join(ROOT, 'src/index.browser')) return undefined;
        return { path: url, external: true };
      });
    },
  };
}

/** Bundles a page script (TypeScript) against the library served at `libraryUrl`; returns its code. */
export async function bundlePage(entry, libraryUrl) {
  const result = await esbuild({
    absWorkingDir: ROOT,
    entryPoints: [entry],
    outfile: join(ROOT, 'dist/page.js'),
    write: false,
    bundle: true,
    platform: 'browser',
    format: 'esm',
    target: 'es2022',
    conditions: ['browser', 'import', 'default'],
    plugins: [libraryAsExternal(libraryUrl)],
    logLevel: 'silent',
    sourcemap: 'inline',
  });
  return result.outputFiles[0].text;
}

/** The whole build: dist/index.node.js, dist/index.browser.js, dist/types/. */
export async function build() {
  rmSync(DIST, { recursive: true, force: true });
  mkdirSync(DIST, { recursive: true });
  const t0 = Date.now();
  await bundleNode();
  await bundleCli();
  const { code } = await bundleBrowser({ outfile: join(DIST, 'index.browser.js'), sourcemap: true });
  buildTypes();
  const rel = (p) => relative(ROOT, p);
  console.log(`built ${rel(join(DIST, 'index.node.js'))}, ${rel(join(DIST, 'cli'))}/, ${rel(join(DIST, 'index.browser.js'))} (${(code.length / 1024).toFixed(0)} KiB, browser-safe), ${rel(join(DIST, 'types'))}/ in ${Date.now() - t0} ms`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  build().catch((e) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  });
}
