// L2 normalization per row: y[r, 0:dims] = x[r, 0:dims] / max(||x[r, 0:dims]||₂, 1e-12) (torch
// F.normalize), x rows of C columns, y rows of dims (matryoshka truncation before normalizing).
// One workgroup per row: sum of squares, one reduction, scaled write. A zero row gives zeros.
// In place (y over x, dims == C): each element is read and written by the same invocation.
// `main4` works on vec4s (C and dims multiples of 4).

override WG: u32 = 64;
override INPLACE: bool = false; // write over x (y is then an unused dummy binding)

struct Params { rows: u32, C: u32, dims: u32, _p0: u32 } // C, dims in units
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> x: array<f32>;   // (rows, C)
@group(0) @binding(2) var<storage, read_write> y: array<f32>;   // (rows, dims)
@group(0) @binding(1) var<storage, read_write> x4: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> y4: array<vec4<f32>>;

var<workgroup> red: array<f32, WG>;

// One barrier; every invocation adds the partials in the same order (bit-identical totals).
fn wg_sum(v: f32, lid: u32) -> f32 {
  red[lid] = v;
  workgroupBarrier();
  var t = 0.0;
  for (var i = 0u; i < WG; i++) { t += red[i]; }
  return t;
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let row = wid.x + wid.y * nwg.x;
  if (row >= params.rows) { return; }
  let xb = row * params.C;
  let yb = row * params.dims;
  var s = 0.0;
  for (var c = lid; c < params.dims; c += WG) { let v = x[xb + c]; s = fma(v, v, s); }
  let k = 1.0 / max(sqrt(wg_sum(s, lid)), 1e-12);
  for (var c = lid; c < params.dims; c += WG) {
    let o = x[xb + c] * k;
    if (INPLACE) { x[xb + c] = o; } else { y[yb + c] = o; }
  }
}

@compute @workgroup_size(WG)
fn main4(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
         @builtin(local_invocation_index) lid: u32) {
  let row = wid.x + wid.y * nwg.x;
  if (row >= params.rows) { return; }
  let xb = row * params.C;
  let yb = row * params.dims;
  var s = vec4<f32>(0.0);
  for (var c = lid; c < params.dims; c += WG) { let v = x4[xb + c]; s = fma(v, v, s); }
  let k = 1.0 / max(sqrt(wg_sum(dot(s, vec4<f32>(1.0)), lid)), 1e-12);
  for (var c = lid; c < params.dims; c += WG) {
    let o = x4[xb + c] * k;
    if (INPLACE) { x4[xb + c] = o; } else { y4[yb + c] = o; }
  }
}
