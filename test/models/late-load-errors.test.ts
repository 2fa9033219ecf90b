// Bad late-interaction and cross-encoder folders through the whole loader (each a clear error
// naming the file, nothing left on the GPU), and the calls a model of the wrong kind refuses.

import { afterAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { loadModel } from '../../src/index.node.js';
import { expectLoadError, fixtureFiles } from '../util/fixture-files.js';
import { FIXTURES } from '../util/golden.js';
import { testGpu } from '../util/gpu.js';

const json = (bytes: Uint8Array) => JSON.parse(new TextDecoder().decode(bytes));
const enc = (x: unknown) => new TextEncoder().encode(JSON.stringify(x));

/** Renames one safetensors key in place (same length), so the checkpoint lacks the original. */
function renameKey(bytes: Uint8Array, from: string, to: string): Uint8Array {
  if (from.length !== to.length) throw new Error('renameKey keeps the header length');
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  const text = new TextDecoder().decode(bytes.subarray(8, 8 + n)).replace(`"${from}"`, `"${to}"`);
  const out = new Uint8Array(bytes);
  out.set(new TextEncoder().encode(text), 8);
  return out;
}

describe('late-interaction and cross-encoder load errors', () => {
  afterAll(async () => (await testGpu()).destroy());

  it('a PyLate prefix the tokenizer lacks (PyLate would add an untrained row)', async () => {
    const f = fixtureFiles('pylate-tiny');
    f['config_sentence_transformers.json'] = enc({ ...json(f['config_sentence_transformers.json']), query_prefix: '[QQ] ' });
    await expectLoadError(f, /config_sentence_transformers\.json in test-folder: the query marker "\[QQ\] " is not a token of tokenizer\.json/);
  });

  it('a query length over the encoder positions', async () => {
    const f = fixtureFiles('colbertv2-tiny');
    f['artifact.metadata'] = enc({ ...json(f['artifact.metadata']), query_maxlen: 4096 });
    await expectLoadError(f, /artifact\.metadata in test-folder: the query length 4096 is more than the encoder's 128 positions/);
  });

  it('an HF_ColBERT checkpoint without its linear.weight', async () => {
    const f = fixtureFiles('colbertv2-tiny');
    f['model.safetensors'] = renameKey(f['model.safetensors'], 'linear.weight', 'linear.weighx');
    await expectLoadError(f, /missing weight "linear\.weight"/);
  });

  it('a classifier whose outputs disagree with num_labels', async () => {
    const f = fixtureFiles('cross-encoder-bert-tiny');
    const cfg = json(f['config.json']);
    f['config.json'] = enc({ ...cfg, id2label: { 0: 'a', 1: 'b' }, label2id: { a: 0, b: 1 } });
    await expectLoadError(f, /the classifier has 1 outputs but config\.json says 2 labels/);
  });

  it('calls of the wrong kind are refused with the call that fits', async () => {
    const ce = await loadModel(join(FIXTURES, 'cross-encoder-xlmr-tiny'));
    const emb = await loadModel(join(FIXTURES, 'bert-mean'));
    const col = await loadModel(join(FIXTURES, 'colbertv2-tiny'));
    try {
      await expect(ce.encode(['a'], { tokens: true })).rejects.toThrow(/cross-encoder .*use score or rerank/);
      await expect(emb.score('q', ['d'])).rejects.toThrow(/score\(\) needs a cross-encoder/);
      await expect(ce.score('q', ['d'], { activation: 'softmax' as 'sigmoid' })).rejects.toThrow(/activation must be 'sigmoid' or 'none'/);
      await expect(col.embedTokens(['a'], { kind: 'passage' as 'query' })).rejects.toThrow(/kind must be 'query' or 'document'/);
      // BGE-M3 / plain models encode both kinds alike.
      const [a] = await emb.embedTokens(['hello world'], { kind: 'query' });
      const [b] = await emb.embedTokens(['hello world'], { kind: 'document' });
      expect(a.data).toEqual(b.data);
      expect(a.expansion).toBeUndefined();
    } finally {
      for (const m of [ce, emb, col]) m.dispose();
    }
  });
});
