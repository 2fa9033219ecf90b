// The committed src/gpu/shaders.gen.ts must be what scripts/gen-shaders.mjs makes from shaders/:
// a fresh clone runs every npm script without generating anything, so a stale bundle would run
// old WGSL. Fix a failure with `npm run gen` and commit the result.

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
// @ts-expect-error: a plain .mjs build script without type declarations
import { SHADERS_MODULE, shadersModuleSource } from '../../scripts/gen-shaders.mjs';

describe('src/gpu/shaders.gen.ts', () => {
  it('is current with shaders/*.wgsl (run `npm run gen` and commit if not)', () => {
    const { out, count } = shadersModuleSource() as { out: string; count: number };
    expect(count).toBeGreaterThan(10);
    expect(readFileSync(SHADERS_MODULE as string, 'utf8') === out, 'src/gpu/shaders.gen.ts is stale: run `npm run gen` and commit it').toBe(true);
  });
});
