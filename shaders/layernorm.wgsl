// LayerNorm over rows: y = LN(x + residual) · gamma + beta, one workgroup per row of C.
// Three sweeps over the row (sum; centred sum of squares; normalize and write) with a workgroup
// reduction after each of the first two. Only the first sweep misses cache: a row is at most a few
// KiB, so DRAM sees one read and one write. Two-pass variance: no cancellation for rows with a
// large mean. `main4` works on vec4s (C % 4 == 0), `main` on scalars.
// In place (y over x) is safe: each element is read and then written by the same invocation, and
// the last sweep starts after every invocation finished the first two. INPLACE writes through x;
// y is then an unused dummy binding.

override WG: u32 = 64;          // invocations per row
override RES: bool = false;     // add residual before normalizing (else `res` is a dummy)
override INPLACE: bool = false; // write the result over x

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

// One scratch array per reduction, so each costs a single barrier (barriers are what a
// software adapter pays most for). Every invocation adds the partials in the same order, so all
// of them get bit-identical totals.
var<workgroup> red_a: array<f32, WG>;
var<workgroup> red_b: array<f32, WG>;

fn sum_a(v: f32, lid: u32) -> f32 {
  red_a[lid] = v;
  workgroupBarrier();
  var t = 0.0;
  for (var i = 0u; i < WG; i++) { t += red_a[i]; }
  return t;
}

fn sum_b(v: f32, lid: u32) -> f32 {
  red_b[lid] = v;
  workgroupBarrier();
  var t = 0.0;
  for (var i = 0u; i < WG; i++) { t += red_b[i]; }
  return t;
}

fn load(i: u32) -> f32 {
  if (RES) { return x[i] + res[i]; }
  return x[i];
}

fn load4(i: u32) -> vec4<f32> {
  if (RES) { return x4[i] + res4[i]; }
  return x4[i];
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let row = wid.x + wid.y * nwg.x;
  if (row >= params.rows) { return; }
  let n = params.C;
  let base = row * n;
  let inv_c = 1.0 / f32(params.C);
  var s = 0.0;
  for (var c = lid; c < n; c += WG) { s += load(base + c); }
  let mean = sum_a(s, lid) * inv_c;
  var q = 0.0;
  for (var c = lid; c < n; c += WG) { let d = load(base + c) - mean; q = fma(d, d, q); }
  let rstd = inverseSqrt(sum_b(q, lid) * inv_c + params.eps);
  for (var c = lid; c < n; c += WG) {
    let o = fma((load(base + c) - mean) * rstd, gamma[c], beta[c]);
    if (INPLACE) { x[base + c] = o; } else { y[base + c] = o; }
  }
}

@compute @workgroup_size(WG)
fn main4(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
         @builtin(local_invocation_index) lid: u32) {
  let row = wid.x + wid.y * nwg.x;
  if (row >= params.rows) { return; }
  let n = params.C / 4u;
  let base = row * n;
  let inv_c = 1.0 / f32(params.C);
  var s = vec4<f32>(0.0);
  for (var c = lid; c < n; c += WG) { s += load4(base + c); }
  let mean = sum_a(dot(s, vec4<f32>(1.0)), lid) * inv_c;
  var q = vec4<f32>(0.0);
  for (var c = lid; c < n; c += WG) { let d = load4(base + c) - mean; q = fma(d, d, q); }
  let rstd = inverseSqrt(sum_b(dot(q, vec4<f32>(1.0)), lid) * inv_c + params.eps);
  for (var c = lid; c < n; c += WG) {
    let o = fma((load4(base + c) - mean) * rstd, gamma4[c], beta4[c]);
    if (INPLACE) { x4[base + c] = o; } else { y4[base + c] = o; }
  }
}
