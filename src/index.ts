// The platform-neutral public surface: types, scoring functions and loadModelFromFiles.
// index.node.ts and index.browser.ts add `loadModel`, differing only in how they get a
// GPUDevice and read files.

export { maxSim, maxSimAlignment, lexicalScore, dot, hybridScore, BGE_M3_WEIGHTS, type TokenVectors, type HybridParts } from './embed/scoring.js';
export { loadModelFromFiles, type LoadOptions } from './embed/load.js';
export { Model, type ModelInfo, type TokenEmbeddings, type HiddenStates, type EncodeInput, type EncodeOptions, type EncodeResult } from './embed/model.js';
export { urlFiles, mapFiles, type ModelFiles } from './io/sources.js';
export { ModelFileError } from './io/errors.js';
export { DeviceLostError, NO_ADAPTER_HELP, type Gpu } from './gpu/device.js';

/** What loadModel accepts: a folder (Node), a Hub id (Node), a base URL, or picked files. */
export type ModelSource = string | URL | Record<string, ArrayBuffer | Uint8Array | Blob> | import('./io/sources.js').ModelFiles;

export function isModelFiles(x: unknown): x is import('./io/sources.js').ModelFiles {
  return typeof x === 'object' && x !== null && typeof (x as { read?: unknown }).read === 'function' && typeof (x as { origin?: unknown }).origin === 'string';
}
