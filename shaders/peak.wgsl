// Adapter peak probes for the benchmark: `fma` measures arithmetic throughput (independent
// vec4 FMA chains kept in registers), `copy` measures storage-buffer bandwidth (vec4 copy).

override WG: u32 = 256;
override ITERS: u32 = 256; // FMA steps per chain; a multiple of 8

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
