// Where a model's files come from: a base URL (HTTP with Range requests) or files a browser user
// picked. Node folders live in sources.node.ts. Every source reads byte ranges, so a 2 GB
// checkpoint is never loaded whole just to read its header or one tensor.

import { ModelFileError, ModelFileNotFoundError } from './errors.js';

export interface ModelFiles {
  /** Folder path or base URL, for messages. */
  readonly origin: string;
  /** Names are relative, e.g. '1_Pooling/config.json'. */
  has(name: string): Promise<boolean>;
  /** Size in bytes; a missing file is a ModelFileError saying where it was looked for. */
  size(name: string): Promise<number>;
  /** Bytes [start, end) (the whole file without arguments). The result may share memory with the source: do not mutate it. */
  read(name: string, start?: number, end?: number): Promise<Uint8Array>;
  text(name: string): Promise<string>;
  /** Parsed JSON; bad JSON is a ModelFileError naming the file. */
  json<T = unknown>(name: string): Promise<T>;
}

/**
 * Checks a relative file name and returns it normalized ('./a//b' → 'a/b'). Names with '..',
 * absolute paths or backslashes are refused, so a hostile index.json cannot point outside the model.
 */
export function checkName(name: string, origin: string): string {
  if (typeof name !== 'string' || name.length === 0 || name.length > 1024) {
    throw new ModelFileError(`invalid model file name ${JSON.stringify(String(name)).slice(0, 80)} in ${origin}`, String(name));
  }
  const parts = name.split('/').filter((p) => p !== '' && p !== '.');
  if (name.startsWith('/') || name.includes('\\') || /^[A-Za-z]:/.test(name) || parts.includes('..') || parts.length === 0 || name.includes('\0')) {
    throw new ModelFileError(`invalid model file name ${JSON.stringify(name)} in ${origin}: names must be relative paths inside the model folder`, name);
  }
  return parts.join('/');
}

export function notFoundError(name: string, origin: string, hint: string): ModelFileError {
  return new ModelFileNotFoundError(`model file ${name} not found in ${origin} (${hint})`, name);
}

/** Validates [start, end) against a file size; returns the resolved range. */
export function checkRange(name: string, origin: string, size: number, start?: number, end?: number): [number, number] {
  const s = start ?? 0;
  const e = end ?? size;
  if (!Number.isSafeInteger(s) || !Number.isSafeInteger(e) || s < 0 || e < s) {
    throw new ModelFileError(`invalid byte range [${s}, ${e}) requested from ${name} in ${origin}`, name);
  }
  if (e > size) {
    throw new ModelFileError(`byte range [${s}, ${e}) is past the end of ${name} in ${origin} (${size} bytes; the file may be truncated)`, name);
  }
  return [s, e];
}

/** Adds text() and json() to a source that can read. */
export function withText(base: Omit<ModelFiles, 'text' | 'json'>): ModelFiles {
  const text = async (name: string): Promise<string> => {
    const bytes = await base.read(name);
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    } catch {
      throw new ModelFileError(`${name} in ${base.origin} is not valid UTF-8 text`, name);
    }
  };
  return {
    origin: base.origin,
    has: (n) => base.has(n),
    size: (n) => base.size(n),
    read: (n, s, e) => base.read(n, s, e),
    text,
    async json<T>(name: string): Promise<T> {
      const t = await text(name);
      try {
        return JSON.parse(t) as T;
      } catch (err) {
        throw new ModelFileError(`${name} in ${base.origin} is not valid JSON: ${(err as Error).message}`, name);
      }
    },
  };
}

// ---------------------------------------------------------------------------------------------
// HTTP

/**
 * Files under a base URL (e.g. `https://huggingface.co/BAAI/bge-m3/resolve/main`). read(name,
 * start, end) sends `Range: bytes=start-(end-1)`; a server that ignores ranges still works (the
 * body is sliced). 404 means not found; other statuses name the URL and status.
 */
export function urlFiles(baseUrl: string, fetchImpl?: typeof fetch): ModelFiles {
  const doFetch: typeof fetch = fetchImpl ?? ((input, init) => fetch(input, init));
  const base = baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`;
  const origin = base.slice(0, -1);
  const urlOf = (name: string) => base + checkName(name, origin).split('/').map(encodeURIComponent).join('/');
  const hint = 'check the URL and that the file exists in the model repository';

  async function get(name: string, init: RequestInit): Promise<Response> {
    const url = urlOf(name);
    let res: Response;
    try {
      res = await doFetch(url, init);
      if (init.method === 'HEAD' && (res.status === 405 || res.status === 501)) {
        res = await doFetch(url, { headers: { Range: 'bytes=0-0' } }); // a server without HEAD: ask for one byte
      }
    } catch (err) {
      throw new ModelFileError(`could not fetch ${url}: ${(err as Error).message}`, name);
    }
    if (res.status === 404) {
      await res.body?.cancel().catch(() => {});
      throw notFoundError(name, origin, hint);
    }
    if (!res.ok) {
      await res.body?.cancel().catch(() => {});
      if (res.status === 416) throw new ModelFileError(`the byte range requested from ${url} is past the end of ${name} (HTTP 416)`, name);
      throw new ModelFileError(`HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''} fetching ${url} (model file ${name})`, name);
    }
    return res;
  }

  async function body(name: string, res: Response): Promise<Uint8Array> {
    try {
      return new Uint8Array(await res.arrayBuffer());
    } catch (err) {
      throw new ModelFileError(`download of ${urlOf(name)} failed: ${(err as Error).message}`, name);
    }
  }

  const sizes = new Map<string, Promise<number>>();
  async function fetchSize(name: string): Promise<number> {
    const head = await get(name, { method: 'HEAD' });
    const len = head.headers.get('content-length');
    const enc = head.headers.get('content-encoding');
    if (head.status === 200 && len !== null && (!enc || enc === 'identity') && /^\d+$/.test(len)) {
      await head.body?.cancel().catch(() => {}); // null for HEAD; a GET fallback's body is not needed
      return Number(len);
    }
    // Compressed or unknown length: ask for one byte and read the total from Content-Range.
    const res = head.status === 206 ? head : await get(name, { headers: { Range: 'bytes=0-0' } });
    const range = res.headers.get('content-range');
    const m = range ? /\/(\d+)\s*$/.exec(range) : null;
    if (res.status === 206 && m) {
      await res.body?.cancel().catch(() => {});
      return Number(m[1]);
    }
    return (await body(name, res)).length; // the server ignored the range and sent the whole file
  }

  const size = (name: string): Promise<number> => {
    let p = sizes.get(name);
    if (!p) {
      p = fetchSize(name);
      sizes.set(name, p);
      p.catch(() => sizes.delete(name));
    }
    return p;
  };

  return withText({
    origin,
    size,
    async has(name) {
      try {
        const res = await get(name, { method: 'HEAD' });
        await res.body?.cancel().catch(() => {});
        return true;
      } catch (err) {
        if (err instanceof ModelFileNotFoundError) return false;
        throw err;
      }
    },
    async read(name, start, end) {
      if (start === undefined && end === undefined) return body(name, await get(name, {}));
      const s = start ?? 0;
      const e = end ?? (await size(name));
      if (!Number.isSafeInteger(s) || !Number.isSafeInteger(e) || s < 0 || e < s) checkRange(name, origin, Infinity, s, e);
      if (e === s) return new Uint8Array(0);
      const res = await get(name, { headers: { Range: `bytes=${s}-${e - 1}` } });
      const bytes = await body(name, res);
      if (res.status === 206) {
        if (bytes.length !== e - s) {
          throw new ModelFileError(`byte range [${s}, ${e}) of ${urlOf(name)} returned ${bytes.length} bytes: the range is past the end of ${name} or the download was cut short`, name);
        }
        return bytes;
      }
      checkRange(name, origin, bytes.length, s, e); // the server ignored the range
      return bytes.subarray(s, e);
    },
  });
}

// ---------------------------------------------------------------------------------------------
// In-memory / picked files

/**
 * Files a browser user picked (e.g. from `<input type="file" webkitdirectory>`, keyed by
 * webkitRelativePath). When every key sits in the same top-level folder ('bge-m3/config.json', …)
 * that folder is stripped, unless it is a sentence-transformers module folder such as `1_Pooling`.
 */
export function mapFiles(files: Record<string, ArrayBuffer | Uint8Array | Blob>, origin = 'the selected files'): ModelFiles {
  const entries = Object.entries(files).map(([k, v]) => [k.replace(/^\.?\/+/, ''), v] as const);
  const firsts = new Set(entries.map(([k]) => (k.includes('/') ? k.slice(0, k.indexOf('/')) : '')));
  let strip = '';
  if (firsts.size === 1) {
    const [f] = firsts;
    if (f !== '' && !/^\d+_[A-Za-z]+$/.test(f)) strip = `${f}/`;
  }
  const table = new Map<string, ArrayBuffer | Uint8Array | Blob>();
  for (const [k, v] of entries) {
    const name = checkName(k.slice(strip.length), origin);
    table.set(name, v);
  }
  const lookup = (name: string) => {
    const v = table.get(checkName(name, origin));
    if (v === undefined) {
      throw notFoundError(name, origin, `the selection holds ${table.size} file(s); pick the whole model folder`);
    }
    return v;
  };
  const sizeOf = (v: ArrayBuffer | Uint8Array | Blob) => (v instanceof Uint8Array ? v.length : v instanceof ArrayBuffer ? v.byteLength : v.size);
  return withText({
    origin,
    async has(name) {
      return table.has(checkName(name, origin));
    },
    async size(name) {
      return sizeOf(lookup(name));
    },
    async read(name, start, end) {
      const v = lookup(name);
      const [s, e] = checkRange(name, origin, sizeOf(v), start, end);
      if (v instanceof Uint8Array) return v.subarray(s, e);
      if (v instanceof ArrayBuffer) return new Uint8Array(v, s, e - s);
      try {
        return new Uint8Array(await v.slice(s, e).arrayBuffer());
      } catch (err) {
        throw new ModelFileError(`could not read ${name} from ${origin}: ${(err as Error).message}`, name);
      }
    },
  });
}

/** The files under `dir` of another source (e.g. a sentence-transformers '0_Transformer' folder). */
export function subFiles(files: ModelFiles, dir: string): ModelFiles {
  if (dir === '' || dir === '.') return files;
  const prefix = `${checkName(dir, files.origin)}/`;
  return {
    origin: `${files.origin}/${prefix.slice(0, -1)}`,
    has: (n) => files.has(prefix + n),
    size: (n) => files.size(prefix + n),
    read: (n, s, e) => files.read(prefix + n, s, e),
    text: (n) => files.text(prefix + n),
    json: <T>(n: string) => files.json<T>(prefix + n),
  };
}
