// Self-attention over a packed batch: out_i = softmax_j(q_i·k_j·scale) · v_j, with j running
// over the tokens of i's own sequence only (the padding mask is implicit in `seqs`), and with
// MASK only over the band i - left <= j <= i + right (causal: right = 0; sliding window W:
// left = right = W/2; 0xffffffff = unbounded).
//   qkv  (N, S)   S = (NH + 2·NKV)·HD, row n = [q (NH·HD) | k (NKV·HD) | v (NKV·HD)], head h in
//                 columns h·HD..(h+1)·HD of each part; query head h reads KV head h / G, G = NH/NKV
//                 (NKV = NH: the (N, 3C) layout)
//   seqs (B, 2)   u32 (start, len) per sequence
//   out  (N, C)   C = NH·HD; only rows inside a sequence are written
// Entry points:
//   fused    flash-style: one workgroup per (query block of WG·RQ rows, head, sequence); each
//            invocation owns RQ query rows (q, running max / sum and HD-wide accumulators in
//            registers) and walks K/V tiles of BK rows staged in workgroup memory, one key at a
//            time; every invocation reads the same K/V element at a time (a broadcast).
//            With MASK, K/V tiles outside the query block's band are not visited.
//            (attention_sg.wgsl is the same contract with subgroup shuffles, for CPU adapters.)
//   scores / softmax / pv   the unfused reference path over a (B, NH, T, T) `scores` buffer.
// Logits are kept in base 2 (q is pre-multiplied by scale·log2(e)) so exp is exp2. Numerics: the
// running max m starts at a finite NEG and only moves up; the accumulators are rescaled when a
// logit exceeds m by more than RESCALE, so every weight exp2(s - m) lies in [0, 2^RESCALE] and
// no logit size can overflow. Rows past a sequence's end are never read (tiles clamp to its last
// row and loops stop at len), so gaps between sequences cannot leak into real rows.
// lavapipe notes (measured): loops over HD4 and RQ must stay small enough for Mesa to unroll
// them, or the register arrays turn into per-lane memory; a `var` declared without initializer
// inside a loop was not re-zeroed per iteration there, so loop-local arrays are zeroed explicitly.

override WG: u32 = 32;   // invocations per workgroup
override RQ: u32 = 1;    // fused: query rows per invocation (<= MAX_RQ)
override BK: u32 = 32;   // K/V (fused, pv) or Q (scores) rows per workgroup-memory tile
override HD: u32 = 64;   // head dim (<= 4 * MAX_HD4)
override HD4: u32 = (HD + 3u) / 4u;   // head dim in vec4s, zero-padded past HD
override MASK: bool = false;           // apply params.left / params.right

const MAX_HD4: u32 = 32u;
const MAX_RQ: u32 = 4u;
const NEG: f32 = -3.0e38;
const LOG2E: f32 = 1.4426950408889634;
const RESCALE: f32 = 8.0;

// S: qkv row stride; kOff / vOff: first k / v column; G: query heads per KV head.
struct Params {
  N: u32, B: u32, maxLen: u32, NH: u32, C: u32, scale: f32, S: u32, kOff: u32,
  vOff: u32, G: u32, left: u32, right: u32,
}
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> qkv: array<f32>;          // (N, S)
@group(0) @binding(2) var<storage, read> seqs: array<u32>;         // (B, 2)
@group(0) @binding(3) var<storage, read_write> out: array<f32>;    // (N, C)         fused, pv
@group(0) @binding(3) var<storage, read_write> sw: array<f32>;     // (B, NH, T, T)  scores, softmax
@group(0) @binding(4) var<storage, read> sr: array<f32>;           // (B, NH, T, T)  pv

var<workgroup> kt: array<vec4<f32>, BK * HD4>;   // (BK, HD4) K tile (fused), Q tile (scores)
var<workgroup> vt: array<vec4<f32>, BK * HD4>;   // (BK, HD4) V tile

// Head-dim values d4·4 .. d4·4+3 of token `row` from column `col` of its qkv row (`col` = first
// column of the head within q, k or v), zero past HD. Branch-free so that loops over d4 unroll.
fn load4(row: u32, col: u32, d4: u32) -> vec4<f32> {
  let base = row * params.S + col + d4 * 4u;
  let v = vec4<f32>(qkv[base], qkv[base + 1u], qkv[base + 2u], qkv[base + 3u]);
  if (HD % 4u == 0u) { return v; }
  return select(vec4<f32>(0.0), v, vec4<u32>(d4 * 4u) + vec4<u32>(0u, 1u, 2u, 3u) < vec4<u32>(HD));
}

// Writes head-dim values d4·4 .. min(d4·4+3, HD-1) of an output row starting at index `ob`.
fn store4(ob: u32, d4: u32, v: vec4<f32>) {
  for (var u = 0u; u < 4u; u++) { if (d4 * 4u + u < HD) { out[ob + d4 * 4u + u] = v[u]; } }
}

fn hsum(v: vec4<f32>) -> f32 { return (v.x + v.y) + (v.z + v.w); }

// Whether query i sees key j under the band (both < len). Written without i ± bound so that
// 0xffffffff cannot wrap.
fn sees(i: u32, j: u32) -> bool {
  return select(j - i <= params.right, i - j <= params.left, j <= i);
}

fn kCol(h: u32) -> u32 { return params.kOff + (h / params.G) * HD; }
fn vCol(h: u32) -> u32 { return params.vOff + (h / params.G) * HD; }

// Stage rows r0 .. r0+BK-1 of a sequence (clamped to its last row `last`, so nothing past the
// sequence is read) from column `col` into kt / vt; callers use only rows below the end.
fn stageK(lid: u32, start: u32, last: u32, r0: u32, col: u32) {
  for (var e = lid; e < BK * HD4; e += WG) {
    kt[e] = load4(start + min(r0 + e / HD4, last), col, e % HD4);
  }
}
fn stageV(lid: u32, start: u32, last: u32, r0: u32, col: u32) {
  for (var e = lid; e < BK * HD4; e += WG) {
    vt[e] = load4(start + min(r0 + e / HD4, last), col, e % HD4);
  }
}

@compute @workgroup_size(WG)
fn fused(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let b = wid.z;
  let h = wid.y;
  let start = seqs[2u * b];
  let len = seqs[2u * b + 1u];
  let q0 = wid.x * WG * RQ;
  if (q0 >= len) { return; }
  let C = params.C;
  let qs = params.scale * LOG2E;
  // Keys any row of this block can see: [jlo, jhi) (all of 0..len without MASK).
  let qhi = min(q0 + WG * RQ, len) - 1u;
  var jlo = 0u;
  var jhi = len;
  if (MASK) {
    jlo = q0 - min(q0, params.left);
    jhi = select(qhi + 1u + params.right, len, params.right >= len - qhi);
  }

  // Row r of this invocation is token q0 + r·WG + lid (rows past len compute on a copy of the
  // last row and are not stored).
  var q: array<vec4<f32>, MAX_HD4 * MAX_RQ>;     // [r·HD4 + d4]
  var acc: array<vec4<f32>, MAX_HD4 * MAX_RQ>;
  var m: array<f32, MAX_RQ>;
  var l: array<f32, MAX_RQ>;
  for (var r = 0u; r < RQ; r++) {
    let row = start + min(q0 + r * WG + lid, len - 1u);
    for (var d = 0u; d < HD4; d++) {
      q[r * HD4 + d] = load4(row, h * HD, d) * qs;
      acc[r * HD4 + d] = vec4<f32>(0.0);
    }
    m[r] = NEG;
    l[r] = 0.0;
  }

  for (var j0 = jlo; j0 < jhi; j0 += BK) {
    workgroupBarrier();
    stageK(lid, start, jhi - 1u, j0, kCol(h));
    stageV(lid, start, jhi - 1u, j0, vCol(h));
    workgroupBarrier();
    let nk = min(BK, jhi - j0);
    for (var jj = 0u; jj < nk; jj++) {
      var a: array<vec4<f32>, MAX_RQ>;
      for (var r = 0u; r < RQ; r++) { a[r] = vec4<f32>(0.0); }
      for (var d = 0u; d < HD4; d++) {
        let k = kt[jj * HD4 + d];
        for (var r = 0u; r < RQ; r++) { a[r] = fma(q[r * HD4 + d], k, a[r]); }
      }
      var p: array<f32, MAX_RQ>;
      for (var r = 0u; r < RQ; r++) {
        var ok = true;
        if (MASK) { ok = sees(min(q0 + r * WG + lid, len - 1u), j0 + jj); }
        let s = select(NEG, hsum(a[r]), ok);
        if (s > m[r] + RESCALE) {
          let alpha = exp2(m[r] - s);
          l[r] *= alpha;
          for (var d = 0u; d < HD4; d++) { acc[r * HD4 + d] *= alpha; }
          m[r] = s;
        }
        p[r] = select(0.0, exp2(s - m[r]), ok);
        l[r] += p[r];
      }
      for (var d = 0u; d < HD4; d++) {
        let v = vt[jj * HD4 + d];
        for (var r = 0u; r < RQ; r++) { acc[r * HD4 + d] = fma(vec4<f32>(p[r]), v, acc[r * HD4 + d]); }
      }
    }
  }

  for (var r = 0u; r < RQ; r++) {
    let i = q0 + r * WG + lid;
    if (i < len) {
      let inv = 1.0 / l[r];
      let ob = (start + i) * C + h * HD;
      for (var d = 0u; d < HD4; d++) { store4(ob, d, acc[r * HD4 + d] * inv); }
    }
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
  var k: array<vec4<f32>, MAX_HD4>;
  for (var d = 0u; d < HD4; d++) { k[d] = load4(start + min(j, len - 1u), kCol(h), d); }
  let rowBase = (b * params.NH + h) * T;
  for (var i0 = 0u; i0 < len; i0 += BK) {
    workgroupBarrier();
    stageK(lid, start, len - 1u, i0, h * HD);
    workgroupBarrier();
    let ni = min(BK, len - i0);
    for (var ii = 0u; ii < ni; ii++) {
      var dv = vec4<f32>(0.0);
      for (var d = 0u; d < HD4; d++) { dv = fma(kt[ii * HD4 + d], k[d], dv); }
      if (j < len) { sw[(rowBase + i0 + ii) * T + j] = hsum(dv) * params.scale; }
    }
  }
}

// In-place softmax of each real row of `scores`: one invocation per row (b, h, i), a pass for the
// running max and sum, then one writing the probabilities (0 outside the band with MASK). Flat
// row index over a grid2D grid.
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
    if (MASK && !sees(i, j)) { continue; }
    let x = sw[base + j] * LOG2E;
    let mn = max(m, x);
    l = l * exp2(m - mn) + exp2(x - mn);
    m = mn;
  }
  let inv = 1.0 / l;
  for (var j = 0u; j < len; j++) {
    let p = exp2(sw[base + j] * LOG2E - m) * inv;
    sw[base + j] = select(p, 0.0, MASK && !sees(i, j));
  }
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
  let prow = ((b * params.NH + h) * T + min(i, len - 1u)) * T;
  var acc: array<vec4<f32>, MAX_HD4>;
  for (var d = 0u; d < HD4; d++) { acc[d] = vec4<f32>(0.0); }
  for (var j0 = 0u; j0 < len; j0 += BK) {
    workgroupBarrier();
    stageV(lid, start, len - 1u, j0, vCol(h));
    workgroupBarrier();
    let nj = min(BK, len - j0);
    for (var jj = 0u; jj < nj; jj++) {
      let p = vec4<f32>(sr[prow + j0 + jj]);
      for (var d = 0u; d < HD4; d++) { acc[d] = fma(p, vt[jj * HD4 + d], acc[d]); }
    }
  }
  if (i >= len) { return; }
  let ob = (start + i) * params.C + h * HD;
  for (var d = 0u; d < HD4; d++) { store4(ob, d, acc[d]); }
}
