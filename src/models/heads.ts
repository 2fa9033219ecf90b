// What sits on top of the encoder: sentence-transformers Dense layers (2_Dense), and BGE-M3's
// multi-vector (colbert_linear.pt) and sparse (sparse_linear.pt) heads. Loading only; the
// forward recording lives in embed/forward.ts.

import type { Gpu } from '../gpu/device.js';
import { ModelFileError } from '../io/errors.js';
import { f32ArrayToF16Bits } from '../io/half.js';
import { readSafetensorsHeader } from '../io/safetensors.js';
import type { ModelFiles } from '../io/sources.js';
import { readTorchStateDict, type TorchTensor } from '../io/torch-zip.js';
import type { DenseLayer } from './config.js';
import type { Linear } from './layers.js';
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
