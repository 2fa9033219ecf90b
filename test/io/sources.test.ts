// File sources: folderFiles (positioned reads, a 3 GB sparse file read by range), mapFiles (picked
// files, top-folder stripping, Blob / ArrayBuffer / Uint8Array), and urlFiles against a local
// node:http server with Range support (404 / 500 messages, servers that ignore Range).

import { createServer, type Server } from 'node:http';
import { mkdtempSync, openSync, closeSync, readFileSync, rmSync, writeSync, ftruncateSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelFileError } from '../../src/io/errors.js';
import { listCheckpointTensors, readSafetensorsHeader, readTensor } from '../../src/io/safetensors.js';
import { mapFiles, subFiles, urlFiles } from '../../src/io/sources.js';
import { folderFiles } from '../../src/io/sources.node.js';
import { loadTokenizer } from '../../src/io/tokenizer.js';
import { parseConfig } from '../../src/models/config.js';

const FIX = join(import.meta.dirname, '../fixtures');
const tmp = mkdtempSync(join(tmpdir(), 'webgpu-embed-src-'));

async function errorOf(fn: () => unknown): Promise<string> {
  try {
    await fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ModelFileError);
    return (err as Error).message;
  }
  throw new Error('expected a ModelFileError');
}

describe('folderFiles', () => {
  const dir = join(FIX, 'bert-mean');
  const files = folderFiles(dir);

  it('has / size / read ranges / text / json', async () => {
    expect(files.origin).toBe(dir);
    expect(await files.has('config.json')).toBe(true);
    expect(await files.has('1_Pooling/config.json')).toBe(true);
    expect(await files.has('nope.json')).toBe(false);
    expect(await files.has('1_Pooling')).toBe(false); // a folder is not a file
    expect(await files.size('model.safetensors')).toBe(512280);
    const whole = readFileSync(join(dir, 'model.safetensors'));
    expect(Buffer.from(await files.read('model.safetensors', 100, 164)).equals(whole.subarray(100, 164))).toBe(true);
    expect((await files.read('model.safetensors', 512280, 512280)).length).toBe(0);
    expect(Buffer.from(await files.read('vocab.txt')).equals(readFileSync(join(dir, 'vocab.txt')))).toBe(true);
    expect((await files.text('vocab.txt')).split('\n')[2]).toBe('[CLS]');
    expect(await files.json('sentence_bert_config.json')).toEqual({ max_seq_length: 96, do_lower_case: false });
  });

  it('explains missing files, bad ranges, bad JSON and names outside the folder', async () => {
    expect(await errorOf(() => files.size('pytorch_model.bin'))).toBe(`model file pytorch_model.bin not found in ${dir} (check the folder holds a complete copy of the model)`);
    expect(await errorOf(() => files.read('2_Dense/config.json', 0, 4))).toMatch(/^model file 2_Dense\/config\.json not found in /);
    expect(await errorOf(() => files.read('config.json', 10, 5000))).toBe(`byte range [10, 5000) is past the end of config.json in ${dir} (576 bytes; the file may be truncated)`);
    expect(await errorOf(() => files.read('config.json', 5, 2))).toBe(`invalid byte range [5, 2) requested from config.json in ${dir}`);
    expect(await errorOf(() => files.json('vocab.txt'))).toMatch(/^vocab\.txt in .* is not valid JSON: /);
    for (const bad of ['../bert-cls-f16/config.json', '/etc/passwd', 'a\\b', '1_Pooling/../../x']) {
      expect(await errorOf(() => files.read(bad))).toContain('names must be relative paths inside the model folder');
    }
    expect(await errorOf(() => folderFiles(join(tmp, 'missing-model')))).toBe(
      `model folder ${join(tmp, 'missing-model')} does not exist (pass the folder that holds config.json and the weights)`,
    );
    expect(await errorOf(() => folderFiles(join(dir, 'config.json')))).toContain('is not a folder');
  });

  it('reads a range near the end of a 3 GB (sparse) file without reading it whole', async () => {
    const p = join(tmp, 'big.safetensors');
    const fd = openSync(p, 'w');
    const H = 96; // header bytes (JSON padded with spaces, as the Python writer does)
    const header = Buffer.from(JSON.stringify({ w: { dtype: 'U8', shape: [3e9 - 8 - H], data_offsets: [0, 3e9 - 8 - H] } }).padEnd(H, ' '));
    expect(header.length).toBe(H);
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(H));
    writeSync(fd, Buffer.concat([len, header]), 0, 8 + H, 0);
    writeSync(fd, Buffer.from('tail!'), 0, 5, 3e9 - 5);
    ftruncateSync(fd, 3e9);
    closeSync(fd);
    expect(statSync(p).size).toBe(3e9);
    const big = folderFiles(tmp);
    expect(new TextDecoder().decode(await big.read('big.safetensors', 3e9 - 5, 3e9))).toBe('tail!');
    const t = await readSafetensorsHeader(big, 'big.safetensors');
    expect(t.get('w')).toEqual({ name: 'w', file: 'big.safetensors', dtype: 'U8', shape: [3e9 - 104], begin: 104, end: 3e9 });
    rmSync(p);
  });
});

describe('mapFiles', () => {
  const enc = (s: string) => new TextEncoder().encode(s);

  it('strips a common top-level folder and reads Uint8Array, ArrayBuffer and Blob values', async () => {
    const bytes = Uint8Array.from({ length: 100 }, (_, i) => i);
    const files = mapFiles({
      'bge-m3/config.json': enc('{"a": 1}'),
      'bge-m3/1_Pooling/config.json': new Blob([enc('{"b": 2}')]),
      'bge-m3/model.safetensors': bytes.buffer,
      'bge-m3/data.bin': new Blob([bytes]),
    });
    expect(files.origin).toBe('the selected files');
    expect(await files.json('config.json')).toEqual({ a: 1 });
    expect(await files.json('1_Pooling/config.json')).toEqual({ b: 2 });
    expect(await files.has('bge-m3/config.json')).toBe(false);
    expect(await files.size('model.safetensors')).toBe(100);
    expect([...(await files.read('model.safetensors', 10, 13))]).toEqual([10, 11, 12]);
    expect([...(await files.read('data.bin', 97))]).toEqual([97, 98, 99]);
    expect(await files.size('data.bin')).toBe(100);
    expect(await errorOf(() => files.read('data.bin', 90, 101))).toBe('byte range [90, 101) is past the end of data.bin in the selected files (100 bytes; the file may be truncated)');
    expect(await errorOf(() => files.text('tokenizer.json'))).toBe('model file tokenizer.json not found in the selected files (the selection holds 4 file(s); pick the whole model folder)');
  });

  it('keeps names when files are at the top level or all inside a module folder', async () => {
    const flat = mapFiles({ 'config.json': enc('{}'), '1_Pooling/config.json': enc('{}') }, 'drop');
    expect(await flat.has('1_Pooling/config.json')).toBe(true);
    const pooling = mapFiles({ '1_Pooling/config.json': enc('{"p": 1}') });
    expect(await pooling.json('1_Pooling/config.json')).toEqual({ p: 1 });
    const sub = subFiles(mapFiles({ 'm/0_Transformer/config.json': enc('{"t": 1}'), 'm/modules.json': enc('[]') }), '0_Transformer');
    expect(sub.origin).toBe('the selected files/0_Transformer');
    expect(await sub.json('config.json')).toEqual({ t: 1 });
    expect(await errorOf(() => sub.json('x.json'))).toMatch(/^model file 0_Transformer\/x\.json not found/);
    expect(await errorOf(() => mapFiles({ 'a/../../x': enc('') }))).toContain('names must be relative paths');
  });
});

describe('urlFiles', () => {
  let server: Server;
  let base = '';
  const log: { method: string; url: string; range?: string; bytes: number }[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      const url = decodeURIComponent(req.url ?? '');
      const entry = { method: req.method ?? '', url, range: req.headers.range, bytes: 0 };
      log.push(entry);
      if (url.startsWith('/broken/')) {
        res.writeHead(500, 'Internal Server Error').end('boom');
        return;
      }
      if (url.startsWith('/nohead/') && req.method === 'HEAD') {
        res.writeHead(405, 'Method Not Allowed').end();
        return;
      }
      const ignoreRange = url.startsWith('/norange/');
      const rel = url.replace(/^\/(models|norange|nohead)\//, '');
      let data: Buffer;
      try {
        data = readFileSync(join(FIX, rel));
      } catch {
        res.writeHead(404).end('not found');
        return;
      }
      const m = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '');
      if (m && !ignoreRange) {
        const s = Number(m[1]);
        const e = Math.min(Number(m[2]), data.length - 1);
        if (s >= data.length) {
          res.writeHead(416, { 'Content-Range': `bytes */${data.length}` }).end();
          return;
        }
        const body = data.subarray(s, e + 1);
        entry.bytes = body.length;
        res.writeHead(206, { 'Content-Range': `bytes ${s}-${e}/${data.length}`, 'Content-Length': body.length }).end(body);
        return;
      }
      res.writeHead(200, { 'Content-Length': data.length });
      entry.bytes = req.method === 'HEAD' ? 0 : data.length;
      res.end(req.method === 'HEAD' ? undefined : data);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((r) => server.close(r));
    rmSync(tmp, { recursive: true, force: true });
  });

  it('serves a checkpoint by ranges: header, tensors, config and tokenizer', async () => {
    const files = urlFiles(`${base}/models/bge-m3-tiny/`);
    expect(files.origin).toBe(`${base}/models/bge-m3-tiny`);
    expect(await files.has('config.json')).toBe(true);
    expect(await files.has('model.safetensors.index.json')).toBe(false);
    log.length = 0;
    const t = await listCheckpointTensors(files);
    expect(t.size).toBe(39);
    const w = t.get('embeddings.word_embeddings.weight')!;
    const local = readFileSync(join(FIX, 'bge-m3-tiny/model.safetensors'));
    expect(Buffer.from(await readTensor(files, w)).equals(local.subarray(w.begin, w.end))).toBe(true);
    const served = log.filter((l) => l.url.endsWith('model.safetensors')).reduce((a, l) => a + l.bytes, 0);
    expect(served).toBe(8 + 4032 + (w.end - w.begin)); // length, header, one tensor: never the whole file
    expect(log.find((l) => l.range === `bytes=${w.begin}-${w.end - 1}`)).toBeDefined();
    const cfg = parseConfig(await files.json('config.json'), files.origin);
    const tok = await loadTokenizer(files, cfg);
    const golden = JSON.parse(readFileSync(join(FIX, 'bge-m3-tiny/golden.json'), 'utf8'));
    expect(tok.encode(['Hello, my name is'])[0]).toEqual(golden.groups.prompts[0].ids);
  });

  it('404 is "not found"; other statuses name the URL and status; bad ranges are errors', async () => {
    const files = urlFiles(`${base}/models/bert-mean`);
    expect(await errorOf(() => files.json('modules_missing.json'))).toBe(
      `model file modules_missing.json not found in ${base}/models/bert-mean (check the URL and that the file exists in the model repository)`,
    );
    expect(await errorOf(() => files.read('model.safetensors', 512270, 512290))).toContain('past the end');
    expect(await errorOf(() => files.read('model.safetensors', 600000, 600010))).toBe(
      `the byte range requested from ${base}/models/bert-mean/model.safetensors is past the end of model.safetensors (HTTP 416)`,
    );
    const broken = urlFiles(`${base}/broken`);
    expect(await errorOf(() => broken.size('config.json'))).toBe(`HTTP 500 Internal Server Error fetching ${base}/broken/config.json (model file config.json)`);
    expect(await errorOf(() => broken.has('config.json'))).toContain('HTTP 500');
    const dead = urlFiles('http://127.0.0.1:1/x');
    expect(await errorOf(() => dead.read('config.json'))).toMatch(/^could not fetch http:\/\/127\.0\.0\.1:1\/x\/config\.json: /);
  });

  it('works with servers that ignore Range or refuse HEAD, and encodes names', async () => {
    const files = urlFiles(`${base}/norange/bert-mean`);
    const local = readFileSync(join(FIX, 'bert-mean/model.safetensors'));
    expect(Buffer.from(await files.read('model.safetensors', 8, 40)).equals(local.subarray(8, 40))).toBe(true);
    expect(await files.size('model.safetensors')).toBe(local.length);
    const pool = await files.json<Record<string, unknown>>('1_Pooling/config.json');
    expect(pool.pooling_mode_mean_tokens).toBe(true);
    expect(log.some((l) => l.url === '/norange/bert-mean/1_Pooling/config.json')).toBe(true);
    // a server that refuses HEAD: size and has fall back to a one-byte ranged GET
    const nohead = urlFiles(`${base}/nohead/bert-mean`);
    expect(await nohead.size('model.safetensors')).toBe(local.length);
    expect(await nohead.has('config.json')).toBe(true);
    expect(await nohead.has('missing.json')).toBe(false);
    expect(log.filter((l) => l.url.startsWith('/nohead/') && l.method === 'GET').every((l) => l.range === 'bytes=0-0')).toBe(true);
    // a custom fetch is used as given
    let calls = 0;
    const counted = urlFiles(`${base}/models/bert-mean`, (input, init) => (calls++, fetch(input, init)));
    expect(await counted.text('vocab.txt')).toContain('[SEP]');
    expect(calls).toBe(1);
  });
});
