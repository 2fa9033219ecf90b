// Node entry: loadModel from a local folder, a Hugging Face Hub id (downloaded into ./weights),
// a base URL, or an object of files; the GPU comes from Dawn (`webgpu` package).

import { existsSync } from 'node:fs';
import { nodeGpu } from './gpu/node.js';
import type { Model } from './embed/model.js';
import { loadModelFromFiles, type LoadOptions } from './embed/load.js';
import { mapFiles, urlFiles, type ModelFiles } from './io/sources.js';
import { folderFiles } from './io/sources.node.js';
import { downloadModel, isHubId, type DownloadOptions } from './io/hub.js';
import { isModelFiles, type ModelSource } from './index.js';

export * from './index.js';
export { folderFiles, downloadModel, isHubId, type DownloadOptions };

export interface NodeLoadOptions extends LoadOptions {
  /** Options for Hub downloads when `source` is a Hub id. */
  download?: DownloadOptions;
}

async function resolveSource(source: ModelSource, opts: NodeLoadOptions): Promise<ModelFiles> {
  if (isModelFiles(source)) return source;
  if (source instanceof URL) return urlFiles(source.href);
  if (typeof source === 'string') {
    if (/^https?:\/\//i.test(source)) return urlFiles(source);
    if (existsSync(source)) return folderFiles(source);
    if (isHubId(source)) return folderFiles(await downloadModel(source, opts.download));
    return folderFiles(source); // reports the missing folder
  }
  if (typeof source === 'object' && source !== null) return mapFiles(source as Record<string, ArrayBuffer>);
  throw new TypeError(`loadModel(source): expected a folder path, Hub id, URL or an object of files, got ${typeof source}`);
}

/** Loads an encoder checkpoint and its heads onto a WebGPU device. */
export async function loadModel(source: ModelSource, opts: NodeLoadOptions = {}): Promise<Model> {
  const files = await resolveSource(source, opts);
  const gpu = await nodeGpu({ device: opts.device });
  try {
    return await loadModelFromFiles(files, gpu, opts);
  } catch (e) {
    gpu.destroy();
    throw e;
  }
}
