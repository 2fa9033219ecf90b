// Fused self-attention (same contract as `fused` in attention.wgsl: grouped KV heads, optional
// causal / sliding-window mask) that moves K/V between invocations with subgroup shuffles
// instead of workgroup memory. For CPU adapters (lavapipe: a subgroup is 8 SIMD lanes): there a
// workgroup-memory read that every lane makes at the same address is 8 scalar loads, while here
// each lane loads a different key row (every load useful) and shuffles are register permutes.
// Needs subgroups of at least 8 lanes, whole.
//   qkv  (N, S)   S = (NH + 2·NKV)·HD, row n = [q (NH·HD) | k (NKV·HD) | v (NKV·HD)]
//   seqs (B, 2)   u32 (start, len) per sequence; with KEYS, then (B) u32 key lengths (rows of
//                 sequence b attend only to its first klen rows, as in attention.wgsl)
//   out  (N, C)   C = NH·HD; only rows inside a sequence are written
// Query head h reads KV head h / G (G = NH / NKV). With MASK, query i sees key j when
// i - left <= j <= i + right (params; causal: right = 0, window W: left = right = W/2), and key
// blocks outside the query block's band are not visited at all.
// One workgroup per (query block of WG·RQ rows, head, sequence); each invocation owns RQ query
// rows. Keys go 8 at a time: lane L of each aligned group of 8 lanes loads k and v of key j0 + L,
// then for c = 0..7 every lane takes key c from lane group·8 + c. Per 8 keys: logits in base 2,
// block max, a rescale of the accumulators when it moved, weights exp2(s - m) <= 1 (keys past len weigh 0).
// Rows past the sequence end are never read (key and query rows are clamped to its last row).
enable subgroups;

override WG: u32 = 32;   // invocations per workgroup (a multiple of 8)
override RQ: u32 = 2;    // query rows per invocation (<= MAX_RQ)
override HD: u32 = 64;   // head dim (<= 4 * MAX_HD4)
override HD4: u32 = (HD + 3u) / 4u;
override MASK: bool = false;   // apply params.left / params.right
override KEYS: bool = false;   // seqs carries key lengths after the (start, len) pairs

const MAX_HD4: u32 = 32u;
const MAX_RQ: u32 = 4u;
const KB: u32 = 8u;       // keys per step (lanes per shuffle group)
const NEG: f32 = -3.0e38;
const LOG2E: f32 = 1.4426950408889634;

// S: qkv row stride; kOff / vOff: first k / v column; G: query heads per KV head; left / right:
// the mask band (MASK only; 0xffffffff = unbounded).
struct Params {
  N: u32, B: u32, maxLen: u32, NH: u32, C: u32, scale: f32, S: u32, kOff: u32,
  vOff: u32, G: u32, left: u32, right: u32,
}
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> qkv: array<f32>;          // (N, S)
@group(0) @binding(2) var<storage, read> seqs: array<u32>;         // (B, 2)
@group(0) @binding(3) var<storage, read_write> out: array<f32>;    // (N, C)

// Head-dim values d4·4 .. d4·4+3 of token `row` from column `col`, zero past HD (branch-free).
fn load4(row: u32, col: u32, d4: u32) -> vec4<f32> {
  let base = row * params.S + col + d4 * 4u;
  let v = vec4<f32>(qkv[base], qkv[base + 1u], qkv[base + 2u], qkv[base + 3u]);
  if (HD % 4u == 0u) { return v; }
  return select(vec4<f32>(0.0), v, vec4<u32>(d4 * 4u) + vec4<u32>(0u, 1u, 2u, 3u) < vec4<u32>(HD));
}

fn hsum(v: vec4<f32>) -> f32 { return (v.x + v.y) + (v.z + v.w); }

// Whether query i sees key j (both < len). Written without i ± bound so that 0xffffffff cannot wrap.
fn sees(i: u32, j: u32) -> bool {
  return select(j - i <= params.right, i - j <= params.left, j <= i);
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32,
        @builtin(subgroup_invocation_id) sid: u32) {
  let b = wid.z;
  let h = wid.y;
  let start = seqs[2u * b];
  let len = seqs[2u * b + 1u];
  let q0 = wid.x * WG * RQ;
  if (q0 >= len) { return; }
  let C = params.C;
  let qs = params.scale * LOG2E;
  let group = sid & ~(KB - 1u);
  let kcol = params.kOff + (h / params.G) * HD;
  let vcol = params.vOff + (h / params.G) * HD;
  // Keys any row of this block can see: [jlo, jhi) (all of 0..len without MASK, 0..klen with KEYS).
  let qhi = min(q0 + WG * RQ, len) - 1u;
  var jlo = 0u;
  var jhi = len;
  if (MASK) {
    jlo = q0 - min(q0, params.left);
    jhi = select(qhi + 1u + params.right, len, params.right >= len - qhi);
  }
  if (KEYS) { jhi = min(jhi, clamp(seqs[2u * params.B + b], 1u, len)); }

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

  var kr: array<vec4<f32>, MAX_HD4>;
  var vr: array<vec4<f32>, MAX_HD4>;
  var s: array<f32, KB * MAX_RQ>;                 // [c·RQ + r]
  for (var j0 = jlo; j0 < jhi; j0 += KB) {
    let row = start + min(j0 + (sid & (KB - 1u)), jhi - 1u);
    for (var d = 0u; d < HD4; d++) {
      kr[d] = load4(row, kcol, d);
      vr[d] = load4(row, vcol, d);
    }
    let nk = jhi - j0;   // keys c >= nk are past the end (or the band)
    for (var c = 0u; c < KB; c++) {
      var a: array<vec4<f32>, MAX_RQ>;
      for (var r = 0u; r < RQ; r++) { a[r] = vec4<f32>(0.0); }
      for (var d = 0u; d < HD4; d++) {
        let k = subgroupShuffle(kr[d], group + c);
        for (var r = 0u; r < RQ; r++) { a[r] = fma(q[r * HD4 + d], k, a[r]); }
      }
      for (var r = 0u; r < RQ; r++) {
        var ok = c < nk;
        if (MASK) { ok = ok && sees(min(q0 + r * WG + lid, len - 1u), j0 + c); }
        s[c * RQ + r] = select(NEG, hsum(a[r]), ok);
      }
    }
    for (var r = 0u; r < RQ; r++) {
      var mt = m[r];
      for (var c = 0u; c < KB; c++) { mt = max(mt, s[c * RQ + r]); }
      let alpha = exp2(m[r] - mt);
      var lt = l[r] * alpha;
      for (var c = 0u; c < KB; c++) {
        let p = select(0.0, exp2(s[c * RQ + r] - mt), s[c * RQ + r] > NEG);   // NEG: past the end or masked
        s[c * RQ + r] = p;
        lt += p;
      }
      l[r] = lt;
      m[r] = mt;
      // Past the first blocks the max rarely grows: skip the rescale then (alpha would be 1).
      if (alpha != 1.0) { for (var d = 0u; d < HD4; d++) { acc[r * HD4 + d] *= alpha; } }
    }
    for (var c = 0u; c < KB; c++) {
      for (var d = 0u; d < HD4; d++) {
        let v = subgroupShuffle(vr[d], group + c);
        for (var r = 0u; r < RQ; r++) { acc[r * HD4 + d] = fma(vec4<f32>(s[c * RQ + r]), v, acc[r * HD4 + d]); }
      }
    }
  }

  for (var r = 0u; r < RQ; r++) {
    let i = q0 + r * WG + lid;
    if (i < len) {
      let inv = 1.0 / l[r];
      let ob = (start + i) * C + h * HD;
      for (var d = 0u; d < HD4; d++) {
        let o = acc[r * HD4 + d] * inv;
        for (var u = 0u; u < 4u; u++) { if (d * 4u + u < HD) { out[ob + d * 4u + u] = o[u]; } }
      }
    }
  }
}
