// Late-interaction (ColBERT) settings of a model folder, read the way the reference libraries read
// them: a Stanford ColBERT checkpoint (config.json architectures HF_ColBERT) from artifact.metadata
// (stanford-futuredata/ColBERT colbert/infra/config/settings.py defaults), a PyLate folder from
// config_sentence_transformers.json (lightonai/pylate pylate/models/colbert.py: _load_sbert_model
// and the defaults in __init__). Only settings here; the token ids are resolved against the
// tokenizer in embed/late.ts.

import { ModelFileError } from '../io/errors.js';
import type { ModelFiles } from '../io/sources.js';

/** Python's string.punctuation, the default skiplist of both libraries. */
export const PUNCTUATION = [...'!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~'];

export interface LateSettings {
  /** Which library's rules: 'colbert' (Stanford checkpoint) or 'pylate' (PyLate folder). */
  source: 'colbert' | 'pylate';
  /** Query tokens after expansion (ColBERT query_maxlen, PyLate query_length). */
  queryLength: number;
  /** Most document tokens (ColBERT doc_maxlen, PyLate document_length). */
  documentLength: number;
  /** Marker token inserted after the first special token; null: none (PyLate prefix ""). */
  queryPrefix: string | null;
  documentPrefix: string | null;
  /** Pad queries with [MASK] to queryLength. */
  doQueryExpansion: boolean;
  /** Whether the expansion tokens are attended to (as keys); they give vectors either way. */
  attendToExpansionTokens: boolean;
  /** Document tokens whose vectors are dropped. */
  skiplistWords: string[];
  /** How a skiplist word becomes an id: ColBERT takes the first word piece of encode(word);
   * PyLate convert_tokens_to_ids(word), the unknown-token id when the vocabulary lacks it. */
  skiplistRule: 'first-piece' | 'token';
  /** sentence-transformers strips texts (Transformer.tokenize); Stanford ColBERT does not. */
  strip: boolean;
  lowerCase: boolean;
}

type Json = Record<string, unknown>;

async function jsonObject(files: ModelFiles, name: string): Promise<Json | null> {
  if (!(await files.has(name))) return null;
  const v = await files.json<unknown>(name);
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new ModelFileError(`${name} in ${files.origin} is not a JSON object`, name);
  return v as Json;
}

function reader(file: string, origin: string, c: Json) {
  const fail = (why: string): never => {
    throw new ModelFileError(`${file} in ${origin}: ${why}`, file);
  };
  return {
    int(key: string, def: number, min: number): number {
      const v = c[key] ?? def;
      if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) fail(`"${key}" must be an integer ≥ ${min}, got ${JSON.stringify(v)}`);
      return v as number;
    },
    bool(key: string, def: boolean): boolean {
      const v = c[key] ?? def;
      if (typeof v !== 'boolean') fail(`"${key}" must be true or false, got ${JSON.stringify(v)}`);
      return v as boolean;
    },
    str(key: string, def: string): string {
      const v = c[key] ?? def;
      if (typeof v !== 'string') fail(`"${key}" must be a string, got ${JSON.stringify(v)}`);
      return v as string;
    },
    words(key: string, def: string[]): string[] {
      const v = c[key] ?? def;
      if (!Array.isArray(v) || !v.every((w) => typeof w === 'string')) fail(`"${key}" must be a list of strings`);
      return v as string[];
    },
  };
}

/**
 * A Stanford ColBERT checkpoint: artifact.metadata (ColBERTConfig's JSON; an optional "config"
 * wrapper as in BaseConfig.from_path). Without the file, PyLate's fallback: markers [unused0] /
 * [unused1], query length 32, document length 180 (pylate colbert.py lines 314-321, 425-439).
 */
export async function readColbertSettings(files: ModelFiles): Promise<LateSettings> {
  const file = 'artifact.metadata';
  let meta = await jsonObject(files, file);
  if (meta && typeof meta.config === 'object' && meta.config !== null) meta = meta.config as Json;
  const r = reader(file, files.origin, meta ?? {});
  const queryLength = r.int('query_maxlen', 32, 4);
  const documentLength = r.int('doc_maxlen', meta ? 220 : 180, 4);
  return {
    source: 'colbert',
    queryLength,
    documentLength,
    queryPrefix: r.str('query_token_id', '[unused0]'),
    documentPrefix: r.str('doc_token_id', '[unused1]'),
    doQueryExpansion: true,
    attendToExpansionTokens: r.bool('attend_to_mask_tokens', false),
    skiplistWords: r.bool('mask_punctuation', true) ? PUNCTUATION : [],
    skiplistRule: 'first-piece',
    strip: false,
    lowerCase: false,
  };
}

/**
 * A PyLate folder: config_sentence_transformers.json's query_prefix, document_prefix,
 * query_length, document_length, do_query_expansion, attend_to_expansion_tokens, skiplist_words
 * (defaults "[Q] ", "[D] ", 32, 180, true, false, string.punctuation; no expansion means no
 * attending to expansion tokens: colbert.py lines 363-471); do_lower_case from the
 * Transformer's sentence_bert_config.json.
 */
export async function readPylateSettings(files: ModelFiles, transformerDir: string): Promise<LateSettings> {
  const file = 'config_sentence_transformers.json';
  const c = (await jsonObject(files, file)) ?? {};
  const r = reader(file, files.origin, c);
  const doQueryExpansion = r.bool('do_query_expansion', true);
  const qp = r.str('query_prefix', '[Q] ');
  const dp = r.str('document_prefix', '[D] ');
  const sbert = transformerDir ? `${transformerDir}/sentence_bert_config.json` : 'sentence_bert_config.json';
  const sb = (await jsonObject(files, sbert)) ?? {};
  return {
    source: 'pylate',
    queryLength: r.int('query_length', 32, 4),
    documentLength: r.int('document_length', 180, 4),
    queryPrefix: qp === '' ? null : qp,
    documentPrefix: dp === '' ? null : dp,
    doQueryExpansion,
    attendToExpansionTokens: doQueryExpansion && r.bool('attend_to_expansion_tokens', false),
    skiplistWords: r.words('skiplist_words', PUNCTUATION),
    skiplistRule: 'token',
    strip: true,
    lowerCase: reader(sbert, files.origin, sb).bool('do_lower_case', false),
  };
}
