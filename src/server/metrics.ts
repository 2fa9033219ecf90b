// Prometheus metrics (prom-client, one registry per server so tests can run several): requests by
// endpoint and status, prompt tokens, queue depth, batch sizes, request and batch latency.

import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface ServerMetrics {
  registry: Registry;
  requests: Counter<'endpoint' | 'status'>;
  promptTokens: Counter<'endpoint'>;
  latency: Histogram<'endpoint'>;
  queueDepth: Gauge;
  inFlight: Gauge;
  batchInputs: Histogram;
  batchTokens: Histogram;
  batchSeconds: Histogram;
  batchFailures: Counter;
}

export function createMetrics(opts: { defaultMetrics?: boolean } = {}): ServerMetrics {
  const registry = new Registry();
  if (opts.defaultMetrics) collectDefaultMetrics({ register: registry, prefix: 'webgpu_embed_process_' });
  const registers = [registry];
  return {
    registry,
    requests: new Counter({ name: 'webgpu_embed_requests_total', help: 'HTTP requests by endpoint and status code', labelNames: ['endpoint', 'status'], registers }),
    promptTokens: new Counter({ name: 'webgpu_embed_prompt_tokens_total', help: 'Tokens run through the model, by endpoint', labelNames: ['endpoint'], registers }),
    latency: new Histogram({
      name: 'webgpu_embed_request_duration_seconds',
      help: 'Request latency from arrival to response, by endpoint',
      labelNames: ['endpoint'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    }),
    queueDepth: new Gauge({ name: 'webgpu_embed_queue_inputs', help: 'Inputs waiting for a batch', registers }),
    inFlight: new Gauge({ name: 'webgpu_embed_batch_running', help: '1 while a batch is on the GPU', registers }),
    batchInputs: new Histogram({ name: 'webgpu_embed_batch_inputs', help: 'Inputs per coalesced batch', buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512], registers }),
    batchTokens: new Histogram({ name: 'webgpu_embed_batch_tokens', help: 'Tokens per coalesced batch', buckets: [16, 64, 256, 1024, 2048, 4096, 8192, 16384], registers }),
    batchSeconds: new Histogram({
      name: 'webgpu_embed_batch_duration_seconds',
      help: 'Time one coalesced batch spends in the engine',
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    }),
    batchFailures: new Counter({ name: 'webgpu_embed_batch_failures_total', help: 'Batches that failed and were re-run request by request', registers }),
  };
}
