// GELU forms shared by gelu.wgsl and glu.wgsl (spliced in by scripts/gen-shaders.mjs where a
// shader says `//! include lib/gelu.wgsl`; WGSL has no includes): gelu_erf(v) = v·Φ(v) with an f32
// erf (HF "gelu"), gelu_tanh(v) = 0.5v(1 + tanh(√(2/π)(v + 0.044715v³))) (HF "gelu_new").

// Φ(v) = P(N(0,1) <= v) with absolute error ≲ 1e-7 (≈ 2 ulp of values near 0.9; measured on
// lavapipe over [-12, 12]), i.e. erf itself within ~2e-7. With z = |v|/√2:
//  z < 1:  erf(z) = z·R(z²), R a degree-6 polynomial (least-squares/Lawson fit of erf(√u)/√u on
//          u ∈ [0, 1], float64 error 1.2e-9); Φ = 0.5 ± (z/2)·R in one fma.
//  z >= 1: erfc(z) = t·exp(G(s) - z²), t = 1/(1 + z/2), s = 4(t - 5/12) ∈ [-1, 1] for z ∈ [1, 10],
//          G a degree-8 polynomial (fit of ln(erfc(z)/t) + z², float64 error 3.1e-9). Relative
//          accuracy, so the lower tail Φ = erfc/2 keeps its digits; z is clamped to 10, where
//          erfc(10) ≈ 2e-45 already underflows f32.
fn phi(v: vec4<f32>) -> vec4<f32> {
  let z = abs(v) * 0.70710678;
  let pos = v >= vec4<f32>(0.0);
  let u = z * z;
  var r = vec4<f32>(7.889121115e-05);
  r = fma(r, u, vec4<f32>(-8.020841753e-04));
  r = fma(r, u, vec4<f32>(5.189535392e-03));
  r = fma(r, u, vec4<f32>(-2.685444462e-02));
  r = fma(r, u, vec4<f32>(1.128360018e-01));
  r = fma(r, u, vec4<f32>(-3.761262714e-01));
  r = fma(r, u, vec4<f32>(1.128379166e+00));
  let small = fma(select(-0.5 * z, 0.5 * z, pos), r, vec4<f32>(0.5));

  let zc = clamp(z, vec4<f32>(1.0), vec4<f32>(10.0));
  let t = 1.0 / (1.0 + 0.5 * zc);
  let s = 4.0 * (t - 0.41666667);
  var g = vec4<f32>(-3.664993463e-06);
  g = fma(g, s, vec4<f32>(-9.569052268e-06));
  g = fma(g, s, vec4<f32>(6.364806424e-05));
  g = fma(g, s, vec4<f32>(1.799305620e-04));
  g = fma(g, s, vec4<f32>(-1.008035793e-03));
  g = fma(g, s, vec4<f32>(-4.760424214e-03));
  g = fma(g, s, vec4<f32>(1.719086678e-02));
  g = fma(g, s, vec4<f32>(3.265846365e-01));
  g = fma(g, s, vec4<f32>(-7.823777928e-01));
  let c = t * exp(g - zc * zc);
  let big = select(0.5 * c, 1.0 - 0.5 * c, pos);
  return select(big, small, z < vec4<f32>(1.0));
}

fn gelu_erf(v: vec4<f32>) -> vec4<f32> {
  return v * phi(v);
}

fn gelu_tanh(v: vec4<f32>) -> vec4<f32> {
  // 0.5v(1 + tanh(w)) = v·σ(2w), written with e = e^{-2|w|} <= 1 so nothing overflows:
  // σ(2w) = 1/(1 + e) for w >= 0, e/(1 + e) for w < 0 (no 1 + tanh cancellation for v << 0, and
  // no tanh: some drivers return NaN for large |w|). v is clamped for the cubic so w stays
  // finite; beyond |w| = 40, e is taken as 0 (e^-80 ≈ 2e-35: y = v exactly for w > 40, and
  // |y| < 2e-33 is flushed to ±0 for w < -40).
  let vc = clamp(v, vec4<f32>(-1e4), vec4<f32>(1e4));
  let w = 0.7978845608 * vc * fma(vec4<f32>(0.044715) * vc, vc, vec4<f32>(1.0));
  let e = select(exp(-2.0 * abs(w)), vec4<f32>(0.0), abs(w) > vec4<f32>(40.0));
  return v * select(e, vec4<f32>(1.0), w >= vec4<f32>(0.0)) / (1.0 + e);
}
