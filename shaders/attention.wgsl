// Encoder self-attention over a packed batch: out_i = softmax_j(q_i·k_j·scale) · v_j, with j
// running over the tokens of i's own sequence only (the padding mask is implicit in `seqs`).
//   qkv  (N, 3C)  row n = [q (C) | k (C) | v (C)], head h in columns h·HD..(h+1)·HD of each
//   seqs (B, 2)   u32 (start, len) per sequence
//   out  (N, C)   only rows inside a sequence are written
// Entry points:
//   fused    flash-style: one workgroup per (query block of WG rows, head, sequence); each
//            invocation owns one query row (q, running max / sum and HD-wide accumulator in
//            registers) and walks K/V tiles of BK rows staged in workgroup memory. Every
//            invocation of a workgroup reads the same K/V element at a time (a broadcast).
//   scores / softmax / pv   the unfused reference path over a (B, NH, T, T) `scores` buffer.
// Logits are kept in base 2 (q is pre-multiplied by scale·log2(e)) so exp is exp2. The running
// max starts at a finite NEG, masked keys get probability exactly 0 through select(), so neither
// huge logits nor tails of partial tiles can produce Inf or NaN.

override WG: u32 = 64;   // invocations per workgroup (fused: = query rows per block)
override BK: u32 = 32;   // K/V rows per tile (<= MAX_BK)
override HD: u32 = 64;   // head dim (<= 4 * MAX_HD4)
override HD4: u32 = (HD + 3u) / 4u;   // head dim in vec4s, zero-padded past HD

const MAX_HD4: u32 = 32u;
const MAX_BK: u32 = 64u;
const NEG: f32 = -3.0e38;
const LOG2E: f32 = 1.4426950408889634;

struct Params { N: u32, B: u32, maxLen: u32, NH: u32, C: u32, scale: f32, _p0: u32, _p1: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> qkv: array<f32>;          // (N, 3C)
@group(0) @binding(2) var<storage, read> seqs: array<u32>;         // (B, 2)
@group(0) @binding(3) var<storage, read_write> out: array<f32>;    // (N, C)         fused, pv
@group(0) @binding(3) var<storage, read_write> sw: array<f32>;     // (B, NH, T, T)  scores, softmax
@group(0) @binding(4) var<storage, read> sr: array<f32>;           // (B, NH, T, T)  pv

var<workgroup> kt: array<vec4<f32>, BK * HD4>;   // (BK, HD4) K tile
var<workgroup> vt: array<vec4<f32>, BK * HD4>;   // (BK, HD4) V tile

// Four consecutive head-dim values of token `row` starting at column `col` (d4-th vec4 of a
// head), zero past HD. `col` is the column of the head's first element within the 3C row.
fn load4(row: u32, col: u32, d4: u32) -> vec4<f32> {
  let base = row * 3u * params.C + col + d4 * 4u;
  let d = d4 * 4u;
  if (d + 4u <= HD) { return vec4<f32>(qkv[base], qkv[base + 1u], qkv[base + 2u], qkv[base + 3u]); }
  var r = vec4<f32>(0.0);
  for (var u = 0u; u < 4u; u++) { if (d + u < HD) { r[u] = qkv[base + u]; } }
  return r;
}

// Stages rows j0..j0+BK-1 of the sequence's K and V (column block `kcol`, `vcol`) into kt / vt;
// rows at or past `len` are zero, so gaps between sequences are never read.
fn loadKV(lid: u32, start: u32, len: u32, j0: u32, kcol: u32, vcol: u32) {
  for (var e = lid; e < BK * HD4; e += WG) {
    let r = e / HD4;
    let d4 = e - r * HD4;
    let j = j0 + r;
    var kv = vec4<f32>(0.0);
    var vv = vec4<f32>(0.0);
    if (j < len) {
      kv = load4(start + j, kcol, d4);
      vv = load4(start + j, vcol, d4);
    }
    kt[e] = kv;
    vt[e] = vv;
  }
}

@compute @workgroup_size(WG)
fn fused(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let b = wid.z;
  let h = wid.y;
  let start = seqs[2u * b];
  let len = seqs[2u * b + 1u];
  let q0 = wid.x * WG;
  if (q0 >= len) { return; }
  let i = q0 + lid;
  let live = i < len;
  let C = params.C;

  let qs = params.scale * LOG2E;
  var q: array<vec4<f32>, MAX_HD4>;
  var acc: array<vec4<f32>, MAX_HD4>;
  for (var d = 0u; d < HD4; d++) {
    var v = vec4<f32>(0.0);
    if (live) { v = load4(start + i, h * HD, d) * qs; }
    q[d] = v;
    acc[d] = vec4<f32>(0.0);
  }
  var m = NEG;
  var l = 0.0;

  var s: array<f32, MAX_BK>;
  for (var j0 = 0u; j0 < len; j0 += BK) {
    workgroupBarrier();
    loadKV(lid, start, len, j0, C + h * HD, 2u * C + h * HD);
    workgroupBarrier();

    var mt = m;
    for (var jj = 0u; jj < BK; jj++) {
      var dv = vec4<f32>(0.0);
      for (var d = 0u; d < HD4; d++) { dv = fma(q[d], kt[jj * HD4 + d], dv); }
      let sc = select(NEG, (dv.x + dv.y) + (dv.z + dv.w), j0 + jj < len);
      s[jj] = sc;
      mt = max(mt, sc);
    }
    let alpha = exp2(m - mt);
    l *= alpha;
    for (var d = 0u; d < HD4; d++) { acc[d] *= alpha; }
    for (var jj = 0u; jj < BK; jj++) {
      let p = select(0.0, exp2(s[jj] - mt), j0 + jj < len);
      l += p;
      for (var d = 0u; d < HD4; d++) { acc[d] = fma(vec4<f32>(p), vt[jj * HD4 + d], acc[d]); }
    }
    m = mt;
  }

  if (!live) { return; }
  let inv = 1.0 / l;
  let ob = (start + i) * C + h * HD;
  for (var d = 0u; d < HD4; d++) {
    let r = acc[d] * inv;
    for (var u = 0u; u < 4u; u++) { if (d * 4u + u < HD) { out[ob + d * 4u + u] = r[u]; } }
  }
}

// ---- Unfused reference path: scores (B, NH, T, T) with T = maxLen; only [i < len, j < len] is used.

// scores[b, h, i, j] = q_i·k_j·scale. One workgroup per (key block of WG rows, head, sequence):
// each invocation keeps its k_j in registers and walks query tiles of BK rows staged in `kt`;
// neighbouring invocations write neighbouring j.
@compute @workgroup_size(WG)
fn scores(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let b = wid.z;
  let h = wid.y;
  let start = seqs[2u * b];
  let len = seqs[2u * b + 1u];
  let T = params.maxLen;
  let j0 = wid.x * WG;
  if (j0 >= len) { return; }
  let j = j0 + lid;
  let live = j < len;
  var k: array<vec4<f32>, MAX_HD4>;
  for (var d = 0u; d < HD4; d++) {
    var v = vec4<f32>(0.0);
    if (live) { v = load4(start + j, params.C + h * HD, d); }
    k[d] = v;
  }
  let rowBase = (b * params.NH + h) * T;
  for (var i0 = 0u; i0 < len; i0 += BK) {
    workgroupBarrier();
    for (var e = lid; e < BK * HD4; e += WG) {
      let r = e / HD4;
      var v = vec4<f32>(0.0);
      if (i0 + r < len) { v = load4(start + i0 + r, h * HD, e - r * HD4); }
      kt[e] = v;
    }
    workgroupBarrier();
    for (var ii = 0u; ii < BK; ii++) {
      var dv = vec4<f32>(0.0);
      for (var d = 0u; d < HD4; d++) { dv = fma(kt[ii * HD4 + d], k[d], dv); }
      if (live && i0 + ii < len) { sw[(rowBase + i0 + ii) * T + j] = ((dv.x + dv.y) + (dv.z + dv.w)) * params.scale; }
    }
  }
}

// In-place softmax of each real row of `scores`: one invocation per row (b, h, i), two passes
// (running max and sum, then normalised probabilities). Flat row index over a grid2D grid.
@compute @workgroup_size(WG)
fn softmax(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let T = params.maxLen;
  let r = gid.x + gid.y * nwg.x * WG;
  if (r >= params.B * params.NH * T) { return; }
  let i = r % T;
  let b = r / (params.NH * T);
  let len = seqs[2u * b + 1u];
  if (i >= len) { return; }
  let base = r * T;
  var m = NEG;
  var l = 0.0;
  for (var j = 0u; j < len; j++) {
    let x = sw[base + j] * LOG2E;
    let mn = max(m, x);
    l = l * exp2(m - mn) + exp2(x - mn);
    m = mn;
  }
  let inv = 1.0 / l;
  for (var j = 0u; j < len; j++) { sw[base + j] = exp2(sw[base + j] * LOG2E - m) * inv; }
}

// out_i = Σ_j P[i, j]·v_j. One workgroup per (query block of WG rows, head, sequence); each
// invocation owns a query row's accumulator and walks V tiles of BK rows staged in `vt`.
@compute @workgroup_size(WG)
fn pv(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let b = wid.z;
  let h = wid.y;
  let start = seqs[2u * b];
  let len = seqs[2u * b + 1u];
  let T = params.maxLen;
  let q0 = wid.x * WG;
  if (q0 >= len) { return; }
  let i = q0 + lid;
  let live = i < len;
  let prow = ((b * params.NH + h) * T + min(i, len - 1u)) * T;
  var acc: array<vec4<f32>, MAX_HD4>;
  for (var d = 0u; d < HD4; d++) { acc[d] = vec4<f32>(0.0); }
  for (var j0 = 0u; j0 < len; j0 += BK) {
    workgroupBarrier();
    for (var e = lid; e < BK * HD4; e += WG) {
      let r = e / HD4;
      var v = vec4<f32>(0.0);
      if (j0 + r < len) { v = load4(start + j0 + r, 2u * params.C + h * HD, e - r * HD4); }
      vt[e] = v;
    }
    workgroupBarrier();
    for (var jj = 0u; jj < BK; jj++) {
      let p = select(0.0, sr[prow + min(j0 + jj, len - 1u)], j0 + jj < len);
      for (var d = 0u; d < HD4; d++) { acc[d] = fma(vec4<f32>(p), vt[jj * HD4 + d], acc[d]); }
    }
  }
  if (!live) { return; }
  let ob = (start + i) * params.C + h * HD;
  for (var d = 0u; d < HD4; d++) {
    for (var u = 0u; u < 4u; u++) { if (d * 4u + u < HD) { out[ob + d * 4u + u] = acc[d][u]; } }
  }
}
