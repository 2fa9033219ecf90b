// The HTTP server: a fastify app over one ServerEngine. Sets up body limits, optional Bearer
// auth, schema validation with OpenAI-style errors, per-request metrics, the coalescing batcher
// and the routes (routes.ts, scoring.ts). `createServer` returns the app unstarted; `listen`
// on it once the model is loaded.

import { randomUUID, timingSafeEqual } from 'node:crypto';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { Batcher } from './batcher.js';
import type { ServerEngine } from './engine.js';
import { ApiError, errorBody } from './errors.js';
import { createMetrics, type ServerMetrics } from './metrics.js';
import { registerRoutes } from './routes.js';
import { registerScoring } from './scoring.js';
import { FIELD_HINTS } from './schemas.js';

export interface ServerOptions {
  /** The name clients pass as `model` (default 'model'); other names get 404 as in vLLM. */
  modelName?: string;
  /** Require `Authorization: Bearer <apiKey>` on every endpoint but /health and /metrics. */
  apiKey?: string;
  /** Tokens per coalesced batch (default 8192). */
  maxBatchTokens?: number;
  /** Inputs allowed to wait for a batch before requests get 503 (default 8192). */
  maxQueueInputs?: number;
  /** Inputs (texts / token-id lists / documents) per request (default 2048). */
  maxInputsPerRequest?: number;
  /** Request body bytes (default 8 MiB); larger bodies get 413. */
  bodyLimit?: number;
  /** Log requests (pino, to stdout); default false. */
  logger?: boolean | object;
  /** Process metrics (CPU, memory, event loop) in /metrics; default false. */
  processMetrics?: boolean;
}

export interface ServerContext {
  engine: ServerEngine;
  batcher: Batcher;
  metrics: ServerMetrics;
  modelName: string;
  maxInputs: number;
  /** Unix seconds the server was created (models' `created`). */
  created: number;
  /** Checks `model` in a request body against the served name (404 otherwise). */
  checkModel(name: string | null | undefined): void;
  newId(prefix: string): string;
}

declare module 'fastify' {
  interface FastifyInstance {
    ctx: ServerContext;
  }
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

const OPEN_PATHS = new Set(['/health', '/metrics']);

export function createServer(engine: ServerEngine, opts: ServerOptions = {}): FastifyInstance {
  const metrics = createMetrics({ defaultMetrics: opts.processMetrics });
  const maxBatchTokens = Math.max(opts.maxBatchTokens ?? 8192, engine.info.maxLength);
  const batcher = new Batcher(engine, { maxBatchTokens, maxQueueInputs: opts.maxQueueInputs ?? 8192, metrics });
  const modelName = opts.modelName ?? 'model';
  const ctx: ServerContext = {
    engine,
    batcher,
    metrics,
    modelName,
    maxInputs: opts.maxInputsPerRequest ?? 2048,
    created: Math.floor(Date.now() / 1000),
    checkModel(name) {
      if (name != null && name !== modelName) throw new ApiError(404, `The model \`${name}\` does not exist.`, 'model');
    },
    newId: (prefix) => `${prefix}-${randomUUID().replaceAll('-', '')}`,
  };

  const app = Fastify({
    logger: opts.logger ?? false,
    bodyLimit: opts.bodyLimit ?? 8 * 1024 * 1024,
    return503OnClosing: true,
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, allErrors: false } },
  });
  app.decorate('ctx', ctx);

  app.addHook('onRequest', async (req: FastifyRequest) => {
    if (!opts.apiKey || OPEN_PATHS.has(req.url.split('?')[0]!)) return;
    const h = req.headers.authorization ?? '';
    const m = /^Bearer\s+(.+)$/i.exec(h);
    if (!m || !sameSecret(m[1]!.trim(), opts.apiKey)) {
      throw new ApiError(401, m ? 'Incorrect API key provided.' : 'Missing API key: send the header "Authorization: Bearer <key>".');
    }
  });

  app.addHook('onResponse', async (req: FastifyRequest, reply: FastifyReply) => {
    const endpoint = req.routeOptions.url ?? 'unmatched';
    metrics.requests.inc({ endpoint, status: String(reply.statusCode) });
    metrics.latency.observe({ endpoint }, reply.elapsedTime / 1000);
  });

  app.setErrorHandler((err: FastifyError | ApiError, req, reply) => {
    if (err instanceof ApiError) {
      void reply.code(err.status).headers(err.headers).send(errorBody(err.status, err.message, err.param));
      return;
    }
    const fe = err as FastifyError;
    if (fe.validation) {
      // An anyOf field's failure lists every branch; say what the field accepts instead.
      const field = fe.validation.map((v) => /^\/(\w+)$/.exec(v.instancePath)?.[1]).find((f) => f !== undefined && f in FIELD_HINTS);
      const message = field ? FIELD_HINTS[field]! : `invalid request: ${fe.message}`;
      void reply.code(400).send(errorBody(400, message, field ?? null));
      return;
    }
    const status = fe.statusCode && fe.statusCode >= 400 && fe.statusCode < 500 ? fe.statusCode : 500;
    if (status === 500) req.log.error(err);
    void reply.code(status).send(errorBody(status, status === 500 ? `internal error: ${err.message}` : err.message));
  });

  app.setNotFoundHandler((req, reply) => {
    void reply.code(404).send(errorBody(404, `no route ${req.method} ${req.url.split('?')[0]}`));
  });

  // Closing: in-flight requests finish, their keep-alive connections are closed after the answer
  // (otherwise close() waits for the client's idle timeout), queued work drains.
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onSend', async (_req, reply) => {
    if (closing) void reply.header('connection', 'close');
  });
  app.addHook('onClose', async () => {
    await batcher.idle();
  });

  registerRoutes(app);
  registerScoring(app);
  return app;
}
