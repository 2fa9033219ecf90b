// Shared by the server tests: load a fixture model, start the HTTP server on 127.0.0.1 (port 0),
// POST JSON with fetch, and the fixture texts.

import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { loadModel, type Model } from '../../src/index.node.js';
import { createServer, type ServerOptions } from '../../src/server/app.js';
import { engineFromModel, type ServerEngine } from '../../src/server/engine.js';
import { FIXTURES, readGolden } from '../util/golden.js';

export interface Running {
  url: string;
  app: FastifyInstance;
  close(): Promise<void>;
}

export async function startServer(engine: ServerEngine, opts: ServerOptions = {}): Promise<Running> {
  const app = createServer(engine, { modelName: 'test-model', ...opts });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  return { url, app, close: () => app.close() };
}

export function loadFixture(name: string): Promise<Model> {
  return loadModel(join(FIXTURES, name));
}

export { engineFromModel };

/** Every fixture text of a golden file, short ones first ('long' excluded). */
export function fixtureTexts(name: string): string[] {
  const g = readGolden(name);
  return Object.entries(g.groups)
    .filter(([group]) => group !== 'long')
    .flatMap(([, items]) => items.map((t) => t.text));
}

export function longText(name: string): { text: string; untruncated: number; maxLen: number } {
  const g = readGolden(name);
  const t = g.groups.long![0]!;
  return { text: t.text, untruncated: t.tokens_untruncated, maxLen: g.max_len };
}

export async function post(url: string, path: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; json: any; headers: Headers }> {
  const res = await fetch(url + path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : null, headers: res.headers };
}

/** Asserts the OpenAI/vLLM error shape and returns the message. */
export function errorMessage(json: any, status: number): string {
  if (!json?.error || json.error.code !== status || typeof json.error.message !== 'string' || typeof json.error.type !== 'string') {
    throw new Error(`expected an error body with code ${status}, got ${JSON.stringify(json)}`);
  }
  return json.error.message;
}
