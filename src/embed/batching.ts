// Packing texts into forwards: sequences are sorted by length for locality, grouped under a
// token budget, and laid back to back (no padding). Each batch remembers which inputs it
// holds, so results go back in input order.

/** One forward's worth of sequences, packed. */
export interface PackedBatch {
  /** Input indices of the sequences, in packed order. */
  order: number[];
  /** Token count of each sequence, in packed order. */
  lens: number[];
  /** u32 (N): token ids, back to back. */
  ids: Uint32Array;
  /** u32 (N): position ids. */
  posIds: Uint32Array;
  /** u32 (N): token type ids (0 unless the input gave a second segment). */
  typeIds: Uint32Array;
  /** u32 (B, 2): start, len of each sequence. */
  seqs: Uint32Array;
  N: number;
  B: number;
  maxLen: number;
}

/**
 * Splits `tokenIds` into packed batches of at most `tokenBudget` tokens (a single sequence longer
 * than the budget gets a batch of its own) and at most `maxSeqs` sequences. `typeIds[i]`, when
 * given, holds sequence i's token type ids (same length as its token ids).
 */
export function packBatches(
  tokenIds: number[][],
  tokenBudget: number,
  positionIds: (T: number) => number[],
  maxSeqs = 4096,
  typeIds?: (number[] | undefined)[],
): PackedBatch[] {
  const order = tokenIds.map((_, i) => i).sort((a, b) => tokenIds[b].length - tokenIds[a].length || a - b);
  const groups: number[][] = [];
  let cur: number[] = [];
  let tokens = 0;
  for (const i of order) {
    const T = tokenIds[i].length;
    if (cur.length > 0 && (tokens + T > tokenBudget || cur.length >= maxSeqs)) {
      groups.push(cur);
      cur = [];
      tokens = 0;
    }
    cur.push(i);
    tokens += T;
  }
  if (cur.length > 0) groups.push(cur);
  return groups.map((g) => pack(g, tokenIds, positionIds, typeIds));
}

function pack(group: number[], tokenIds: number[][], positionIds: (T: number) => number[], typeIds?: (number[] | undefined)[]): PackedBatch {
  const lens = group.map((i) => tokenIds[i].length);
  const N = lens.reduce((a, b) => a + b, 0);
  const ids = new Uint32Array(N);
  const posIds = new Uint32Array(N);
  const types = new Uint32Array(N);
  const seqs = new Uint32Array(group.length * 2);
  let start = 0;
  group.forEach((i, b) => {
    ids.set(tokenIds[i], start);
    posIds.set(positionIds(lens[b]), start);
    const t = typeIds?.[i];
    if (t) types.set(t, start);
    seqs[2 * b] = start;
    seqs[2 * b + 1] = lens[b];
    start += lens[b];
  });
  return { order: group, lens, ids, posIds, typeIds: types, seqs, N, B: group.length, maxLen: Math.max(...lens) };
}
