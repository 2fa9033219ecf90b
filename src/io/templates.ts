// What Hugging Face's fast tokenizers do around the model's word pieces, for inputs the engine
// builds itself: the special-token templates of tokenizer.json's post_processor (single text and
// text pair, with token type ids) and LongestFirst truncation. ColBERT / PyLate query and
// document encodings and cross-encoder pairs are assembled from these (embed/late.ts,
// embed/rerank.ts), so truncation happens before the special tokens are added, exactly as in
// huggingface/tokenizers (tokenizer/mod.rs post_process; utils/truncation.rs truncate_encodings).

import { ModelFileError } from './errors.js';

export interface Encoded {
  ids: number[];
  typeIds: number[];
}

/** The special tokens a post-processor adds around one text (A) or a pair (A, B). */
export interface SpecialTemplate {
  /** Tokens added to one text / to a pair (what truncation leaves room for). */
  readonly addedSingle: number;
  readonly addedPair: number;
  single(a: number[]): Encoded;
  pair(a: number[], b: number[]): Encoded;
}

type Piece = { special: number[]; type: number } | { seq: 'A' | 'B'; type: number };

function apply(pieces: Piece[], a: number[], b: number[]): Encoded {
  const ids: number[] = [];
  const typeIds: number[] = [];
  for (const p of pieces) {
    const part = 'special' in p ? p.special : p.seq === 'A' ? a : b;
    for (const id of part) {
      ids.push(id);
      typeIds.push(p.type);
    }
  }
  return { ids, typeIds };
}

function fromPieces(single: Piece[], pair: Piece[]): SpecialTemplate {
  const count = (ps: Piece[]) => ps.reduce((n, p) => n + ('special' in p ? p.special.length : 0), 0);
  return {
    addedSingle: count(single),
    addedPair: count(pair),
    single: (a) => apply(single, a, []),
    pair: (a, b) => apply(pair, a, b),
  };
}

type Json = Record<string, unknown>;

/**
 * The template of tokenizer.json's `post_processor`: TemplateProcessing (its `single` / `pair`
 * lists), BertProcessing (`[CLS] A [SEP]`, `[CLS] A [SEP] B [SEP]` with type 1 on `B [SEP]`),
 * RobertaProcessing (`<s> A </s>`, `<s> A </s></s> B </s>`, every type id 0: processors/roberta.rs
 * sets them all to 0), a Sequence holding one of these, or none (no special tokens).
 */
export function specialTemplate(postProcessor: unknown, origin: string): SpecialTemplate {
  const file = 'tokenizer.json';
  const fail = (why: string): never => {
    throw new ModelFileError(`tokenizer.json in ${origin}: post_processor ${why}`, file);
  };
  if (postProcessor === null || postProcessor === undefined) return fromPieces([{ seq: 'A', type: 0 }], [{ seq: 'A', type: 0 }, { seq: 'B', type: 1 }]);
  if (typeof postProcessor !== 'object') fail('is not an object');
  const pp = postProcessor as Json;
  const tokenPair = (k: string): number => {
    const v = pp[k];
    if (!Array.isArray(v) || typeof v[1] !== 'number') fail(`"${k}" is not a [token, id] pair`);
    return (v as [string, number])[1];
  };
  switch (pp.type) {
    case 'BertProcessing': {
      const cls = tokenPair('cls'), sep = tokenPair('sep');
      return fromPieces(
        [{ special: [cls], type: 0 }, { seq: 'A', type: 0 }, { special: [sep], type: 0 }],
        [{ special: [cls], type: 0 }, { seq: 'A', type: 0 }, { special: [sep], type: 0 }, { seq: 'B', type: 1 }, { special: [sep], type: 1 }],
      );
    }
    case 'RobertaProcessing': {
      const cls = tokenPair('cls'), sep = tokenPair('sep');
      return fromPieces(
        [{ special: [cls], type: 0 }, { seq: 'A', type: 0 }, { special: [sep], type: 0 }],
        [{ special: [cls], type: 0 }, { seq: 'A', type: 0 }, { special: [sep, sep], type: 0 }, { seq: 'B', type: 0 }, { special: [sep], type: 0 }],
      );
    }
    case 'TemplateProcessing': {
      const specials = (pp.special_tokens ?? {}) as Record<string, { ids?: unknown }>;
      const parse = (name: 'single' | 'pair'): Piece[] => {
        const list = pp[name];
        if (!Array.isArray(list)) fail(`"${name}" is not a list`);
        return (list as Json[]).map((item) => {
          if (item && typeof item === 'object' && 'SpecialToken' in item) {
            const st = item.SpecialToken as { id: string; type_id?: number };
            const ids = specials[st.id]?.ids;
            if (!Array.isArray(ids) || !ids.every((x) => typeof x === 'number')) fail(`special token ${JSON.stringify(st.id)} has no ids in special_tokens`);
            return { special: ids as number[], type: st.type_id ?? 0 };
          }
          if (item && typeof item === 'object' && 'Sequence' in item) {
            const sq = item.Sequence as { id: string; type_id?: number };
            if (sq.id !== 'A' && sq.id !== 'B') fail(`sequence id ${JSON.stringify(sq.id)} is not A or B`);
            return { seq: sq.id as 'A' | 'B', type: sq.type_id ?? 0 };
          }
          return fail(`"${name}" has an item that is neither SpecialToken nor Sequence`);
        });
      };
      return fromPieces(parse('single'), parse('pair'));
    }
    case 'Sequence': {
      const inner = ((pp.processors ?? []) as Json[]).filter((p) => ['TemplateProcessing', 'BertProcessing', 'RobertaProcessing'].includes(p?.type as string));
      if (inner.length > 1) fail('is a Sequence with more than one special-token processor');
      return specialTemplate(inner[0] ?? null, origin);
    }
    case 'ByteLevel':
      return specialTemplate(null, origin);
    default:
      return fail(`type ${JSON.stringify(pp.type)} is not supported (TemplateProcessing, BertProcessing, RobertaProcessing)`);
  }
}

/**
 * huggingface/tokenizers utils/truncation.rs `truncate_encodings` with LongestFirst, keeping the
 * start of each text. `maxLength` is what is left for the texts (the caller subtracts the
 * template's special tokens, as tokenizer/mod.rs post_process does). For a pair: if the shorter
 * one fits in half, the longer one gets the rest; otherwise both get half (the longer one the
 * extra token of an odd length).
 */
export function truncateLongestFirst(a: number[], b: number[] | null, maxLength: number): [number[], number[] | null] {
  if (maxLength < 0) throw new RangeError(`truncateLongestFirst: maxLength ${maxLength} < 0`);
  const total = a.length + (b ? b.length : 0);
  if (total <= maxLength) return [a, b];
  if (!b) return [a.slice(0, maxLength), null];
  let n1 = a.length, n2 = b.length;
  const swap = n1 > n2;
  if (swap) [n1, n2] = [n2, n1];
  n2 = n1 > maxLength ? n1 : Math.max(n1, maxLength - n1);
  if (n1 + n2 > maxLength) {
    n1 = Math.floor(maxLength / 2);
    n2 = n1 + (maxLength % 2);
  }
  if (swap) [n1, n2] = [n2, n1];
  return [a.slice(0, n1), b.slice(0, n2)];
}
