// Embedding kernels. `gather`: out[i, :] = table[ids[i] - rowStart, :] for the ids that fall in
// this chunk of a (possibly split) table; other rows of out are left alone. `sum`: out[i] =
// LN(words[i] + pos[posIds[i]] + type[0]) · gamma + beta, one workgroup per token, the same
// three-sweep LayerNorm as layernorm.wgsl (see there). `sum_t`: the same with the token type row
// type[typeIds[i]] of each token. POS = false drops the position table (rotary models), TYPE =
// false the type table, BIAS = false beta; their bindings are then unused stand-ins.
// Tables are WT (f32 or f16, weights); words, gamma, beta and out are f32. Entry points with a 4
// work on vec4s (C % 4 == 0).

alias WT = f32;

override WG: u32 = 64;
override INPLACE: bool = false; // sum: write over words (out is then an unused dummy binding)
override POS: bool = true;      // sum: add pos[posIds[i]]
override TYPE: bool = true;     // sum: add the token type row
override BIAS: bool = true;     // sum: add beta

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
@group(0) @binding(8) var<storage, read> type_ids: array<u32>;        // (N), sum_t / sum4_t only

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

// words[w] (+ pos[p]) (+ typ[t]), added in that order.
fn emb(w: u32, p: u32, t: u32) -> f32 {
  var v = words[w];
  if (POS) { v += f32(pos[p]); }
  if (TYPE) { v += f32(typ[t]); }
  return v;
}

fn emb4(w: u32, p: u32, t: u32) -> vec4<f32> {
  var v = words4[w];
  if (POS) { v += vec4<f32>(pos4[p]); }
  if (TYPE) { v += vec4<f32>(typ4[t]); }
  return v;
}

// Start of token i's position row, in units of `n`.
fn pos_base(i: u32, n: u32) -> u32 {
  if (POS) { return pos_ids[i] * n; }
  return 0u;
}

// LayerNorm of token i's summed embedding, whose rows start at pbase (position) and tbase (type).
fn sum_row(i: u32, lid: u32, pbase: u32, tbase: u32) {
  let n = sp.C;
  let base = i * n;
  let inv_c = 1.0 / f32(sp.C);
  var s = 0.0;
  for (var c = lid; c < n; c += WG) { s += emb(base + c, pbase + c, tbase + c); }
  let mean = sum_a(s, lid) * inv_c;
  var q = 0.0;
  for (var c = lid; c < n; c += WG) {
    let d = emb(base + c, pbase + c, tbase + c) - mean;
    q = fma(d, d, q);
  }
  let rstd = inverseSqrt(sum_b(q, lid) * inv_c + sp.eps);
  for (var c = lid; c < n; c += WG) {
    let z = (emb(base + c, pbase + c, tbase + c) - mean) * rstd;
    var o: f32;
    if (BIAS) { o = fma(z, gamma[c], beta[c]); } else { o = z * gamma[c]; }
    if (INPLACE) { words[base + c] = o; } else { out[base + c] = o; }
  }
}

fn sum_row4(i: u32, lid: u32, pbase: u32, tbase: u32) {
  let n = sp.C / 4u;
  let base = i * n;
  let inv_c = 1.0 / f32(sp.C);
  var s = vec4<f32>(0.0);
  for (var c = lid; c < n; c += WG) { s += emb4(base + c, pbase + c, tbase + c); }
  let mean = sum_a(dot(s, vec4<f32>(1.0)), lid) * inv_c;
  var q = vec4<f32>(0.0);
  for (var c = lid; c < n; c += WG) {
    let d = emb4(base + c, pbase + c, tbase + c) - mean;
    q = fma(d, d, q);
  }
  let rstd = inverseSqrt(sum_b(dot(q, vec4<f32>(1.0)), lid) * inv_c + sp.eps);
  for (var c = lid; c < n; c += WG) {
    let z = (emb4(base + c, pbase + c, tbase + c) - mean) * rstd;
    var o: vec4<f32>;
    if (BIAS) { o = fma(z, gamma4[c], beta4[c]); } else { o = z * gamma4[c]; }
    if (INPLACE) { words4[base + c] = o; } else { out4[base + c] = o; }
  }
}

@compute @workgroup_size(WG)
fn sum(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
       @builtin(local_invocation_index) lid: u32) {
  let i = wid.x + wid.y * nwg.x;
  if (i >= sp.N) { return; }
  sum_row(i, lid, pos_base(i, sp.C), 0u);
}

@compute @workgroup_size(WG)
fn sum4(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let i = wid.x + wid.y * nwg.x;
  if (i >= sp.N) { return; }
  sum_row4(i, lid, pos_base(i, sp.C / 4u), 0u);
}

@compute @workgroup_size(WG)
fn sum_t(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
         @builtin(local_invocation_index) lid: u32) {
  let i = wid.x + wid.y * nwg.x;
  if (i >= sp.N) { return; }
  sum_row(i, lid, pos_base(i, sp.C), type_ids[i] * sp.C);
}

@compute @workgroup_size(WG)
fn sum4_t(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
          @builtin(local_invocation_index) lid: u32) {
  let i = wid.x + wid.y * nwg.x;
  if (i >= sp.N) { return; }
  sum_row4(i, lid, pos_base(i, sp.C / 4u), type_ids[i] * (sp.C / 4u));
}
