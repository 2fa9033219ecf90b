// RMSNorm (Qwen3RMSNorm, T5LayerNorm): y = v · rsqrt(mean(v²) + eps) · weight, in f32.
// `main` / `main4` (vec4, C % 4 == 0): one workgroup per row of C, v = x (+ residual). Two sweeps:
// the sum of squares (one workgroup reduction), then normalize and write. With SUM the first sweep
// also stores v = x + residual (to `sbuf`, over x or over the residual: SUM_AT) and the second
// reads it back; y goes to `y`, over x or over the residual (Y_AT). Every element is read and
// written by one invocation, so all of these in-place forms are safe.
// `heads` / `heads4` (HD % 4 == 0): Qwen3's q_norm / k_norm over a packed qkv buffer, rows
// [q (NH·HD) | k (NKV·HD) | v (NKV·HD)]: the first NH + NKV head vectors of each row are
// normalized in place, q heads with weight `wq`, k heads with `wk`. Head vectors are short (HD =
// 128), so TPH invocations share one and a workgroup takes WG / TPH of them: one barrier per
// workgroup instead of one per head (lavapipe, 4096 tokens × 24 heads × 128: 810 ms with a workgroup per head, 147 ms so).

override WG: u32 = 64;        // invocations per row (or head)
override RES: bool = false;   // main: add the residual (else `res` is an unused dummy)
override SUM: bool = false;   // main: store x + residual
override SUM_AT: u32 = 0u;    // main: x + residual goes to 0 `sbuf`, 1 over x, 2 over res
override Y_AT: u32 = 0u;      // main: y goes to 0 `y`, 1 over x, 2 over res
override TPH: u32 = 8u;       // heads: invocations per head vector (a power of two dividing WG)

// ---- rows ----
struct Params { rows: u32, C: u32, eps: f32, _p0: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> x: array<f32>;     // (rows, C)
@group(0) @binding(2) var<storage, read_write> res: array<f32>;   // (rows, C)
@group(0) @binding(3) var<storage, read> weight: array<f32>;      // (C)
@group(0) @binding(4) var<storage, read_write> y: array<f32>;     // (rows, C)
@group(0) @binding(5) var<storage, read_write> sbuf: array<f32>;  // (rows, C)
@group(0) @binding(1) var<storage, read_write> x4: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> res4: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> weight4: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> y4: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read_write> sbuf4: array<vec4<f32>>;

// ---- heads ----
struct HeadParams { count: u32, heads: u32, NH: u32, HD: u32, stride: u32, eps: f32, _p0: u32, _p1: u32 }
@group(0) @binding(0) var<uniform> hp: HeadParams; // count = N·heads; HD, stride in units
@group(0) @binding(1) var<storage, read_write> qkv: array<f32>;   // (N, (NH + 2·NKV)·HD)
@group(0) @binding(2) var<storage, read> wq: array<f32>;          // (HD)
@group(0) @binding(3) var<storage, read> wk: array<f32>;          // (HD)
@group(0) @binding(1) var<storage, read_write> qkv4: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> wq4: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> wk4: array<vec4<f32>>;

// Every invocation adds the partials in the same order: bit-identical totals (see layernorm.wgsl).
var<workgroup> red: array<f32, WG>;

fn total(v: f32, lid: u32) -> f32 {
  red[lid] = v;
  workgroupBarrier();
  var t = 0.0;
  for (var i = 0u; i < WG; i++) { t += red[i]; }
  return t;
}

fn load(i: u32) -> f32 {
  if (SUM) {
    switch SUM_AT { case 1u: { return x[i]; } case 2u: { return res[i]; } default: { return sbuf[i]; } }
  }
  if (RES) { return x[i] + res[i]; }
  return x[i];
}

fn load4(i: u32) -> vec4<f32> {
  if (SUM) {
    switch SUM_AT { case 1u: { return x4[i]; } case 2u: { return res4[i]; } default: { return sbuf4[i]; } }
  }
  if (RES) { return x4[i] + res4[i]; }
  return x4[i];
}

fn put_sum(i: u32, v: f32) {
  switch SUM_AT { case 1u: { x[i] = v; } case 2u: { res[i] = v; } default: { sbuf[i] = v; } }
}

fn put_sum4(i: u32, v: vec4<f32>) {
  switch SUM_AT { case 1u: { x4[i] = v; } case 2u: { res4[i] = v; } default: { sbuf4[i] = v; } }
}

fn put_y(i: u32, v: f32) {
  switch Y_AT { case 1u: { x[i] = v; } case 2u: { res[i] = v; } default: { y[i] = v; } }
}

fn put_y4(i: u32, v: vec4<f32>) {
  switch Y_AT { case 1u: { x4[i] = v; } case 2u: { res4[i] = v; } default: { y4[i] = v; } }
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let row = wid.x + wid.y * nwg.x;
  if (row >= params.rows) { return; }
  let n = params.C;
  let base = row * n;
  var q = 0.0;
  for (var c = lid; c < n; c += WG) {
    var v: f32;
    if (SUM) { v = x[base + c] + res[base + c]; put_sum(base + c, v); } else { v = load(base + c); }
    q = fma(v, v, q);
  }
  let r = inverseSqrt(total(q, lid) / f32(params.C) + params.eps);
  for (var c = lid; c < n; c += WG) { put_y(base + c, load(base + c) * r * weight[c]); }
}

@compute @workgroup_size(WG)
fn main4(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
         @builtin(local_invocation_index) lid: u32) {
  let row = wid.x + wid.y * nwg.x;
  if (row >= params.rows) { return; }
  let n = params.C / 4u;
  let base = row * n;
  var q = vec4<f32>(0.0);
  for (var c = lid; c < n; c += WG) {
    var v: vec4<f32>;
    if (SUM) { v = x4[base + c] + res4[base + c]; put_sum4(base + c, v); } else { v = load4(base + c); }
    q = fma(v, v, q);
  }
  let r = inverseSqrt(total(dot(q, vec4<f32>(1.0)), lid) / f32(params.C) + params.eps);
  for (var c = lid; c < n; c += WG) { put_y4(base + c, load4(base + c) * r * weight4[c]); }
}

// Sum of the TPH partials of this invocation's head vector (its group of TPH lanes).
fn head_total(v: f32, lid: u32) -> f32 {
  red[lid] = v;
  workgroupBarrier();
  let g0 = lid - lid % TPH;
  var t = 0.0;
  for (var k = 0u; k < TPH; k++) { t += red[g0 + k]; }
  return t;
}

@compute @workgroup_size(WG)
fn heads(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
         @builtin(local_invocation_index) lid: u32) {
  let g = (wid.x + wid.y * nwg.x) * (WG / TPH) + lid / TPH; // head vector index
  let live = g < hp.count;
  let h = g % hp.heads;
  let n = hp.HD;
  let base = (g / hp.heads) * hp.stride + h * n;
  var q = 0.0;
  if (live) {
    for (var c = lid % TPH; c < n; c += TPH) { let v = qkv[base + c]; q = fma(v, v, q); }
  }
  let r = inverseSqrt(head_total(q, lid) / f32(n) + hp.eps);
  if (!live) { return; }
  let is_q = h < hp.NH;
  for (var c = lid % TPH; c < n; c += TPH) { qkv[base + c] = qkv[base + c] * r * select(wk[c], wq[c], is_q); }
}

@compute @workgroup_size(WG)
fn heads4(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
          @builtin(local_invocation_index) lid: u32) {
  let g = (wid.x + wid.y * nwg.x) * (WG / TPH) + lid / TPH;
  let live = g < hp.count;
  let h = g % hp.heads;
  let n = hp.HD; // vec4s
  let base = (g / hp.heads) * hp.stride + h * n;
  var q = vec4<f32>(0.0);
  if (live) {
    for (var c = lid % TPH; c < n; c += TPH) { let v = qkv4[base + c]; q = fma(v, v, q); }
  }
  let r = inverseSqrt(head_total(dot(q, vec4<f32>(1.0)), lid) / f32(n * 4u) + hp.eps);
  if (!live) { return; }
  let is_q = h < hp.NH;
  for (var c = lid % TPH; c < n; c += TPH) { qkv4[base + c] = qkv4[base + c] * r * select(wk4[c], wq4[c], is_q); }
}
