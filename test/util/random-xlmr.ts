// Random-weight XLM-RoBERTa checkpoints laid out like BAAI/bge-m3, written to a folder at test time
// (nothing large is committed): config.json (XLMRobertaModel), model.safetensors (F32),
// colbert_linear.pt / sparse_linear.pt (torch.save zips), modules.json + 1_Pooling (CLS) +
// Normalize, and the bge-m3-tiny fixture's tokenizer files (its vocabulary does not matter: tests
// feed token ids). Weights are deterministic: every tensor comes from a seeded mulberry32 stream,
// and each word-table row from its own stream, so `wordRow(id)` regenerates any row without the
// table ever being held in memory (it is streamed to disk in blocks).

import { closeSync, copyFileSync, mkdirSync, openSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { torchSave } from './torch-writer.js';

export interface XlmrShape {
  vocab: number;
  hidden: number;
  layers: number;
  heads: number;
  ffn: number;
  maxPositions: number;
}

/** Uniform values in [-scale, scale) from a mulberry32 stream seeded with `seed`. */
function fill(out: Float32Array, seed: number, scale: number, offset = 0): Float32Array {
  let a = seed >>> 0;
  for (let i = 0; i < out.length; i++) {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = offset + ((((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1) * scale;
  }
  return out;
}

const TOKENIZER_DIR = join(import.meta.dirname, '..', 'fixtures', 'bge-m3-tiny');
const WORD = 'embeddings.word_embeddings.weight';
/** Word-table rows generated and written per block (~9 MB at hidden 136). */
const BLOCK_ROWS = 16384;

/**
 * The weights of one random BGE-M3-shaped checkpoint. Every tensor but the word table is kept in
 * memory (a few MB); `tensor(key)` returns it, `wordRow(id)` regenerates one word-table row.
 */
export class RandomXlmr {
  readonly eps = 1e-5;
  readonly padId = 1;
  private small = new Map<string, { data: Float32Array; shape: number[] }>();
  /** colbert_linear (C → C) and sparse_linear (C → 1), as torch.nn.Linear state dicts. */
  readonly colbert: { weight: Float32Array; bias: Float32Array };
  readonly sparse: { weight: Float32Array; bias: Float32Array };

  constructor(
    readonly shape: XlmrShape,
    readonly seed = 1,
  ) {
    const { hidden: C, ffn: I, layers } = shape;
    let k = 0;
    const t = (key: string, shape: number[], scale: number, offset = 0) =>
      this.small.set(key, { data: fill(new Float32Array(shape.reduce((a, b) => a * b, 1)), seed * 7919 + ++k, scale, offset), shape });
    // Magnitudes like a trained encoder's: embeddings ~0.5, LayerNorm gamma 1 ± 0.2 and beta ± 0.2
    // (so both are exercised), Linear weights U(±1/√fan_in) as torch initialises them, q/k doubled
    // so attention is not nearly uniform, biases ± 0.1.
    t('embeddings.position_embeddings.weight', [shape.maxPositions, C], 0.5);
    t('embeddings.token_type_embeddings.weight', [1, C], 0.5);
    t('embeddings.LayerNorm.weight', [C], 0.2, 1);
    t('embeddings.LayerNorm.bias', [C], 0.2);
    for (let l = 0; l < layers; l++) {
      const p = `encoder.layer.${l}`;
      for (const n of ['query', 'key', 'value']) {
        t(`${p}.attention.self.${n}.weight`, [C, C], (n === 'value' ? 1 : 2) / Math.sqrt(C));
        t(`${p}.attention.self.${n}.bias`, [C], 0.1);
      }
      t(`${p}.attention.output.dense.weight`, [C, C], 1 / Math.sqrt(C));
      t(`${p}.attention.output.dense.bias`, [C], 0.1);
      t(`${p}.attention.output.LayerNorm.weight`, [C], 0.2, 1);
      t(`${p}.attention.output.LayerNorm.bias`, [C], 0.2);
      t(`${p}.intermediate.dense.weight`, [I, C], 1 / Math.sqrt(C));
      t(`${p}.intermediate.dense.bias`, [I], 0.1);
      t(`${p}.output.dense.weight`, [C, I], 1 / Math.sqrt(I));
      t(`${p}.output.dense.bias`, [C], 0.1);
      t(`${p}.output.LayerNorm.weight`, [C], 0.2, 1);
      t(`${p}.output.LayerNorm.bias`, [C], 0.2);
    }
    this.colbert = { weight: fill(new Float32Array(C * C), seed * 7919 + ++k, 1 / Math.sqrt(C)), bias: fill(new Float32Array(C), seed * 7919 + ++k, 0.1) };
    // Bias 0: about half the tokens get a positive lexical weight, half are dropped by the relu.
    this.sparse = { weight: fill(new Float32Array(C), seed * 7919 + ++k, 1 / Math.sqrt(C)), bias: new Float32Array(1) };
  }

  /** A tensor other than the word table, row-major (shapes as in the checkpoint). */
  tensor(key: string): Float32Array {
    const t = this.small.get(key);
    if (!t) throw new Error(`RandomXlmr has no tensor "${key}"`);
    return t.data;
  }

  /** Row `id` of the word table (C floats), the same values the checkpoint holds. */
  wordRow(id: number, out = new Float32Array(this.shape.hidden)): Float32Array {
    return fill(out, (Math.imul(id + 1, 0x9e3779b1) ^ Math.imul(this.seed, 0x85ebca6b)) >>> 0, 0.5);
  }

  /** Writes the checkpoint into `dir` (which must exist); returns the model.safetensors size in bytes. */
  write(dir: string): number {
    const { vocab, hidden: C, ffn, layers, heads, maxPositions } = this.shape;
    const enc = (x: unknown) => JSON.stringify(x, null, 2);
    writeFileSync(join(dir, 'config.json'), enc({
      architectures: ['XLMRobertaModel'], model_type: 'xlm-roberta', hidden_act: 'gelu', hidden_size: C,
      intermediate_size: ffn, layer_norm_eps: this.eps, max_position_embeddings: maxPositions,
      num_attention_heads: heads, num_hidden_layers: layers, pad_token_id: this.padId, bos_token_id: 0,
      eos_token_id: 2, position_embedding_type: 'absolute', type_vocab_size: 1, vocab_size: vocab, torch_dtype: 'float32',
    }));
    writeFileSync(join(dir, 'modules.json'), enc([
      { idx: 0, name: '0', path: '', type: 'sentence_transformers.models.Transformer' },
      { idx: 1, name: '1', path: '1_Pooling', type: 'sentence_transformers.models.Pooling' },
      { idx: 2, name: '2', path: '2_Normalize', type: 'sentence_transformers.models.Normalize' },
    ]));
    mkdirSync(join(dir, '1_Pooling'), { recursive: true });
    writeFileSync(join(dir, '1_Pooling', 'config.json'), enc({ word_embedding_dimension: C, pooling_mode_cls_token: true, pooling_mode_mean_tokens: false }));
    for (const f of ['tokenizer.json', 'special_tokens_map.json']) copyFileSync(join(TOKENIZER_DIR, f), join(dir, f));
    // The fixture's tokenizer_config with BGE-M3's 8192-token length (capped by the positions).
    const tokConfig = JSON.parse(readFileSync(join(TOKENIZER_DIR, 'tokenizer_config.json'), 'utf8'));
    writeFileSync(join(dir, 'tokenizer_config.json'), enc({ ...tokConfig, model_max_length: 8192 }));
    writeFileSync(join(dir, 'colbert_linear.pt'), torchSave({ weight: { data: this.colbert.weight, shape: [C, C] }, bias: { data: this.colbert.bias, shape: [C] } }, 'colbert_linear'));
    writeFileSync(join(dir, 'sparse_linear.pt'), torchSave({ weight: { data: this.sparse.weight, shape: [1, C] }, bias: { data: this.sparse.bias, shape: [1] } }, 'sparse_linear'));
    return this.writeSafetensors(join(dir, 'model.safetensors'));
  }

  /** model.safetensors (F32): the word table first, streamed in blocks, then every other tensor. */
  private writeSafetensors(path: string): number {
    const { vocab, hidden: C } = this.shape;
    const shapes = new Map<string, number[]>([[WORD, [vocab, C]], ...[...this.small].map(([k, t]) => [k, t.shape] as [string, number[]])]);
    const header: Record<string, unknown> = { __metadata__: { format: 'pt' } };
    let off = 0;
    for (const [key, shape] of shapes) {
      const bytes = shape.reduce((a, b) => a * b, 1) * 4;
      header[key] = { dtype: 'F32', shape, data_offsets: [off, off + bytes] };
      off += bytes;
    }
    let json = JSON.stringify(header);
    json += ' '.repeat((8 - ((json.length + 8) % 8)) % 8);
    const head = new Uint8Array(8 + json.length);
    new DataView(head.buffer).setBigUint64(0, BigInt(json.length), true);
    head.set(new TextEncoder().encode(json), 8);
    const fd = openSync(path, 'w');
    try {
      writeSync(fd, head);
      const block = new Float32Array(BLOCK_ROWS * C);
      for (let r0 = 0; r0 < vocab; r0 += BLOCK_ROWS) {
        const n = Math.min(BLOCK_ROWS, vocab - r0);
        for (let r = 0; r < n; r++) this.wordRow(r0 + r, block.subarray(r * C, (r + 1) * C));
        writeSync(fd, new Uint8Array(block.buffer, 0, n * C * 4));
      }
      for (const { data } of this.small.values()) writeSync(fd, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    } finally {
      closeSync(fd);
    }
    return head.length + off;
  }
}
