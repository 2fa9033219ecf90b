// The peer comparison's model folder: the bench's random-weight BERT (bench/random-model.ts) written
// to disk as one Hugging Face folder both engines load — config.json, tokenizer files,
// model.safetensors and a sentence-transformers mean-pooling + Normalize pipeline (what MiniLM
// embedders use) for this engine, and onnx/model.onnx with the same weights for transformers.js.

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBertFiles, type BertShape } from '../random-model.js';
import { bertOnnx, parseSafetensors } from './bert-onnx.js';
import { writeModel } from './onnx-proto.js';

export interface PeerFolder {
  dir: string;
  /** Removes the folder. */
  remove(): void;
}

/** Writes the folder under a fresh temporary directory. */
export async function writePeerFolder(s: BertShape): Promise<PeerFolder> {
  const files = randomBertFiles(s);
  const dir = mkdtempSync(join(tmpdir(), `webgpu-embed-peers-${s.name}-`));
  try {
    for (const name of ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'model.safetensors']) {
      writeFileSync(join(dir, name), await files.read(name));
    }
    const json = (name: string, v: unknown) => writeFileSync(join(dir, name), JSON.stringify(v, null, 2));
    json('modules.json', [
      { idx: 0, name: '0', path: '', type: 'sentence_transformers.models.Transformer' },
      { idx: 1, name: '1', path: '1_Pooling', type: 'sentence_transformers.models.Pooling' },
      { idx: 2, name: '2', path: '2_Normalize', type: 'sentence_transformers.models.Normalize' },
    ]);
    mkdirSync(join(dir, '1_Pooling'));
    json('1_Pooling/config.json', { word_embedding_dimension: s.hidden, pooling_mode_mean_tokens: true });
    const config = (await files.json(`config.json`)) as { layer_norm_eps: number };
    const weights = parseSafetensors(await files.read('model.safetensors'));
    mkdirSync(join(dir, 'onnx'));
    writeModel(join(dir, 'onnx', 'model.onnx'), bertOnnx(weights, { layers: s.layers, hidden: s.hidden, heads: s.heads, eps: config.layer_norm_eps }));
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
