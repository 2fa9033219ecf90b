// LayerNorm over rows: y = LN(x + residual) · gamma + beta, one workgroup per row of C.
// One pass over memory: each invocation keeps its share of the row in registers (at most MAXV
// units), the mean and the centred variance come from two workgroup tree reductions, then the
// row is written. `main4` works on vec4 units (C % 4 == 0), `main` on scalars.
// In place (y over x) is safe: a row is read completely before any of it is written, and only
// by its own workgroup; INPLACE writes through x, and y is then an unused dummy binding.

override WG: u32 = 64;          // invocations per row; a power of two
override RES: bool = false;     // add residual before normalizing (else `res` is a dummy)
override INPLACE: bool = false; // write the result over x

const MAXV: u32 = 16u;          // units per invocation held in registers (host: units <= WG·MAXV)

struct Params { rows: u32, C: u32, eps: f32, _p0: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> x: array<f32>;  // (rows, C)
@group(0) @binding(2) var<storage, read> res: array<f32>;      // (rows, C)
@group(0) @binding(3) var<storage, read> gamma: array<f32>;    // (C)
@group(0) @binding(4) var<storage, read> beta: array<f32>;     // (C)
@group(0) @binding(5) var<storage, read_write> y: array<f32>;  // (rows, C)
// vec4 views of the same bindings, used by main4 only (an entry point uses one set).
@group(0) @binding(1) var<storage, read_write> x4: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> res4: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> gamma4: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read> beta4: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read_write> y4: array<vec4<f32>>;

var<workgroup> red: array<f32, WG>;

// Sum of `v` over the workgroup (every invocation gets it). Called in uniform control flow.
fn wg_sum(v: f32, lid: u32) -> f32 {
  red[lid] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s = s >> 1u) {
    if (lid < s) { red[lid] += red[lid + s]; }
    workgroupBarrier();
  }
  let total = red[0];
  workgroupBarrier(); // `red` is reused by the next call
  return total;
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let row = wid.x + wid.y * nwg.x;
  if (row >= params.rows) { return; }
  let n = params.C;
  let base = row * n;
  var v: array<f32, MAXV>;
  var s = 0.0;
  for (var k = 0u; k < MAXV; k++) {
    let c = lid + k * WG;
    if (c < n) {
      var t = x[base + c];
      if (RES) { t += res[base + c]; }
      v[k] = t;
      s += t;
    }
  }
  let inv_c = 1.0 / f32(params.C);
  let mean = wg_sum(s, lid) * inv_c;
  var q = 0.0;
  for (var k = 0u; k < MAXV; k++) {
    if (lid + k * WG < n) { let d = v[k] - mean; q = fma(d, d, q); }
  }
  let rstd = inverseSqrt(wg_sum(q, lid) * inv_c + params.eps);
  for (var k = 0u; k < MAXV; k++) {
    let c = lid + k * WG;
    if (c < n) {
      let o = fma((v[k] - mean) * rstd, gamma[c], beta[c]);
      if (INPLACE) { x[base + c] = o; } else { y[base + c] = o; }
    }
  }
}

@compute @workgroup_size(WG)
fn main4(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
         @builtin(local_invocation_index) lid: u32) {
  let row = wid.x + wid.y * nwg.x;
  if (row >= params.rows) { return; }
  let n = params.C / 4u;
  let base = row * n;
  var v: array<vec4<f32>, MAXV>;
  var s = vec4<f32>(0.0);
  for (var k = 0u; k < MAXV; k++) {
    let c = lid + k * WG;
    if (c < n) {
      var t = x4[base + c];
      if (RES) { t += res4[base + c]; }
      v[k] = t;
      s += t;
    }
  }
  let inv_c = 1.0 / f32(params.C);
  let mean = wg_sum(dot(s, vec4<f32>(1.0)), lid) * inv_c;
  var q = vec4<f32>(0.0);
  for (var k = 0u; k < MAXV; k++) {
    if (lid + k * WG < n) { let d = v[k] - mean; q = fma(d, d, q); }
  }
  let rstd = inverseSqrt(wg_sum(dot(q, vec4<f32>(1.0)), lid) * inv_c + params.eps);
  for (var k = 0u; k < MAXV; k++) {
    let c = lid + k * WG;
    if (c < n) {
      let o = fma((v[k] - mean) * rstd, gamma4[c], beta4[c]);
      if (INPLACE) { x4[base + c] = o; } else { y4[base + c] = o; }
    }
  }
}
