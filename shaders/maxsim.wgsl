// Late-interaction (ColBERT) scores for every query × document pair:
// scores[a, b] = Σ_{i in query a} max_{j in doc b} q_i · d_j, divided by the query's length when
// MEAN. One workgroup per pair, 64 invocations as 8 query groups × 8 doc groups. An invocation
// owns 4 query tokens of the current 32-token query block and walks the document 4 tokens at a
// time with a stride of 32, computing 4 × 4 dot products straight from memory (the rows are
// reused from cache by the neighbours; no staging, so no barriers in the hot loop) and keeping
// the running max per query token. Per query block one exchange through workgroup memory takes
// the max across the 8 doc groups. Rows past a sequence's end are clamped to its last token: a
// duplicate document token cannot change a max, and duplicate query tokens are left out of the
// sum. An empty query or document scores 0. `main4` reads vec4s (D % 4 == 0), `main` scalars.

override MEAN: bool = true;

const QB: u32 = 32u; // query tokens per block (8 groups × 4)
const DS: u32 = 32u; // doc-token stride of one invocation (8 groups × 4)

struct Params { Q: u32, Dn: u32, D: u32, _p0: u32 } // D: channels (main) or vec4s (main4)
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> q: array<f32>;              // (Nq, D)
@group(0) @binding(2) var<storage, read> q_seqs: array<vec2<u32>>;   // (Q) (start, len)
@group(0) @binding(3) var<storage, read> d: array<f32>;              // (Nd, D)
@group(0) @binding(4) var<storage, read> d_seqs: array<vec2<u32>>;   // (Dn) (start, len)
@group(0) @binding(5) var<storage, read_write> scores: array<f32>;   // (Q, Dn)
@group(0) @binding(1) var<storage, read> q4: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> d4: array<vec4<f32>>;

var<workgroup> blk: array<f32, 256>; // (32 query tokens, 8 doc groups) running maxima
var<workgroup> parts: array<f32, 8>; // per query group partial sums

// Token rows for 4 consecutive positions from `first`, clamped to the sequence (start, len).
fn rows(seq: vec2<u32>, first: u32) -> vec4<u32> {
  return seq.x + min(vec4<u32>(first) + vec4<u32>(0u, 1u, 2u, 3u), vec4<u32>(seq.y - 1u));
}

// Column r: dots of query row qr[r] with doc rows dr[0..3].
fn dots4(qr: vec4<u32>, dr: vec4<u32>) -> mat4x4<f32> {
  let n = params.D;
  var a0 = vec4<f32>(0.0);
  var a1 = vec4<f32>(0.0);
  var a2 = vec4<f32>(0.0);
  var a3 = vec4<f32>(0.0);
  for (var k = 0u; k < n; k++) {
    let dm = mat4x4<f32>(d4[dr.x * n + k], d4[dr.y * n + k], d4[dr.z * n + k], d4[dr.w * n + k]);
    a0 += q4[qr.x * n + k] * dm; // (v · m)[c] = dot(v, m[c])
    a1 += q4[qr.y * n + k] * dm;
    a2 += q4[qr.z * n + k] * dm;
    a3 += q4[qr.w * n + k] * dm;
  }
  return mat4x4<f32>(a0, a1, a2, a3);
}

fn dots1(qr: vec4<u32>, dr: vec4<u32>) -> mat4x4<f32> {
  let n = params.D;
  var a0 = vec4<f32>(0.0);
  var a1 = vec4<f32>(0.0);
  var a2 = vec4<f32>(0.0);
  var a3 = vec4<f32>(0.0);
  for (var k = 0u; k < n; k++) {
    let dv = vec4<f32>(d[dr.x * n + k], d[dr.y * n + k], d[dr.z * n + k], d[dr.w * n + k]);
    a0 = fma(vec4<f32>(q[qr.x * n + k]), dv, a0);
    a1 = fma(vec4<f32>(q[qr.y * n + k]), dv, a1);
    a2 = fma(vec4<f32>(q[qr.z * n + k]), dv, a2);
    a3 = fma(vec4<f32>(q[qr.w * n + k]), dv, a3);
  }
  return mat4x4<f32>(a0, a1, a2, a3);
}

fn max4(v: vec4<f32>) -> f32 {
  return max(max(v.x, v.y), max(v.z, v.w));
}

// Takes the max over the 8 doc groups of this query block and returns, on doc group 0, the sum
// over the group's valid query tokens (0 elsewhere). Called in uniform control flow.
fn close_block(m: vec4<f32>, qg: u32, dg: u32, i0: u32, qlen: u32) -> f32 {
  for (var r = 0u; r < 4u; r++) { blk[(qg * 4u + r) * 8u + dg] = m[r]; }
  workgroupBarrier();
  var s = 0.0;
  if (dg == 0u) {
    for (var r = 0u; r < 4u; r++) {
      if (i0 + r < qlen) {
        let o = (qg * 4u + r) * 8u;
        var mx = blk[o];
        for (var g = 1u; g < 8u; g++) { mx = max(mx, blk[o + g]); }
        s += mx;
      }
    }
  }
  workgroupBarrier(); // blk is rewritten by the next block
  return s;
}

// Sums the query groups' partials (fixed order) and writes the pair's score.
fn close_pair(part: f32, qg: u32, dg: u32, pair: u32, qlen: u32) {
  if (dg == 0u) { parts[qg] = part; }
  workgroupBarrier();
  if (qg == 0u && dg == 0u) {
    var t = 0.0;
    for (var g = 0u; g < 8u; g++) { t += parts[g]; }
    if (MEAN) { t = t / f32(qlen); }
    scores[pair] = t;
  }
}

@compute @workgroup_size(64)
fn main4(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
         @builtin(local_invocation_index) lid: u32) {
  let pair = wid.x + wid.y * nwg.x;
  if (pair >= params.Q * params.Dn) { return; }
  let qs = q_seqs[pair / params.Dn];
  let ds = d_seqs[pair % params.Dn];
  if (qs.y == 0u || ds.y == 0u) {
    if (lid == 0u) { scores[pair] = 0.0; }
    return;
  }
  let qg = lid / 8u;
  let dg = lid % 8u;
  var part = 0.0;
  for (var qb = 0u; qb < qs.y; qb += QB) {
    let i0 = qb + qg * 4u;
    let qr = rows(qs, i0);
    var m = vec4<f32>(-3.4e38);
    for (var j0 = dg * 4u; j0 < ds.y; j0 += DS) {
      let s = dots4(qr, rows(ds, j0));
      m = max(m, vec4<f32>(max4(s[0]), max4(s[1]), max4(s[2]), max4(s[3])));
    }
    part += close_block(m, qg, dg, i0, qs.y);
  }
  close_pair(part, qg, dg, pair, qs.y);
}

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let pair = wid.x + wid.y * nwg.x;
  if (pair >= params.Q * params.Dn) { return; }
  let qs = q_seqs[pair / params.Dn];
  let ds = d_seqs[pair % params.Dn];
  if (qs.y == 0u || ds.y == 0u) {
    if (lid == 0u) { scores[pair] = 0.0; }
    return;
  }
  let qg = lid / 8u;
  let dg = lid % 8u;
  var part = 0.0;
  for (var qb = 0u; qb < qs.y; qb += QB) {
    let i0 = qb + qg * 4u;
    let qr = rows(qs, i0);
    var m = vec4<f32>(-3.4e38);
    for (var j0 = dg * 4u; j0 < ds.y; j0 += DS) {
      let s = dots1(qr, rows(ds, j0));
      m = max(m, vec4<f32>(max4(s[0]), max4(s[1]), max4(s[2]), max4(s[3])));
    }
    part += close_block(m, qg, dg, i0, qs.y);
  }
  close_pair(part, qg, dg, pair, qs.y);
}
