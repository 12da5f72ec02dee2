/**
 * The quick version of every benchmark in one command, one after another as child processes (each
 * starts and stops its own servers), then ONE summary table. A benchmark that fails is reported and the
 * others still run; the exit code is then 1.
 *
 *   npx tsc -p . --outDir .build/bench && node .build/bench/bench/all.js
 *
 * The scripts are found next to this one (any out dir works). About 4.5 minutes on 2 busy cores, plus ~2 for audit-store.
 * audit-append and exchange-pg have no --json: their printed lines are parsed.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cleanEnv } from './lib/children.js';
import type { Ratio } from './lib/report.js';
import { TARGET_ADDED_P99_MS, TARGET_CONNECTIONS, TARGET_RPS_RATIO } from './lib/report.js';

const here = dirname(fileURLToPath(import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'govshare-bench-all-'));
/** Bulk export target (issue 5): at least this share of COPY's rows/s. */
const EXPORT_TARGET_SHARE = 0.3;
/** Audit store targets (issue 15): shipping records/s, and search p95. */
const AUDIT_SHIP_TARGET = 20_000;
const AUDIT_SEARCH_P95_MS = 50;

interface Row {
  benchmark: string;
  measurement: string;
  govshare: string;
  baseline: string;
  ratio: string;
  target: string;
  met: string;
}

interface Run {
  name: string;
  script: string;
  args: string[];
  /** Killed beyond this (the benchmark is then reported as failed). */
  limitMs: number;
  rows: (output: string) => Row[];
}

const f2 = (n: number) => (Number.isFinite(n) ? n.toFixed(2) : '-');
const int = (n: number) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en') : '-');
const met = (ok: boolean) => (ok ? 'yes' : '**no**');
const json = <T>(file: string) => JSON.parse(readFileSync(join(work, file), 'utf8')) as T;
const row = (benchmark: string, measurement: string, values: Partial<Row>): Row => ({
  benchmark,
  measurement,
  govshare: '',
  baseline: '',
  ratio: '',
  target: '—',
  met: '—',
  ...values,
});

function dataPathRows(): Row[] {
  type Measured = { target: string; connections: number; rps: number; p99: number };
  const raw = json<{ rows: Measured[]; ratios: Ratio[]; paced: (Measured & { rate: number })[] }>(
    'data-path.json',
  );
  const at = (target: string) =>
    raw.rows.find((r) => r.target === target && r.connections === TARGET_CONNECTIONS);
  const ratio = raw.ratios.find((r) => r.connections === TARGET_CONNECTIONS);
  const [gov, proxy] = [at('govshare'), at('bare-proxy')];
  if (!gov || !proxy || !ratio)
    throw new Error(`data-path.json has no ${TARGET_CONNECTIONS}-connection results`);
  const b = 'data-path';
  const rows = [
    row(b, `req/s at ${TARGET_CONNECTIONS} connections (baseline: bare Fastify + undici proxy)`, {
      govshare: int(gov.rps),
      baseline: int(proxy.rps),
      ratio: f2(ratio.rpsVsProxy),
      target: `≥ ${TARGET_RPS_RATIO}`,
      met: met(ratio.rpsVsProxy >= TARGET_RPS_RATIO),
    }),
    row(b, `p99 ms at ${TARGET_CONNECTIONS} connections, closed loop (ratio column: added ms)`, {
      govshare: f2(gov.p99),
      baseline: f2(proxy.p99),
      ratio: `+${f2(ratio.addedP99)}`,
      target: `< ${TARGET_ADDED_P99_MS} ms added`,
      met: met(ratio.addedP99 < TARGET_ADDED_P99_MS),
    }),
  ];
  const pacedGov = raw.paced.find((p) => p.target === 'govshare');
  const pacedProxy = raw.paced.find((p) => p.target === 'bare-proxy');
  if (pacedGov && pacedProxy) {
    const added = pacedGov.p99 - pacedProxy.p99;
    rows.push(
      row(b, `p99 ms at an equal offered load of ${int(pacedGov.rate)} req/s (ratio column: added ms)`, {
        govshare: f2(pacedGov.p99),
        baseline: f2(pacedProxy.p99),
        ratio: `+${f2(added)}`,
        target: `< ${TARGET_ADDED_P99_MS} ms added`,
        met: met(added < TARGET_ADDED_P99_MS),
      }),
    );
  }
  return rows;
}

function searchRows(): Row[] {
  type L = { p50: number; p95: number; p99: number; perSecond: number };
  const { catalog, audit } = json<{
    catalog: { entries: number; govshare: L; baseline: L };
    audit: {
      shape: { records: number };
      write: { perSecond: number };
      subject: { latency: L; baselineFullScanMs: number };
      department: { firstPages: L; pages: L; baselineFirstPageMs: number };
      verify: { verify: { perSecond: number }; read: { perSecond: number } };
    };
  }>('search.json');
  const b = 'search';
  const n = int(audit.shape.records);
  return [
    row(b, `catalog search p95 ms, ${int(catalog.entries)} entries (baseline: naive in-memory filter)`, {
      govshare: f2(catalog.govshare.p95),
      baseline: f2(catalog.baseline.p95),
      ratio: `${f2(catalog.baseline.p95 / catalog.govshare.p95)}× faster`,
    }),
    row(b, 'catalog searches/s, one after another', {
      govshare: int(catalog.govshare.perSecond),
      baseline: int(catalog.baseline.perSecond),
      ratio: f2(catalog.govshare.perSecond / catalog.baseline.perSecond),
    }),
    row(b, `audit by subject p95 ms, ${n} records (baseline: one full XRANGE scan)`, {
      govshare: f2(audit.subject.latency.p95),
      baseline: f2(audit.subject.baselineFullScanMs),
      ratio: `${int(audit.subject.baselineFullScanMs / audit.subject.latency.p95)}× faster`,
    }),
    row(b, `audit by department + day, first page p95 ms (baseline: XREVRANGE until 100 found)`, {
      govshare: f2(audit.department.firstPages.p95),
      baseline: f2(audit.department.baselineFirstPageMs),
      ratio: `${f2(audit.department.baselineFirstPageMs / audit.department.firstPages.p95)}× faster`,
    }),
    row(b, 'audit by department + day, any page (1-5) p95 ms', { govshare: f2(audit.department.pages.p95) }),
    row(b, `audit records written/s through AuditWriter (${n})`, { govshare: int(audit.write.perSecond) }),
    row(b, 'audit verify records/s (baseline: plain XRANGE reading)', {
      govshare: int(audit.verify.verify.perSecond),
      baseline: int(audit.verify.read.perSecond),
      ratio: f2(audit.verify.verify.perSecond / audit.verify.read.perSecond),
    }),
  ];
}

function variantRows(): Row[] {
  type VRow = { variant: string; target: string; baseline: boolean; rps: number; p99: number; ratio: number };
  const { rows } = json<{ rows: VRow[] }>('variants.json');
  const variants = [...new Set(rows.map((r) => r.variant))];
  return variants.flatMap((variant) => {
    const of = rows.filter((r) => r.variant === variant);
    const base = of.filter((r) => r.baseline);
    return of
      .filter((r) => !r.baseline)
      .map((r) =>
        row(
          'data-path-variants',
          `${variant}: ${r.target} req/s at 50 connections (baseline: ${base[0]?.target ?? '-'})`,
          {
            govshare: int(r.rps),
            baseline: int(base.reduce((sum, b) => sum + b.rps, 0) / Math.max(1, base.length)),
            ratio: f2(r.ratio),
          },
        ),
      );
  });
}

/** audit-append prints one line per appendfsync mode; it has no --json. */
function auditAppendRows(output: string): Row[] {
  const lines = [
    ...output.matchAll(/appendfsync (\w+)\s+([\d,]+) appends\/s.*?verify (\w+) at ([\d,]+) records\/s/g),
  ];
  if (lines.length === 0)
    throw new Error('no "appendfsync … appends/s … verify … records/s" line in its output');
  const num = (s: string) => Number(s.replaceAll(',', ''));
  return lines.flatMap(([, mode, appends, verdict, verify]) => [
    row('audit-append', `appends/s, 50 callers, appendfsync ${mode}`, { govshare: int(num(appends!)) }),
    row('audit-append', `verify records/s after the ${mode} run (${verdict})`, {
      govshare: int(num(verify!)),
    }),
  ]);
}

/** exchange-pg has no --json: its "reference:" line and the export row of its table are parsed. */
function exchangeRows(output: string): Row[] {
  const reference = /reference: fastest COPY ORDER BY key, ([\d,]+) rows\/s; the export ([\d.]+)% of it/.exec(
    output,
  );
  const exported = /govshare export, (\d+) rows.*?\s(\d+)\s+([\d.]+)\s+([\d,]+)\s/.exec(output);
  if (!reference || !exported)
    throw new Error('no "reference: fastest COPY …" line or export row in its output');
  const share = Number(reference[2]) / 100;
  return [
    row(
      'exchange-pg',
      `bulk export rows/s, ${int(Number(exported[1]))} rows (baseline: COPY … ORDER BY key)`,
      {
        govshare: exported[4]!,
        baseline: reference[1]!,
        ratio: f2(share),
        target: `≥ ${EXPORT_TARGET_SHARE}`,
        met: met(share >= EXPORT_TARGET_SHARE),
      },
    ),
  ];
}

function auditStoreRows(): Row[] {
  type L = { p95: number };
  const raw = json<{
    stored: number;
    ship: { records: number; perSecond: number };
    baseline: { perSecond: number };
    searches: { name: string; govshare: L; baseline: L }[];
    size: { records: number; subjects: number; rows: number };
    redisBytesPerRecord: number;
  }>('audit-store.json');
  const b = 'audit-store';
  const shipRatio = raw.ship.perSecond / raw.baseline.perSecond;
  return [
    row(b, `shipping records/s, ${int(raw.ship.records)} records (baseline: INSERT … unnest, unindexed)`, {
      govshare: int(raw.ship.perSecond),
      baseline: int(raw.baseline.perSecond),
      ratio: f2(shipRatio),
      target: `≥ ${int(AUDIT_SHIP_TARGET)}/s`,
      met: met(raw.ship.perSecond >= AUDIT_SHIP_TARGET),
    }),
    ...raw.searches.map((s) =>
      row(b, `${s.name} p95 ms, ${int(raw.stored)} stored (baseline: the same SQL through pg)`, {
        govshare: f2(s.govshare.p95),
        baseline: f2(s.baseline.p95),
        ratio: f2(s.govshare.p95 / s.baseline.p95),
        target: `< ${AUDIT_SEARCH_P95_MS} ms`,
        met: met(s.govshare.p95 < AUDIT_SEARCH_P95_MS),
      }),
    ),
    row(b, 'Redis bytes per unshipped record', { govshare: int(raw.redisBytesPerRecord) }),
    row(b, 'PostgreSQL MiB per million stored records (tables + indexes)', {
      govshare: int((raw.size.records + raw.size.subjects) / 1048576 / (raw.size.rows / 1e6)),
    }),
  ];
}

const RUNS: Run[] = [
  {
    name: 'data-path',
    script: 'data-path.js',
    args: ['--quick', '--json', join(work, 'data-path.json')],
    limitMs: 150_000,
    rows: dataPathRows,
  },
  {
    name: 'data-path-variants',
    script: 'data-path-variants.js',
    args: ['--quick', '--json', join(work, 'variants.json')],
    limitMs: 200_000,
    rows: variantRows,
  },
  {
    name: 'search',
    script: 'search.js',
    args: ['--quick', '--json', join(work, 'search.json')],
    limitMs: 180_000,
    rows: searchRows,
  },
  { name: 'audit-append', script: 'audit-append.js', args: ['2'], limitMs: 90_000, rows: auditAppendRows },
  { name: 'exchange-pg', script: 'exchange-pg.js', args: ['--quick'], limitMs: 180_000, rows: exchangeRows },
  {
    name: 'audit-store',
    script: 'audit-store.js',
    args: ['--quick', '--json', join(work, 'audit-store.json')],
    limitMs: 300_000,
    rows: auditStoreRows,
  },
];

/** The benchmark running now: its process group is ended on Ctrl-C or when it overruns its limit. */
let current: number | undefined;

/** SIGTERM to the child's whole process group (its servers too), SIGKILL 5 s later if still there. */
function endGroup(pid: number): void {
  const signal = (name: NodeJS.Signals) => {
    try {
      process.kill(-pid, name);
    } catch {
      // already gone
    }
  };
  signal('SIGTERM');
  setTimeout(() => signal('SIGKILL'), 5000).unref();
}

process.once('SIGINT', () => {
  if (current !== undefined) endGroup(current);
  rmSync(work, { recursive: true, force: true });
  process.exit(130);
});

/**
 * Runs one script in a process group of its own, echoing its output line by line with its name in
 * front; resolves with all of it.
 */
function runChild(run: Run): Promise<{ code: number | null; overran: boolean; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(here, run.script), ...run.args], {
      env: cleanEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    current = child.pid;
    let overran = false;
    const timer = setTimeout(() => {
      overran = true;
      if (child.pid !== undefined) endGroup(child.pid);
    }, run.limitMs);
    let output = '';
    let partial = '';
    const echo = (text: string) => {
      output += text;
      const lines = (partial + text).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) console.log(`[${run.name}] ${line}`);
    };
    child.stdout.setEncoding('utf8').on('data', echo);
    child.stderr.setEncoding('utf8').on('data', echo);
    child.on('error', (err) => {
      output += `\n${err.message}`;
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      current = undefined;
      // Whatever it left behind (a server it did not stop) goes with it.
      if (child.pid !== undefined) endGroup(child.pid);
      if (partial) console.log(`[${run.name}] ${partial}`);
      resolve({ code, overran, output });
    });
  });
}

async function main(): Promise<void> {
  const started = performance.now();
  const rows: Row[] = [];
  const timings: string[] = [];
  const failures: string[] = [];
  for (const run of RUNS) {
    const t0 = performance.now();
    console.log(`\n=== ${run.name}: node ${run.script} ${run.args.join(' ')}`);
    const { code, overran, output } = await runChild(run);
    const seconds = (performance.now() - t0) / 1000;
    timings.push(`${run.name} ${seconds.toFixed(0)} s`);
    try {
      if (code !== 0) {
        const why = overran ? `stopped at its limit of ${run.limitMs / 1000} s` : `exit code ${code}`;
        throw new Error(`${why}; last output:\n${output.split('\n').slice(-25).join('\n')}`);
      }
      rows.push(...run.rows(output));
    } catch (err) {
      failures.push(run.name);
      console.log(`\n!!! ${run.name} FAILED: ${(err as Error).message}`);
      rows.push(row(run.name, 'FAILED (see its output above)', {}));
    }
  }
  rmSync(work, { recursive: true, force: true });
  console.log('\n## Summary (quick runs)\n');
  console.log('| benchmark | measurement | govshare | baseline | ratio | target | met? |');
  console.log('|---|---|---:|---:|---:|---|---|');
  for (const r of rows) {
    console.log(
      `| ${r.benchmark} | ${r.measurement} | ${r.govshare} | ${r.baseline} | ${r.ratio} | ${r.target} | ${r.met} |`,
    );
  }
  const total = (performance.now() - started) / 1000;
  console.log(`\nwall time ${total.toFixed(0)} s (${timings.join(', ')})`);
  if (failures.length > 0) {
    console.error(`failed: ${failures.join(', ')}`);
    process.exitCode = 1;
  }
}

await main();
