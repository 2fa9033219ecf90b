// Host side of shaders/glu.wgsl: the gated feed-forward activation of GeGLU / SwiGLU blocks,
// y = act(a) · b for x = [a | b] per row (the output of one matmul to 2 × intermediate).

import type { Gpu } from '../gpu/device.js';
import { overlap } from '../gpu/bindings.js';
import { grid2D, makeCall, packUniform, type BufferBinding, type KernelCall } from '../gpu/pipelines.js';

export type GluAct = 'gelu_erf' | 'gelu_tanh' | 'silu';

export interface GluArgs {
  x: BufferBinding; // (N, 2·I) f32: [a | b] per row, the activated half a first
  y: BufferBinding; // (N, I) f32; must not overlap x
  N: number;
  I: number;
  act: GluAct;
}

const WG = 256;
const ACTS: Record<GluAct, number> = { gelu_erf: 0, gelu_tanh: 1, silu: 2 };

/** y[n, i] = act(x[n, i]) · x[n, I + i]. */
export function glu(gpu: Gpu, a: GluArgs): KernelCall {
  const code = ACTS[a.act];
  if (code === undefined) throw new Error(`glu: unknown activation "${a.act}" (use ${Object.keys(ACTS).join(', ')})`);
  if (overlap(a.x, a.y) !== 'none') throw new Error('glu: y overlaps x; give y its own buffer (it is half as wide, so in place would race)');
  const vec4 = a.I % 4 === 0;
  const unit = vec4 ? 4 : 1;
  const p = gpu.pipelines.get({
    key: `glu|WG=${WG},act=${a.act},vec4=${+vec4}`,
    shader: 'glu',
    entryPoint: vec4 ? 'main4' : 'main',
    constants: { WG, ACT: code },
    bindings: ['uniform', 'read', 'write'],
  });
  const count = (a.N * a.I) / unit;
  const u = gpu.uniform('glu', packUniform([['u32', count], ['u32', a.I / unit]]));
  return makeCall(gpu.device, p, [u, a.x, a.y], grid2D(Math.ceil(count / WG)), [u]);
}

/** Bytes read plus written by one glu call. */
export function gluBytes(N: number, I: number): number {
  return N * I * 12;
}
