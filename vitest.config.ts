// vitest configuration: regenerates the shader bundle before any test file loads.
import { mkdirSync } from 'node:fs';
import { defineConfig } from 'vitest/config';
// @ts-expect-error plain ESM script without types
import { genShaders } from './scripts/gen-shaders.mjs';

genShaders();
// Mesa warns on every device creation without a runtime dir.
process.env.XDG_RUNTIME_DIR ??= `/tmp/xdg-${process.getuid?.() ?? 0}`;
mkdirSync(process.env.XDG_RUNTIME_DIR, { recursive: true, mode: 0o700 });

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
