// The main job end to end: `npm run demo`'s program run as a child process, offline (the Hub
// endpoint is a closed loopback port), so it falls back to the bundled bge-m3-tiny fixture.
// Checks every line a user relies on, with shapes taken from the golden data.

import { describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { FIXTURES, readGolden } from '../util/golden.js';

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '..', '..');
const TSX = join(ROOT, 'node_modules', '.bin', 'tsx');

async function demo(args: string[]): Promise<string> {
  const { stdout } = await run(TSX, ['examples/multi_vector_retrieval.ts', ...args], {
    cwd: ROOT,
    env: { ...process.env, HF_ENDPOINT: 'http://127.0.0.1:9', HF_HUB_OFFLINE: '' },
    timeout: 120_000,
  });
  return stdout;
}

describe('demo (multi-vector retrieval)', () => {
  it('without the Hub, falls back to the fixture with a notice and prints shapes and rankings', async () => {
    const out = await demo([]);
    const g = readGolden('bge-m3-tiny');
    expect(out).toMatch(/^Hub unavailable for BAAI\/bge-m3 .*running on the bundled test\/fixtures\/bge-m3-tiny/m);
    expect(out).toMatch(/NOTICE: .*meaningless/);
    for (const p of g.groups.prompts) {
      expect(out).toContain(`${JSON.stringify(p.text)}: dim 64`);
      // Multi-vector: CLS dropped, so one vector fewer than the token count.
      expect(out).toContain(`${JSON.stringify(p.text)}: [${p.ids.length - 1}, 64]`);
    }
    // It names what it really ran, not what was requested.
    expect(out).toMatch(/^Model: test\/fixtures\/bge-m3-tiny \(bundled fixture, random weights; BAAI\/bge-m3 was requested\) — xlm-roberta, 2 layers, hidden 64/m);
    expect(out).toMatch(/One forward per text set/);
    expect(out).toMatch(/ranked by hybrid = \(0\.4·dense \+ 0\.2·sparse \+ 0\.4·colbert\) \/ 1/);
    const table = out.split('\n').filter((l) => /^\s+\d \| /.test(l));
    expect(table.length).toBe(5);
    const cols = table.map((l) => l.split('|').slice(1, 5).map(Number)); // hybrid, colbert, dense, sparse
    const hybrids = cols.map((c) => c[0]);
    expect([...hybrids].sort((a, b) => b - a)).toEqual(hybrids); // ranked by the hybrid score
    // The printed hybrid is the weighted mean of the printed parts (4-decimal rounding).
    cols.forEach(([h, c, d, sp]) => expect(Math.abs(h - (0.4 * d + 0.2 * sp + 0.4 * c))).toBeLessThan(2e-4));
    expect(table.every((l) => /\|\s+-?\d+\.\d{4} \|\s+-?\d+\.\d{4} \| -?\d+\.\d{4} \| -?\d+\.\d{4} \| /.test(l))).toBe(true); // every part present
    const agree = /agrees with the CPU MaxSim to ([\d.e+-]+)/.exec(out);
    expect(Number(agree?.[1])).toBeLessThan(1e-4);
  });

  it('runs on a local folder given with --model (no sparse head: sparse column empty)', async () => {
    const out = await demo(['--model', join(FIXTURES, 'bert-mean')]);
    expect(out).not.toMatch(/Hub unavailable/);
    expect(out).toMatch(/ranked by hybrid = \(0\.4·dense \+ 0·sparse \+ 0\.4·colbert\) \/ 0\.8/);
    expect(out).toContain('"Hello, my name is": dim 64');
    const table = out.split('\n').filter((l) => /^\s+\d \| /.test(l));
    expect(table.length).toBe(5);
    expect(table.every((l) => l.includes('|   -    |'))).toBe(true);
  });
});
