// Full-size confidence: a BGE-M3-shaped random XLM-R checkpoint built at test time whose f32 word
// table (250,002 × 136 = 136,001,088 bytes) is larger than one 128 MiB storage binding, loaded with
// the normal loadModel on the real device limits (no wrapper), so the WeightStore splits the table
// into row chunks. Token ids on both sides of every chunk boundary, the first and last rows and
// random rows of every chunk, in sequences of different lengths packed into one forward; hidden
// states, dense, per-token (colbert) and sparse outputs against a float64 reference forward
// (test/util/encoder-reference.ts). The same checkpoint with f16 tables by row cosine.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadModel, type EncodeResult, type HiddenStates } from '../../src/index.node.js';
import { expectClose, expectRowCosine } from '../util/compare.js';
import { bgeM3Reference, type ReferenceOutputs } from '../util/encoder-reference.js';
import { rng } from '../util/random.js';
import { RandomXlmr } from '../util/random-xlmr.js';

const SHAPE = { vocab: 250_002, hidden: 136, layers: 2, heads: 8, ffn: 272, maxPositions: 8194 };
const C = SHAPE.hidden;
const WORD_TABLE_BYTES = SHAPE.vocab * C * 4; // 136,001,088 > 134,217,728 = 128 MiB
/** XLM-R positions start at padding_idx + 1 = 2. */
const POSITION_OFFSET = 2;
/** <s>, <pad>, </s>, <unk> of the copied bge-m3-tiny tokenizer: what lexical weights drop. */
const SPECIAL = { cls: 0, pad: 1, eos: 2, unk: 3 };

/** Row ranges of a chunked weight, from the loader's debug line "weight NAME [..] f32 in K row chunks (rows a..b, ...)". */
function chunkRows(log: string[], name: string): [number, number][] {
  const line = log.find((m) => m.startsWith(`weight ${name} `));
  if (!line) return [];
  return [...line.matchAll(/rows (\d+)\.\.(\d+)/g)].map((m) => [Number(m[1]), Number(m[2])]);
}

/**
 * Sequences as BGE-M3 sees them (<s> … </s>), of lengths 2 to 150, with ids from every part of the
 * table: 0 (every <s>), 5, both sides of lavapipe's chunk boundary (246722 | 246723), the last row
 * 250001, <unk> (dropped from lexical weights), repeated ids (lexical weights keep the max) and
 * random ids, half of them from the table's tail. No <pad> inside a sequence: Hugging Face does not
 * count pad tokens in XLM-R positions, and ids are run as given.
 */
function sequences(extra: number[]): number[][] {
  const r = rng(20261201);
  const id = (tail: boolean) => {
    for (;;) {
      const x = tail ? 240_000 + Math.floor(r() * (SHAPE.vocab - 240_000)) : Math.floor(r() * SHAPE.vocab);
      if (x !== SPECIAL.pad) return x;
    }
  };
  const random = (n: number) => Array.from({ length: n }, (_, i) => id(i % 2 === 1));
  const seq = (body: number[]) => [SPECIAL.cls, ...body, SPECIAL.eos];
  return [
    seq([]),
    seq([5, 246_722, 246_723, 250_001, SPECIAL.unk]),
    seq(random(31)),
    seq([246_723, ...random(20), 246_723, 250_001, ...random(20), 250_001, 246_722, ...random(17), 246_722]),
    seq(random(148)),
    seq(extra),
  ];
}

/** Engine lexical weights against the reference's as one vector over the union of ids (absent = 0). */
function lexicalVectors(got: Record<string, number>, want: Map<number, number>): { got: number[]; want: number[]; ids: number[] } {
  const ids = [...new Set([...Object.keys(got).map(Number), ...want.keys()])].sort((a, b) => a - b);
  return { ids, got: ids.map((i) => got[String(i)] ?? 0), want: ids.map((i) => want.get(i) ?? 0) };
}

describe('full-size XLM-R word table (250,002 × 136, larger than one storage binding)', () => {
  let dir = '';
  const weights = new RandomXlmr(SHAPE, 7);
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'webgpu-embed-fullsize-'));
    weights.write(dir);
  });
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  let seqs: number[][] = [];
  let refs: ReferenceOutputs[] = [];
  const reference = (s: number[][]) => s.map((ids) => bgeM3Reference(weights, ids, POSITION_OFFSET, [SPECIAL.cls, SPECIAL.eos, SPECIAL.pad, SPECIAL.unk]));

  async function run(dtype: 'f32' | 'f16', extra: (log: string[]) => number[]): Promise<{ hs: HiddenStates[]; out: EncodeResult }> {
    const log: string[] = [];
    const model = await loadModel(dir, { dtype, log: (m) => log.push(m) });
    try {
      // The ids FlagEmbedding drops from lexical weights (cls, eos, pad, unk); mask is BGE-M3's <mask>.
      expect(model.tokenizer.specialIds).toMatchObject({ cls: SPECIAL.cls, eos: SPECIAL.eos, pad: SPECIAL.pad, unk: SPECIAL.unk });
      seqs = sequences(extra(log));
      refs = reference(seqs);
      const hs = await model.hiddenStates(seqs);
      const out = await model.encode(seqs, { dense: true, sparse: true, tokens: true });
      expect(out.tokenCounts).toEqual(seqs.map((s) => s.length));
      return { hs, out };
    } finally {
      model.dispose();
    }
  }

  it('f32: the table is split into row chunks; hidden, dense, colbert and sparse match float64', async () => {
    let chunks: [number, number][] = [];
    const { hs, out } = await run('f32', (log) => {
      chunks = chunkRows(log, 'embeddings.word_embeddings.weight');
      // Every chunk's first and last row, so both sides of every boundary are gathered.
      return chunks.flat();
    });
    // The point of this test: fail loudly if a future adapter binds the whole table at once.
    expect(
      chunks.length,
      `the ${WORD_TABLE_BYTES}-byte word table was not split into row chunks (no "weight embeddings.word_embeddings.weight … row chunks" ` +
        `debug line); if this adapter binds it whole, this test no longer covers multi-chunk gathers: grow SHAPE.hidden past its binding`,
    ).toBeGreaterThanOrEqual(2);
    expect(chunks[0][0]).toBe(0);
    expect(chunks.at(-1)![1]).toBe(SHAPE.vocab - 1);
    chunks.forEach(([a], k) => k > 0 && expect(a).toBe(chunks[k - 1][1] + 1));
    const used = new Set(seqs.flat());
    for (const [a, b] of chunks) {
      expect(used.has(a) && used.has(b), `ids ${a} and ${b} (chunk ends) are used`).toBe(true);
      expect(seqs.flat().filter((x) => x > a && x < b).length, `random ids inside chunk ${a}..${b}`).toBeGreaterThan(3);
    }

    seqs.forEach((ids, i) => {
      const ref = refs[i];
      const T = ids.length;
      // Hidden states are LayerNorm outputs of O(1) (max ~4); a 2-layer f32 forward keeps ~1e-6 of
      // the largest value. 1e-4 relative to the largest, as the fixture README and golden tests.
      expect(hs[i].shape).toEqual([T, C]);
      expectClose(hs[i].data, ref.hidden, { rtolMax: 1e-4, shape: [T, C], label: `hidden ${i}` });
      // Normalized f32 vectors (entries ≤ 1): 2e-5 absolute, as the golden tests.
      expectClose(out.dense![i], ref.dense, { atol: 2e-5, label: `dense ${i}` });
      const tok = out.tokens![i];
      expect(tok.shape).toEqual([T - 1, C]);
      expect([...tok.tokenIds]).toEqual(ids.slice(1));
      expectClose(tok.data, ref.colbert, { atol: 2e-5, shape: [T - 1, C], label: `colbert ${i}` });
      expectRowCosine(tok.data, ref.colbert, C, 0.99999, `colbert ${i}`);
      // Lexical weights are relu(w·h) of O(1) (max ~2); 1e-5 absolute covers f32 rounding of a
      // 136-term dot of O(1) terms with margin. Ids present on one side only must weigh < 1e-5.
      const lex = lexicalVectors(out.sparse![i], ref.lexical);
      expectClose(lex.got, lex.want, { atol: 1e-5, label: `lexical weights ${i} (ids ${lex.ids.join(',')})` });
      for (const s of Object.values(SPECIAL)) expect(out.sparse![i][String(s)]).toBeUndefined();
    });
    expect(refs.some((r) => r.lexical.size > 20)).toBe(true); // the sparse check is not vacuous
  });

  it('f16 tables: every hidden, dense, colbert row and lexical-weight vector has cosine ≥ 0.999', async () => {
    // f16 weights round each weight by ≤ 2⁻¹¹ relative (~5e-4); through 2 layers that leaves ~1e-3
    // relative error per element, cosine ≥ 0.9999 in practice: 0.999 is the f16 golden tests' bound.
    // The f16 table (68 MB) fits one binding on lavapipe, so this run checks f16 storage of the
    // full-size table, not an f16 multi-chunk gather (test/kernels/embeddings.test.ts covers that).
    const { hs, out } = await run('f16', () => [0, 246_722, 246_723, 250_001]);
    seqs.forEach((_, i) => {
      const ref = refs[i];
      expectRowCosine(hs[i].data, ref.hidden, C, 0.999, `f16 hidden ${i}`);
      expectRowCosine(out.dense![i], ref.dense, C, 0.999, `f16 dense ${i}`);
      expectRowCosine(out.tokens![i].data, ref.colbert, C, 0.999, `f16 colbert ${i}`);
      const lex = lexicalVectors(out.sparse![i], ref.lexical);
      if (lex.ids.length) expectRowCosine(lex.got, lex.want, lex.ids.length, 0.999, `f16 lexical weights ${i}`);
    });
  });
});
