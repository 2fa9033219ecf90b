// Rotary position embedding, rotate-half form (HF `rotate_half`), in place on the q and k heads of
// a packed qkv buffer, rows [q (NH·HD) | k (NKV·HD) | v (NKV·HD)]. For a head vector x, position p
// and j < R/2 (R = rotaryDim <= HD; dims from R on are untouched):
//   x[j]       <- x[j]·cos(a_j) - x[j + R/2]·sin(a_j)
//   x[j + R/2] <- x[j + R/2]·cos(a_j) + x[j]·sin(a_j),      a_j = f32(p) · inv_freq[j]
// The angle is one f32 product, as in HF (f32 inv_freq times f32 positions). cos/sin are this
// file's own (WGSL only promises 2^-11 absolute error for the built-ins, and nothing past ±π):
// a Cody-Waite reduction by π/2 with a four-part constant (8 significant bits in each of the first
// three, so k·P is exact while k < 2^16: |a| < 102943, i.e. positions up to ~100k; simulated in
// f32 over that range, the reduced angle is within 6e-8 of the exact one), then polynomials on
// [-π/4, π/4] (least-squares fits, float64 error < 6e-9; f32 evaluation < 8e-8 absolute).
// One invocation per rotated pair (`main`) or per 4 pairs (`main4`: R/2 % 4 == 0, HD % 4 == 0).
// In place is safe: each pair is read and written by one invocation.

override WG: u32 = 64;

struct Params { count: u32, heads: u32, half: u32, HD: u32, stride: u32, _p0: u32, _p1: u32, _p2: u32 }
@group(0) @binding(0) var<uniform> params: Params; // count = N·heads·half; half, HD, stride in units
@group(0) @binding(1) var<storage, read_write> qkv: array<f32>;   // (N, (NH + 2·NKV)·HD)
@group(0) @binding(2) var<storage, read> pos_ids: array<u32>;     // (N)
@group(0) @binding(3) var<storage, read> inv_freq: array<f32>;    // (R/2)
@group(0) @binding(1) var<storage, read_write> qkv4: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> inv_freq4: array<vec4<f32>>;

// π/2 = P1 + P2 + P3 + P4 (to float64 precision): P1, P2 and P3 carry 8 significant bits each.
const P1 = 1.5703125;
const P2 = 4.825592041015625e-4;
const P3 = 1.2665987014770508e-6;
const P4 = 9.920935184482005e-10;
const TWO_OVER_PI = 0.63661977;

// cos and sin of each lane of a.
struct CosSin { c: vec4<f32>, s: vec4<f32> }

fn cos_sin(a: vec4<f32>) -> CosSin {
  let k = round(a * TWO_OVER_PI);
  let r = (((a - k * P1) - k * P2) - k * P3) - k * P4; // in [-π/4, π/4] (up to rounding)
  let u = r * r;
  let sp = fma(r * u, fma(fma(vec4<f32>(-1.9523877828e-04), u, vec4<f32>(8.3322323967e-03)), u, vec4<f32>(-1.6666655985e-01)), r);
  let cp = fma(u * u, fma(fma(vec4<f32>(2.4449328494e-05), u, vec4<f32>(-1.3887469095e-03)), u, vec4<f32>(4.1666649118e-02)), 1.0 - 0.5 * u);
  // Quadrant q = k mod 4: (cos, sin) of r + qπ/2 = (c, s), (-s, c), (-c, -s), (s, -c).
  let q = vec4<u32>(vec4<i32>(k) & vec4<i32>(3));
  let swap = (q & vec4<u32>(1u)) != vec4<u32>(0u);
  let c0 = select(cp, sp, swap);
  let s0 = select(sp, cp, swap);
  let neg_c = (q == vec4<u32>(1u)) | (q == vec4<u32>(2u));
  let neg_s = q >= vec4<u32>(2u);
  return CosSin(select(c0, -c0, neg_c), select(s0, -s0, neg_s));
}

// The pair an invocation rotates: flat index → row n, head h, frequency j → units lo = x[j], hi = x[j + R/2].
struct Pair { lo: u32, hi: u32, n: u32, j: u32 }
fn pair_of(idx: u32) -> Pair {
  let j = idx % params.half;
  let t = idx / params.half;
  let n = t / params.heads;
  let lo = n * params.stride + (t % params.heads) * params.HD + j;
  return Pair(lo, lo + params.half, n, j);
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let idx = gid.x + gid.y * nwg.x * WG;
  if (idx >= params.count) { return; }
  let p = pair_of(idx);
  let cs = cos_sin(vec4<f32>(f32(pos_ids[p.n]) * inv_freq[p.j]));
  let x1 = qkv[p.lo];
  let x2 = qkv[p.hi];
  qkv[p.lo] = x1 * cs.c.x - x2 * cs.s.x;
  qkv[p.hi] = x2 * cs.c.x + x1 * cs.s.x;
}

@compute @workgroup_size(WG)
fn main4(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let idx = gid.x + gid.y * nwg.x * WG;
  if (idx >= params.count) { return; }
  let p = pair_of(idx);
  let cs = cos_sin(f32(pos_ids[p.n]) * inv_freq4[p.j]);
  let x1 = qkv4[p.lo];
  let x2 = qkv4[p.hi];
  qkv4[p.lo] = x1 * cs.c - x2 * cs.s;
  qkv4[p.hi] = x2 * cs.c + x1 * cs.s;
}
