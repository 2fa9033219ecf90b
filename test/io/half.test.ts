// Half / bfloat16 conversions: exhaustive round trips over all 65536 half bit patterns, rounding at
// every midpoint between neighbouring halves (ties to even), and the float64 path agreeing with the
// float32 bit path on random inputs.

import { describe, expect, it } from 'vitest';
import { bf16BitsToF32, f16BitsToF32, f16round, f32BitsToF16Bits, f32ToF16Bits } from '../../src/io/half.js';
import { rng } from '../util/random.js';

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
const bitsOf = (x: number) => ((f32[0] = x), u32[0]);
const fromBits = (b: number) => ((u32[0] = b >>> 0), f32[0]);

describe('half', () => {
  it('decodes known bit patterns exactly', () => {
    expect(f16BitsToF32(0x3c00)).toBe(1);
    expect(f16BitsToF32(0xc000)).toBe(-2);
    expect(f16BitsToF32(0x7bff)).toBe(65504);
    expect(f16BitsToF32(0x0001)).toBe(2 ** -24);
    expect(f16BitsToF32(0x0400)).toBe(2 ** -14);
    expect(f16BitsToF32(0x2b42)).toBe(0.05670166015625); // first word embedding of bert-cls-f16 (numpy)
    expect(Object.is(f16BitsToF32(0x8000), -0)).toBe(true);
    expect(f16BitsToF32(0x7c00)).toBe(Infinity);
    expect(f16BitsToF32(0xfc00)).toBe(-Infinity);
    expect(f16BitsToF32(0x7e00)).toBeNaN();
    expect(bf16BitsToF32(0x3f80)).toBe(1);
    expect(bf16BitsToF32(0xc000)).toBe(-2);
    expect(bf16BitsToF32(0x7f80)).toBe(Infinity);
    expect(bf16BitsToF32(0x3e4d)).toBe(0.2001953125);
  });

  it('round-trips all 65536 half bit patterns through both encoders', () => {
    for (let h = 0; h < 65536; h++) {
      const v = f16BitsToF32(h);
      if (Number.isNaN(v)) {
        expect(f32ToF16Bits(v) & 0x7c00).toBe(0x7c00);
        expect(f32BitsToF16Bits(bitsOf(v)) & 0x7fff).toBeGreaterThan(0x7c00);
        continue;
      }
      if (f32ToF16Bits(v) !== h || f32BitsToF16Bits(bitsOf(v)) !== h) throw new Error(`half 0x${h.toString(16)} (${v}) does not round-trip`);
    }
  });

  it('rounds every midpoint between neighbouring positive halves to even, and neighbours of midpoints to the nearer half', () => {
    for (let h = 0; h < 0x7bff; h++) {
      const lo = f16BitsToF32(h);
      const hi = f16BitsToF32(h + 1);
      const mid = (lo + hi) / 2; // exact in float32 (halves have 11 significant bits)
      const even = h % 2 === 0 ? h : h + 1;
      const below = fromBits(bitsOf(mid) - 1);
      const above = fromBits(bitsOf(mid) + 1);
      const got = [f32ToF16Bits(mid), f32BitsToF16Bits(bitsOf(mid)), f32ToF16Bits(below), f32BitsToF16Bits(bitsOf(below)), f32ToF16Bits(above), f32BitsToF16Bits(bitsOf(above))];
      const want = [even, even, h, h, h + 1, h + 1];
      if (got.some((g, i) => g !== want[i])) throw new Error(`around 0x${h.toString(16)}: got ${got} want ${want}`);
      // negative values mirror the positive ones
      if (f32ToF16Bits(-mid) !== (even | 0x8000) || f32BitsToF16Bits(bitsOf(-mid)) !== (even | 0x8000)) throw new Error(`-mid at 0x${h.toString(16)}`);
    }
  });

  it('handles overflow, underflow and signed zero', () => {
    expect(f32ToF16Bits(65519.99)).toBe(0x7bff);
    expect(f32ToF16Bits(65520)).toBe(0x7c00); // tie between 65504 and 2^16 goes to even = Infinity
    expect(f32BitsToF16Bits(bitsOf(65520))).toBe(0x7c00);
    expect(f32ToF16Bits(1e10)).toBe(0x7c00);
    expect(f32ToF16Bits(-1e10)).toBe(0xfc00);
    expect(f32ToF16Bits(2 ** -25)).toBe(0); // tie with the smallest subnormal goes to even = 0
    expect(f32ToF16Bits(1.5 * 2 ** -25)).toBe(1);
    expect(f32BitsToF16Bits(bitsOf(1.5 * 2 ** -25))).toBe(1);
    expect(f32ToF16Bits(1e-30)).toBe(0);
    expect(f32BitsToF16Bits(bitsOf(1e-30))).toBe(0);
    expect(f32ToF16Bits(-0)).toBe(0x8000);
    expect(f32ToF16Bits(NaN)).toBe(0x7e00);
    expect(f16round(0.1)).toBe(0.0999755859375);
    expect(f16round(1 / 3)).toBe(0.333251953125);
  });

  it('float64 and float32-bit encoders agree on 200k random float32 values of every magnitude', () => {
    const r = rng(7);
    for (let i = 0; i < 200_000; i++) {
      const x = fromBits(Math.floor(r() * 2 ** 32));
      if (Number.isNaN(x)) continue;
      const a = f32ToF16Bits(x);
      const b = f32BitsToF16Bits(bitsOf(x));
      if (a !== b) throw new Error(`${x}: ${a} vs ${b}`);
    }
  });
});
