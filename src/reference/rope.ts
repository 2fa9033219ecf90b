// Float64 reference for shaders/rope.wgsl: rotate-half rotary embedding of the q and k heads of a
// packed qkv buffer (HF apply_rotary_pos_emb: x·cos + rotate_half(x)·sin on the first rotaryDim
// dims). `angles: 'f64'` is the exact math (what a float64 golden computes); `angles: 'f32'`
// rounds inv_freq and position · inv_freq to f32 as HF and the kernel do, with exact cos/sin of
// those angles, so a kernel check against it measures only the kernel's own error.

export interface RopeRefArgs {
  qkv: ArrayLike<number>; // (N, (NH + 2·NKV)·HD)
  posIds: ArrayLike<number>; // (N)
  N: number;
  NH: number;
  NKV: number;
  HD: number;
  rotaryDim: number;
  theta: number;
  angles?: 'f64' | 'f32';
}

/** The whole qkv buffer after rotating q and k (v heads and dims past rotaryDim unchanged). */
export function ropeRef(a: RopeRefArgs): Float64Array {
  const out = Float64Array.from(a.qkv);
  const half = a.rotaryDim / 2, stride = (a.NH + 2 * a.NKV) * a.HD;
  const f32 = a.angles === 'f32';
  const invFreq = Array.from({ length: half }, (_, i) => {
    const f = 1 / a.theta ** ((2 * i) / a.rotaryDim);
    return f32 ? Math.fround(f) : f;
  });
  for (let n = 0; n < a.N; n++) {
    for (let j = 0; j < half; j++) {
      const ang = f32 ? Math.fround(a.posIds[n] * invFreq[j]) : a.posIds[n] * invFreq[j];
      const c = Math.cos(ang), s = Math.sin(ang);
      for (let h = 0; h < a.NH + a.NKV; h++) {
        const lo = n * stride + h * a.HD + j, hi = lo + half;
        const x1 = a.qkv[lo], x2 = a.qkv[hi];
        out[lo] = x1 * c - x2 * s;
        out[hi] = x2 * c + x1 * s;
      }
    }
  }
  return out;
}
