// Pooling a packed batch to one row per sequence: out[b] = hidden[start] (MODE 0, cls), the mean
// of hidden[start .. start + len) (MODE 1), or hidden[start + len - 1] (MODE 2, last). An empty
// sequence (len 0) gives a zero row. One invocation per (sequence, unit); `main4` works on vec4s.

override WG: u32 = 64;
override MODE: u32 = 0u;

struct Params { B: u32, C: u32, wpr: u32, _p0: u32 } // C: units per row; wpr: workgroups per row
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> hidden: array<f32>;        // (N, C)
@group(0) @binding(2) var<storage, read> seqs: array<vec2<u32>>;     // (B) (start, len)
@group(0) @binding(3) var<storage, read_write> out: array<f32>;      // (B, C)
@group(0) @binding(1) var<storage, read> hidden4: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> out4: array<vec4<f32>>;

// Which sequence and unit this invocation owns; x = B when it has none.
fn slot(wid: vec3<u32>, nwg: vec3<u32>, lid: u32) -> vec2<u32> {
  let g = wid.x + wid.y * nwg.x;
  let b = g / params.wpr;
  let c = (g % params.wpr) * WG + lid;
  if (b >= params.B || c >= params.C) { return vec2<u32>(params.B, 0u); }
  return vec2<u32>(b, c);
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let bc = slot(wid, nwg, lid);
  if (bc.x >= params.B) { return; }
  let n = params.C;
  let sq = seqs[bc.x];
  var v = 0.0;
  if (sq.y > 0u) {
    if (MODE == 1u) {
      for (var t = 0u; t < sq.y; t++) { v += hidden[(sq.x + t) * n + bc.y]; }
      v = v / f32(sq.y);
    } else {
      v = hidden[select(sq.x, sq.x + sq.y - 1u, MODE == 2u) * n + bc.y];
    }
  }
  out[bc.x * n + bc.y] = v;
}

@compute @workgroup_size(WG)
fn main4(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
         @builtin(local_invocation_index) lid: u32) {
  let bc = slot(wid, nwg, lid);
  if (bc.x >= params.B) { return; }
  let n = params.C;
  let sq = seqs[bc.x];
  var v = vec4<f32>(0.0);
  if (sq.y > 0u) {
    if (MODE == 1u) {
      for (var t = 0u; t < sq.y; t++) { v += hidden4[(sq.x + t) * n + bc.y]; }
      v = v / f32(sq.y);
    } else {
      v = hidden4[select(sq.x, sq.x + sq.y - 1u, MODE == 2u) * n + bc.y];
    }
  }
  out4[bc.x * n + bc.y] = v;
}
