// Y = act(X · Wᵀ + b), the portable register-tiled kernel (GPUs, and any K on every adapter).
// A workgroup of WX × WY invocations computes a BM × BN tile of Y (BM = WY·TM, BN = WX·TN):
// per step of TK along K it stages X[BM, TK] and W[BN, TK] in workgroup memory (transposed to
// k-major so the inner loop reads consecutive rows / columns), then each invocation does
// TM·TN FMAs per k from registers. Invocation (tx, ty) owns rows m0 + ty + i·WY and columns
// n0 + tx + j·WX, so its Y stores are coalesced across tx.
// Entry points: main_vec4 (K % 4 == 0: vec4 loads of X and W) and main_scalar (any K); they
// bind X and W with different element types at the same binding (each uses one of them).
// X (M, K) f32, W (N, K) in HF Linear layout (WT = f32 or f16), b (N) f32, Y (M, N) f32.
// The activations are the same as in matmul_sg.wgsl (keep the two copies identical).

alias WT = f32;

override TM: u32 = 4u;     // rows per invocation (<= 8)
override TN: u32 = 4u;     // columns per invocation (<= 8)
override TK: u32 = 16u;    // K step staged per iteration (multiple of 4)
override WX: u32 = 16u;
override WY: u32 = 16u;
override HAS_BIAS: bool = true;
// 0 none, 1 gelu_erf, 2 gelu_tanh, 3 relu, 4 tanh (see act()).
override ACT: u32 = 0u;

const MAXT = 8u;

struct Params { M: u32, N: u32, K: u32, _pad: u32 }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> X4: array<vec4<f32>>;    // (M, K/4), main_vec4
@group(0) @binding(1) var<storage, read> X1: array<f32>;          // (M, K), main_scalar
@group(0) @binding(2) var<storage, read> W4: array<vec4<WT>>;     // (N, K/4), main_vec4
@group(0) @binding(2) var<storage, read> W1: array<WT>;           // (N, K), main_scalar
@group(0) @binding(3) var<storage, read> Bias: array<f32>;        // (N)
@group(0) @binding(4) var<storage, read_write> Y: array<f32>;     // (M, N)

var<workgroup> xs: array<f32, TK * WY * TM>;   // [k][m] of the current tile
var<workgroup> ws: array<f32, TK * WX * TN>;   // [k][n]

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

// acc[i][j] += Σ_k xs[k][ty + i·WY] · ws[k][tx + j·WX] over the staged TK values of k.
fn mma_tile(acc: ptr<function, array<array<f32, MAXT>, MAXT>>, tx: u32, ty: u32) {
  let BM = WY * TM;
  let BN = WX * TN;
  for (var k = 0u; k < TK; k++) {
    var a: array<f32, MAXT>;
    var b: array<f32, MAXT>;
    for (var i = 0u; i < TM; i++) { a[i] = xs[k * BM + ty + i * WY]; }
    for (var j = 0u; j < TN; j++) { b[j] = ws[k * BN + tx + j * WX]; }
    for (var i = 0u; i < TM; i++) {
      for (var j = 0u; j < TN; j++) { (*acc)[i][j] = fma(a[i], b[j], (*acc)[i][j]); }
    }
  }
}

fn store_tile(acc: ptr<function, array<array<f32, MAXT>, MAXT>>, m0: u32, n0: u32, tx: u32, ty: u32) {
  for (var j = 0u; j < TN; j++) {
    let n = n0 + tx + j * WX;
    if (n >= P.N) { continue; }
    var bias = 0.0;
    if (HAS_BIAS) { bias = Bias[n]; }
    for (var i = 0u; i < TM; i++) {
      let m = m0 + ty + i * WY;
      if (m < P.M) { Y[m * P.N + n] = act((*acc)[i][j] + bias); }
    }
  }
}

@compute @workgroup_size(WX, WY)
fn main_vec4(@builtin(workgroup_id) wid: vec3<u32>,
             @builtin(local_invocation_id) lid: vec3<u32>,
             @builtin(local_invocation_index) li: u32) {
  let BM = WY * TM;
  let BN = WX * TN;
  let K4 = P.K / 4u;
  let T4 = TK / 4u;
  let m0 = wid.y * BM;
  let n0 = wid.x * BN;
  var acc: array<array<f32, MAXT>, MAXT>;
  for (var k0 = 0u; k0 < K4; k0 += T4) {
    // Stage X[m0.., k0..] and W[n0.., k0..]; rows past the end are clamped (their results are
    // never stored), k past the end reads zero.
    for (var e = li; e < BM * T4; e += WX * WY) {
      let r = e / T4;
      let c = e % T4;
      var v = vec4<f32>(0.0);
      if (k0 + c < K4) { v = X4[min(m0 + r, P.M - 1u) * K4 + k0 + c]; }
      for (var q = 0u; q < 4u; q++) { xs[(4u * c + q) * BM + r] = v[q]; }
    }
    for (var e = li; e < BN * T4; e += WX * WY) {
      let r = e / T4;
      let c = e % T4;
      var v = vec4<f32>(0.0);
      if (k0 + c < K4) { v = vec4<f32>(W4[min(n0 + r, P.N - 1u) * K4 + k0 + c]); }
      for (var q = 0u; q < 4u; q++) { ws[(4u * c + q) * BN + r] = v[q]; }
    }
    workgroupBarrier();
    mma_tile(&acc, lid.x, lid.y);
    workgroupBarrier();
  }
  store_tile(&acc, m0, n0, lid.x, lid.y);
}

@compute @workgroup_size(WX, WY)
fn main_scalar(@builtin(workgroup_id) wid: vec3<u32>,
               @builtin(local_invocation_id) lid: vec3<u32>,
               @builtin(local_invocation_index) li: u32) {
  let BM = WY * TM;
  let BN = WX * TN;
  let K = P.K;
  let m0 = wid.y * BM;
  let n0 = wid.x * BN;
  var acc: array<array<f32, MAXT>, MAXT>;
  for (var k0 = 0u; k0 < K; k0 += TK) {
    for (var e = li; e < BM * TK; e += WX * WY) {
      let r = e / TK;
      let c = e % TK;
      var v = 0.0;
      if (k0 + c < K) { v = X1[min(m0 + r, P.M - 1u) * K + k0 + c]; }
      xs[c * BM + r] = v;
    }
    for (var e = li; e < BN * TK; e += WX * WY) {
      let r = e / TK;
      let c = e % TK;
      var v = 0.0;
      if (k0 + c < K) { v = f32(W1[min(n0 + r, P.N - 1u) * K + k0 + c]); }
      ws[c * BN + r] = v;
    }
    workgroupBarrier();
    mma_tile(&acc, lid.x, lid.y);
    workgroupBarrier();
  }
  store_tile(&acc, m0, n0, lid.x, lid.y);
}
