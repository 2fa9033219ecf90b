// vitest configuration: regenerates the shader bundle before any test file loads.
import { defineConfig } from 'vitest/config';
// @ts-expect-error plain ESM script without types
import { genShaders } from './scripts/gen-shaders.mjs';

genShaders();

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    fileParallelism: false,
    reporters: ['default'],
  },
});
