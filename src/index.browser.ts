// Browser entry: loadModel from a base URL or user-picked files; the GPU is navigator.gpu.
// Imports neither the `webgpu` package nor any `node:` module.

import { browserGpu } from './gpu/browser.js';
import type { Model } from './embed/model.js';
import { loadModelFromFiles, type LoadOptions } from './embed/load.js';
import { mapFiles, urlFiles, type ModelFiles } from './io/sources.js';
import { isModelFiles, type ModelSource } from './index.js';

export * from './index.js';

export interface BrowserLoadOptions extends LoadOptions {
  /** Request an adapter in compatibility mode (OpenGL ES-backed adapters). */
  featureLevel?: 'core' | 'compatibility';
}

function resolveSource(source: ModelSource): ModelFiles {
  if (isModelFiles(source)) return source;
  if (source instanceof URL) return urlFiles(source.href);
  if (typeof source === 'string') return urlFiles(new URL(source, globalThis.location?.href).href);
  if (typeof source === 'object' && source !== null) return mapFiles(source as Record<string, ArrayBuffer>);
  throw new TypeError(`loadModel(source): expected a base URL or an object of files, got ${typeof source}`);
}

/** Loads an encoder checkpoint and its heads onto navigator.gpu (or opts.device). */
export async function loadModel(source: ModelSource, opts: BrowserLoadOptions = {}): Promise<Model> {
  const files = resolveSource(source);
  const gpu = await browserGpu({ device: opts.device, featureLevel: opts.featureLevel });
  try {
    return await loadModelFromFiles(files, gpu, opts);
  } catch (e) {
    gpu.destroy();
    throw e;
  }
}
