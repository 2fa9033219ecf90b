// Every npm script must work as the first command on a fresh clone (nothing generated yet).
// This clones the committed HEAD into a temporary folder, links this checkout's node_modules
// (the scripts' own `npm ci` is what CI's fresh clone exercises) and runs the scripts that need
// no GPU: typecheck, build, and the weights CLI's help. `npm run demo` as a first command is
// what .ci/run does before the tests.

import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');

describe('a fresh clone', () => {
  let dir: string;
  const run = (cmd: string, args: string[]) => execFileSync(cmd, args, { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 240_000 });
  beforeAll(() => {
    dir = join(mkdtempSync(join(tmpdir(), 'webgpu-embed-clone-')), 'repo');
    execFileSync('git', ['clone', '-q', '--no-hardlinks', ROOT, dir]);
    symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
  });
  afterAll(() => rmSync(join(dir, '..'), { recursive: true, force: true }));

  it('has the shader bundle without generating it', () => {
    expect(existsSync(join(dir, 'src', 'gpu', 'shaders.gen.ts'))).toBe(true);
  });

  it('npm run typecheck works as the first command', () => {
    run('npm', ['run', '-s', 'typecheck']);
  }, 240_000);

  it('npm run build works as the first command', () => {
    run('npm', ['run', '-s', 'build']);
    expect(existsSync(join(dir, 'dist', 'index.node.js'))).toBe(true);
    expect(existsSync(join(dir, 'dist', 'index.browser.js'))).toBe(true);
    // The packaged command runs the built CLI, not the TypeScript sources.
    expect(existsSync(join(dir, 'dist', 'cli', 'serve.js'))).toBe(true);
    expect(run('node', ['bin/webgpu-embed.mjs', 'serve', '--help'])).toMatch(/serve/);
  }, 240_000);

  it('npm run weights -- --help works as the first command', () => {
    expect(run('npm', ['run', '-s', 'weights', '--', '--help'])).toMatch(/weights/i);
  }, 60_000);
});
