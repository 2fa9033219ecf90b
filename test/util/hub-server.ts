// A loopback stand-in for the Hugging Face Hub, for download tests: a node:http server on 127.0.0.1
// that serves in-memory repos in the Hub's URL layout and records every request. It answers
//   GET /api/models/<org>/<name>/tree/<rev>?recursive=…   (what @huggingface/hub's listFiles calls;
//       JSON entries { type, oid, size, path, lfs? { oid (sha256), size, pointerSize } }, paged with a
//       `Link: <…&cursor=N>; rel="next"` header when pageSize is set)
//   GET /<org>/<name>/resolve/<rev>/<path>               (the bytes, with `Range: bytes=a-[b]` support)
// Errors look like the Hub's: 404 JSON bodies with X-Error-Code RepoNotFound / RevisionNotFound / EntryNotFound.

import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';

export type RepoFiles = Map<string, Uint8Array>;

export interface HubRequest {
  method: string;
  /** Decoded path without the query, e.g. '/BAAI/bge-m3/resolve/main/config.json'. */
  path: string;
  range?: string;
  authorization?: string;
  /** Body bytes the server wrote for this request. */
  sent: number;
}

export interface HubServer {
  /** 'http://127.0.0.1:<port>' */
  url: string;
  requests: HubRequest[];
  /** '<repo>/<file>' → bytes to send before cutting the connection; applies to the first request only. */
  cutOnce: Map<string, number>;
  /** '<repo>/<file>' → bytes served instead of the real ones (the listing still describes the real ones). */
  serveInstead: Map<string, Uint8Array>;
  close(): Promise<void>;
}

export interface HubServerOptions {
  /** 'org/name' → files (repo paths → bytes). */
  repos: Record<string, RepoFiles>;
  /** Revisions every repo answers to (default ['main']). */
  revisions?: string[];
  /** Listing entries per page (default: all on one page). */
  pageSize?: number;
}

/** Every file under `dir`, keyed by its '/'-separated path relative to `dir`. */
export function readFolder(dir: string, prefix = ''): RepoFiles {
  const out: RepoFiles = new Map();
  for (const name of readdirSync(dir).sort()) {
    const full = join(dir, name);
    if (statSync(full).isDirectory()) for (const [k, v] of readFolder(full, `${prefix}${name}/`)) out.set(k, v);
    else out.set(prefix + name, new Uint8Array(readFileSync(full)));
  }
  return out;
}

export const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
export const gitBlobSha1 = (b: Uint8Array): string => createHash('sha1').update(`blob ${b.length}\0`).update(b).digest('hex');

/** Files stored with Git LFS on the Hub (as its default .gitattributes does). */
const isLfs = (path: string) => /\.(safetensors|bin|pt|pth|onnx|h5|msgpack|model)$/.test(path);

function treeEntries(files: RepoFiles, recursive: boolean) {
  const dirs = new Set<string>();
  const entries: object[] = [];
  for (const [path, bytes] of [...files].sort(([a], [b]) => a.localeCompare(b))) {
    const parts = path.split('/');
    for (let i = 1; i < parts.length; i++) dirs.add(parts.slice(0, i).join('/'));
    if (!recursive && parts.length > 1) continue;
    const entry: Record<string, unknown> = { type: 'file', oid: gitBlobSha1(bytes), size: bytes.length, path };
    if (isLfs(path)) {
      const pointer = `version https://git-lfs.github.com/spec/v1\noid sha256:${sha256(bytes)}\nsize ${bytes.length}\n`;
      entry.oid = gitBlobSha1(new TextEncoder().encode(pointer));
      entry.lfs = { oid: sha256(bytes), size: bytes.length, pointerSize: pointer.length };
    }
    entries.push(entry);
  }
  const dirEntries = [...dirs].filter((d) => recursive || !d.includes('/')).map((d) => ({ type: 'directory', oid: gitBlobSha1(new TextEncoder().encode(d)), size: 0, path: d }));
  return [...dirEntries, ...entries];
}

function hubError(res: ServerResponse, status: number, code: string, message: string) {
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'X-Error-Code': code, 'X-Error-Message': message });
  res.end(JSON.stringify({ error: message }));
}

export async function startHubServer(opts: HubServerOptions): Promise<HubServer> {
  const revisions = opts.revisions ?? ['main'];
  const requests: HubRequest[] = [];
  const cutOnce = new Map<string, number>();
  const serveInstead = new Map<string, Uint8Array>();

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const u = new URL(req.url ?? '/', `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    const path = u.pathname.split('/').map(decodeURIComponent).join('/');
    const rec: HubRequest = { method: req.method ?? 'GET', path, range: req.headers.range, authorization: req.headers.authorization, sent: 0 };
    requests.push(rec);

    const api = /^\/api\/models\/([^/]+\/[^/]+)\/tree\/([^/]+)$/.exec(path);
    const resolve = /^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(path);
    const m = api ?? resolve;
    if (!m) return hubError(res, 404, 'NotFound', `no route for ${path}`);
    const files = opts.repos[m[1]!];
    if (!files) return hubError(res, 404, 'RepoNotFound', 'Repository not found');
    if (!revisions.includes(m[2]!)) return hubError(res, 404, 'RevisionNotFound', `Invalid rev id: ${m[2]}`);

    if (api) {
      const all = treeEntries(files, u.searchParams.get('recursive') === 'true');
      const start = Number(u.searchParams.get('cursor') ?? 0);
      const size = opts.pageSize ?? all.length;
      const headers: Record<string, string> = { 'Content-Type': 'application/json; charset=utf-8' };
      if (start + size < all.length) {
        const next = new URL(u.href);
        next.searchParams.set('cursor', String(start + size));
        headers.Link = `<${next.href}>; rel="next"`;
      }
      res.writeHead(200, headers);
      res.end(JSON.stringify(all.slice(start, start + size)));
      return;
    }

    const key = `${m[1]}/${m[3]}`;
    const real = files.get(m[3]!);
    if (!real) return hubError(res, 404, 'EntryNotFound', `Entry not found: ${m[3]}`);
    const bytes = serveInstead.get(key) ?? real;
    const headers: Record<string, string> = { 'Accept-Ranges': 'bytes', ETag: `"${sha256(real)}"`, 'Content-Type': 'application/octet-stream' };
    let from = 0, to = bytes.length; // [from, to)
    let status = 200;
    if (req.headers.range) {
      const r = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range);
      if (!r || Number(r[1]) >= bytes.length) {
        res.writeHead(416, { 'Content-Range': `bytes */${bytes.length}` });
        res.end();
        return;
      }
      from = Number(r[1]);
      to = r[2] ? Math.min(Number(r[2]) + 1, bytes.length) : bytes.length;
      status = 206;
      headers['Content-Range'] = `bytes ${from}-${to - 1}/${bytes.length}`;
    }
    headers['Content-Length'] = String(to - from);
    res.writeHead(status, headers);
    if (req.method === 'HEAD') return res.end();
    const cut = cutOnce.get(key);
    if (cut !== undefined) {
      cutOnce.delete(key);
      const n = Math.min(cut, to - from);
      rec.sent = n;
      // Flush n bytes, give the client time to read them, then drop the connection mid-body.
      res.write(bytes.subarray(from, from + n), () => setTimeout(() => res.socket?.destroy(), 100));
      return;
    }
    rec.sent = to - from;
    res.end(bytes.subarray(from, to));
  };

  const server = createServer((req, res) => {
    try {
      handle(req, res);
    } catch (e) {
      res.writeHead(500);
      res.end(String(e));
    }
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    cutOnce,
    serveInstead,
    close: () =>
      new Promise<void>((ok, fail) => {
        server.closeAllConnections();
        server.close((e) => (e ? fail(e) : ok()));
      }),
  };
}

/** A 127.0.0.1 URL on which nothing listens (a port that was just bound and released). */
export async function closedPortUrl(): Promise<string> {
  const s = createServer();
  await new Promise<void>((ok) => s.listen(0, '127.0.0.1', ok));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((ok) => s.close(() => ok()));
  return `http://127.0.0.1:${port}`;
}
