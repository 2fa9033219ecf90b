// Random-weight BERT checkpoints generated at bench time (never stored): a config.json, a
// model.safetensors built in memory, and the bert-mean fixture's WordPiece tokenizer with its
// max length raised, served through mapFiles. Also texts of an exact token count.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { mapFiles, type ModelFiles } from '../src/io/sources.js';

export interface BertShape {
  name: string;
  layers: number;
  hidden: number;
  heads: number;
  ffn: number;
  /** Position table size (default 512). */
  maxPos?: number;
}

export const MINILM_L6: BertShape = { name: 'MiniLM-L6', layers: 6, hidden: 384, heads: 12, ffn: 1536 };
export const BERT_BASE: BertShape = { name: 'BERT-base', layers: 12, hidden: 768, heads: 12, ffn: 3072 };
/**
 * BGE-M3's encoder (XLM-R large: 24 layers, 1024 wide, 16 heads, FFN 4096, 8192 tokens) as a
 * BERT with the fixture vocabulary: the same FLOPs per token; only the word table is smaller.
 */
export const BGE_M3_SHAPE: BertShape = { name: 'BGE-M3-shape', layers: 24, hidden: 1024, heads: 16, ffn: 4096, maxPos: 8192 };

const TOKENIZER_DIR = join(import.meta.dirname, '..', 'test', 'fixtures', 'bert-mean');
const MAX_POS = 512;

/** Deterministic pseudo-random f32 values in [-scale, scale). */
function fill(out: Float32Array, seed: number, scale: number): void {
  let a = seed >>> 0;
  for (let i = 0; i < out.length; i++) {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = ((((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1) * scale;
  }
}

function tensorList(s: BertShape, vocab: number): [string, number[]][] {
  const C = s.hidden, I = s.ffn;
  const list: [string, number[]][] = [
    ['embeddings.word_embeddings.weight', [vocab, C]],
    ['embeddings.position_embeddings.weight', [s.maxPos ?? MAX_POS, C]],
    ['embeddings.token_type_embeddings.weight', [2, C]],
    ['embeddings.LayerNorm.weight', [C]],
    ['embeddings.LayerNorm.bias', [C]],
  ];
  for (let l = 0; l < s.layers; l++) {
    const p = `encoder.layer.${l}`;
    for (const n of ['query', 'key', 'value']) list.push([`${p}.attention.self.${n}.weight`, [C, C]], [`${p}.attention.self.${n}.bias`, [C]]);
    list.push(
      [`${p}.attention.output.dense.weight`, [C, C]], [`${p}.attention.output.dense.bias`, [C]],
      [`${p}.attention.output.LayerNorm.weight`, [C]], [`${p}.attention.output.LayerNorm.bias`, [C]],
      [`${p}.intermediate.dense.weight`, [I, C]], [`${p}.intermediate.dense.bias`, [I]],
      [`${p}.output.dense.weight`, [C, I]], [`${p}.output.dense.bias`, [C]],
      [`${p}.output.LayerNorm.weight`, [C]], [`${p}.output.LayerNorm.bias`, [C]],
    );
  }
  return list;
}

/** A safetensors file (F32) with BERT-like random weights: LayerNorm gammas 1, betas 0, weights ~U(±1/√fan_in). */
function safetensors(s: BertShape, vocab: number): Uint8Array {
  const list = tensorList(s, vocab);
  const header: Record<string, unknown> = {};
  let off = 0;
  for (const [name, shape] of list) {
    const bytes = shape.reduce((a, b) => a * b, 1) * 4;
    header[name] = { dtype: 'F32', shape, data_offsets: [off, off + bytes] };
    off += bytes;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((json.length + 8) % 8)) % 8);
  const hbytes = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + hbytes.length + off);
  new DataView(out.buffer).setBigUint64(0, BigInt(hbytes.length), true);
  out.set(hbytes, 8);
  let pos = 8 + hbytes.length;
  list.forEach(([name, shape], k) => {
    const n = shape.reduce((a, b) => a * b, 1);
    const v = new Float32Array(out.buffer, pos, n);
    if (name.endsWith('LayerNorm.weight')) v.fill(1);
    else if (name.endsWith('LayerNorm.bias')) v.fill(0);
    else fill(v, 1000 + k, shape.length === 2 && !name.includes('embeddings') ? 1 / Math.sqrt(shape[1]) : 0.5);
    pos += n * 4;
  });
  return out;
}

/** ModelFiles for a random-weight BERT of shape `s`, max length s.maxPos (default 512). */
export function randomBertFiles(s: BertShape): ModelFiles {
  const tokenizer = readFileSync(join(TOKENIZER_DIR, 'tokenizer.json'));
  const vocab = Object.keys(JSON.parse(tokenizer.toString('utf8')).model.vocab).length;
  const maxPos = s.maxPos ?? MAX_POS;
  const tokConfig = { ...JSON.parse(readFileSync(join(TOKENIZER_DIR, 'tokenizer_config.json'), 'utf8')), model_max_length: maxPos };
  const config = {
    architectures: ['BertModel'], model_type: 'bert', hidden_act: 'gelu', hidden_size: s.hidden,
    intermediate_size: s.ffn, layer_norm_eps: 1e-12, max_position_embeddings: maxPos, num_attention_heads: s.heads,
    num_hidden_layers: s.layers, pad_token_id: 0, type_vocab_size: 2, vocab_size: vocab,
  };
  const enc = (x: unknown) => new TextEncoder().encode(JSON.stringify(x));
  return mapFiles(
    {
      'config.json': enc(config),
      'tokenizer.json': new Uint8Array(tokenizer),
      'tokenizer_config.json': enc(tokConfig),
      'model.safetensors': safetensors(s, vocab),
    },
    `random ${s.name}`,
  );
}

/** A text that the bert-mean tokenizer turns into exactly `tokens` ids ([CLS] + words + [SEP]). */
export function textOfTokens(tokens: number, seed: number): string {
  const words = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l', 'm', 'n', 'o', 'p'];
  return Array.from({ length: tokens - 2 }, (_, i) => words[(seed * 5 + i * 3) % words.length]).join(' ');
}

/** Matmul FLOPs of one forward over `lens` sequences (projections and FFN, plus Q·Kᵀ and P·V). */
export function forwardFlops(s: BertShape, lens: number[]): { matmul: number; attention: number } {
  const N = lens.reduce((a, b) => a + b, 0);
  const C = s.hidden;
  const matmul = s.layers * 2 * N * (3 * C * C + C * C + 2 * C * s.ffn);
  const attention = s.layers * 4 * C * lens.reduce((a, T) => a + T * T, 0);
  return { matmul, attention };
}
