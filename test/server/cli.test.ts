// The `webgpu-embed serve` command as a child process (bin/webgpu-embed.mjs): it prints load
// progress and listens only once the model is ready; SIGTERM stops new connections, lets the
// in-flight request finish with its full answer, frees the GPU and exits 0; bad arguments exit 2
// and a model that cannot be loaded exits 1, each with a message.

import { describe, expect, it } from 'vitest';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { join } from 'node:path';
import { FIXTURES } from '../util/golden.js';
import { longText, post } from './helpers.js';

const ROOT = join(import.meta.dirname, '..', '..');
const BIN = join(ROOT, 'bin', 'webgpu-embed.mjs');

function spawnCli(args: string[]) {
  const child: ChildProcessWithoutNullStreams = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env: { ...process.env } });
  let err = '';
  let out = '';
  child.stderr.on('data', (d) => (err += d));
  child.stdout.on('data', (d) => (out += d));
  const exit = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  return { child, stderr: () => err, stdout: () => out, exit };
}

async function waitFor(get: () => string, re: RegExp, ms = 60_000): Promise<RegExpExecArray> {
  const t0 = Date.now();
  for (;;) {
    const m = re.exec(get());
    if (m) return m;
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${re} in:\n${get()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('webgpu-embed serve (child process)', () => {
  it('loads with progress, listens when ready, and on SIGTERM finishes in-flight work and exits 0', async () => {
    const cli = spawnCli(['serve', join(FIXTURES, 'bert-mean'), '--port', '0', '--served-model-name', 'mini', '--log-requests']);
    try {
      const [, url] = await waitFor(cli.stderr, /listening on (http:\/\/127\.0\.0\.1:\d+)/);
      const log = cli.stderr();
      expect(log).toMatch(/upload to GPU \[#+\] 100\.0%/);
      expect(log.indexOf('loaded bert')).toBeLessThan(log.indexOf('listening on'));
      expect((await fetch(`${url}/health`)).status).toBe(200);

      // A large request (40 max-length inputs, about 0.5 s on lavapipe): SIGTERM is sent as soon as
      // the server has logged its arrival, so it is still running then.
      const long = longText('bert-mean');
      const n = 40;
      let answeredAt = 0;
      const inflight = post(url!, '/v1/embeddings', { model: 'mini', input: new Array(n).fill(long.text), truncate_prompt_tokens: -1 }).then((r) => {
        answeredAt = performance.now();
        return r;
      });
      await waitFor(cli.stdout, /"url":"\/v1\/embeddings"/);
      const termAt = performance.now();
      cli.child.kill('SIGTERM');
      await waitFor(cli.stderr, /SIGTERM: no new requests/);
      const res = await inflight;
      expect(answeredAt).toBeGreaterThan(termAt);
      expect(res.status).toBe(200);
      expect(res.json.data.length).toBe(n);
      expect(res.json.usage.prompt_tokens).toBe(n * long.maxLen);
      const exitT0 = performance.now();
      expect(await cli.exit).toBe(0);
      expect(performance.now() - exitT0).toBeLessThan(10_000); // no wait for keep-alive timeouts
      expect(cli.stderr()).toMatch(/stopped\n$/);
      // Nothing listens any more.
      await expect(fetch(`${url}/health`)).rejects.toThrow();
    } finally {
      cli.child.kill('SIGKILL');
    }
  });

  it('exits 2 on bad arguments and 1 when the model cannot be loaded, saying why', async () => {
    const bad = spawnCli(['serve', join(FIXTURES, 'bert-mean'), '--port', 'eighty']);
    expect(await bad.exit).toBe(2);
    expect(bad.stderr()).toMatch(/--port must be an integer ≥ 0, got "eighty"/);
    const missing = spawnCli(['serve', join(FIXTURES, 'no-such-model')]);
    expect(await missing.exit).toBe(1);
    expect(missing.stderr()).toMatch(/error: could not load .*no-such-model/);
  });
});
