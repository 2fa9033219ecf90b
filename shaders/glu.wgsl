// Gated feed-forward activation (GLU family): x (N, 2·I) holds [a | b] per row, y (N, I) =
// act(a) · b. ACT 0: gelu_erf (GeGLU, HF "gelu"), 1: gelu_tanh ("gelu_pytorch_tanh" / "gelu_new"),
// 2: silu (SwiGLU). The activated half comes first: ModernBERT's Wi output chunks as
// (input, gate) = (a, b), Qwen3's stacked [gate_proj; up_proj] as (gate, up).
// `main4` works on vec4s (I % 4 == 0), `main` on scalars; both evaluate the math on vec4.
// The GELU forms come from shaders/lib/gelu.wgsl, shared with gelu.wgsl.

override WG: u32 = 256;
override ACT: u32 = 0u;

struct Params { count: u32, I: u32, _p0: u32, _p1: u32 } // count = N·I; both in units (f32 or vec4)
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;         // (N, 2·I)
@group(0) @binding(2) var<storage, read_write> y: array<f32>;   // (N, I)
@group(0) @binding(1) var<storage, read> x4: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> y4: array<vec4<f32>>;

//! include lib/gelu.wgsl

fn act(v: vec4<f32>) -> vec4<f32> {
  if (ACT == 2u) {
    // silu(v) = v·σ(v), with e = e^{-|v|} <= 1 so nothing overflows.
    let e = exp(-abs(v));
    return v * select(e, vec4<f32>(1.0), v >= vec4<f32>(0.0)) / (1.0 + e);
  }
  if (ACT == 1u) { return gelu_tanh(v); }
  return gelu_erf(v);
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let e = gid.x + gid.y * nwg.x * WG;
  if (e >= params.count) { return; }
  let i = e % params.I;
  let a = x[(e - i) * 2u + i];
  let b = x[(e - i) * 2u + params.I + i];
  y[e] = act(vec4<f32>(a)).x * b;
}

@compute @workgroup_size(WG)
fn main4(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let e = gid.x + gid.y * nwg.x * WG;
  if (e >= params.count) { return; }
  let i = e % params.I;
  let a = x4[(e - i) * 2u + i];
  let b = x4[(e - i) * 2u + params.I + i];
  y4[e] = act(a) * b;
}
