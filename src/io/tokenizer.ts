// The tokenizer: @huggingface/tokenizers on the model's tokenizer.json, plus what the encoder
// needs around it: special token ids from tokenizer_config.json, the maximum length, and
// truncation exactly as Hugging Face does it (keep the first maxLen − 1 ids and the final one).

import { Tokenizer } from '@huggingface/tokenizers';
import type { EncoderConfig } from '../models/config.js';
import { ModelFileError } from './errors.js';
import { notFoundError, type ModelFiles } from './sources.js';
import { specialTemplate, type SpecialTemplate } from './templates.js';

export interface EncoderTokenizer {
  readonly maxLen: number;
  readonly specialIds: { cls: number | null; eos: number | null; pad: number | null; unk: number | null; mask: number | null };
  /** Ids with special tokens added, truncated to maxLen. */
  encode(texts: string[]): number[][];
  /** Ids with special tokens added and no truncation (servers refuse or truncate over-long inputs themselves). */
  encodeUntruncated(texts: string[]): number[][];
  /** The token's text, for display; null for an unknown id. */
  tokenText(id: number): string | null;
  /** Word-piece ids of one text without special tokens and without truncation. */
  encodePieces(text: string): number[];
  /** The id of a vocabulary or added token; null when the tokenizer has no such token. */
  tokenId(token: string): number | null;
  /** The post-processor's special-token template (single text and pair). */
  readonly template: SpecialTemplate;
  /** tokenizer_config.json's model_max_length when it is a real limit, else null. */
  readonly modelMaxLength: number | null;
}

/**
 * Hugging Face's truncation of one encoded text (special tokens included) to `maxLen` ids: the
 * first maxLen − 1 and the final one, so the closing special token stays.
 */
export function truncateIds(ids: number[], maxLen: number): number[] {
  return ids.length > maxLen ? [...ids.slice(0, maxLen - 1), ids[ids.length - 1]] : ids;
}

/** model_max_length values at or above this are "no limit" placeholders (HF writes int(1e30)). */
const NO_LIMIT = 1e9;

type Json = Record<string, unknown>;

async function optionalJson(files: ModelFiles, name: string): Promise<Json> {
  if (!(await files.has(name))) return {};
  const v = await files.json<unknown>(name);
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new ModelFileError(`${name} in ${files.origin} is not a JSON object`, name);
  return v as Json;
}

/** A special token as tokenizer_config.json writes it: a string or an AddedToken object `{ content }`. */
function tokenContent(v: unknown): string | null {
  if (typeof v === 'string') return v;
  if (v && typeof v === 'object' && typeof (v as Json).content === 'string') return (v as Json).content as string;
  return null;
}

/**
 * Loads tokenizer.json (+ tokenizer_config.json and special_tokens_map.json when present).
 * maxLen = min(model_max_length, max positions usable by the model, maxSeqLength).
 */
export async function loadTokenizer(files: ModelFiles, config: EncoderConfig, maxSeqLength?: number): Promise<EncoderTokenizer> {
  if (!(await files.has('tokenizer.json'))) {
    throw notFoundError(
      'tokenizer.json',
      files.origin,
      'webgpu-embed needs the fast-tokenizer file tokenizer.json; vocab.txt or sentencepiece.bpe.model alone are not enough. ' +
        'Save one with transformers: AutoTokenizer.from_pretrained(model).save_pretrained(folder)',
    );
  }
  const tokJson = await files.json<unknown>('tokenizer.json');
  const tokConfig = await optionalJson(files, 'tokenizer_config.json');
  const specialMap = await optionalJson(files, 'special_tokens_map.json');
  let tok: Tokenizer;
  try {
    tok = new Tokenizer(tokJson as object, tokConfig);
  } catch (err) {
    throw new ModelFileError(`tokenizer.json in ${files.origin} could not be loaded: ${(err as Error).message}`, 'tokenizer.json');
  }

  const lookup = (...keys: string[]): number | null => {
    for (const k of keys) {
      const content = tokenContent(tokConfig[k]) ?? tokenContent(specialMap[k]);
      if (content !== null) return tok.token_to_id(content) ?? null;
    }
    return null;
  };
  // BERT has no eos_token; its sep_token ([SEP]) plays that role.
  const specialIds = {
    cls: lookup('cls_token'), eos: lookup('eos_token', 'sep_token'), pad: lookup('pad_token'), unk: lookup('unk_token'), mask: lookup('mask_token'),
  };

  const limits = [config.maxPositions - config.positionOffset];
  const mml = tokConfig.model_max_length;
  if (typeof mml === 'number' && Number.isFinite(mml) && mml > 0 && mml < NO_LIMIT) limits.push(Math.floor(mml));
  if (maxSeqLength !== undefined) {
    if (!Number.isSafeInteger(maxSeqLength) || maxSeqLength < 2) throw new RangeError(`maxSeqLength must be an integer ≥ 2, got ${maxSeqLength}`);
    limits.push(maxSeqLength);
  }
  const maxLen = Math.min(...limits);
  const template = specialTemplate((tokJson as Record<string, unknown>).post_processor, files.origin);
  if (maxLen < 2) throw new ModelFileError(`tokenizer_config.json in ${files.origin}: maximum length ${maxLen} leaves no room for text`, 'tokenizer_config.json');

  const checkIds = (ids: number[]): number[] => {
    for (const id of ids) {
      if (!(id >= 0 && id < config.vocabSize)) {
        throw new ModelFileError(`tokenizer.json in ${files.origin} produced token id ${id}, outside the model's vocabulary of ${config.vocabSize}`, 'tokenizer.json');
      }
    }
    return ids;
  };
  const encodeUntruncated = (texts: string[]): number[][] => {
    if (!Array.isArray(texts)) throw new TypeError(`texts must be an array of strings, got ${typeof texts}`);
    texts.forEach((t, i) => {
      if (typeof t !== 'string') throw new TypeError(`texts[${i}] must be a string, got ${t === null ? 'null' : typeof t}`);
    });
    return texts.map((t) => checkIds(tok.encode(t).ids));
  };

  return {
    maxLen,
    specialIds,
    encode(texts: string[]): number[][] {
      return encodeUntruncated(texts).map((ids) => truncateIds(ids, maxLen));
    },
    encodeUntruncated,
    tokenText(id: number): string | null {
      return tok.id_to_token(id) ?? null;
    },
    encodePieces(text: string): number[] {
      return checkIds(tok.encode(text, { add_special_tokens: false }).ids);
    },
    tokenId(token: string): number | null {
      return tok.token_to_id(token) ?? null;
    },
    template,
    modelMaxLength: typeof mml === 'number' && Number.isFinite(mml) && mml > 0 && mml < NO_LIMIT ? Math.floor(mml) : null,
  };
}
