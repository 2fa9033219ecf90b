// Adapter peak probes for the benchmark: the FMA probes measure arithmetic throughput
// (independent FMA chains kept in registers), `copy_probe` storage-buffer bandwidth (vec4 copy),
// `load_probe` the cost of the per-invocation storage loads a matmul inner loop does.
// fma_probe is the original fixed form (4 vec4 chains); fma_vec4 / fma_scalar take the chain
// count as an override so the host can search for the configuration that reaches the ceiling
// (src/kernels/peak.ts explains why that search is needed).

override WG: u32 = 256;
override ITERS: u32 = 256; // FMA steps per chain; a multiple of 8
override CHAINS: u32 = 4u; // independent chains per invocation (fma_vec4 <= 16, fma_scalar <= 32)

struct Params { n: u32, seed: f32, _p0: u32, _p1: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> src: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> dst: array<vec4<f32>>;

@compute @workgroup_size(WG)
fn fma_probe(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= params.n) { return; }
  let m = vec4<f32>(0.9999, 0.9998, 0.9997, 0.9996);
  var a = vec4<f32>(f32(i) * 1e-6 + params.seed);
  var b = a + 1.0;
  var c = a + 2.0;
  var d = a + 3.0;
  let k0 = vec4<f32>(0.001);
  // 8 steps per chain per loop trip: lavapipe blends loop-carried values with the execution mask
  // on every trip, so an un-unrolled loop measures that overhead rather than FMA throughput.
  for (var k = 0u; k < ITERS; k += 8u) {
    a = fma(a, m, k0); b = fma(b, m, k0); c = fma(c, m, k0); d = fma(d, m, k0);
    a = fma(a, m, k0); b = fma(b, m, k0); c = fma(c, m, k0); d = fma(d, m, k0);
    a = fma(a, m, k0); b = fma(b, m, k0); c = fma(c, m, k0); d = fma(d, m, k0);
    a = fma(a, m, k0); b = fma(b, m, k0); c = fma(c, m, k0); d = fma(d, m, k0);
    a = fma(a, m, k0); b = fma(b, m, k0); c = fma(c, m, k0); d = fma(d, m, k0);
    a = fma(a, m, k0); b = fma(b, m, k0); c = fma(c, m, k0); d = fma(d, m, k0);
    a = fma(a, m, k0); b = fma(b, m, k0); c = fma(c, m, k0); d = fma(d, m, k0);
    a = fma(a, m, k0); b = fma(b, m, k0); c = fma(c, m, k0); d = fma(d, m, k0);
  }
  dst[i] = a + b + c + d;
}

@compute @workgroup_size(WG)
fn copy_probe(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= params.n) { return; }
  dst[i] = src[i];
}

// The chain-count probes have the dependency shape of a matmul inner loop: every step is
// a[c] = fma(x, b[c], a[c]) with x new each step, so the multiply is off the chain and only the
// add is loop-carried (as acc += x·w in matmul). CHAINS accumulators are independent; 16 steps
// per loop trip, written out: lavapipe blends every loop-carried value with the execution mask
// once per trip (and spills what does not fit around it), so short trips measure that instead.
// The loops over chains have a constant trip count after specialisation, so they unroll and
// the arrays stay in registers.
fn step_vec4(a: ptr<function, array<vec4<f32>, 16>>, b: ptr<function, array<vec4<f32>, 16>>, x: f32) {
  for (var c = 0u; c < CHAINS; c++) { (*a)[c] = fma(vec4<f32>(x), (*b)[c], (*a)[c]); }
}

fn step_scalar(a: ptr<function, array<f32, 32>>, b: ptr<function, array<f32, 32>>, x: f32) {
  for (var c = 0u; c < CHAINS; c++) { (*a)[c] = fma(x, (*b)[c], (*a)[c]); }
}

@compute @workgroup_size(WG)
fn fma_vec4(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= params.n) { return; }
  var a: array<vec4<f32>, 16>;
  var b: array<vec4<f32>, 16>;
  for (var c = 0u; c < CHAINS; c++) {
    a[c] = vec4<f32>(f32(i) * 1e-6 + params.seed);
    b[c] = vec4<f32>(1.0, 2.0, 3.0, 4.0) + f32(c);
  }
  let xi = f32(i) * 1e-9; // per lane, so x·b[c] is a vector multiply as in matmul
  for (var k = 0u; k < ITERS; k += 16u) {
    let x = f32(k) * 1e-7 + xi;
    step_vec4(&a, &b, x + 0e-7);
    step_vec4(&a, &b, x + 1e-7);
    step_vec4(&a, &b, x + 2e-7);
    step_vec4(&a, &b, x + 3e-7);
    step_vec4(&a, &b, x + 4e-7);
    step_vec4(&a, &b, x + 5e-7);
    step_vec4(&a, &b, x + 6e-7);
    step_vec4(&a, &b, x + 7e-7);
    step_vec4(&a, &b, x + 8e-7);
    step_vec4(&a, &b, x + 9e-7);
    step_vec4(&a, &b, x + 10e-7);
    step_vec4(&a, &b, x + 11e-7);
    step_vec4(&a, &b, x + 12e-7);
    step_vec4(&a, &b, x + 13e-7);
    step_vec4(&a, &b, x + 14e-7);
    step_vec4(&a, &b, x + 15e-7);
  }
  var s = vec4<f32>(0.0);
  for (var c = 0u; c < CHAINS; c++) { s += a[c]; }
  dst[i] = s;
}

@compute @workgroup_size(WG)
fn fma_scalar(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= params.n) { return; }
  var a: array<f32, 32>;
  var b: array<f32, 32>;
  for (var c = 0u; c < CHAINS; c++) {
    a[c] = f32(i) * 1e-6 + params.seed;
    b[c] = 1.0 + f32(c);
  }
  let xi = f32(i) * 1e-9; // per lane, so x·b[c] is a vector multiply as in matmul
  for (var k = 0u; k < ITERS; k += 16u) {
    let x = f32(k) * 1e-7 + xi;
    step_scalar(&a, &b, x + 0e-7);
    step_scalar(&a, &b, x + 1e-7);
    step_scalar(&a, &b, x + 2e-7);
    step_scalar(&a, &b, x + 3e-7);
    step_scalar(&a, &b, x + 4e-7);
    step_scalar(&a, &b, x + 5e-7);
    step_scalar(&a, &b, x + 6e-7);
    step_scalar(&a, &b, x + 7e-7);
    step_scalar(&a, &b, x + 8e-7);
    step_scalar(&a, &b, x + 9e-7);
    step_scalar(&a, &b, x + 10e-7);
    step_scalar(&a, &b, x + 11e-7);
    step_scalar(&a, &b, x + 12e-7);
    step_scalar(&a, &b, x + 13e-7);
    step_scalar(&a, &b, x + 14e-7);
    step_scalar(&a, &b, x + 15e-7);
  }
  var s = 0.0;
  for (var c = 0u; c < CHAINS; c++) { s += a[c]; }
  dst[i] = vec4<f32>(s);
}

// Storage loads as a matmul inner loop does them: each invocation reads ITERS vec4 from one of
// 64 rows of `src` (64·ITERS vec4, small enough to stay in cache) and sums them. Lavapipe turns
// each such load into a per-lane, per-component scalar load with a bounds check, so this
// measures that cost, which bounds the matmul kernels on CPU adapters.
@compute @workgroup_size(WG)
fn load_probe(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= params.n) { return; }
  let row = (i & 63u) * ITERS;
  var a = vec4<f32>(0.0);
  var b = vec4<f32>(0.0);
  for (var k = 0u; k < ITERS; k += 2u) {
    a += src[row + k];
    b += src[row + k + 1u];
  }
  dst[i] = a + b;
}
