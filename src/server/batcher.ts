// Request coalescing (continuous batching). Each request submits its token-id inputs; while one
// batch runs in the engine, new requests queue up; when it finishes, the next batch takes queued
// inputs in arrival order up to the token budget (whole inputs; a request may span batches) and
// runs them in one `encode` call. Results are split back per request. Inputs with different
// pooling options (normalize, dimensions) never share a batch; requested outputs are the union.
// If a batch fails, each request in it is re-run alone, so one bad request fails only itself.

import { QueueFullError } from './errors.js';
import type { EncodeOptions, Encoded, ServerEngine } from './engine.js';
import type { ServerMetrics } from './metrics.js';

export interface BatcherOptions {
  /** Tokens per engine call (the model's maxBatchTokens). */
  maxBatchTokens: number;
  /** Inputs allowed to wait; past it submit() throws QueueFullError (HTTP 503). */
  maxQueueInputs: number;
  /** Retry-After seconds sent with a 503. */
  retryAfterS?: number;
  metrics?: ServerMetrics;
}

interface Job {
  inputs: number[][];
  opts: EncodeOptions;
  key: string;
  /** Next input not yet handed to a batch. */
  cursor: number;
  done: number;
  out: Required<Omit<Encoded, 'tokenCounts'>> & { tokenCounts: number[] };
  resolve: (e: Encoded) => void;
  reject: (err: unknown) => void;
  failed: boolean;
}

interface Slice {
  job: Job;
  start: number;
  end: number;
}

const optsKey = (o: EncodeOptions) => `n=${o.normalize ?? 'default'},d=${o.dimensions ?? 'full'}`;

export class Batcher {
  private queue: Job[] = [];
  private queuedInputs = 0;
  private running: Promise<void> | null = null;
  private readonly retryAfterS: number;
  /** Batches run so far, and the inputs they held (for tests and the bench). */
  readonly stats = { batches: 0, inputs: 0 };

  constructor(private engine: ServerEngine, private opts: BatcherOptions) {
    if (!(opts.maxBatchTokens >= 1)) throw new RangeError(`maxBatchTokens must be ≥ 1, got ${opts.maxBatchTokens}`);
    this.retryAfterS = opts.retryAfterS ?? 1;
  }

  /** Inputs waiting (not yet in a running batch). */
  get depth(): number {
    return this.queuedInputs;
  }

  /** Resolves with this request's outputs, in its input order. Throws QueueFullError when full. */
  submit(inputs: number[][], opts: EncodeOptions): Promise<Encoded> {
    if (inputs.length === 0) return Promise.resolve({ tokenCounts: [] });
    if (this.queuedInputs + inputs.length > this.opts.maxQueueInputs) {
      throw new QueueFullError(this.queuedInputs, this.opts.maxQueueInputs, this.retryAfterS);
    }
    return new Promise<Encoded>((resolve, reject) => {
      const n = inputs.length;
      this.queue.push({
        inputs,
        opts,
        key: optsKey(opts),
        cursor: 0,
        done: 0,
        out: { dense: new Array(n), sparse: new Array(n), tokens: new Array(n), tokenCounts: new Array(n) },
        resolve,
        reject,
        failed: false,
      });
      this.queuedInputs += n;
      this.opts.metrics?.queueDepth.set(this.queuedInputs);
      this.pump();
    });
  }

  /** Resolves once nothing is queued or running. */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  private pump(): void {
    if (this.running) return;
    this.running = (async () => {
      try {
        // Let requests that arrived in the same tick join the first batch.
        await new Promise((r) => setImmediate(r));
        while (this.queue.length) await this.runOne(this.take());
      } finally {
        this.running = null;
      }
    })();
  }

  /** Picks the next batch: the oldest job's option key, inputs in arrival order, up to the budget. */
  private take(): Slice[] {
    const key = this.queue[0]!.key;
    const slices: Slice[] = [];
    let tokens = 0;
    let count = 0;
    let full = false;
    for (const job of this.queue) {
      if (job.key !== key) continue;
      const start = job.cursor;
      while (job.cursor < job.inputs.length) {
        const len = job.inputs[job.cursor]!.length;
        if (count > 0 && tokens + len > this.opts.maxBatchTokens) {
          full = true;
          break;
        }
        tokens += len;
        count++;
        job.cursor++;
      }
      if (job.cursor > start) slices.push({ job, start, end: job.cursor });
      if (full) break;
    }
    this.queue = this.queue.filter((j) => j.cursor < j.inputs.length);
    const taken = slices.reduce((a, s) => a + s.end - s.start, 0);
    this.queuedInputs -= taken;
    this.opts.metrics?.queueDepth.set(this.queuedInputs);
    return slices;
  }

  private async runOne(slices: Slice[]): Promise<void> {
    const live = slices.filter((s) => !s.job.failed);
    if (!live.length) return;
    const inputs = live.flatMap((s) => s.job.inputs.slice(s.start, s.end));
    const m = this.opts.metrics;
    const o0 = live[0]!.job.opts;
    const opts: EncodeOptions = {
      dense: live.some((s) => s.job.opts.dense),
      sparse: live.some((s) => s.job.opts.sparse),
      tokens: live.some((s) => s.job.opts.tokens),
      normalize: o0.normalize,
      dimensions: o0.dimensions,
    };
    this.stats.batches++;
    this.stats.inputs += inputs.length;
    m?.batchInputs.observe(inputs.length);
    m?.batchTokens.observe(inputs.reduce((a, x) => a + x.length, 0));
    m?.inFlight.set(1);
    const stop = m?.batchSeconds.startTimer();
    try {
      const res = await this.engine.encode(inputs, opts);
      let k = 0;
      for (const s of live) {
        for (let i = s.start; i < s.end; i++, k++) this.store(s.job, i, res, k);
        this.finish(s.job, s.end - s.start);
      }
    } catch (err) {
      if (live.length === 1) {
        this.fail(live[0]!.job, err);
      } else {
        // Isolate the failure: run each request's part on its own.
        m?.batchFailures.inc();
        for (const s of live) await this.runOne([s]);
      }
    } finally {
      stop?.();
      m?.inFlight.set(0);
    }
  }

  private store(job: Job, i: number, res: Encoded, k: number): void {
    if (res.dense) job.out.dense[i] = res.dense[k]!;
    if (res.sparse) job.out.sparse[i] = res.sparse[k]!;
    if (res.tokens) job.out.tokens[i] = res.tokens[k]!;
    job.out.tokenCounts[i] = res.tokenCounts[k]!;
  }

  private finish(job: Job, n: number): void {
    job.done += n;
    if (job.done < job.inputs.length || job.failed) return;
    const { opts, out } = job;
    job.resolve({
      dense: opts.dense ? out.dense : undefined,
      sparse: opts.sparse ? out.sparse : undefined,
      tokens: opts.tokens ? out.tokens : undefined,
      tokenCounts: out.tokenCounts,
    });
  }

  private fail(job: Job, err: unknown): void {
    if (job.failed) return;
    job.failed = true;
    // Inputs of this job still queued are dropped.
    const left = job.inputs.length - job.cursor;
    if (left > 0) {
      job.cursor = job.inputs.length;
      this.queuedInputs -= left;
      this.queue = this.queue.filter((j) => j !== job);
      this.opts.metrics?.queueDepth.set(this.queuedInputs);
    }
    job.reject(err);
  }
}
