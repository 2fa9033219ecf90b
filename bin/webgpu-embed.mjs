#!/usr/bin/env node
// The `webgpu-embed` command: `webgpu-embed serve <model> [options]` (HTTP server) and
// `webgpu-embed weights <org/name>` (download). Runs the built CLI (dist/cli.js) when present,
// else the TypeScript sources through tsx (a development checkout).

import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const [command, ...args] = process.argv.slice(2);
const USAGE = 'usage: webgpu-embed serve <hub id | folder> [options]   (see: webgpu-embed serve --help)\n       webgpu-embed weights <org/name> [--dest DIR]';

async function load(name) {
  const built = join(root, 'dist', 'cli', `${name}.js`);
  if (existsSync(built)) return import(pathToFileURL(built).href);
  const { genShaders } = await import(pathToFileURL(join(root, 'scripts', 'gen-shaders.mjs')).href);
  genShaders();
  const { register } = await import('tsx/esm/api');
  register();
  return import(pathToFileURL(join(root, 'src', 'cli', `${name}.ts`)).href);
}

if (command === 'serve') {
  const { main } = await load('serve');
  const code = await main(args);
  if (code !== 0) process.exit(code);
} else if (command === 'weights') {
  const { main } = await load('weights');
  process.exitCode = await main(args, { out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(s), tty: process.stderr.isTTY === true });
} else {
  process.stderr.write(`${USAGE}\n`);
  process.exit(command === undefined || command === '--help' || command === '-h' ? 0 : 2);
}
