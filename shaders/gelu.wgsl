// Standalone GELU, elementwise over n values: `gelu_erf` = x·Φ(x) with an f32 erf (HF "gelu"),
// `gelu_tanh` = 0.5x(1 + tanh(√(2/π)(x + 0.044715x³))) (HF "gelu_new"). `main4` works on vec4s
// (n % 4 == 0); `main` takes 4 scalars per invocation for any n. Both evaluate the math on vec4.

override WG: u32 = 256;
override TANH: bool = false;    // false: gelu_erf, true: gelu_tanh
override INPLACE: bool = false; // write over x (y is then an unused dummy binding)

struct Params { n: u32, _p0: u32, _p1: u32, _p2: u32 } // n: scalars (main) or vec4s (main4)
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> x: array<f32>;   // (n)
@group(0) @binding(2) var<storage, read_write> y: array<f32>;   // (n)
// vec4 views of the same bindings, used by main4 only (an entry point uses one set).
@group(0) @binding(1) var<storage, read_write> x4: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> y4: array<vec4<f32>>;

//! include lib/gelu.wgsl

fn act(v: vec4<f32>) -> vec4<f32> {
  if (TANH) { return gelu_tanh(v); }
  return gelu_erf(v);
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let e = (gid.x + gid.y * nwg.x * WG) * 4u;
  let n = params.n;
  if (e >= n) { return; }
  var v = vec4<f32>(0.0);
  for (var k = 0u; k < 4u; k++) {
    if (e + k < n) { v[k] = x[e + k]; }
  }
  let o = act(v);
  for (var k = 0u; k < 4u; k++) {
    if (e + k < n) {
      if (INPLACE) { x[e + k] = o[k]; } else { y[e + k] = o[k]; }
    }
  }
}

@compute @workgroup_size(WG)
fn main4(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= params.n) { return; }
  let o = act(x4[i]);
  if (INPLACE) { x4[i] = o; } else { y4[i] = o; }
}
