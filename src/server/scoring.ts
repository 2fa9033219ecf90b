// POST /score (and /v1/score) and POST /rerank (/v1/rerank, /v2/rerank), vLLM's shapes. Scores
// come from, in this order: a cross-encoder (`engine.score`: its logits / activation), a
// late-interaction model (ColBERT head: MaxSim, summed over query tokens as vLLM does), or any
// other embedding model (cosine of the dense vectors). Pairs are 1:1, 1:N or N:N, as in vLLM.

import type { FastifyInstance } from 'fastify';
import { maxSim } from '../embed/scoring.js';
import { badRequest } from './errors.js';
import { checkCount, prepareInputs } from './inputs.js';
import { usage } from './routes.js';
import { rerankSchema, scoreSchema, type CommonBody, type RerankBody, type ScoreBody } from './schemas.js';
import type { ServerContext } from './app.js';

export type ScoreMethod = 'cross-encoder' | 'maxsim' | 'cosine';

export function scoreMethod(ctx: ServerContext): ScoreMethod {
  if (typeof ctx.engine.score === 'function') return 'cross-encoder';
  if (ctx.engine.info.outputs.tokensHead !== 'hidden') return 'maxsim';
  return 'cosine';
}

function cosine(a: Float32Array, b: Float32Array): number {
  let ab = 0, aa = 0, bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += a[i]! * b[i]!;
    aa += a[i]! * a[i]!;
    bb += b[i]! * b[i]!;
  }
  return aa > 0 && bb > 0 ? ab / Math.sqrt(aa * bb) : 0;
}

const asList = (x: string | string[]) => (typeof x === 'string' ? [x] : x);

/** Scores of pairs (left[i] or left[0], right[i]) and the prompt tokens they used. */
async function scorePairs(ctx: ServerContext, left: string[], right: string[], body: CommonBody): Promise<{ scores: number[]; tokens: number }> {
  if (left.length > 1 && left.length !== right.length) throw badRequest('Input lengths must be either 1:1, 1:N or N:N');
  if (left.length === 0) throw badRequest('At least one text element must be given');
  if (right.length === 0) throw badRequest('At least one text_pair element must be given');
  checkCount(left.length + right.length, ctx.maxInputs, 'documents');
  const n = right.length;
  const li = (i: number) => (left.length === 1 ? 0 : i);
  const method = scoreMethod(ctx);
  // Token ids for both sides: length checks, truncation, and usage (vLLM counts every pair's prompt).
  const ids = prepareInputs(ctx.engine, [...left, ...right], body, 'input');
  const lIds = ids.slice(0, left.length);
  const rIds = ids.slice(left.length);
  let tokens = 0;
  for (let i = 0; i < n; i++) tokens += lIds[li(i)]!.length + rIds[i]!.length;

  if (method === 'cross-encoder') {
    const scores = new Array<number>(n);
    if (left.length === 1) {
      (await ctx.engine.score!(left[0]!, right)).forEach((s, i) => (scores[i] = s));
    } else {
      for (let i = 0; i < n; i++) scores[i] = (await ctx.engine.score!(left[i]!, [right[i]!]))[0]!;
    }
    return { scores, tokens };
  }
  if (method === 'maxsim' && ctx.engine.embedLate) {
    // ColBERT / PyLate: queries and documents are encoded differently (markers, expansion, skiplist).
    const q = await ctx.engine.embedLate(left, 'query');
    const d = await ctx.engine.embedLate(right, 'document');
    return { scores: Array.from({ length: n }, (_, i) => maxSim(q[li(i)]!, d[i]!, { reduce: 'sum' })), tokens };
  }
  if (method === 'maxsim') {
    const res = await ctx.batcher.submit(ids, { tokens: true, normalize: true });
    const t = res.tokens!;
    return { scores: Array.from({ length: n }, (_, i) => maxSim(t[li(i)]!, t[left.length + i]!, { reduce: 'sum' })), tokens };
  }
  const res = await ctx.batcher.submit(ids, { dense: true, normalize: true });
  const d = res.dense!;
  return { scores: Array.from({ length: n }, (_, i) => cosine(d[li(i)]!, d[left.length + i]!)), tokens };
}

export function registerScoring(app: FastifyInstance): void {
  const ctx = app.ctx;

  const score = async (body: ScoreBody) => {
    ctx.checkModel(body.model);
    const a = body.text_1 ?? body.queries!;
    const b = body.text_2 ?? body.documents!;
    const { scores, tokens } = await scorePairs(ctx, asList(a), asList(b), body);
    ctx.metrics.promptTokens.inc({ endpoint: '/score' }, tokens);
    return {
      id: ctx.newId('score'),
      object: 'list',
      created: Math.floor(Date.now() / 1000),
      model: ctx.modelName,
      data: scores.map((s, index) => ({ index, object: 'score', score: s })),
      usage: usage(tokens),
    };
  };
  for (const url of ['/score', '/v1/score']) {
    app.post<{ Body: ScoreBody }>(url, { schema: { body: scoreSchema() } }, async (req) => score(req.body));
  }

  const rerank = async (body: RerankBody) => {
    ctx.checkModel(body.model);
    const { scores, tokens } = await scorePairs(ctx, [body.query], body.documents, body);
    ctx.metrics.promptTokens.inc({ endpoint: '/rerank' }, tokens);
    const results = scores
      .map((s, index) => ({ index, document: { text: body.documents[index]! }, relevance_score: s }))
      .sort((x, y) => y.relevance_score - x.relevance_score);
    const topN = body.top_n > 0 ? body.top_n : results.length;
    return {
      id: ctx.newId('rerank'),
      model: ctx.modelName,
      usage: { prompt_tokens: tokens, total_tokens: tokens },
      results: results.slice(0, topN),
    };
  };
  for (const url of ['/rerank', '/v1/rerank', '/v2/rerank']) {
    app.post<{ Body: RerankBody }>(url, { schema: { body: rerankSchema() } }, async (req) => rerank(req.body));
  }
}
