// The one place the server touches the engine: what it needs from a loaded model (tokenizer,
// limits, one-forward `encode` of token ids, optional cross-encoder `score`), behind an interface a
// unit test can fake. Everything else in src/server/ talks to `ServerEngine`, never to `Model`.

import type { EncodeOptions as ModelEncodeOptions, Model, ModelInfo, TokenEmbeddings } from '../embed/model.js';

/** What one forward returns for a list of token-id inputs (each result in input order). */
export interface Encoded {
  dense?: Float32Array[];
  sparse?: Record<string, number>[];
  tokens?: TokenEmbeddings[];
  tokenCounts: number[];
}

/** The encode options the server uses (token-id inputs have no kind or prompt). */
export type EncodeOptions = Pick<ModelEncodeOptions, 'dense' | 'sparse' | 'tokens' | 'normalize' | 'dimensions'>;

/** The subset of ModelInfo the server reads, plus the cross-encoder task. */
export type EngineInfo = Pick<ModelInfo, 'maxLength' | 'normalize' | 'outputs'> & Partial<ModelInfo> & { task?: string };

export interface ServerEngine {
  readonly info: EngineInfo;
  readonly vocabSize: number;
  /** Ids with special tokens added, not truncated. */
  tokenize(texts: string[]): number[][];
  /** One forward (or as few as the token budget allows) for all requested outputs; ids are used as given. */
  encode(inputs: number[][], opts: EncodeOptions): Promise<Encoded>;
  /**
   * Late-interaction (ColBERT / PyLate) token vectors of texts encoded as queries or documents
   * (markers, [MASK] expansion, skiplist); present only for such models, whose token ids alone
   * cannot say which kind a text is.
   */
  embedLate?: (texts: string[], kind: 'query' | 'document') => Promise<TokenEmbeddings[]>;
  /** Cross-encoder relevance of (query, doc) pairs; present only for cross-encoder models. */
  score?: (query: string, docs: string[], opts?: { activation?: 'sigmoid' }) => Promise<number[]>;
  dispose(): void;
}

/** Wraps a loaded Model (its `encode` runs dense, sparse and token outputs in one forward). */
export function engineFromModel(model: Model): ServerEngine {
  // Every Model has a `score` method, but only a cross-encoder (info.task === 'score') can run it.
  const m = model;
  return {
    info: m.info,
    vocabSize: m.config.vocabSize,
    tokenize: (texts) => m.tokenizer.encodeUntruncated(texts),
    encode: (inputs, opts) => m.encode(inputs, opts),
    score: m.info.task === 'score' ? m.score.bind(m) : undefined,
    embedLate: m.info.lateInteraction ? (texts, kind) => m.embedTokens(texts, { kind }) : undefined,
    dispose: () => m.dispose(),
  };
}
