// Bad model folders through the whole loader: each ends in a clear error that names the file
// (and the fix where there is one), and nothing stays allocated on the GPU afterwards.

import { afterAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadModelFromFiles } from '../../src/embed/load.js';
import { mapFiles } from '../../src/io/sources.js';
import { loadModel } from '../../src/index.node.js';
import { expectLoadError, fixtureFiles } from '../util/fixture-files.js';
import { FIXTURES } from '../util/golden.js';
import { testGpu } from '../util/gpu.js';

/** Rewrites a safetensors header through `edit`, keeping its byte length (pads with spaces). */
function editHeader(bytes: Uint8Array, edit: (h: Record<string, { dtype: string }>) => void): Uint8Array {
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
  edit(header);
  const text = JSON.stringify(header);
  if (text.length > n) throw new Error('edited header grew');
  const out = new Uint8Array(bytes);
  out.set(new TextEncoder().encode(text.padEnd(n, ' ')), 8);
  return out;
}

describe('loadModel errors', () => {
  afterAll(async () => (await testGpu()).destroy());

  it('missing config.json / model.safetensors / tokenizer.json name the file', async () => {
    for (const file of ['config.json', 'model.safetensors', 'tokenizer.json']) {
      const f = fixtureFiles('bert-mean');
      delete f[file];
      await expectLoadError(f, new RegExp(file.replace('.', '\\.')));
    }
  });

  it('a missing folder is a clear error', async () => {
    await expect(loadModel(join(FIXTURES, 'no-such-model'))).rejects.toThrow(/no-such-model/);
  });

  it('truncated safetensors and out-of-range offsets are refused, naming the file', async () => {
    for (const bad of ['truncated.safetensors', 'bad_offsets.safetensors', 'huge_header.safetensors']) {
      const f = fixtureFiles('bert-mean');
      f['model.safetensors'] = new Uint8Array(readFileSync(join(FIXTURES, 'hostile', bad)));
      await expectLoadError(f, /model\.safetensors/);
    }
  });

  it('an unsupported dtype names the tensor and the supported ones; earlier uploads are freed', async () => {
    const f = fixtureFiles('bert-mean');
    f['model.safetensors'] = editHeader(f['model.safetensors'], (h) => {
      h['encoder.layer.1.output.dense.weight'].dtype = 'I32';
    });
    await expectLoadError(f, /unsupported dtype I32 .*encoder\.layer\.1\.output\.dense\.weight.*F32, F16, BF16/s);
  });

  it('a missing weight is an error naming the key', async () => {
    const f = fixtureFiles('bert-cls-f16');
    f['model.safetensors'] = editHeader(f['model.safetensors'], (h) => {
      h['bert.encoder.layer.2.output.LayerNorm.biax'] = h['bert.encoder.layer.2.output.LayerNorm.bias'];
      delete h['bert.encoder.layer.2.output.LayerNorm.bias'];
    });
    await expectLoadError(f, /missing weight "bert\.encoder\.layer\.2\.output\.LayerNorm\.bias"/);
  });

  it('ModernBERT, NomicBERT and Qwen3 checkpoints missing a weight name the key; nothing stays allocated', async () => {
    const cases: [string, string, string][] = [
      ['modernbert-tiny', 'layers.1.attn_norm.weight', 'layers.1.attn_norm.weigxt'],
      ['nomic-bert-tiny', 'encoder.layers.1.mlp.fc12.weight', 'encoder.layers.1.mlp.fc13.weight'],
      ['qwen3-embed-tiny', 'layers.1.self_attn.k_norm.weight', 'layers.1.self_attn.x_norm.weight'],
    ];
    for (const [name, key, renamed] of cases) {
      const f = fixtureFiles(name);
      f['model.safetensors'] = editHeader(f['model.safetensors'], (h) => {
        h[renamed] = h[key];
        delete h[key];
      });
      await expectLoadError(f, new RegExp(`missing weight "${key.replaceAll('.', '\\.')}"`));
    }
  });

  it('an unknown architecture lists what is supported', async () => {
    const f = fixtureFiles('bert-mean');
    f['config.json'] = new TextEncoder().encode(JSON.stringify({ ...JSON.parse(new TextDecoder().decode(f['config.json'])), model_type: 'gpt2', architectures: ['GPT2Model'] }));
    await expectLoadError(f, /gpt2.*(bert|BertModel).*(xlm-roberta|XLMRobertaModel)/s);
  });

  it('a head file whose pickle names a disallowed global is refused without running it', async () => {
    for (const evil of ['evil_system.pt', 'evil_eval.pt']) {
      const f = fixtureFiles('bge-m3-tiny');
      f['colbert_linear.pt'] = new Uint8Array(readFileSync(join(FIXTURES, 'hostile', evil)));
      await expectLoadError(f, /colbert_linear\.pt.*disallowed global/s);
    }
  });

  it("dtype 'f16' on an adapter without shader-f16, and a bad dtype, are clear errors", async () => {
    const gpu = await testGpu();
    await expect(loadModelFromFiles(mapFiles(fixtureFiles('bert-mean')), gpu, { dtype: 'f64' as 'f32' })).rejects.toThrow(/dtype must be 'f32' or 'f16'/);
    const noF16 = Object.create(gpu, { features: { value: { ...gpu.features, f16: false } } });
    await expect(loadModelFromFiles(mapFiles(fixtureFiles('bert-mean')), noF16, { dtype: 'f16' })).rejects.toThrow(/shader-f16/);
  });
});
