// transformers.js (@huggingface/transformers) as a bench peer: its feature-extraction pipeline on
// the peer folder's onnx/model.onnx (fp32), mean pooling + normalize (the same head as this
// engine's modules.json). In Node, `device: 'webgpu'` is onnxruntime-node's WebGPU execution
// provider (Dawn linked into libonnxruntime, here over Mesa lavapipe) and `device: 'cpu'` its CPU
// provider. Remote models are switched off: the folder is a local path.

import { env, pipeline, type FeatureExtractionPipeline } from '@huggingface/transformers';

export type PeerDevice = 'webgpu' | 'cpu';

export interface PeerPipeline {
  /** Unit vectors, one per text, for one batch (the pipeline pads the batch to its longest text). */
  embed(texts: string[]): Promise<Float32Array[]>;
  /** Token ids as transformers.js's tokenizer gives them (for checking both tokenize alike). */
  tokenize(texts: string[]): number[][];
  dispose(): Promise<void>;
}

export async function loadPeer(dir: string, device: PeerDevice): Promise<PeerPipeline> {
  env.allowRemoteModels = false;
  env.allowLocalModels = true;
  const extractor = (await pipeline('feature-extraction', dir, { device, dtype: 'fp32' })) as FeatureExtractionPipeline;
  return {
    async embed(texts) {
      const out = await extractor(texts, { pooling: 'mean', normalize: true });
      const [B, C] = out.dims;
      const data = out.data as Float32Array;
      const rows = Array.from({ length: B }, (_, b) => data.slice(b * C, (b + 1) * C));
      out.dispose?.();
      return rows;
    },
    tokenize(texts) {
      return texts.map((t) => Array.from(extractor.tokenizer.encode(t)));
    },
    async dispose() {
      await extractor.dispose();
    },
  };
}
