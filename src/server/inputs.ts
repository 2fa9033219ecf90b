// Request inputs → token ids, as vLLM prepares prompts for pooling models: texts are tokenized with
// special tokens; token-id inputs are used as given. An input longer than the model's maximum
// length is refused (400) unless `truncate_prompt_tokens` asks for truncation (-1: to the maximum
// length; k: to k tokens). Truncation keeps the first tokens ('right', the default) or the last
// ('left'); a text keeps its final special token, as Hugging Face's tokenizers truncate.

import { truncateIds } from '../io/tokenizer.js';
import { badRequest } from './errors.js';
import type { ServerEngine } from './engine.js';

export type RawInput = string | string[] | number[] | number[][];

export interface Truncation {
  truncate_prompt_tokens?: number | null;
  truncation_side?: 'left' | 'right' | null;
}

/** The request's `input` as a list of texts or token-id lists. */
export function splitInput(input: RawInput, maxInputs: number, param = 'input'): Array<string | number[]> {
  if (typeof input === 'string') return [input];
  if (!Array.isArray(input) || input.length === 0) throw badRequest(`${param} must be a non-empty string, array of strings, array of token ids or array of token-id arrays`, param);
  if (input.every((x) => typeof x === 'number')) return [input as number[]];
  checkCount(input.length, maxInputs, param);
  return input as Array<string | number[]>;
}

/** 400 when a request carries more inputs than the server allows. */
export function checkCount(n: number, maxInputs: number, param: string): void {
  if (n > maxInputs) throw badRequest(`too many inputs: ${param} has ${n}; this server takes at most ${maxInputs} per request (split the request)`, param);
}

/** Tokenizes, checks and truncates; returns one id list per input. */
export function prepareInputs(engine: ServerEngine, inputs: Array<string | number[]>, t: Truncation, param = 'input'): number[][] {
  const maxLen = engine.info.maxLength;
  const k = t.truncate_prompt_tokens ?? null;
  if (k !== null && (k === 0 || k < -1 || !Number.isInteger(k))) {
    throw badRequest(`truncate_prompt_tokens must be -1 (truncate to the model's ${maxLen} tokens) or a positive integer, got ${k}`, 'truncate_prompt_tokens');
  }
  if (k !== null && k > maxLen) {
    throw badRequest(`truncate_prompt_tokens value (${k}) is greater than max_model_len (${maxLen}). Please request a smaller truncation size.`, 'truncate_prompt_tokens');
  }
  const limit = k === null ? null : k === -1 ? maxLen : k;
  const side = t.truncation_side ?? 'right';

  const texts: string[] = [];
  const where: number[] = [];
  inputs.forEach((x, i) => {
    if (typeof x === 'string') {
      texts.push(x);
      where.push(i);
    }
  });
  const textIds = texts.length ? engine.tokenize(texts) : [];
  const out = new Array<number[]>(inputs.length);
  where.forEach((i, j) => (out[i] = textIds[j]!));

  inputs.forEach((x, i) => {
    const isText = typeof x === 'string';
    let ids: number[];
    if (isText) ids = out[i]!;
    else {
      ids = x;
      if (ids.length === 0) throw badRequest(`${param}[${i}] is an empty list of token ids`, param);
      for (const id of ids) {
        if (!Number.isInteger(id) || id < 0 || id >= engine.vocabSize) {
          throw badRequest(`${param}[${i}] holds token id ${id}, outside the model's vocabulary (0..${engine.vocabSize - 1})`, param);
        }
      }
    }
    if (limit === null) {
      if (ids.length > maxLen) {
        throw badRequest(
          `This model's maximum context length is ${maxLen} tokens. However, you requested ${ids.length} tokens in the input for embedding generation. ` +
            'Please reduce the length of the input, or set truncate_prompt_tokens.',
          param,
        );
      }
    } else if (ids.length > limit) {
      ids = truncate(ids, limit, side, isText);
    }
    out[i] = ids;
  });
  return out;
}

/** Keeps `n` ids; a text keeps its first (left) or last (right) special token in place. */
export function truncate(ids: number[], n: number, side: 'left' | 'right', keepSpecial: boolean): number[] {
  if (ids.length <= n) return ids;
  if (!keepSpecial || n < 2) return side === 'right' ? ids.slice(0, n) : ids.slice(ids.length - n);
  return side === 'right' ? truncateIds(ids, n) : [ids[0]!, ...ids.slice(ids.length - n + 1)];
}

/** Little-endian float32 bytes in base64 (what the OpenAI clients decode). */
export function toBase64(v: Float32Array): string {
  const buf = Buffer.alloc(v.length * 4);
  for (let i = 0; i < v.length; i++) buf.writeFloatLE(v[i]!, i * 4);
  return buf.toString('base64');
}

/** A Float32Array as a plain JSON array. */
export const toList = (v: Float32Array): number[] => Array.from(v);
