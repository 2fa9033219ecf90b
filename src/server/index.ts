// The server's public surface, for embedding it in another Node program:
//   const app = createServer(engineFromModel(await loadModel('BAAI/bge-m3')), { modelName: 'bge-m3' });
//   await app.listen({ port: 8000 });
// The `webgpu-embed serve` command (src/cli/serve.ts) is this plus argument parsing and signals.

export { createServer, type ServerOptions, type ServerContext } from './app.js';
export { engineFromModel, type ServerEngine, type EncodeOptions, type Encoded, type EngineInfo } from './engine.js';
export { Batcher, type BatcherOptions } from './batcher.js';
export { ApiError, QueueFullError, errorBody, type ErrorBody } from './errors.js';
