// Downloads the files this engine needs from a Hugging Face Hub model repo into a local folder
// (Node only). The repo listing comes from @huggingface/hub (`listFiles`); the bytes move with fetch
// so that a `<file>.part` left by an interrupted run resumes with an HTTP Range request. Every file
// is checked against the listing: its size, and its LFS sha256 (or, for small non-LFS files, its git
// blob sha1). A record of verified files (`.hub-download.json`) lets later runs skip complete files
// without hashing gigabytes again, and lets a finished download be used when the Hub is unreachable.

import { createHash, type Hash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { mkdir, open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join, relative, resolve, sep } from 'node:path';
import { HubApiError, listFiles, type ListFileEntry } from '@huggingface/hub';

export interface DownloadProgress {
  /** Repo path, e.g. '1_Pooling/config.json'. */
  file: string;
  /** Bytes of this file on disk so far (a resumed `.part` counts from its length). */
  loaded: number;
  total: number;
  /** 0-based position of this file in the download. */
  fileIndex: number;
  fileCount: number;
}

export interface DownloadOptions {
  /** Default `<cwd>/weights`; files go to `<dest>/<org>/<name>/`. */
  dest?: string;
  /** Default env HF_ENDPOINT, else https://huggingface.co. */
  hubUrl?: string;
  /** Branch, tag or commit; default 'main'. */
  revision?: string;
  /** Default env HF_TOKEN. */
  accessToken?: string;
  onProgress?: (p: DownloadProgress) => void;
  fetch?: typeof fetch;
}

const ROOT_FILES = new Set([
  'config.json', 'tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json',
  'sentence_bert_config.json', 'config_sentence_transformers.json', 'modules.json',
  'model.safetensors', 'model.safetensors.index.json', 'colbert_linear.pt', 'sparse_linear.pt',
  'artifact.metadata', // Stanford ColBERT checkpoints' settings
]);
const SHARD = /^model-\d+-of-\d+\.safetensors$/;
const MODULE_FILE = /^\d+_Pooling\/config\.json$|^\d+_Dense\/(config\.json|model\.safetensors|pytorch_model\.bin)$/;

/** Which repo files (paths relative to the repo root) the engine needs. */
export const NEEDED_FILES = (name: string): boolean => ROOT_FILES.has(name) || SHARD.test(name) || MODULE_FILE.test(name);

const HUB_ID = /^[A-Za-z0-9][\w.-]*\/[A-Za-z0-9][\w.-]*$/;

/** 'BAAI/bge-m3' → true; relative/absolute/Windows paths, URLs and anything that exists on disk → false. */
export function isHubId(s: string): boolean {
  return typeof s === 'string' && HUB_ID.test(s) && !s.includes('..') && !existsSync(s);
}

const MANIFEST = '.hub-download.json';
const MAX_ATTEMPTS = 5;
const STALL_MS = 60_000;

interface Manifest {
  repo: string;
  revision: string;
  complete: boolean;
  files: Record<string, { size: number; mtimeMs: number; hash: string }>;
}

/** A failure worth another attempt (connection cut, stall, 5xx); anything else ends the download. */
class RetryableError extends Error {}

class HubUnreachableError extends RetryableError {
  constructor(readonly url: string, reason: string, localHint: string) {
    super(`could not reach ${url}: ${reason} — pass a local folder with the model files instead, e.g. loadModel('${localHint}')`);
    this.name = 'HubUnreachableError';
  }
}

interface Expected {
  size: number;
  /** 'sha256:<hex>' (LFS) or 'gitsha1:<hex>' (plain git blob), or undefined when the listing has neither. */
  hash?: string;
}

function expectedOf(e: ListFileEntry): Expected {
  const size = e.lfs?.size ?? e.size;
  if (e.lfs?.oid && /^[0-9a-f]{64}$/.test(e.lfs.oid)) return { size, hash: `sha256:${e.lfs.oid}` };
  // Without LFS info `oid` is the git blob id of the content itself, except for xet-backed entries.
  if (!e.lfs && !e.xetHash && e.oid && /^[0-9a-f]{40}$/.test(e.oid)) return { size, hash: `gitsha1:${e.oid}` };
  return { size };
}

function newHasher(exp: Expected): Hash | undefined {
  if (!exp.hash) return undefined;
  if (exp.hash.startsWith('sha256:')) return createHash('sha256');
  return createHash('sha1').update(`blob ${exp.size}\0`);
}

async function hashPrefix(h: Hash, path: string, bytes: number): Promise<void> {
  if (bytes === 0) return;
  for await (const chunk of createReadStream(path, { start: 0, end: bytes - 1 })) h.update(chunk as Buffer);
}

function digestOf(h: Hash | undefined, exp: Expected): string | undefined {
  return h && exp.hash ? `${exp.hash.slice(0, exp.hash.indexOf(':'))}:${h.digest('hex')}` : undefined;
}

function reasonOf(e: unknown): string {
  const err = e as { message?: string; cause?: { message?: string; code?: string } };
  return err?.cause?.message ?? err?.cause?.code ?? err?.message ?? String(e);
}

function encodePath(p: string): string {
  return p.split('/').map(encodeURIComponent).join('/');
}

/**
 * Downloads the needed files of a model repo ('org/name') into `<dest>/<org>/<name>/` and returns that
 * folder. Complete files are skipped, partial ones resumed; a size or hash mismatch deletes the file
 * and throws. When the Hub cannot be reached, a folder from an earlier complete download is returned.
 */
export async function downloadModel(repoId: string, opts: DownloadOptions = {}): Promise<string> {
  if (typeof repoId !== 'string' || !HUB_ID.test(repoId) || repoId.includes('..')) {
    throw new Error(`downloadModel: ${JSON.stringify(repoId)} is not a Hub model id of the form 'org/name' (e.g. 'BAAI/bge-m3')`);
  }
  const hubUrl = (opts.hubUrl ?? process.env.HF_ENDPOINT ?? 'https://huggingface.co').replace(/\/+$/, '');
  const revision = opts.revision ?? 'main';
  const accessToken = opts.accessToken ?? (process.env.HF_TOKEN || undefined);
  const [org, name] = repoId.split('/') as [string, string];
  const folder = resolve(opts.dest ?? join(process.cwd(), 'weights'), org, name);
  const rel = relative(process.cwd(), folder);
  const localHint = rel && !rel.startsWith('..') && !/^[A-Za-z]:|^\//.test(rel) ? `./${rel.split(sep).join('/')}` : folder;
  const baseFetch = opts.fetch ?? fetch;
  const hubFetch = (async (input: RequestInfo | URL, init?: RequestInit) => {
    try {
      return await baseFetch(input, init);
    } catch (e) {
      if (init?.signal?.aborted) throw e;
      const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
      throw new HubUnreachableError(url, reasonOf(e), localHint);
    }
  }) as typeof fetch;

  const manifestPath = join(folder, MANIFEST);
  const manifest = await readManifest(manifestPath, repoId, revision);

  // 1. The listing (via @huggingface/hub).
  let entries: ListFileEntry[] = [];
  try {
    for await (const e of listFiles({ repo: repoId, recursive: true, revision, hubUrl, accessToken, fetch: hubFetch })) entries.push(e);
  } catch (e) {
    // Hub unreachable or down: a finished earlier download of the same revision will do.
    const down = e instanceof HubUnreachableError || (e instanceof HubApiError && e.statusCode >= 500);
    if (down && manifest.complete && (await manifestFilesPresent(folder, manifest))) return folder;
    if (e instanceof HubApiError) {
      const what = e.statusCode === 404 || e.statusCode === 401 || e.statusCode === 403 ? 'not found or not accessible' : 'could not be listed';
      throw new Error(
        `Hub model ${repoId} (revision '${revision}') ${what} at ${hubUrl}: HTTP ${e.statusCode}: ${e.message}` +
          (e.statusCode === 401 || e.statusCode === 403 || e.statusCode === 404 ? ' — check the id and revision; for a private or gated model set HF_TOKEN' : ''),
      );
    }
    throw e;
  }
  entries = entries.filter((e) => e.type === 'file');
  const byPath = new Map(entries.map((e) => [e.path, e]));

  // 2. Which files: the needed ones, safetensors weights only.
  if (!byPath.has('config.json')) {
    throw new Error(`Hub model ${repoId} (revision '${revision}') has no config.json: not a transformers checkpoint this engine can load`);
  }
  const plan = entries.filter(
    (e) => NEEDED_FILES(e.path) && !SHARD.test(e.path) && !(e.path.endsWith('/pytorch_model.bin') && byPath.has(e.path.replace(/pytorch_model\.bin$/, 'model.safetensors'))),
  );
  const sharded = !byPath.has('model.safetensors') && byPath.has('model.safetensors.index.json');
  if (byPath.has('model.safetensors')) {
    const i = plan.findIndex((e) => e.path === 'model.safetensors.index.json');
    if (i >= 0) plan.splice(i, 1);
  } else if (!sharded) {
    const other = entries.filter((e) => /\.(bin|pt|pth|onnx|h5|msgpack|gguf|safetensors)$/.test(e.path)).map((e) => e.path);
    throw new Error(
      `Hub model ${repoId} (revision '${revision}') has no model.safetensors or model.safetensors.index.json` +
        (other.length ? ` (it has ${other.slice(0, 6).join(', ')})` : '') +
        ': this engine reads safetensors weights only. Look for a revision with safetensors (the Hub bot often opens a pull request with them: --revision refs/pr/N) or convert the checkpoint.',
    );
  }
  // Small files first, weights last; the shard index leads so the shards are known early.
  const weight = (p: string) => (p === 'model.safetensors.index.json' ? 0 : /\.(safetensors|pt|bin)$/.test(p) ? 2 : 1);
  plan.sort((a, b) => weight(a.path) - weight(b.path) || a.path.localeCompare(b.path));
  let fileCount = plan.length + (sharded ? entries.filter((e) => SHARD.test(e.path)).length : 0);

  await mkdir(folder, { recursive: true });
  const ctx = { repoId, hubUrl, revision, accessToken, folder, manifest, manifestPath, hubFetch, onProgress: opts.onProgress };
  manifest.complete = false;
  for (let i = 0; i < plan.length; i++) {
    const entry = plan[i]!;
    await fetchFile(ctx, entry, i, () => fileCount);
    if (entry.path === 'model.safetensors.index.json') {
      const shards = await shardsOf(join(folder, 'model.safetensors.index.json'), byPath, repoId);
      plan.push(...shards);
      fileCount = plan.length;
    }
  }
  manifest.complete = true;
  await writeFile(manifestPath, JSON.stringify(manifest, null, 1));
  return folder;
}

async function shardsOf(indexPath: string, byPath: Map<string, ListFileEntry>, repoId: string): Promise<ListFileEntry[]> {
  let map: Record<string, unknown>;
  try {
    map = (JSON.parse(await readFile(indexPath, 'utf8')) as { weight_map: Record<string, unknown> }).weight_map;
    if (typeof map !== 'object' || map === null) throw new Error('no weight_map object');
  } catch (e) {
    throw new Error(`${repoId}: model.safetensors.index.json is not a valid safetensors index: ${reasonOf(e)}`);
  }
  const names = [...new Set(Object.values(map))].sort();
  return names.map((n) => {
    const entry = typeof n === 'string' && /^[\w][\w.-]*\.safetensors$/.test(n) ? byPath.get(n) : undefined;
    if (!entry) throw new Error(`${repoId}: model.safetensors.index.json names shard ${JSON.stringify(n)}, which the repo does not have`);
    return entry;
  });
}

interface Ctx {
  repoId: string;
  hubUrl: string;
  revision: string;
  accessToken?: string;
  folder: string;
  manifest: Manifest;
  manifestPath: string;
  hubFetch: typeof fetch;
  onProgress?: (p: DownloadProgress) => void;
}

async function fetchFile(ctx: Ctx, entry: ListFileEntry, fileIndex: number, count: () => number): Promise<void> {
  const exp = expectedOf(entry);
  const target = join(ctx.folder, ...entry.path.split('/'));
  if (!resolve(target).startsWith(ctx.folder + sep)) throw new Error(`refusing repo path ${JSON.stringify(entry.path)} outside the model folder`);
  const progress = (loaded: number) => ctx.onProgress?.({ file: entry.path, loaded, total: exp.size, fileIndex, fileCount: count() });

  if (await isComplete(ctx, entry.path, target, exp)) {
    progress(exp.size);
    return;
  }
  await mkdir(resolve(target, '..'), { recursive: true });
  const url = `${ctx.hubUrl}/${ctx.repoId}/resolve/${encodeURIComponent(ctx.revision)}/${encodePath(entry.path)}`;
  for (let attempt = 1; ; attempt++) {
    try {
      await transfer(ctx, url, target, exp, progress);
      break;
    } catch (e) {
      if (!(e instanceof RetryableError) || attempt >= MAX_ATTEMPTS) {
        if (e instanceof RetryableError) {
          e.message += ` (gave up on ${entry.path} after ${attempt} attempts; ${target}.part is kept and the next run resumes it)`;
        }
        throw e;
      }
      await new Promise((r) => setTimeout(r, 250 * 2 ** (attempt - 1)));
    }
  }
  const st = await stat(target);
  ctx.manifest.files[entry.path] = { size: st.size, mtimeMs: st.mtimeMs, hash: exp.hash ?? '' };
  await writeFile(ctx.manifestPath, JSON.stringify(ctx.manifest, null, 1));
}

/** A file already in place with the listed size and hash (the record spares hashing it again). */
async function isComplete(ctx: Ctx, path: string, target: string, exp: Expected): Promise<boolean> {
  const st = await stat(target).catch(() => undefined);
  if (!st || st.size !== exp.size) return false;
  const rec = ctx.manifest.files[path];
  if (rec && rec.size === st.size && rec.mtimeMs === st.mtimeMs && rec.hash === (exp.hash ?? '')) return true;
  const h = newHasher(exp);
  if (h) {
    await hashPrefix(h, target, st.size);
    if (digestOf(h, exp) !== exp.hash) return false;
  }
  ctx.manifest.files[path] = { size: st.size, mtimeMs: st.mtimeMs, hash: exp.hash ?? '' };
  return true;
}

/** One attempt: resume `<target>.part` with a Range request, stream to disk, verify, rename. */
async function transfer(ctx: Ctx, url: string, target: string, exp: Expected, progress: (loaded: number) => void): Promise<void> {
  const part = `${target}.part`;
  let offset = (await stat(part).catch(() => undefined))?.size ?? 0;
  if (offset > exp.size) {
    await rm(part, { force: true });
    offset = 0;
  }
  const h = newHasher(exp);
  let resumedAt = offset; // bytes kept from an earlier attempt
  let loaded = offset;
  if (offset < exp.size) {
    const ac = new AbortController();
    const timer = setTimeout(() => ac.abort(), STALL_MS);
    try {
      const headers: Record<string, string> = { 'Accept-Encoding': 'identity' };
      if (offset > 0) headers.Range = `bytes=${offset}-`;
      if (ctx.accessToken) headers.Authorization = `Bearer ${ctx.accessToken}`;
      const res = await ctx.hubFetch(url, { headers, signal: ac.signal });
      if (res.status === 416) {
        // The .part does not fit the file the server has: start over.
        await res.body?.cancel();
        await rm(part, { force: true });
        throw new RetryableError(`${url}: the server refused to resume from byte ${offset} (HTTP 416)`);
      }
      if (!res.ok) {
        await res.body?.cancel();
        const msg = `${url}: HTTP ${res.status} ${res.statusText}`;
        throw res.status >= 500 || res.status === 408 || res.status === 429 ? new RetryableError(msg) : new Error(msg);
      }
      const resumed = offset > 0 && res.status === 206;
      if (resumed) {
        const m = /^bytes (\d+)-\d+\/(\d+|\*)$/.exec(res.headers.get('content-range') ?? '');
        if (!m || Number(m[1]) !== offset) {
          await res.body?.cancel();
          await rm(part, { force: true });
          throw new RetryableError(`${url}: answered Range bytes=${offset}- with Content-Range ${res.headers.get('content-range')}`);
        }
      }
      if (!resumed) offset = loaded = 0; // the server sent the whole file
      resumedAt = offset;
      const declared = resumed ? Number(res.headers.get('content-range')!.split('/')[1]) : Number(res.headers.get('content-length') ?? NaN);
      if (!res.headers.get('content-encoding') && Number.isFinite(declared) && (resumed ? declared : declared + offset) !== exp.size) {
        await res.body?.cancel();
        throw new Error(`${url}: the server has ${resumed ? declared : declared + offset} bytes but the Hub listing says ${exp.size}`);
      }
      if (h) await hashPrefix(h, part, offset);
      progress(loaded);
      const fh = await open(part, resumed ? 'a' : 'w');
      try {
        const reader = res.body!.getReader();
        for (;;) {
          let r: ReadableStreamReadResult<Uint8Array>;
          try {
            r = await reader.read();
          } catch (e) {
            throw new RetryableError(`${url}: ${ac.signal.aborted ? `no data for ${STALL_MS / 1000} s` : `connection lost (${reasonOf(e)})`} at byte ${loaded} of ${exp.size}`);
          }
          if (r.done) break;
          timer.refresh();
          const chunk = r.value;
          if (loaded + chunk.length > exp.size) {
            await reader.cancel();
            throw new Error(`${url}: the server sent more than the ${exp.size} bytes the Hub listing says`);
          }
          h?.update(chunk);
          for (let w = 0; w < chunk.length; ) w += (await fh.write(chunk, w, chunk.length - w)).bytesWritten;
          loaded += chunk.length;
          progress(loaded);
        }
      } finally {
        await fh.close();
      }
    } finally {
      clearTimeout(timer);
    }
    if (loaded !== exp.size) throw new RetryableError(`${url}: the transfer ended at byte ${loaded} of ${exp.size}`);
  } else {
    if (h) await hashPrefix(h, part, offset);
    progress(loaded);
  }
  const got = digestOf(h, exp);
  if (got !== exp.hash) {
    await rm(part, { force: true });
    const msg = `${url}: integrity check failed: got ${got}, the Hub listing says ${exp.hash}; the download was deleted`;
    // A kept .part may be from another version of the file: one more attempt from byte 0.
    throw resumedAt > 0 ? new RetryableError(msg) : new Error(msg);
  }
  await rename(part, target);
}

async function readManifest(path: string, repo: string, revision: string): Promise<Manifest> {
  try {
    const m = JSON.parse(await readFile(path, 'utf8')) as Manifest;
    if (m.repo === repo && m.revision === revision && typeof m.files === 'object' && m.files) return m;
  } catch {
    // no record yet, or an unreadable one: start a fresh one
  }
  return { repo, revision, complete: false, files: {} };
}

async function manifestFilesPresent(folder: string, m: Manifest): Promise<boolean> {
  const names = Object.keys(m.files);
  if (names.length === 0) return false;
  for (const n of names) {
    const st = await stat(join(folder, ...n.split('/'))).catch(() => undefined);
    if (!st || st.size !== m.files[n]!.size) return false;
  }
  return true;
}
