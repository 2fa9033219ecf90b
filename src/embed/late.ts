// ColBERT / PyLate query and document inputs, built the way the reference libraries build them:
//   stanford-futuredata/ColBERT colbert/modeling/tokenization/query_tokenization.py (tensorize,
//   lines 52-93), doc_tokenization.py (tensorize, 48-55), colbert/modeling/colbert.py (skiplist
//   26-29, query 85-93, doc 95-115, mask 124-126);
//   lightonai/pylate pylate/models/colbert.py (prefix and pad ids 378-423, skiplist 441-452,
//   tokenize 1086-1144, encode masks 722-752) over sentence-transformers' Transformer.tokenize
//   (strip, lower case, truncation='longest_first').
// Query:    [CLS] marker text [SEP] [MASK]… — the text cut to fit, then padded with the mask token
//           to the query length (query expansion). The expansion tokens are keys only when the
//           model attends to them; every query position yields a vector.
// Document: [CLS] marker text [SEP] — the text cut to fit, no padding; vectors of skiplisted
//           tokens (punctuation) are dropped after the forward pass.

import { ModelFileError } from '../io/errors.js';
import { truncateLongestFirst } from '../io/templates.js';
import type { EncoderTokenizer } from '../io/tokenizer.js';
import type { LateSettings } from '../models/late-config.js';

export type EncodeKind = 'query' | 'document';

/** One text ready for the encoder: ids, how many leading tokens are keys, which rows give vectors. */
export interface LateInput {
  ids: number[];
  /** Attended (key) tokens: a prefix of ids; the rest are unattended expansion tokens. */
  keyLen: number;
  /** Rows whose vectors are returned (documents: not skiplisted). */
  keep: boolean[];
  /** Rows that are query expansion tokens. */
  expansion: boolean[];
}

export interface LateTokenizer {
  readonly settings: LateSettings;
  readonly queryPrefixId: number | null;
  readonly documentPrefixId: number | null;
  /** The expansion (padding) token of queries. */
  readonly maskId: number | null;
  readonly skiplist: ReadonlySet<number>;
  encode(text: string, kind: EncodeKind): LateInput;
}

/**
 * Resolves the settings' tokens against the tokenizer. `maxTokens` is how many positions the
 * encoder has; query and document lengths must fit in it.
 */
export function lateTokenizer(s: LateSettings, tok: EncoderTokenizer, maxTokens: number, origin: string): LateTokenizer {
  const file = s.source === 'colbert' ? 'artifact.metadata' : 'config_sentence_transformers.json';
  const fail = (why: string): never => {
    throw new ModelFileError(`${file} in ${origin}: ${why}`, file);
  };
  const prefixId = (p: string | null, what: string): number | null => {
    if (p === null) return null;
    const id = tok.tokenId(p);
    // PyLate would add a missing prefix to the vocabulary with a new, untrained embedding row;
    // Stanford ColBERT would get the unknown-token id. Neither is a trained model.
    if (id === null) fail(`the ${what} marker ${JSON.stringify(p)} is not a token of tokenizer.json; the model was not trained with it`);
    return id;
  };
  const queryPrefixId = prefixId(s.queryPrefix, 'query');
  const documentPrefixId = prefixId(s.documentPrefix, 'document');
  // ColBERT: the tokenizer's [MASK]. PyLate: the mask token, else EOS, else the pad token.
  const sp = tok.specialIds;
  const maskId = s.source === 'colbert' ? sp.mask : (sp.mask ?? sp.eos ?? sp.pad);
  if (s.doQueryExpansion && maskId === null) fail('query expansion needs a mask token (tokenizer_config.json mask_token), and the tokenizer has none');

  const skiplist = new Set<number>();
  for (const w of s.skiplistWords) {
    // ColBERT: raw_tokenizer.encode(symbol, add_special_tokens=False)[0]; PyLate:
    // convert_tokens_to_ids(word), which is the unknown-token id for a word not in the vocabulary.
    const id = s.skiplistRule === 'first-piece' ? (tok.encodePieces(w)[0] ?? null) : (tok.tokenId(w) ?? sp.unk);
    if (id !== null) skiplist.add(id);
  }

  const t = tok.template;
  const room = (length: number, prefix: number | null) => length - (prefix === null ? 0 : 1) - t.addedSingle;
  for (const [what, length, prefix] of [['query', s.queryLength, queryPrefixId], ['document', s.documentLength, documentPrefixId]] as const) {
    if (length > maxTokens) fail(`the ${what} length ${length} is more than the encoder's ${maxTokens} positions`);
    if (room(length, prefix) < 0) fail(`the ${what} length ${length} leaves no room for the special tokens`);
  }

  return {
    settings: s,
    queryPrefixId,
    documentPrefixId,
    maskId,
    skiplist,
    encode(text: string, kind: EncodeKind): LateInput {
      let x = s.strip ? text.trim() : text;
      if (s.lowerCase) x = x.toLowerCase();
      const query = kind === 'query';
      const length = query ? s.queryLength : s.documentLength;
      const prefix = query ? queryPrefixId : documentPrefixId;
      // The tokenizer is called with max_length = length - 1 (one place kept for the marker),
      // truncation before its special tokens are added.
      const [content] = truncateLongestFirst(tok.encodePieces(x), null, room(length, prefix));
      let ids = t.single(content).ids;
      let keyLen = ids.length;
      if (query && s.doQueryExpansion) {
        // padding='max_length' to length - 1 with the mask id (ColBERT pads with [PAD] and then
        // turns every pad id into [MASK]; PyLate makes [MASK] the pad token), attention 0 there.
        const width = length - (prefix === null ? 0 : 1);
        ids = ids.concat(new Array<number>(Math.max(0, width - ids.length)).fill(maskId!));
      }
      if (prefix !== null) {
        ids = [ids[0], prefix, ...ids.slice(1)]; // _insert_prefix_token: after the first token
        keyLen += 1;
      }
      const expansion = ids.map((_, i) => i >= keyLen);
      if (query && s.attendToExpansionTokens) keyLen = ids.length;
      // Queries keep every vector (expansion included); documents drop the skiplist, and
      // Stanford ColBERT also every pad id (ColBERT.mask: x not in skiplist and x != pad).
      const pad = s.source === 'colbert' ? sp.pad : null;
      const keep = ids.map((id) => query || (!skiplist.has(id) && id !== pad));
      return { ids, keyLen, keep, expansion };
    },
  };
}
