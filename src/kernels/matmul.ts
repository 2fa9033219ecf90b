// Host side of shaders/matmul.wgsl (portable register-tiled kernel, vec4 or scalar loads) and
// shaders/matmul_sg.wgsl (subgroup-broadcast kernel for CPU adapters such as lavapipe):
// Y = act(X · Wᵀ + b) with W in Hugging Face Linear layout (N, K). Picks the variant and its
// tile sizes, packs the uniform, and returns one KernelCall. The variant is the one
// chooseVariants() (src/gpu/variants.ts) timed as faster on this device, once it has run; before
// that, the subgroup kernel on CPU adapters and the tiled one elsewhere.

import type { Gpu } from '../gpu/device.js';
import { makeCall, packUniform, type BufferBinding, type KernelCall } from '../gpu/pipelines.js';
import { chosenVariants } from '../gpu/variants.js';

export type Activation = 'none' | 'gelu_erf' | 'gelu_tanh' | 'relu' | 'tanh';

export interface MatmulArgs {
  x: BufferBinding; // (M, K) f32
  w: BufferBinding; // (N, K) f32 or f16
  b?: BufferBinding | null; // (N) f32
  y: BufferBinding; // (M, N) f32
  M: number;
  N: number;
  K: number;
  /** Fused epilogue after the bias: gelu_erf = x·Φ(x) with the exact erf (HF 'gelu'), gelu_tanh = HF 'gelu_new'. */
  act?: Activation;
  /** W stored as f16 (needs gpu.features.f16); bias, X and Y stay f32; accumulation is f32. */
  wDtype?: 'f32' | 'f16';
}

/** Register-tiled kernel: workgroup WX × WY, each invocation TM × TN outputs, TK of K staged at a time. */
export interface TiledConfig {
  kind: 'tiled';
  TM: number;
  TN: number;
  TK: number;
  WX: number;
  WY: number;
}

/** Subgroup-broadcast kernel: TM = 8·R rows per workgroup, TN columns per invocation, WG invocations. */
export interface SubgroupConfig {
  kind: 'subgroup';
  R: number;
  TN: number;
  WG: number;
}

export type MatmulConfig = TiledConfig | SubgroupConfig;

const ACT_CODE: Record<Activation, number> = { none: 0, gelu_erf: 1, gelu_tanh: 2, relu: 3, tanh: 4 };

/** Tiles for GPUs: 16×16 invocations of 4×4 outputs, a 64×64 tile of Y, K staged 16 at a time. */
export const TILED_DEFAULT: TiledConfig = { kind: 'tiled', TM: 4, TN: 4, TK: 16, WX: 16, WY: 16 };
/**
 * Measured best on lavapipe (2 cores, AVX-512 EPYC; R x TN in {2,3,4}^2 compared in one run by
 * CPU time): 32 rows x 3 columns per invocation, ~5-10% over 24 x 2. Loads bound it (see
 * matmul_sg.wgsl): 32 x 3 does 96 FMAs per lane per 28 words loaded (f32 W) against 48 per 20.
 */
export const SUBGROUP_DEFAULT: SubgroupConfig = { kind: 'subgroup', R: 4, TN: 3, WG: 64 };

/** Floating-point operations of one matmul (an FMA counts 2). */
export function matmulFlops(M: number, N: number, K: number): number {
  return 2 * M * N * K;
}

/**
 * 32-bit words each invocation loads per FLOP in the subgroup kernel's inner loop: per step of
 * 4 k a lane loads R vec4 of X and TN quads of W (4 words each as f32, 2 as f16 pairs) and does
 * 8·R·TN·4 FMAs. On CPU adapters these per-lane loads, not the FMAs, set the speed, so with the
 * load probe's words/s this gives the kernel's load-bound ceiling (bench/report.ts).
 */
export function subgroupWordsPerFlop(config: SubgroupConfig, wDtype: 'f32' | 'f16' = 'f32'): number {
  const words = 4 * config.R + (wDtype === 'f16' ? 2 : 4) * config.TN;
  return words / (2 * 8 * config.R * config.TN * 4);
}

/** Whether the subgroup kernel can run: subgroups of at least 8 lanes that divide its workgroup. */
export function subgroupKernelUsable(gpu: Gpu, wg = SUBGROUP_DEFAULT.WG): boolean {
  if (!gpu.features.subgroups) return false;
  const info = gpu.device.adapterInfo as GPUAdapterInfo | undefined;
  const min = info?.subgroupMinSize ?? 0;
  const max = info?.subgroupMaxSize ?? 0;
  return min >= 8 && max > 0 && wg % max === 0;
}

/** The configuration `matmul` uses for these arguments on this adapter. */
export function matmulConfig(gpu: Gpu, args: Pick<MatmulArgs, 'K'>): MatmulConfig {
  if (args.K % 4 !== 0 || !subgroupKernelUsable(gpu)) return TILED_DEFAULT;
  const chosen = chosenVariants(gpu)?.matmul;
  if (chosen) return chosen === 'sg' ? SUBGROUP_DEFAULT : TILED_DEFAULT;
  return gpu.cpu ? SUBGROUP_DEFAULT : TILED_DEFAULT;
}

/** The pipeline key `matmul` / `matmulWith` would use (labels benchmark rows). */
export function matmulKey(
  args: { K: number; b?: unknown; act?: Activation; wDtype?: 'f32' | 'f16' },
  config: MatmulConfig,
): string {
  const tail = `bias=${args.b ? 1 : 0},act=${args.act ?? 'none'},w=${args.wDtype ?? 'f32'},vec4=${
    config.kind === 'subgroup' || args.K % 4 === 0 ? 1 : 0
  }`;
  if (config.kind === 'subgroup') return `matmul|sg,TM=${8 * config.R},TN=${config.TN},WG=${config.WG},${tail}`;
  return `matmul|TM=${config.TM},TN=${config.TN},TK=${config.TK},WG=${config.WX}x${config.WY},${tail}`;
}

/** Y = act(X · Wᵀ + b), with the variant and tiles picked for this adapter. */
export function matmul(gpu: Gpu, args: MatmulArgs): KernelCall {
  return matmulWith(gpu, args, matmulConfig(gpu, args));
}

function checkDim(name: string, v: number): void {
  if (!Number.isInteger(v) || v < 0) throw new Error(`matmul: ${name} must be a non-negative integer, got ${v}`);
}

/** `matmul` with an explicit variant and tile configuration (tests and benchmarks). */
export function matmulWith(gpu: Gpu, args: MatmulArgs, config: MatmulConfig): KernelCall {
  const { M, N, K } = args;
  checkDim('M', M);
  checkDim('N', N);
  checkDim('K', K);
  const act = args.act ?? 'none';
  if (!(act in ACT_CODE)) throw new Error(`matmul: unknown activation "${act}"`);
  const wDtype = args.wDtype ?? 'f32';
  if (wDtype === 'f16' && !gpu.features.f16) throw new Error('matmul: f16 weights need the shader-f16 feature, which this adapter lacks');
  const hasBias = !!args.b;
  const key = matmulKey(args, config);
  const bindings = ['uniform', 'read', 'read', 'read', 'write'] as const;

  let p;
  let workgroups: [number, number, number];
  if (config.kind === 'subgroup') {
    if (K % 4 !== 0) throw new Error(`matmul: the subgroup kernel needs K % 4 == 0 (K = ${K})`);
    if (!subgroupKernelUsable(gpu, config.WG)) throw new Error('matmul: the subgroup kernel needs subgroups of 8+ lanes dividing WG');
    if (config.R < 1 || config.R > 4 || config.TN < 1 || config.TN > 4) throw new Error('matmul: subgroup kernel needs 1 <= R, TN <= 4');
    p = gpu.pipelines.get({
      key,
      shader: 'matmul_sg',
      entryPoint: 'main',
      // W is read as 32-bit words whatever its dtype (f16 weights as pairs), so no WT type here.
      constants: { R: config.R, TN: config.TN, WG: config.WG, W_HALF: wDtype === 'f16' ? 1 : 0, HAS_BIAS: hasBias ? 1 : 0, ACT: ACT_CODE[act] },
      bindings: [...bindings],
    });
    workgroups = [Math.ceil(N / (config.WG * config.TN)), Math.ceil(M / (8 * config.R)), 1];
  } else {
    if (config.TM > 8 || config.TN > 8 || config.TK % 4 !== 0) throw new Error('matmul: tiled kernel needs TM, TN <= 8 and TK % 4 == 0');
    const { TM, TN, TK, WX, WY } = config;
    p = gpu.pipelines.get({
      key,
      shader: 'matmul',
      entryPoint: K % 4 === 0 ? 'main_vec4' : 'main_scalar',
      constants: { TM, TN, TK, WX, WY, HAS_BIAS: hasBias ? 1 : 0, ACT: ACT_CODE[act] },
      bindings: [...bindings],
      types: wDtype === 'f16' ? { WT: 'f16' } : undefined,
    });
    workgroups = [Math.ceil(N / (WX * TN)), Math.ceil(M / (WY * TM)), 1];
  }
  const maxWg = gpu.limits.maxComputeWorkgroupsPerDimension;
  if (workgroups[0] > maxWg || workgroups[1] > maxWg) {
    throw new Error(`matmul: ${M}x${N} needs ${workgroups[0]}x${workgroups[1]} workgroups, over this adapter's ${maxWg} per dimension`);
  }
  if (M === 0 || N === 0) workgroups = [0, 0, 0];

  const u = gpu.uniform('matmul', packUniform([['u32', M], ['u32', N], ['u32', K], ['u32', 0]]));
  const owned = [u];
  let bias: BufferBinding;
  if (args.b) {
    bias = args.b;
  } else {
    const dummy = gpu.storage('matmul_nobias', 16); // bound but never read (HAS_BIAS = false)
    owned.push(dummy);
    bias = dummy;
  }
  return makeCall(gpu.device, p, [u, args.x, args.w, bias, args.y], workgroups, owned);
}
