// The seam between the engine and one architecture. Every architecture file (bert.ts, …) exports
// an `Architecture`: how to find its weights in a checkpoint, which keys it may ignore, how to
// load itself from the strict WeightStore, and — once loaded — an `Encoder` that records one
// packed batch's KernelCalls into the last hidden state. embed/forward.ts and the heads only
// ever see these types; dispatch from config.json happens in models/registry.ts.

import type { Gpu } from '../gpu/device.js';
import type { KernelCall } from '../gpu/pipelines.js';
import type { EncoderConfig } from './config.js';
import type { WeightStore } from './weights.js';

/** The buffers one packed batch runs in. Sizes are per token (N rows) unless noted. */
export interface BatchBuffers {
  ids: GPUBuffer; // u32 (N) token ids
  posIds: GPUBuffer; // u32 (N) position ids (Encoder.positionIds per sequence)
  typeIds: GPUBuffer; // u32 (N) token type ids (0 except the second segment of a pair)
  seqs: GPUBuffer; // u32 (B, 2): start, len of each sequence; then (B) key lengths when BatchShape.keyLens
  h: GPUBuffer; // (N, C) the last hidden state when the encoder's calls finish
  /** The encoder's own activations, sized from Encoder.scratch: name → (N, width). */
  scratch: Record<string, GPUBuffer>;
}

export interface BatchShape {
  N: number; // total tokens
  B: number; // sequences
  maxLen: number; // longest sequence
  /**
   * seqs holds key lengths after the pairs: rows of sequence b attend to its first keyLen rows
   * (ColBERT's unattended [MASK] expansion). Every encoder passes it to attention().
   */
  keyLens?: boolean;
  /** Some token has a nonzero token type (a cross-encoder pair): embeddings read typeIds. */
  typeIds?: boolean;
}

export type Pooling = 'cls' | 'mean' | 'last';

/** A loaded encoder body: BertModel, … */
export interface Encoder {
  readonly config: EncoderConfig;
  /** Floats per token of each scratch activation `forward` uses (the arena allocates them). */
  scratch(): Record<string, number>;
  /** Records embeddings and every layer of one packed batch; the last hidden state ends in buf.h (N, C). */
  forward(gpu: Gpu, buf: BatchBuffers, s: BatchShape): KernelCall[];
  /** Position ids of one T-token sequence (absolute or rotary positions). */
  positionIds(T: number): number[];
}

/** What the registry knows about one architecture before any weight is read. */
export interface Architecture {
  /** EncoderConfig.family values this architecture loads. */
  families: readonly EncoderConfig['family'][];
  /** A key (without prefix) every checkpoint of this architecture has: finds the key prefix. */
  probeKey: string;
  /** Key prefixes to try, in order (e.g. '', 'bert.', 'roberta.', 'model.'). */
  prefixes: readonly string[];
  /** Keys (after the prefix) that checkpoints carry but the encoder never reads (logged, not loaded). */
  ignoredKeys: readonly RegExp[];
  /** Pooling modes this architecture's embeddings support. */
  poolings: readonly Pooling[];
  load(store: WeightStore, cfg: EncoderConfig): Promise<Encoder>;
}
