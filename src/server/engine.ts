// The one place the server touches the engine: what it needs from a loaded model (tokenizer,
// limits, one-forward `encode` of token ids, optional cross-encoder `score`), behind an interface a
// unit test can fake. Everything else in src/server/ talks to `ServerEngine`, never to `Model`.

import type { Model, ModelInfo, TokenEmbeddings } from '../embed/model.js';

/** What one forward returns for a list of token-id inputs (each result in input order). */
export interface Encoded {
  dense?: Float32Array[];
  sparse?: Record<string, number>[];
  tokens?: TokenEmbeddings[];
  tokenCounts: number[];
}

export interface EncodeOptions {
  dense?: boolean;
  sparse?: boolean;
  tokens?: boolean;
  normalize?: boolean;
  dimensions?: number;
}

/** The subset of ModelInfo the server reads, plus the cross-encoder task. */
export type EngineInfo = Pick<ModelInfo, 'maxLength' | 'normalize' | 'outputs'> & Partial<ModelInfo> & { task?: string };

export interface ServerEngine {
  readonly info: EngineInfo;
  readonly vocabSize: number;
  /** Ids with special tokens added, not truncated. */
  tokenize(texts: string[]): number[][];
  /** One forward (or as few as the token budget allows) for all requested outputs; ids are used as given. */
  encode(inputs: number[][], opts: EncodeOptions): Promise<Encoded>;
  /** Cross-encoder relevance of (query, doc) pairs; present only for cross-encoder models. */
  score?: (query: string, docs: string[], opts?: { activation?: 'sigmoid' }) => Promise<number[]>;
  dispose(): void;
}

/** Wraps a loaded Model (its `encode` runs dense, sparse and token outputs in one forward). */
export function engineFromModel(model: Model): ServerEngine {
  // Cross-encoder models (info.task === 'score') add `score`; until then no Model has it.
  const m = model as Model & { score?: ServerEngine['score']; info: ModelInfo & { task?: string } };
  return {
    info: m.info,
    vocabSize: m.config.vocabSize,
    tokenize: (texts) => m.tokenizer.encodeUntruncated(texts),
    encode: (inputs, opts) => m.encode(inputs, opts),
    score: typeof m.score === 'function' ? m.score.bind(m) : undefined,
    dispose: () => m.dispose(),
  };
}
