// What sits on top of the encoder: sentence-transformers Dense layers (2_Dense), BGE-M3's
// multi-vector (colbert_linear.pt) and sparse (sparse_linear.pt) heads, Stanford ColBERT's
// `linear` projection and the cross-encoders' sequence-classification heads. Loading only; the
// forward recording lives in embed/forward.ts.

import type { Gpu } from '../gpu/device.js';
import { ModelFileError } from '../io/errors.js';
import { f32ArrayToF16Bits } from '../io/half.js';
import { readSafetensorsHeader } from '../io/safetensors.js';
import type { ModelFiles } from '../io/sources.js';
import { readTorchStateDict, type TorchTensor } from '../io/torch-zip.js';
import type { DenseLayer } from './pipeline.js';
import { loadLinear, type Linear } from './layers.js';
import { WeightStore, type GpuWeight, type WeightDtype } from './weights.js';

export interface DenseHead {
  linear: Linear;
  activation: 'none' | 'tanh';
}

function hostWeight(gpu: Gpu, name: string, t: TorchTensor, dtype: WeightDtype, owned: GPUBuffer[]): GpuWeight {
  const buffer = gpu.storageFrom(name, dtype === 'f16' ? f32ArrayToF16Bits(t.data) : t.data);
  owned.push(buffer);
  return { name, shape: t.shape, dtype, chunks: [{ buffer, rowStart: 0, rowCount: t.shape[0] ?? 1 }] };
}

/** A Linear from a torch state dict with keys `weight` (out, in) and `bias` (out). */
function linearFromState(gpu: Gpu, file: string, sd: Map<string, TorchTensor>, inF: number, dtype: WeightDtype, owned: GPUBuffer[]): Linear {
  const w = sd.get('weight');
  if (!w || w.shape.length !== 2 || w.shape[1] !== inF) {
    throw new ModelFileError(`expected a "weight" of shape [out, ${inF}], got ${w ? `[${w.shape}]` : 'none'}`, file);
  }
  const b = sd.get('bias');
  if (b && (b.shape.length !== 1 || b.shape[0] !== w.shape[0])) throw new ModelFileError(`"bias" has shape [${b.shape}], expected [${w.shape[0]}]`, file);
  return {
    weight: hostWeight(gpu, `${file}:weight`, w, dtype, owned),
    bias: b ? hostWeight(gpu, `${file}:bias`, b, 'f32', owned) : null,
    inFeatures: inF,
    outFeatures: w.shape[0],
  };
}

/** BGE-M3's head files: colbert_linear.pt (C → C') and sparse_linear.pt (C → 1). */
export async function loadTorchLinear(gpu: Gpu, files: ModelFiles, file: string, inF: number, dtype: WeightDtype, owned: GPUBuffer[]): Promise<Linear | null> {
  if (!(await files.has(file))) return null;
  const sd = readTorchStateDict(await files.read(file), file);
  return linearFromState(gpu, file, sd, inF, dtype, owned);
}

/** sentence-transformers Dense modules (`2_Dense/`): model.safetensors or pytorch_model.bin, keys linear.weight / linear.bias. */
export async function loadDenseHeads(gpu: Gpu, files: ModelFiles, layers: DenseLayer[], dtype: WeightDtype, owned: GPUBuffer[]): Promise<DenseHead[]> {
  const heads: DenseHead[] = [];
  for (const d of layers) {
    const st = `${d.dir}/model.safetensors`;
    const bin = `${d.dir}/pytorch_model.bin`;
    let linear: Linear;
    if (await files.has(st)) {
      const store = new WeightStore(gpu, files, await readSafetensorsHeader(files, st), dtype, { probe: 'linear.weight' });
      try {
        linear = {
          weight: await store.upload('linear.weight', [d.outFeatures, d.inFeatures]),
          bias: d.bias ? await store.upload('linear.bias', [d.outFeatures], 'f32') : null,
          inFeatures: d.inFeatures,
          outFeatures: d.outFeatures,
        };
      } finally {
        owned.push(...store.buffers);
      }
    } else if (await files.has(bin)) {
      const sd = readTorchStateDict(await files.read(bin), bin);
      const strip = new Map([...sd].map(([k, v]) => [k.replace(/^linear\./, ''), v]));
      linear = linearFromState(gpu, bin, strip, d.inFeatures, dtype, owned);
    } else {
      throw new ModelFileError(`Dense module has neither model.safetensors nor pytorch_model.bin`, `${d.dir}/`);
    }
    heads.push({ linear, activation: d.activation === 'tanh' ? 'tanh' : 'none' });
  }
  return heads;
}

/** A Linear at the checkpoint root (outside the encoder's key prefix), through the strict store. */
async function rootLinear(store: WeightStore, prefix: string, inF: number, bias: boolean): Promise<Linear> {
  const w = store.entry(`${prefix}.weight`, undefined, true);
  if (w.shape.length !== 2 || w.shape[1] !== inF) throw new ModelFileError(`weight "${prefix}.weight" has shape [${w.shape}], expected [out, ${inF}]`, w.file);
  const outF = w.shape[0];
  return {
    weight: await store.upload(`${prefix}.weight`, [outF, inF], undefined, true),
    bias: bias ? await store.upload(`${prefix}.bias`, [outF], 'f32', true) : null,
    inFeatures: inF,
    outFeatures: outF,
  };
}

/**
 * Stanford ColBERT's projection: HF_ColBERT's `self.linear = nn.Linear(hidden, dim, bias=False)`
 * (colbert/modeling/hf_colbert.py), stored as `linear.weight` (dim, hidden) next to the `bert.` keys.
 */
export async function loadColbertLinear(store: WeightStore, C: number): Promise<DenseHead> {
  return { linear: await rootLinear(store, 'linear', C, false), activation: 'none' };
}

/**
 * A *ForSequenceClassification head as a pooled stack on the [CLS] / <s> row:
 * BERT: BertPooler tanh(pooler.dense(h0)), then `classifier` (modeling_bert.py);
 * XLM-R / RoBERTa: tanh(classifier.dense(h0)), then `classifier.out_proj` (RobertaClassificationHead).
 */
export async function loadClassifier(store: WeightStore, architecture: string, C: number, numLabels: number): Promise<DenseHead[]> {
  let heads: DenseHead[];
  if (architecture === 'BertForSequenceClassification') {
    heads = [
      { linear: await loadLinear(store, 'pooler.dense', C, C), activation: 'tanh' },
      { linear: await rootLinear(store, 'classifier', C, true), activation: 'none' },
    ];
  } else if (architecture === 'XLMRobertaForSequenceClassification' || architecture === 'RobertaForSequenceClassification') {
    heads = [
      { linear: await rootLinear(store, 'classifier.dense', C, true), activation: 'tanh' },
      { linear: await rootLinear(store, 'classifier.out_proj', C, true), activation: 'none' },
    ];
  } else {
    throw new ModelFileError(
      `unsupported sequence classifier ${architecture} (supported: BertForSequenceClassification, XLMRobertaForSequenceClassification, RobertaForSequenceClassification)`,
      'config.json',
    );
  }
  const out = heads[1].linear.outFeatures;
  if (out !== numLabels) throw new ModelFileError(`the classifier has ${out} outputs but config.json says ${numLabels} labels`, 'config.json');
  return heads;
}
