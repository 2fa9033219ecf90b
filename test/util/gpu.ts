// The test suite's WebGPU device: one per test file, on whatever adapter Dawn finds (lavapipe
// in CI). A missing adapter fails the test loudly; it is never a skip.

import { nodeGpu } from '../../src/gpu/node.js';
import type { Gpu } from '../../src/gpu/device.js';

let shared: Promise<Gpu> | undefined;

export function testGpu(): Promise<Gpu> {
  shared ??= nodeGpu();
  return shared;
}
