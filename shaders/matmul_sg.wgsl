// Y = act(X · Wᵀ + b) for CPU-like adapters (lavapipe, SwiftShader) that have subgroups.
// On such adapters every storage or workgroup load whose address is not a compile-time constant
// runs as a per-lane scalar loop, so loads, not FMAs, set the speed. This kernel loads each
// operand element once per lane and spreads the X values over the subgroup with
// subgroupBroadcast (a register shuffle): a subgroup of 8 lanes loads 8·R rows of X (one row
// group per lane) and each lane its TN rows of W, then every lane does 8·R·TN·4 FMAs per
// vec4 of K. Needs K % 4 == 0 and a subgroup size >= 8; src/kernels/matmul.ts picks it.
// X (M, K) f32, W (N, K) in HF Linear layout (WT = f32 or f16), b (N) f32, Y (M, N) f32.
// The activations are the same as in matmul.wgsl (keep the two copies identical).
enable subgroups;


// Row groups of 8 per workgroup: the workgroup covers TM = 8·R rows of X (R <= 4).
override R: u32 = 3u;
// Columns per invocation (<= 4): invocation l covers columns n0 + l + j·WG.
override TN: u32 = 2u;
// Invocations per workgroup; the workgroup covers WG·TN columns.
override WG: u32 = 64u;
// W holds f16 pairs (unpack2x16float) instead of f32.
override W_HALF: bool = false;
override HAS_BIAS: bool = true;
// 0 none, 1 gelu_erf, 2 gelu_tanh, 3 relu, 4 tanh (see act()).
override ACT: u32 = 0u;

struct Params { M: u32, N: u32, K: u32, _pad: u32 }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> X: array<vec4<f32>>;     // (M, K/4)
@group(0) @binding(2) var<storage, read> W: array<vec2<u32>>;      // (N, K/2) f32 or (N, K/4) f16 quads
@group(0) @binding(3) var<storage, read> Bias: array<f32>;        // (N)
@group(0) @binding(4) var<storage, read_write> Y: array<f32>;     // (M, N)

// erfc(z) for z >= 0 as t·exp(-z² + P(t)), t = 1/(1 + z/2): a Chebyshev fit with relative error
// below 1.2e-7 for all z >= 0, so gelu's negative tail (x·erfc(|x|/√2)/2) stays accurate.
fn erfc_pos(z: f32) -> f32 {
  let t = 1.0 / (1.0 + 0.5 * z);
  let p = -1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 +
          t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))));
  return t * exp(-z * z + p);
}

// tanh from exp(-2|x|): no overflow for large |x| (absolute error ~1e-7).
fn tanh_safe(x: f32) -> f32 {
  let e = exp(-2.0 * abs(x));
  return sign(x) * (1.0 - e) / (1.0 + e);
}

fn act(v: f32) -> f32 {
  switch ACT {
    case 1u: { // x·Φ(x) with the exact erf (HF "gelu")
      let half_erfc = 0.5 * erfc_pos(abs(v) * 0.70710678118654752);
      return v * select(half_erfc, 1.0 - half_erfc, v >= 0.0);
    }
    case 2u: { // HF "gelu_new": 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))
      return 0.5 * v * (1.0 + tanh_safe(0.7978845608028654 * (v + 0.044715 * v * v * v)));
    }
    case 3u: { return max(v, 0.0); }
    case 4u: { return tanh_safe(v); }
    default: { return v; }
  }
}

// Four consecutive k of W from vec2<u32> element e (f32: elements e, e+1 of the row, e even;
// f16: element e). Each 32-bit word loaded carries one f32 or two f16 weights: on lavapipe every
// lane's load costs the same per 32-bit word, so f16 weights halve the W load work.
fn load_w(e: u32) -> vec4<f32> {
  if (W_HALF) {
    let q = W[e];
    return vec4<f32>(unpack2x16float(q.x), unpack2x16float(q.y));
  }
  return vec4<f32>(bitcast<vec2<f32>>(W[e]), bitcast<vec2<f32>>(W[e + 1u]));
}

// One vec4 of K for 8 rows (lane i of the subgroup loaded row i into xv) and TN columns:
// acc[j][i] += X[row i] · W[column j] over these 4 k.
fn row_group(acc: ptr<function, array<array<f32, 8>, 4>>, xv: vec4<f32>, wv: array<vec4<f32>, 4>) {
  for (var c = 0u; c < 4u; c++) {
    let xs = xv[c];
    let b0 = subgroupBroadcast(xs, 0u);
    let b1 = subgroupBroadcast(xs, 1u);
    let b2 = subgroupBroadcast(xs, 2u);
    let b3 = subgroupBroadcast(xs, 3u);
    let b4 = subgroupBroadcast(xs, 4u);
    let b5 = subgroupBroadcast(xs, 5u);
    let b6 = subgroupBroadcast(xs, 6u);
    let b7 = subgroupBroadcast(xs, 7u);
    for (var j = 0u; j < TN; j++) {
      let w = wv[j][c];
      (*acc)[j][0] = fma(b0, w, (*acc)[j][0]);
      (*acc)[j][1] = fma(b1, w, (*acc)[j][1]);
      (*acc)[j][2] = fma(b2, w, (*acc)[j][2]);
      (*acc)[j][3] = fma(b3, w, (*acc)[j][3]);
      (*acc)[j][4] = fma(b4, w, (*acc)[j][4]);
      (*acc)[j][5] = fma(b5, w, (*acc)[j][5]);
      (*acc)[j][6] = fma(b6, w, (*acc)[j][6]);
      (*acc)[j][7] = fma(b7, w, (*acc)[j][7]);
    }
  }
}

// Y[m][n] = acc + bias for the 8 rows of one row group (constant indices into acc).
fn store_group(v: array<f32, 8>, m: u32, n: u32, bias: f32) {
  let M = P.M;
  let N = P.N;
  if (m + 0u < M) { Y[(m + 0u) * N + n] = v[0] + bias; }
  if (m + 1u < M) { Y[(m + 1u) * N + n] = v[1] + bias; }
  if (m + 2u < M) { Y[(m + 2u) * N + n] = v[2] + bias; }
  if (m + 3u < M) { Y[(m + 3u) * N + n] = v[3] + bias; }
  if (m + 4u < M) { Y[(m + 4u) * N + n] = v[4] + bias; }
  if (m + 5u < M) { Y[(m + 5u) * N + n] = v[5] + bias; }
  if (m + 6u < M) { Y[(m + 6u) * N + n] = v[6] + bias; }
  if (m + 7u < M) { Y[(m + 7u) * N + n] = v[7] + bias; }
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>,
        @builtin(local_invocation_index) lid: u32,
        @builtin(subgroup_invocation_id) sl: u32) {
  let M = P.M;
  let N = P.N;
  let K4 = P.K / 4u;
  let m0 = wid.y * 8u * R;
  let nb = wid.x * WG * TN + lid;

  // Row offsets (in vec4) of this lane's X rows and W rows, clamped so every load is in bounds
  // (no early return: subgroupBroadcast needs the whole subgroup in uniform control flow).
  var xrow: array<u32, 4>;
  for (var r = 0u; r < R; r++) { xrow[r] = min(m0 + 8u * r + (sl & 7u), M - 1u) * K4; }
  var wrow: array<u32, 4>;
  let wstride = select(2u * K4, K4, W_HALF); // vec2<u32> elements per W row
  for (var j = 0u; j < TN; j++) { wrow[j] = min(nb + j * WG, N - 1u) * wstride; }

  // acc[r][j][i]: row m0 + 8·r + i, column nb + j·WG. Every index into acc is a constant after
  // unrolling: a dynamically indexed private array becomes per-lane memory traffic.
  var acc: array<array<array<f32, 8>, 4>, 4>;
  for (var k = 0u; k < K4; k++) {
    var wv: array<vec4<f32>, 4>;
    for (var j = 0u; j < TN; j++) { wv[j] = load_w(wrow[j] + select(2u * k, k, W_HALF)); }
    if (R > 0u) { row_group(&acc[0], X[xrow[0] + k], wv); }
    if (R > 1u) { row_group(&acc[1], X[xrow[1] + k], wv); }
    if (R > 2u) { row_group(&acc[2], X[xrow[2] + k], wv); }
    if (R > 3u) { row_group(&acc[3], X[xrow[3] + k], wv); }
  }

  // Epilogue in two passes: acc + bias stored with constant indices, then (if ACT != 0) the
  // activation over this invocation's outputs in Y. A fused act() with a loop index into acc
  // would spill all of acc to memory for the whole K loop.
  for (var j = 0u; j < TN; j++) {
    let n = nb + j * WG;
    if (n >= N) { continue; }
    var bias = 0.0;
    if (HAS_BIAS) { bias = Bias[n]; }
    if (R > 0u) { store_group(acc[0][j], m0, n, bias); }
    if (R > 1u) { store_group(acc[1][j], m0 + 8u, n, bias); }
    if (R > 2u) { store_group(acc[2][j], m0 + 16u, n, bias); }
    if (R > 3u) { store_group(acc[3][j], m0 + 24u, n, bias); }
  }
  if (ACT != 0u) {
    for (var j = 0u; j < TN; j++) {
      let n = nb + j * WG;
      if (n >= N) { continue; }
      for (var i = 0u; i < 8u * R; i++) {
        let m = m0 + i;
        if (m < M) { Y[m * N + n] = act(Y[m * N + n]); }
      }
    }
  }
}
