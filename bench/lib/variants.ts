/** Rows and the Markdown table of bench/data-path-variants.ts: each variant beside its baseline of the same run. */
import type { Measurement } from './load.js';

/** What one measured run is: its variant, target, whether it is the baseline, and its round. */
export interface RunSpec {
  variant: string;
  target: string;
  /** The rows the variant's other rows are compared with. */
  baseline: boolean;
  /** Rows every answer holds (keys per call). */
  rowsPerResponse: number;
  /** Round of the variant (1, 2, …) when it is measured more than once. */
  run: number;
}

export interface VariantRow extends Measurement, RunSpec {
  /** Mean body bytes of the sampled (checked) responses. */
  bodyBytes: number;
  /** CPU ms per response of the processes under test (the gateways, or the bare proxy), all threads. */
  cpuPerResponse: number;
  /** CPU ms per response of nginx when the requests went through it (NaN otherwise). */
  nginxCpuPerResponse: number;
  redisCpuPerResponse: number;
  /** Peak RSS of the processes under test, MiB (summed over processes). */
  rssMiB: number;
  /** 1-minute load average when the run started. */
  load1: number;
  /** req/s of this row over the mean of its variant's baseline rows. */
  ratio: number;
}

const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;
const baselineRps = (rows: VariantRow[], variant: string) =>
  mean(rows.filter((r) => r.variant === variant && r.baseline).map((r) => r.rps));

const f1 = (n: number) => (Number.isFinite(n) ? n.toFixed(1) : '-');
const f2 = (n: number) => (Number.isFinite(n) ? n.toFixed(2) : '-');
const bytes = (n: number) =>
  !Number.isFinite(n) ? '-' : n >= 10_240 ? `${(n / 1024).toFixed(1)} KiB` : `${Math.round(n)} B`;

/** Fills `ratio` of every row from the baseline rows of its variant (NaN without one). */
export function withRatios(rows: VariantRow[]): VariantRow[] {
  return rows.map((row) => ({ ...row, ratio: row.rps / baselineRps(rows, row.variant) }));
}

/** One line per variant: mean req/s of the other target over the baseline's, and the added p99. */
export function variantSummary(rows: VariantRow[]): string {
  return [...new Set(rows.map((r) => r.variant))]
    .flatMap((variant) => {
      const of = (baseline: boolean) => rows.filter((r) => r.variant === variant && r.baseline === baseline);
      const [base, other] = [of(true), of(false)];
      if (base.length === 0 || other.length === 0) return [];
      const runs = base.length > 1 ? ` (mean of ${base.length} runs each)` : '';
      return [
        `${variant}: ${other[0]!.target} / ${base[0]!.target} = ${f2(mean(other.map((r) => r.rps)) / mean(base.map((r) => r.rps)))} req/s` +
          `, added p99 ${f2(mean(other.map((r) => r.p99)) - mean(base.map((r) => r.p99)))} ms` +
          `, CPU ms/resp ${f2(mean(other.map((r) => r.cpuPerResponse)))} vs ${f2(mean(base.map((r) => r.cpuPerResponse)))}${runs}`,
      ];
    })
    .join('\n');
}

export function variantsTable(rows: VariantRow[]): string {
  const lines = [
    '| variant | target | req/s | rows/s | p50 ms | p99 ms | p99.9 ms | body / wire bytes per resp | non-2xx | CPU ms/resp: target · nginx · redis | RSS MiB | load1 | req/s vs baseline |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|',
  ];
  for (const r of rows) {
    lines.push(
      `| ${r.variant} | ${r.target}${r.baseline ? ' (baseline)' : ''}${r.run > 1 ? `, run ${r.run}` : ''} | ${Math.round(r.rps)} | ${Math.round(r.rps * r.rowsPerResponse)} | ` +
        `${f2(r.p50)} | ${f2(r.p99)} | ${f2(r.p999)} | ${bytes(r.bodyBytes)} / ${bytes(r.meanBytes)} | ` +
        `${r.non2xx + r.errors + r.timeouts} | ${f2(r.cpuPerResponse)} · ${f2(r.nginxCpuPerResponse)} · ${f2(r.redisCpuPerResponse)} | ` +
        `${f1(r.rssMiB)} | ${f1(r.load1)} | ${r.baseline ? '1' : f2(r.ratio)} |`,
    );
  }
  return lines.join('\n');
}
