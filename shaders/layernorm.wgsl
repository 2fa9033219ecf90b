// LayerNorm over rows: y = LN(x + residual) · gamma + beta, one workgroup per row of C.
// Three sweeps over the row (sum; centred sum of squares; normalize and write) with a workgroup
// reduction after each of the first two. Only the first sweep misses cache: a row is at most a few
// KiB, so DRAM sees one read and one write. Two-pass variance: no cancellation for rows with a
// large mean. `main4` works on vec4s (C % 4 == 0), `main` on scalars.
// In place (y over x) is safe: each element is read and then written by the same invocation, and
// the last sweep starts after every invocation finished the first two. INPLACE writes through x;
// y is then an unused dummy binding.
// `main_sum` / `main4_sum` (pre-norm blocks) also store s = x + residual: the first sweep writes
// it (to its own buffer, over x or over the residual: SUM_AT) and the later sweeps read it back
// (the same invocation's own elements, so no barrier is needed); y goes to its buffer, over x or
// over the residual (Y_AT). Both x and the residual are bound writable there.
// BIAS = false drops beta (LayerNorm(bias=False)); the beta binding is then an unused stand-in.

override WG: u32 = 64;          // invocations per row
override RES: bool = false;     // add residual before normalizing (else `res` is a dummy)
override INPLACE: bool = false; // write the result over x
override BIAS: bool = true;     // add beta (else `beta` is an unused stand-in)
override SUM_AT: u32 = 0u;      // main_sum: x + residual goes to 0 `sbuf`, 1 over x, 2 over res
override Y_AT: u32 = 0u;        // main_sum: the result goes to 0 `y`, 1 over x, 2 over res

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
// main_sum / main4_sum: the residual bound writable, and sbuf.
@group(0) @binding(2) var<storage, read_write> resw: array<f32>;  // (rows, C)
@group(0) @binding(6) var<storage, read_write> sbuf: array<f32>;  // (rows, C)
@group(0) @binding(2) var<storage, read_write> resw4: array<vec4<f32>>;
@group(0) @binding(6) var<storage, read_write> sbuf4: array<vec4<f32>>;

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

fn affine(z: f32, c: u32) -> f32 {
  if (BIAS) { return fma(z, gamma[c], beta[c]); }
  return z * gamma[c];
}

fn affine4(z: vec4<f32>, c: u32) -> vec4<f32> {
  if (BIAS) { return fma(z, gamma4[c], beta4[c]); }
  return z * gamma4[c];
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
    let o = affine((load(base + c) - mean) * rstd, c);
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
    let o = affine4((load4(base + c) - mean) * rstd, c);
    if (INPLACE) { x4[base + c] = o; } else { y4[base + c] = o; }
  }
}

// ---- main_sum / main4_sum: also store x + residual ----
fn put_sum(i: u32, v: f32) {
  switch SUM_AT { case 1u: { x[i] = v; } case 2u: { resw[i] = v; } default: { sbuf[i] = v; } }
}
fn get_sum(i: u32) -> f32 {
  switch SUM_AT { case 1u: { return x[i]; } case 2u: { return resw[i]; } default: { return sbuf[i]; } }
}
fn put_y(i: u32, v: f32) {
  switch Y_AT { case 1u: { x[i] = v; } case 2u: { resw[i] = v; } default: { y[i] = v; } }
}
fn put_sum4(i: u32, v: vec4<f32>) {
  switch SUM_AT { case 1u: { x4[i] = v; } case 2u: { resw4[i] = v; } default: { sbuf4[i] = v; } }
}
fn get_sum4(i: u32) -> vec4<f32> {
  switch SUM_AT { case 1u: { return x4[i]; } case 2u: { return resw4[i]; } default: { return sbuf4[i]; } }
}
fn put_y4(i: u32, v: vec4<f32>) {
  switch Y_AT { case 1u: { x4[i] = v; } case 2u: { resw4[i] = v; } default: { y4[i] = v; } }
}

@compute @workgroup_size(WG)
fn main_sum(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
            @builtin(local_invocation_index) lid: u32) {
  let row = wid.x + wid.y * nwg.x;
  if (row >= params.rows) { return; }
  let n = params.C;
  let base = row * n;
  let inv_c = 1.0 / f32(params.C);
  var t = 0.0;
  for (var c = lid; c < n; c += WG) { let v = x[base + c] + resw[base + c]; put_sum(base + c, v); t += v; }
  let mean = sum_a(t, lid) * inv_c;
  var q = 0.0;
  for (var c = lid; c < n; c += WG) { let d = get_sum(base + c) - mean; q = fma(d, d, q); }
  let rstd = inverseSqrt(sum_b(q, lid) * inv_c + params.eps);
  for (var c = lid; c < n; c += WG) { put_y(base + c, affine((get_sum(base + c) - mean) * rstd, c)); }
}

@compute @workgroup_size(WG)
fn main4_sum(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
             @builtin(local_invocation_index) lid: u32) {
  let row = wid.x + wid.y * nwg.x;
  if (row >= params.rows) { return; }
  let n = params.C / 4u;
  let base = row * n;
  let inv_c = 1.0 / f32(params.C);
  var t = vec4<f32>(0.0);
  for (var c = lid; c < n; c += WG) { let v = x4[base + c] + resw4[base + c]; put_sum4(base + c, v); t += v; }
  let mean = sum_a(dot(t, vec4<f32>(1.0)), lid) * inv_c;
  var q = vec4<f32>(0.0);
  for (var c = lid; c < n; c += WG) { let d = get_sum4(base + c) - mean; q = fma(d, d, q); }
  let rstd = inverseSqrt(sum_b(dot(q, vec4<f32>(1.0)), lid) * inv_c + params.eps);
  for (var c = lid; c < n; c += WG) { put_y4(base + c, affine4((get_sum4(base + c) - mean) * rstd, c)); }
}
