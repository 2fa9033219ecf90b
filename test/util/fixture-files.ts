// A fixture folder as loadModel's picked-files source (name → bytes, golden.* left out), and the
// check every loader-error test makes: the load fails with the expected message and nothing it
// uploaded stays on the GPU.

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { expect } from 'vitest';
import { loadModelFromFiles } from '../../src/embed/load.js';
import { mapFiles } from '../../src/io/sources.js';
import { FIXTURES } from './golden.js';
import { testGpu } from './gpu.js';

/** The fixture's files (paths relative to its folder), without golden.* and without `drop`. */
export function fixtureFiles(name: string, drop: string[] = []): Record<string, Uint8Array> {
  const root = join(FIXTURES, name);
  const out: Record<string, Uint8Array> = {};
  const walk = (dir: string) => {
    for (const f of readdirSync(dir)) {
      const p = join(dir, f);
      const rel = relative(root, p);
      if (statSync(p).isDirectory()) walk(p);
      else if (!f.startsWith('golden.') && !drop.includes(rel)) out[rel] = new Uint8Array(readFileSync(p));
    }
  };
  walk(root);
  return out;
}

/** Loading `files` fails with `message`, and every buffer uploaded before the error was destroyed. */
export async function expectLoadError(files: Record<string, Uint8Array>, message: RegExp): Promise<void> {
  const gpu = await testGpu();
  const before = gpu.liveBuffers;
  await expect(loadModelFromFiles(mapFiles(files, 'test-folder'), gpu)).rejects.toThrow(message);
  // Nothing half-loaded.
  expect(gpu.liveBuffers).toBe(before);
  expect(gpu.bytesAllocated).toBe(0);
}
