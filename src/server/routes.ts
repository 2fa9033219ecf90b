// Routes for vectors and server state: POST /v1/embeddings (OpenAI), POST /pooling (vLLM: embed,
// token_embed, and BGE-M3 sparse weights), GET /v1/models, /health, /metrics. Response shapes
// follow vLLM's EmbeddingResponse / PoolingResponse / ModelList field for field.

import type { FastifyInstance } from 'fastify';
import { ApiError, badRequest } from './errors.js';
import { prepareInputs, splitInput, toBase64, toList } from './inputs.js';
import { embeddingsSchema, poolingSchema, type EmbeddingsBody, type PoolingBody } from './schemas.js';
import type { ServerContext } from './app.js';

export function usage(promptTokens: number) {
  return { prompt_tokens: promptTokens, total_tokens: promptTokens, completion_tokens: 0, prompt_tokens_details: null };
}

const sum = (xs: number[]) => xs.reduce((a, x) => a + x, 0);

function checkDimensions(ctx: ServerContext, d: number | null | undefined): number | undefined {
  if (d == null) return undefined;
  const width = ctx.engine.info.outputs.dense;
  if (d > width) throw badRequest(`dimensions must be at most ${width} for this model (its embedding size), got ${d}`, 'dimensions');
  return d;
}

/** Dense vectors for a validated embeddings/pooling body. */
async function dense(ctx: ServerContext, body: EmbeddingsBody) {
  const ids = prepareInputs(ctx.engine, splitInput(body.input, ctx.maxInputs), body);
  const dimensions = checkDimensions(ctx, body.dimensions);
  const normalize = body.use_activation ?? ctx.engine.info.normalize;
  const res = await ctx.batcher.submit(ids, { dense: true, normalize, dimensions });
  return { vectors: res.dense!, tokens: sum(ids.map((x) => x.length)) };
}

export function registerRoutes(app: FastifyInstance): void {
  const ctx = app.ctx;

  app.post<{ Body: EmbeddingsBody }>('/v1/embeddings', { schema: { body: embeddingsSchema() } }, async (req) => {
    const body = req.body;
    ctx.checkModel(body.model);
    const { vectors, tokens } = await dense(ctx, body);
    ctx.metrics.promptTokens.inc({ endpoint: '/v1/embeddings' }, tokens);
    const b64 = body.encoding_format === 'base64';
    return {
      id: ctx.newId('embd'),
      object: 'list',
      created: Math.floor(Date.now() / 1000),
      model: ctx.modelName,
      data: vectors.map((v, index) => ({ index, object: 'embedding', embedding: b64 ? toBase64(v) : toList(v) })),
      usage: usage(tokens),
    };
  });

  app.post<{ Body: PoolingBody }>('/pooling', { schema: { body: poolingSchema() } }, async (req) => {
    const body = req.body;
    ctx.checkModel(body.model);
    const task = body.task ?? 'embed';
    const b64 = body.encoding_format === 'base64';
    let data: unknown[];
    let tokens: number;
    if (task === 'embed') {
      const r = await dense(ctx, body);
      data = r.vectors.map((v) => (b64 ? toBase64(v) : toList(v)));
      tokens = r.tokens;
    } else {
      if (body.dimensions != null) throw badRequest(`dimensions applies to task "embed" only, not "${task}"`, 'dimensions');
      const ids = prepareInputs(ctx.engine, splitInput(body.input, ctx.maxInputs), body);
      tokens = sum(ids.map((x) => x.length));
      if (task === 'token_embed') {
        const res = await ctx.batcher.submit(ids, { tokens: true, normalize: body.use_activation ?? true });
        data = res.tokens!.map((t) => {
          if (b64) return toBase64(t.data);
          const [n, d] = t.shape;
          return Array.from({ length: n }, (_, r) => toList(t.data.subarray(r * d, (r + 1) * d)));
        });
      } else {
        if (!ctx.engine.info.outputs.sparse) throw badRequest('task "sparse" needs a model with a sparse head (sparse_linear.pt, as BGE-M3 has); this one has none', 'task');
        if (b64) throw badRequest('task "sparse" returns { token id: weight } objects; use encoding_format "float"', 'encoding_format');
        const res = await ctx.batcher.submit(ids, { sparse: true });
        data = res.sparse!;
      }
    }
    ctx.metrics.promptTokens.inc({ endpoint: '/pooling' }, tokens);
    return {
      id: ctx.newId('pool'),
      object: 'list',
      created: Math.floor(Date.now() / 1000),
      model: ctx.modelName,
      data: data.map((d, index) => ({ index, object: 'pooling', data: d })),
      usage: usage(tokens),
    };
  });

  app.get('/v1/models', async () => ({
    object: 'list',
    data: [
      {
        id: ctx.modelName,
        object: 'model',
        created: ctx.created,
        owned_by: 'webgpu-embed',
        root: ctx.modelName,
        parent: null,
        max_model_len: ctx.engine.info.maxLength,
        permission: [
          {
            id: ctx.newId('modelperm'),
            object: 'model_permission',
            created: ctx.created,
            allow_create_engine: false,
            allow_sampling: false,
            allow_logprobs: false,
            allow_search_indices: false,
            allow_view: true,
            allow_fine_tuning: false,
            organization: '*',
            group: null,
            is_blocking: false,
          },
        ],
      },
    ],
  }));

  app.get('/health', async (_req, reply) => {
    void reply.code(200).send();
  });

  app.get('/metrics', async (_req, reply) => {
    void reply.header('content-type', ctx.metrics.registry.contentType).send(await ctx.metrics.registry.metrics());
  });

  // Unused-method guard: GET on a POST route answers 405 in OpenAI's error shape.
  for (const url of ['/v1/embeddings', '/pooling']) {
    app.get(url, async () => {
      throw new ApiError(405, `use POST ${url}`);
    });
  }
}
