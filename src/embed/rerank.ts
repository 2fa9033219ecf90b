// Cross-encoder inputs and ranking, as sentence-transformers' CrossEncoder does them
// (sentence_transformers/cross_encoder/CrossEncoder.py): each (query, document) pair is tokenized
// together, truncated 'longest_first' to the tokenizer's model_max_length (lines 199-200 cap it at
// max_position_embeddings; lines 458-463 call the tokenizer with truncation=True), and `rank`
// sorts by score, best first, keeping the input order among ties (lines 572-577).

import { truncateLongestFirst, type Encoded } from '../io/templates.js';
import type { EncoderTokenizer } from '../io/tokenizer.js';

/** `[CLS] q [SEP] d [SEP]` (BERT, token types 0…0 1…1) or `<s> q </s></s> d </s>` (XLM-R, all 0), cut to maxLen. */
export function encodePair(tok: EncoderTokenizer, query: string, doc: string, maxLen: number): Encoded {
  const room = maxLen - tok.template.addedPair;
  if (room < 0) throw new RangeError(`a ${maxLen}-token limit leaves no room for the ${tok.template.addedPair} special tokens of a pair`);
  const [a, b] = truncateLongestFirst(tok.encodePieces(query), tok.encodePieces(doc), room);
  return tok.template.pair(a, b!);
}

export interface Ranked {
  /** The document's position in the input list. */
  index: number;
  score: number;
}

/** Indices by score, best first; equal scores keep their input order (Python's stable sort). */
export function rankScores(scores: number[], topK?: number): Ranked[] {
  if (topK !== undefined && !(Number.isInteger(topK) && topK >= 1)) throw new RangeError(`topK must be a positive integer, got ${topK}`);
  const ranked = scores.map((score, index) => ({ index, score })).sort((x, y) => y.score - x.score || x.index - y.index);
  return topK === undefined ? ranked : ranked.slice(0, topK);
}

export function sigmoid(x: number): number {
  return 1 / (1 + Math.exp(-x));
}
