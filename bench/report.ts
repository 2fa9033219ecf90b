// Benchmark output: the console table (kernel | shape | median ms | GFLOP/s or GB/s | % of
// peak | % of peak by CPU time | ours/TF.js) and the --json file { adapter, peak, variants,
// rows, tfjs, e2e }.

import { writeFileSync } from 'node:fs';
import type { AdapterSummary } from '../src/gpu/device.js';
import type { KernelRow } from './kernels.js';
import type { Peak } from './peak.js';
import type { TfjsRow } from './tfjs.js';
import { formatE2E, type E2ERow } from './e2e.js';
import { SUBGROUP_DEFAULT, subgroupWordsPerFlop } from '../src/kernels/matmul.js';

export interface BenchReport {
  adapter: Pick<AdapterSummary, 'vendor' | 'architecture' | 'description'> & { device: string };
  peak: Peak;
  /** The load-time kernel choice (src/gpu/variants.ts) the rows ran with. */
  variants?: { matmul: string; attention: string; timings: unknown };
  rows: KernelRow[];
  tfjs: TfjsRow[];
  /** End-to-end rows (embed() on random-weight models); empty with --no-e2e. */
  e2e: E2ERow[];
}

function pad(s: string, n: number, right = false): string {
  return right ? s.padStart(n) : s.padEnd(n);
}

function rate(r: { gflops?: number; gbps?: number }): string {
  if (r.gflops !== undefined) return `${r.gflops.toFixed(2)} GFLOP/s`;
  if (r.gbps !== undefined) return `${r.gbps.toFixed(2)} GB/s`;
  return '';
}

/** ours / TF.js for rows that share a compareKey with an ok TF.js row. */
export function tfjsRatio(row: KernelRow, tfjs: TfjsRow[]): number | undefined {
  const t = tfjs.find((x) => x.compareKey === row.compareKey && x.status === 'ok');
  if (!t || !t.medianMs || !row.medianMs || row.status !== 'ok') return undefined;
  return t.medianMs / row.medianMs;
}

export function formatReport(rep: BenchReport): string {
  const lines: string[] = [];
  lines.push(`adapter: ${rep.adapter.description || rep.adapter.device} (${rep.adapter.vendor}, ${rep.adapter.architecture})`);
  const p = rep.peak;
  lines.push(
    `peak: FMA ${p.fmaGflops.toFixed(2)} GFLOP/s (best probe ${p.fmaConfig} of ${p.fmaProbes.map((x) => `${x.config} ${x.gflops.toFixed(1)}`).join(', ')}; ` +
      `per CPU time ${p.fmaCpuGflops?.toFixed(1) ?? '-'}), copy ${p.copyGbps.toFixed(2)} GB/s, storage loads ${p.loadGwords?.toFixed(2) ?? '-'} G words/s`,
  );
  if (p.loadGwords) {
    // Time per FLOP = 1/FMA rate + (words per FLOP)/load rate; the ceiling is its FMA share.
    const ceiling = (w: 'f32' | 'f16') => 1 / (1 + subgroupWordsPerFlop(SUBGROUP_DEFAULT, w) * (p.fmaGflops / p.loadGwords!));
    lines.push(
      `matmul sg load-bound ceiling (FMA + storage-load probes of this run): f32 weights ${(100 * ceiling('f32')).toFixed(0)}% of FMA peak, ` +
        `f16 weights ${(100 * ceiling('f16')).toFixed(0)}%`,
    );
  }
  if (rep.variants) lines.push(`variants (timed at load): matmul ${rep.variants.matmul}, attention ${rep.variants.attention}`);
  const table: string[][] = [['kernel', 'shape', 'median ms', 'rate', '% peak', '% peak cpu', 'vs TF.js']];
  for (const r of rep.rows) {
    if (r.status !== 'ok') {
      table.push([r.kernel, r.shape, r.status.toUpperCase(), (r.error ?? '').slice(0, 60), '', '', '']);
      continue;
    }
    const ratio = tfjsRatio(r, rep.tfjs);
    table.push([
      r.kernel,
      r.shape,
      r.medianMs!.toFixed(2),
      rate(r),
      r.peakFraction !== undefined ? `${(100 * r.peakFraction).toFixed(0)}%` : '',
      r.cpuPeakFraction !== undefined ? `${(100 * r.cpuPeakFraction).toFixed(0)}%` : '',
      ratio !== undefined ? `${ratio.toFixed(1)}x` : '',
    ]);
  }
  for (const t of rep.tfjs) {
    if (t.status !== 'ok') {
      table.push([t.kernel, t.shape, t.status.toUpperCase(), (t.error ?? '').slice(0, 60), '', '', '']);
      continue;
    }
    const frac = t.gflops! / rep.peak.fmaGflops;
    table.push([t.kernel, t.shape, t.medianMs!.toFixed(2), rate(t), `${(100 * frac).toFixed(0)}%`, '', '1.0x']);
  }
  const widths = table[0].map((_, c) => Math.max(...table.map((row) => row[c].length)));
  table.forEach((row, i) => {
    lines.push(row.map((cell, c) => pad(cell, widths[c], c >= 2)).join(' | '));
    if (i === 0) lines.push(widths.map((w) => '-'.repeat(w)).join('-|-'));
  });
  if (rep.e2e.length) lines.push('', formatE2E(rep.e2e));
  return lines.join('\n');
}

export function writeJson(file: string, rep: BenchReport & Record<string, unknown>): void {
  writeFileSync(file, JSON.stringify(rep, null, 2) + '\n');
}
