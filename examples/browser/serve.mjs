// Serves the browser demo (`npm run demo:web`): builds the library's browser bundle
// (dist/index.browser.js, via scripts/build.mjs) and examples/browser/demo.ts with esbuild, then
// serves examples/browser, dist and test/fixtures on http://127.0.0.1 (a secure context, so
// WebGPU is available). Options: --port N (default 8080; 0 picks a free port).
// Also exports the static file server (GET / HEAD with byte ranges, which urlFiles uses) and
// startDemo() for the browser test.

import { createReadStream, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleBrowser, bundlePage, DIST, ROOT } from '../../scripts/build.mjs';

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.md': 'text/plain; charset=utf-8',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
};
const typeOf = (path) => TYPES[extname(path).toLowerCase()] ?? 'application/octet-stream';

/** Parses a single `Range: bytes=…` header against `size`: [start, end) or 'bad' or null (none). */
function parseRange(header, size) {
  if (!header) return null;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return 'bad';
  let start, end;
  if (m[1] === '') {
    start = Math.max(0, size - Number(m[2]));
    end = size;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size : Math.min(size, Number(m[2]) + 1);
  }
  if (start >= size || end <= start) return 'bad';
  return [start, end];
}

/**
 * A static HTTP server over `routes`, tried in order:
 *   { path: '/x.js', body: string | Uint8Array, type?: string }   one in-memory file
 *   { prefix: '/fixtures/', dir: '/abs/dir' }                      a folder (index.html for '/')
 * Supports GET and HEAD, single byte ranges (206 / 416), never lists folders, refuses paths
 * outside `dir`, and sends `Cache-Control: no-store` so a reload always gets the new build.
 */
export function staticServer(routes) {
  return createServer((req, res) => {
    const send = (status, headers, body) => {
      res.writeHead(status, { 'Cache-Control': 'no-store', ...headers });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, { Allow: 'GET, HEAD' }, 'method not allowed');
    let path;
    try {
      path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    } catch {
      return send(400, {}, 'bad path');
    }
    let file = null;
    for (const r of routes) {
      if ('path' in r && r.path === path) {
        const body = typeof r.body === 'string' ? Buffer.from(r.body) : Buffer.from(r.body.buffer, r.body.byteOffset, r.body.byteLength);
        file = { size: body.length, type: r.type ?? typeOf(path), body };
        break;
      }
      if ('prefix' in r && path.startsWith(r.prefix)) {
        let rel = path.slice(r.prefix.length);
        if (rel === '' || rel.endsWith('/')) rel += 'index.html';
        const abs = normalize(join(r.dir, rel));
        if (abs !== r.dir && !abs.startsWith(r.dir.endsWith(sep) ? r.dir : r.dir + sep)) return send(403, {}, 'forbidden');
        let st;
        try {
          st = statSync(abs);
        } catch {
          continue;
        }
        if (!st.isFile()) continue;
        file = { size: st.size, type: typeOf(abs), abs };
        break;
      }
    }
    if (!file) return send(404, { 'Content-Type': 'text/plain' }, `not found: ${path}`);
    const range = parseRange(req.headers.range, file.size);
    if (range === 'bad') return send(416, { 'Content-Range': `bytes */${file.size}` }, '');
    const [start, end] = range ?? [0, file.size];
    const headers = { 'Content-Type': file.type, 'Content-Length': String(end - start), 'Accept-Ranges': 'bytes' };
    if (range) headers['Content-Range'] = `bytes ${start}-${end - 1}/${file.size}`;
    const status = range ? 206 : 200;
    if (file.body) return send(status, headers, file.body.subarray(start, end));
    res.writeHead(status, { 'Cache-Control': 'no-store', ...headers });
    if (req.method === 'HEAD' || end === start) return res.end();
    const stream = createReadStream(file.abs, { start, end: end - 1 });
    stream.on('error', () => res.destroy());
    stream.pipe(res);
  });
}

/** Starts `server` on host:port (0 = any free port); resolves with its base URL (no trailing slash). */
export function listen(server, port = 0, host = '127.0.0.1') {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const a = server.address();
      resolve(`http://${host}:${a.port}`);
    });
  });
}

/** Closes `server`, dropping kept-alive connections so it finishes at once. */
export function closeServer(server) {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections?.();
  });
}

const HERE = join(ROOT, 'examples/browser');

/**
 * Builds and serves the demo. `writeDist` also writes dist/index.browser.js (the CLI does; the
 * test keeps everything in memory). Resolves with { url, close }.
 */
export async function startDemo({ port = 0, host = '127.0.0.1', writeDist = false } = {}) {
  const lib = await bundleBrowser(writeDist ? { outfile: join(DIST, 'index.browser.js'), sourcemap: true } : {});
  const demo = await bundlePage(join(HERE, 'demo.ts'), '/dist/index.browser.js');
  const server = staticServer([
    { path: '/dist/index.browser.js', body: lib.code },
    { path: '/demo.js', body: demo },
    { prefix: '/dist/', dir: DIST },
    { prefix: '/fixtures/', dir: join(ROOT, 'test/fixtures') },
    { prefix: '/', dir: HERE },
  ]);
  const url = await listen(server, port, host);
  return { url, close: () => closeServer(server) };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const i = process.argv.indexOf('--port');
  const port = i > 0 ? Number(process.argv[i + 1]) : Number(process.env.PORT ?? 8080);
  try {
    const { url, close } = await startDemo({ port, writeDist: true });
    console.log(`webgpu-embed demo: ${url}/  (model: ${url}/fixtures/bge-m3-tiny/; Ctrl-C stops)`);
    const stop = () => close().then(() => process.exit(0));
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  } catch (e) {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  }
}
