// CLI: serves one model over HTTP with OpenAI- and vLLM-compatible endpoints.
//   webgpu-embed serve <hub id | folder> [--host 127.0.0.1] [--port 8000] [--dtype f16] [--api-key KEY]
//                      [--max-batch-tokens N] [--served-model-name NAME] [--max-queue N] [--max-inputs N]
// Download and upload progress go to stderr; the server listens only once the model is loaded.
// SIGTERM / SIGINT: stop accepting, finish in-flight requests, free the GPU, exit 0.

import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { loadModel } from '../index.node.js';
import { createServer } from '../server/app.js';
import { engineFromModel } from '../server/engine.js';
import { formatProgress } from './weights.js';

const USAGE = `usage: webgpu-embed serve <hub id | folder> [options]
  --host H                 address to listen on (default 127.0.0.1)
  --port P                 port (default 8000; 0 picks a free one)
  --dtype f32|f16          weight storage (default f32; f16 needs shader-f16)
  --api-key KEY            require "Authorization: Bearer KEY" (default: env WEBGPU_EMBED_API_KEY, else none)
  --max-batch-tokens N     tokens per coalesced batch (default 8192)
  --served-model-name S    the model name clients send (default: the hub id or folder given)
  --max-queue N            inputs allowed to wait before 503 (default 8192)
  --max-inputs N           inputs per request (default 2048)
  --body-limit BYTES       request body limit (default 8388608)
  --log-requests           log every request (JSON lines on stdout)`;

const MB = 1024 * 1024;

function positiveInt(v: string | undefined, name: string, min = 1): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < min) throw new Error(`--${name} must be an integer ≥ ${min}, got "${v}"`);
  return n;
}

export async function main(argv: string[]): Promise<number> {
  const err = (s: string) => void process.stderr.write(s);
  let a: ReturnType<typeof parse>;
  try {
    a = parse(argv);
  } catch (e) {
    err(`${(e as Error).message}\n${USAGE}\n`);
    return 2;
  }
  if (a.values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (a.positionals.length !== 1) {
    err(`expected exactly one model (a Hugging Face Hub id or a folder)\n${USAGE}\n`);
    return 2;
  }
  const source = a.positionals[0]!;
  let port: number, maxBatchTokens: number | undefined, maxQueue: number | undefined, maxInputs: number | undefined, bodyLimit: number | undefined;
  try {
    port = positiveInt(a.values.port, 'port', 0) ?? 8000;
    if (port > 65535) throw new Error(`--port must be at most 65535, got ${port}`);
    maxBatchTokens = positiveInt(a.values['max-batch-tokens'], 'max-batch-tokens');
    maxQueue = positiveInt(a.values['max-queue'], 'max-queue');
    maxInputs = positiveInt(a.values['max-inputs'], 'max-inputs');
    bodyLimit = positiveInt(a.values['body-limit'], 'body-limit');
    if (a.values.dtype !== undefined && a.values.dtype !== 'f32' && a.values.dtype !== 'f16') throw new Error(`--dtype must be f32 or f16, got "${a.values.dtype}"`);
  } catch (e) {
    err(`${(e as Error).message}\n${USAGE}\n`);
    return 2;
  }

  const tty = process.stderr.isTTY === true;
  let lastDraw = 0;
  let lastLine = '';
  const draw = (line: string, done: boolean) => {
    const now = performance.now();
    if (line === lastLine || (!done && now - lastDraw < (tty ? 100 : 5000))) return;
    lastLine = line;
    lastDraw = now;
    err(tty ? `\r${line}\x1b[K${done ? '\n' : ''}` : `${line}\n`);
  };
  // Download speed per file, as src/cli/weights.ts shows it.
  let file = '', fileStart = 0, fileStartBytes = 0;
  const t0 = performance.now();
  err(`loading ${source}\n`);
  let model;
  try {
    model = await loadModel(source, {
      dtype: a.values.dtype as 'f32' | 'f16' | undefined,
      maxBatchTokens,
      download: {
        onProgress: (p) => {
          const now = performance.now();
          if (p.file !== file) [file, fileStart, fileStartBytes] = [p.file, now, p.loaded];
          const secs = (now - fileStart) / 1000;
          draw(formatProgress(p, secs > 0 ? (p.loaded - fileStartBytes) / secs : 0), p.loaded >= p.total);
        },
      },
      onProgress: (p) => {
        const frac = p.total > 0 ? p.loaded / p.total : 1;
        const bar = '#'.repeat(Math.round(frac * 20)).padEnd(20, '-');
        draw(`upload to GPU [${bar}] ${(frac * 100).toFixed(1).padStart(5)}%  ${(p.loaded / MB).toFixed(1)}/${(p.total / MB).toFixed(1)} MB`, p.loaded >= p.total);
      },
    });
  } catch (e) {
    err(`${tty ? '\n' : ''}error: could not load ${source}: ${(e as Error).message}\n`);
    return 1;
  }
  const engine = engineFromModel(model);
  const info = model.info;
  err(
    `loaded ${info.architecture} (${info.numLayers} layers, hidden ${info.hiddenSize}, max ${info.maxLength} tokens, ${info.dtype}) ` +
      `on ${info.adapter.description || info.adapter.device || info.adapter.vendor} in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`,
  );

  const apiKey = a.values['api-key'] ?? process.env.WEBGPU_EMBED_API_KEY ?? undefined;
  const app = createServer(engine, {
    modelName: a.values['served-model-name'] ?? source,
    apiKey: apiKey || undefined,
    maxBatchTokens,
    maxQueueInputs: maxQueue,
    maxInputsPerRequest: maxInputs,
    bodyLimit,
    logger: a.values['log-requests'] ? true : false,
    processMetrics: true,
  });

  let closing: Promise<void> | null = null;
  const shutdown = (signal: string) => {
    if (closing) return;
    err(`${signal}: no new requests; finishing in-flight work\n`);
    closing = app
      .close()
      .then(() => {
        engine.dispose();
        err('stopped\n');
        process.exit(0);
      })
      .catch((e) => {
        err(`error while stopping: ${(e as Error).message}\n`);
        process.exit(1);
      });
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));

  try {
    const address = await app.listen({ host: a.values.host ?? '127.0.0.1', port });
    err(`listening on ${address} (model "${app.ctx.modelName}"${apiKey ? ', API key required' : ''})\n`);
  } catch (e) {
    err(`error: could not listen: ${(e as Error).message}\n`);
    engine.dispose();
    return 1;
  }
  return 0;
}

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      host: { type: 'string' },
      port: { type: 'string' },
      dtype: { type: 'string' },
      'api-key': { type: 'string' },
      'max-batch-tokens': { type: 'string' },
      'served-model-name': { type: 'string' },
      'max-queue': { type: 'string' },
      'max-inputs': { type: 'string' },
      'body-limit': { type: 'string' },
      'log-requests': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  // `tsx src/cli/serve.ts serve <model>` and `tsx src/cli/serve.ts <model>` both work.
  const args = process.argv.slice(2);
  main(args[0] === 'serve' ? args.slice(1) : args).then((code) => {
    if (code !== 0) process.exit(code);
  });
}
