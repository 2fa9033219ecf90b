// Float64 reference for shaders/glu.wgsl: y = act(a) · b for x = [a | b] per row, act one of
// gelu_erf, gelu_tanh (as reference/gelu.ts) or silu (x·σ(x)).

import { gelu64 } from './gelu.js';
import type { GluAct } from '../kernels/glu.js';

export interface GluRefArgs {
  x: ArrayLike<number>; // (N, 2·I)
  N: number;
  I: number;
  act: GluAct;
}

/** silu(x) = x·σ(x) = x / (1 + e^{-x}), in float64. */
export function silu64(x: number): number {
  return x / (1 + Math.exp(-x));
}

/** (N, 2·I) → (N, I), in float64. */
export function gluRef(a: GluRefArgs): Float64Array {
  const y = new Float64Array(a.N * a.I);
  const f = a.act === 'silu' ? silu64 : (v: number) => gelu64(v, a.act as 'gelu_erf' | 'gelu_tanh');
  for (let n = 0; n < a.N; n++) {
    for (let i = 0; i < a.I; i++) y[n * a.I + i] = f(a.x[n * 2 * a.I + i]) * a.x[n * 2 * a.I + a.I + i];
  }
  return y;
}
