// Hub downloads against a loopback stand-in for huggingface.co (test/util/hub-server.ts): only the
// needed files arrive, byte-identical; progress reaches every total; interrupted transfers resume with
// a Range request; corrupt or wrong-size files are refused; an unreachable or unknown repo gives a
// clear error; isHubId / NEEDED_FILES; the CLI prints the folder and a progress bar.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { downloadModel, isHubId, NEEDED_FILES, type DownloadProgress } from '../../src/io/hub.js';
import { formatProgress, main } from '../../src/cli/weights.js';
import { closedPortUrl, readFolder, startHubServer, type HubServer, type RepoFiles } from '../util/hub-server.js';

const REPO = 'BAAI/bge-m3-tiny';
const fixture = readFolder('test/fixtures/bge-m3-tiny');
const bytes = (s: string) => new TextEncoder().encode(s);
const filler = (n: number, seed: number) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 255);

// The fixture as a Hub repo, plus files the engine must not fetch (golden.* are decoys too).
const tiny: RepoFiles = new Map([
  ...fixture,
  ['onnx/model.onnx', filler(5000, 1)],
  ['onnx/config.json', bytes('{"onnx":true}')],
  ['pytorch_model.bin', filler(7000, 2)],
  ['tf_model.h5', filler(300, 3)],
  ['flax_model.msgpack', filler(300, 4)],
  ['sentencepiece.bpe.model', filler(300, 5)],
  ['README.md', bytes('# tiny\n')],
  ['.gitattributes', bytes('*.safetensors filter=lfs\n')],
  ['2_Dense/config.json', bytes('{"in_features":32,"out_features":8}')],
  ['2_Dense/model.safetensors', filler(1000, 6)],
  ['2_Dense/pytorch_model.bin', filler(1000, 7)],
]);
const tinyWanted = [...tiny.keys()].filter((p) => !/^golden\.|^onnx\/|^pytorch_model|^tf_|^flax_|^sentencepiece|^README|^\.git|2_Dense\/pytorch/.test(p)).sort();

const index = { metadata: { total_size: 1200 }, weight_map: { 'a.weight': 'model-00001-of-00002.safetensors', 'b.weight': 'model-00002-of-00002.safetensors', 'c.weight': 'model-00002-of-00002.safetensors' } };
const sharded: RepoFiles = new Map([
  ['config.json', bytes('{"model_type":"bert"}')],
  ['tokenizer.json', bytes('{}')],
  ['model.safetensors.index.json', bytes(JSON.stringify(index))],
  ['model-00001-of-00002.safetensors', filler(700, 8)],
  ['model-00002-of-00002.safetensors', filler(500, 9)],
  ['pytorch_model.bin', filler(900, 10)],
  ['2_Dense/config.json', bytes('{}')],
  ['2_Dense/pytorch_model.bin', filler(200, 11)],
]);
const binOnly: RepoFiles = new Map([
  ['config.json', bytes('{}')],
  ['pytorch_model.bin', filler(100, 12)],
]);

let hub: HubServer;
let tmp: string;
let n = 0;
const freshDest = () => join(tmp, `d${n++}`);
/** Repo files under a downloaded folder, '/'-separated, without the download record. */
const listed = (dir: string): string[] =>
  readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((p) => statSync(join(dir, p)).isFile() && p !== '.hub-download.json')
    .map((p) => p.split('\\').join('/'))
    .sort();
const resolveRequests = (file: string) => hub.requests.filter((r) => r.path.endsWith(`/resolve/main/${file}`) && r.path.startsWith(`/${REPO}/`));

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'hub-test-'));
  // pageSize 5: every listing spans several pages, so Link-header paging is exercised too.
  hub = await startHubServer({ repos: { [REPO]: tiny, 'acme/sharded': sharded, 'acme/bin-only': binOnly }, revisions: ['main', 'v1'], pageSize: 5 });
});
afterAll(async () => {
  await hub?.close();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

describe('downloadModel', () => {
  it('fetches exactly the needed files, byte-identical, with progress reaching every total; reruns skip; offline reuses it', async () => {
    const dest = freshDest();
    const events: DownloadProgress[] = [];
    const folder = await downloadModel(REPO, { dest, hubUrl: hub.url, onProgress: (p) => events.push({ ...p }) });
    expect(folder).toBe(join(dest, 'BAAI', 'bge-m3-tiny'));
    expect(listed(folder)).toEqual(tinyWanted);
    for (const p of tinyWanted) expect(Buffer.compare(readFileSync(join(folder, p)), tiny.get(p)!), p).toBe(0);
    expect(hub.requests.some((r) => /onnx|pytorch_model\.bin|golden|tf_model|flax/.test(r.path))).toBe(false);

    // Progress: every file appears with fileCount = number of files, its loaded never decreases and ends at its size.
    const files = [...new Set(events.map((e) => e.file))].sort();
    expect(files).toEqual(tinyWanted);
    expect(new Set(events.map((e) => e.fileCount))).toEqual(new Set([tinyWanted.length]));
    expect([...new Set(events.map((e) => e.fileIndex))].sort((a, b) => a - b)).toEqual([...tinyWanted.keys()]);
    for (const f of files) {
      const mine = events.filter((e) => e.file === f);
      for (let i = 1; i < mine.length; i++) expect(mine[i]!.loaded).toBeGreaterThanOrEqual(mine[i - 1]!.loaded);
      expect(mine.at(-1)).toMatchObject({ loaded: tiny.get(f)!.length, total: tiny.get(f)!.length });
    }

    // A rerun downloads nothing (the record vouches for the files), nor does one without the record (hashes checked).
    const before = hub.requests.length;
    const again: DownloadProgress[] = [];
    expect(await downloadModel(REPO, { dest, hubUrl: hub.url, onProgress: (p) => again.push(p) })).toBe(folder);
    await rm(join(folder, '.hub-download.json'));
    expect(await downloadModel(REPO, { dest, hubUrl: hub.url })).toBe(folder);
    expect(hub.requests.slice(before).filter((r) => r.path.includes('/resolve/'))).toEqual([]);
    expect(again.filter((e) => e.loaded === e.total).length).toBe(tinyWanted.length);

    // With the Hub unreachable, the finished download is used as is.
    expect(await downloadModel(REPO, { dest, hubUrl: await closedPortUrl() })).toBe(folder);
  });

  it('uses the revision and the access token', async () => {
    const before = hub.requests.length;
    const folder = await downloadModel(REPO, { dest: freshDest(), hubUrl: hub.url, revision: 'v1', accessToken: 'hf_testtoken' });
    const mine = hub.requests.slice(before);
    expect(mine[0]!.path).toBe(`/api/models/${REPO}/tree/v1`);
    expect(mine.filter((r) => r.path.includes('/resolve/')).every((r) => r.path.startsWith(`/${REPO}/resolve/v1/`))).toBe(true);
    expect(mine.every((r) => r.authorization === 'Bearer hf_testtoken')).toBe(true);
    expect(listed(folder)).toEqual(tinyWanted);
  });

  it('resumes a transfer cut mid-file with a Range request', async () => {
    const cutAt = 150_000;
    const size = tiny.get('model.safetensors')!.length;
    hub.cutOnce.set(`${REPO}/model.safetensors`, cutAt);
    const before = resolveRequests('model.safetensors').length;
    const folder = await downloadModel(REPO, { dest: freshDest(), hubUrl: hub.url });
    const reqs = resolveRequests('model.safetensors').slice(before);
    expect(reqs.length).toBe(2);
    expect(reqs[0]).toMatchObject({ range: undefined, sent: cutAt });
    const k = Number(/^bytes=(\d+)-$/.exec(reqs[1]!.range ?? '')?.[1]);
    // The client keeps what it read before the cut: at least one chunk, at most what was sent.
    expect(k).toBeGreaterThan(0);
    expect(k).toBeLessThanOrEqual(cutAt);
    expect(reqs[1]!.sent).toBe(size - k);
    expect(Buffer.compare(readFileSync(join(folder, 'model.safetensors')), tiny.get('model.safetensors')!)).toBe(0);
    expect(existsSync(join(folder, 'model.safetensors.part'))).toBe(false);
  });

  it('resumes from a .part left by an earlier run', async () => {
    const dest = freshDest();
    const folder = join(dest, 'BAAI', 'bge-m3-tiny');
    const full = tiny.get('model.safetensors')!;
    const half = Math.floor(full.length / 2);
    await mkdir(folder, { recursive: true });
    await writeFile(join(folder, 'model.safetensors.part'), full.subarray(0, half));
    const before = resolveRequests('model.safetensors').length;
    const events: DownloadProgress[] = [];
    await downloadModel(REPO, { dest, hubUrl: hub.url, onProgress: (p) => p.file === 'model.safetensors' && events.push(p) });
    const reqs = resolveRequests('model.safetensors').slice(before);
    expect(reqs).toEqual([expect.objectContaining({ range: `bytes=${half}-`, sent: full.length - half })]);
    expect(events[0]!.loaded).toBe(half);
    expect(events.at(-1)!.loaded).toBe(full.length);
    expect(Buffer.compare(readFileSync(join(folder, 'model.safetensors')), full)).toBe(0);
  });

  it('starts over when a kept .part belongs to other bytes (hash mismatch after resuming)', async () => {
    const dest = freshDest();
    const folder = join(dest, 'BAAI', 'bge-m3-tiny');
    await mkdir(folder, { recursive: true });
    await writeFile(join(folder, 'model.safetensors.part'), filler(1000, 99));
    const before = resolveRequests('model.safetensors').length;
    await downloadModel(REPO, { dest, hubUrl: hub.url });
    expect(resolveRequests('model.safetensors').slice(before).map((r) => r.range)).toEqual(['bytes=1000-', undefined]);
    expect(Buffer.compare(readFileSync(join(folder, 'model.safetensors')), tiny.get('model.safetensors')!)).toBe(0);
  });

  it('refuses a served file whose hash or size differs from the listing, and deletes it', async () => {
    const cases: [string, Uint8Array, RegExp][] = [
      ['model.safetensors', Uint8Array.from(tiny.get('model.safetensors')!, (b, i) => (i === 1000 ? b ^ 1 : b)), /integrity check failed: got sha256:[0-9a-f]{64}, the Hub listing says sha256:/],
      ['tokenizer.json', Uint8Array.from(tiny.get('tokenizer.json')!, (b, i) => (i === 5 ? b ^ 32 : b)), /integrity check failed: got gitsha1:[0-9a-f]{40}, the Hub listing says gitsha1:/],
      ['sparse_linear.pt', tiny.get('sparse_linear.pt')!.subarray(0, 1000), /server has 1000 bytes but the Hub listing says 1343/],
    ];
    for (const [file, served, message] of cases) {
      hub.serveInstead.set(`${REPO}/${file}`, served);
      const dest = freshDest();
      try {
        await expect(downloadModel(REPO, { dest, hubUrl: hub.url })).rejects.toThrow(message);
      } finally {
        hub.serveInstead.delete(`${REPO}/${file}`);
      }
      const folder = join(dest, 'BAAI', 'bge-m3-tiny');
      expect(existsSync(join(folder, file)), file).toBe(false);
      expect(existsSync(join(folder, `${file}.part`)), file).toBe(false);
    }
  });

  it('names the URL and suggests a local folder when the Hub is unreachable', async () => {
    const url = await closedPortUrl();
    const dest = join(process.cwd(), 'weights-test-unused');
    const err = await downloadModel(REPO, { dest, hubUrl: url }).catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    const msg = (err as Error).message;
    expect(msg).toContain(`could not reach ${url}/api/models/${REPO}/tree/main?recursive=true`);
    expect(msg).toMatch(/ECONNREFUSED/);
    expect(msg).toContain(`pass a local folder with the model files instead, e.g. loadModel('./${relative(process.cwd(), join(dest, 'BAAI', 'bge-m3-tiny'))}')`);
    expect(existsSync(dest)).toBe(false);
  });

  it('explains an unknown repo, an unknown revision and a repo without safetensors', async () => {
    await expect(downloadModel('BAAI/nope', { dest: freshDest(), hubUrl: hub.url })).rejects.toThrow(/Hub model BAAI\/nope \(revision 'main'\) not found or not accessible at .*HTTP 404: Repository not found/);
    await expect(downloadModel(REPO, { dest: freshDest(), hubUrl: hub.url, revision: 'v9' })).rejects.toThrow(/HTTP 404: Invalid rev id: v9/);
    await expect(downloadModel('acme/bin-only', { dest: freshDest(), hubUrl: hub.url })).rejects.toThrow(
      /acme\/bin-only .* has no model\.safetensors or model\.safetensors\.index\.json \(it has pytorch_model\.bin\): this engine reads safetensors weights only/,
    );
    await expect(downloadModel('../etc', { hubUrl: hub.url })).rejects.toThrow(/not a Hub model id/);
  });

  it('fetches a sharded checkpoint: the index, the shards it names, and a pytorch 2_Dense when that is all there is', async () => {
    const folder = await downloadModel('acme/sharded', { dest: freshDest(), hubUrl: hub.url });
    expect(listed(folder)).toEqual(['2_Dense/config.json', '2_Dense/pytorch_model.bin', 'config.json', 'model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors', 'model.safetensors.index.json', 'tokenizer.json']);
    for (const p of listed(folder)) expect(Buffer.compare(readFileSync(join(folder, p)), sharded.get(p)!), p).toBe(0);
  });
});

describe('isHubId / NEEDED_FILES', () => {
  it('tells Hub ids from paths and URLs', () => {
    for (const s of ['BAAI/bge-m3', 'sentence-transformers/all-MiniLM-L6-v2', 'intfloat/multilingual-e5-large', 'org_1/name.v2']) expect(isHubId(s), s).toBe(true);
    for (const s of ['./x', '/abs', '/abs/path', 'C:\\x', 'C:/x', 'http://huggingface.co/BAAI/bge-m3', 'https://x/y', 'bge-m3', 'a/b/c', '../x', 'a/..', '', 'test/fixtures']) {
      expect(isHubId(s), s).toBe(false);
    }
  });

  it('selects the engine files by repo path', () => {
    for (const s of ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'sentence_bert_config.json', 'config_sentence_transformers.json', 'modules.json', 'model.safetensors', 'model.safetensors.index.json', 'model-00001-of-00003.safetensors', '1_Pooling/config.json', '2_Dense/config.json', '2_Dense/model.safetensors', '2_Dense/pytorch_model.bin', 'colbert_linear.pt', 'sparse_linear.pt', 'artifact.metadata', '1_Dense/model.safetensors']) {
      expect(NEEDED_FILES(s), s).toBe(true);
    }
    for (const s of ['pytorch_model.bin', 'onnx/model.onnx', 'onnx/config.json', 'tf_model.h5', 'flax_model.msgpack', 'README.md', 'sentencepiece.bpe.model', 'openvino/openvino_model.bin', 'golden.safetensors', '1_Pooling/model.safetensors']) {
      expect(NEEDED_FILES(s), s).toBe(false);
    }
  });
});

describe('weights CLI', () => {
  it('downloads, prints the folder on stdout and progress lines on stderr', async () => {
    let out = '', err = '';
    const dest = freshDest();
    const code = await main([REPO, '--dest', dest, '--hub-url', hub.url], { out: (s) => (out += s), err: (s) => (err += s), tty: false });
    expect(code).toBe(0);
    expect(out).toBe(`${join(dest, 'BAAI', 'bge-m3-tiny')}\n`);
    const lines = err.trim().split('\n');
    expect(lines.length).toBe(tinyWanted.length);
    // 403400 bytes = 393.9 kB.
    expect(lines.find((l) => l.includes(' model.safetensors '))).toMatch(new RegExp(`^\\[\\d+/${tinyWanted.length}\\] model\\.safetensors \\[#{20}\\] 100\\.0%  393\\.9/393\\.9 kB  \\d+\\.\\d MB/s$`));
  });

  it('formats a progress line with file, bar, percent, sizes and speed', () => {
    const p = { file: 'model.safetensors', loaded: 1136 * 1024 * 1024, total: 2271 * 1024 * 1024, fileIndex: 8, fileCount: 10 };
    expect(formatProgress(p, 52.2 * 1024 * 1024)).toBe('[9/10] model.safetensors [##########----------]  50.0%  1136.0/2271.0 MB  52.2 MB/s');
  });

  it('reports bad arguments and failed downloads with exit codes 2 and 1', async () => {
    let err = '';
    const io = { out: () => {}, err: (s: string) => (err += s), tty: false };
    expect(await main([], io)).toBe(2);
    expect(err).toMatch(/expected exactly one model id\nusage:/);
    expect(await main(['BAAI/nope', '--dest', freshDest(), '--hub-url', hub.url], io)).toBe(1);
    expect(err).toMatch(/error: Hub model BAAI\/nope/);
  });
});
