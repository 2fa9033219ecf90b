// Embedding kernels. `gather`: out[i, :] = table[ids[i] - rowStart, :] for the ids that fall in
// this chunk of a (possibly split) table; other rows of out are left alone. `sum`: out[i] =
// LN(words[i] + pos[posIds[i]] + type[0]) · gamma + beta, one workgroup per token, the same
// three-sweep LayerNorm as layernorm.wgsl (see there). Tables are WT (f32 or f16, weights);
// words, gamma, beta and out are f32. Entry points ending in 4 work on vec4s (C % 4 == 0).

alias WT = f32;

override WG: u32 = 64;
override INPLACE: bool = false; // sum: write over words (out is then an unused dummy binding)

// ---- gather ----
struct GatherParams { N: u32, C: u32, row_start: u32, row_count: u32 } // C: units per row
@group(0) @binding(0) var<uniform> gp: GatherParams;
@group(0) @binding(1) var<storage, read> table: array<WT>;            // (rowCount, C)
@group(0) @binding(2) var<storage, read> ids: array<u32>;             // (N)
@group(0) @binding(3) var<storage, read_write> gout: array<f32>;      // (N, C)
@group(0) @binding(1) var<storage, read> table4: array<vec4<WT>>;
@group(0) @binding(3) var<storage, read_write> gout4: array<vec4<f32>>;

// The row of `table` that token i takes, or -1 when its id is in another chunk. Ids below
// row_start wrap around to large values, so one comparison covers both ends.
fn chunk_row(i: u32) -> i32 {
  let r = ids[i] - gp.row_start;
  return select(-1, i32(r), r < gp.row_count);
}

@compute @workgroup_size(WG)
fn gather(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
          @builtin(local_invocation_index) lid: u32) {
  let i = wid.x + wid.y * nwg.x;
  if (i >= gp.N) { return; }
  let r = chunk_row(i);
  if (r < 0) { return; }
  let src = u32(r) * gp.C;
  let dst = i * gp.C;
  for (var c = lid; c < gp.C; c += WG) { gout[dst + c] = f32(table[src + c]); }
}

@compute @workgroup_size(WG)
fn gather4(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
           @builtin(local_invocation_index) lid: u32) {
  let i = wid.x + wid.y * nwg.x;
  if (i >= gp.N) { return; }
  let r = chunk_row(i);
  if (r < 0) { return; }
  let src = u32(r) * gp.C;
  let dst = i * gp.C;
  for (var c = lid; c < gp.C; c += WG) { gout4[dst + c] = vec4<f32>(table4[src + c]); }
}

// ---- sum (words + position + type, then LayerNorm) ----
struct SumParams { N: u32, C: u32, eps: f32, _p0: u32 } // C: channels (not units)
@group(0) @binding(0) var<uniform> sp: SumParams;
@group(0) @binding(1) var<storage, read_write> words: array<f32>;     // (N, C)
@group(0) @binding(2) var<storage, read> pos_ids: array<u32>;         // (N)
@group(0) @binding(3) var<storage, read> pos: array<WT>;              // (P, C)
@group(0) @binding(4) var<storage, read> typ: array<WT>;              // (types, C), row 0 used
@group(0) @binding(5) var<storage, read> gamma: array<f32>;           // (C)
@group(0) @binding(6) var<storage, read> beta: array<f32>;            // (C)
@group(0) @binding(7) var<storage, read_write> out: array<f32>;       // (N, C)
@group(0) @binding(1) var<storage, read_write> words4: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> pos4: array<vec4<WT>>;
@group(0) @binding(4) var<storage, read> typ4: array<vec4<WT>>;
@group(0) @binding(5) var<storage, read> gamma4: array<vec4<f32>>;
@group(0) @binding(6) var<storage, read> beta4: array<vec4<f32>>;
@group(0) @binding(7) var<storage, read_write> out4: array<vec4<f32>>;

// One scratch array per reduction: a single barrier each (see layernorm.wgsl).
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

@compute @workgroup_size(WG)
fn sum(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
       @builtin(local_invocation_index) lid: u32) {
  let i = wid.x + wid.y * nwg.x;
  if (i >= sp.N) { return; }
  let n = sp.C;
  let base = i * n;
  let pbase = pos_ids[i] * n;
  let inv_c = 1.0 / f32(sp.C);
  var s = 0.0;
  for (var c = lid; c < n; c += WG) { s += words[base + c] + f32(pos[pbase + c]) + f32(typ[c]); }
  let mean = sum_a(s, lid) * inv_c;
  var q = 0.0;
  for (var c = lid; c < n; c += WG) {
    let d = words[base + c] + f32(pos[pbase + c]) + f32(typ[c]) - mean;
    q = fma(d, d, q);
  }
  let rstd = inverseSqrt(sum_b(q, lid) * inv_c + sp.eps);
  for (var c = lid; c < n; c += WG) {
    let v = words[base + c] + f32(pos[pbase + c]) + f32(typ[c]);
    let o = fma((v - mean) * rstd, gamma[c], beta[c]);
    if (INPLACE) { words[base + c] = o; } else { out[base + c] = o; }
  }
}

@compute @workgroup_size(WG)
fn sum4(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let i = wid.x + wid.y * nwg.x;
  if (i >= sp.N) { return; }
  let n = sp.C / 4u;
  let base = i * n;
  let pbase = pos_ids[i] * n;
  let inv_c = 1.0 / f32(sp.C);
  var s = vec4<f32>(0.0);
  for (var c = lid; c < n; c += WG) { s += words4[base + c] + vec4<f32>(pos4[pbase + c]) + vec4<f32>(typ4[c]); }
  let mean = sum_a(dot(s, vec4<f32>(1.0)), lid) * inv_c;
  var q = vec4<f32>(0.0);
  for (var c = lid; c < n; c += WG) {
    let d = words4[base + c] + vec4<f32>(pos4[pbase + c]) + vec4<f32>(typ4[c]) - mean;
    q = fma(d, d, q);
  }
  let rstd = inverseSqrt(sum_b(dot(q, vec4<f32>(1.0)), lid) * inv_c + sp.eps);
  for (var c = lid; c < n; c += WG) {
    let v = words4[base + c] + vec4<f32>(pos4[pbase + c]) + vec4<f32>(typ4[c]);
    let o = fma((v - mean) * rstd, gamma4[c], beta4[c]);
    if (INPLACE) { words4[base + c] = o; } else { out4[base + c] = o; }
  }
}
