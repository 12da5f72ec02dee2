/** The data-path benchmark's table, ratios and environment, as Markdown (pasted into bench/README.md). */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism, loadavg } from 'node:os';
import type { Measurement } from './load.js';
import type { PacedMeasurement } from './paced.js';

/** `govshare-gm`: the same gateway on a gm platform (SM2 certificates and sm2-sm3 signatures), with --crypto gm. */
export type Target = 'simulator' | 'bare-proxy' | 'nginx' | 'govshare' | 'govshare-gm';

export interface Row extends Measurement {
  target: Target;
  /** Peak RSS of the process under test during the run, MiB. */
  rssMiB: number;
  /** 1-minute load average when the run started (other work on the machine shows here). */
  load1: number;
  /** CPU time per response, in ms, of each process during the run (the target's own column included). */
  cpuPerResponse: { target: number; simulator: number; redis: number; loadGenerator: number };
  /** Redis commands per response (INFO commandstats), 0 for the baselines. */
  redisCallsPerResponse: number;
}

export const TARGET_RPS_RATIO = 0.5;
export const TARGET_ADDED_P99_MS = 5;
export const TARGET_CONNECTIONS = 50;

const f1 = (n: number) => (Number.isFinite(n) ? n.toFixed(1) : '-');
const f2 = (n: number) => (Number.isFinite(n) ? n.toFixed(2) : '-');

export function resultsTable(rows: Row[]): string {
  const lines = [
    '| conns | target | req/s | p50 ms | p99 ms | p99.9 ms | max ms | responses | non-2xx | CPU ms/resp: target · simulator · redis · load gen | redis cmds/resp | RSS MiB | load1 |',
    '|---:|---|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|',
  ];
  for (const r of rows) {
    const cpu = r.cpuPerResponse;
    lines.push(
      `| ${r.connections} | ${r.target} | ${Math.round(r.rps)} | ${f2(r.p50)} | ${f2(r.p99)} | ${f2(r.p999)} | ${f1(r.max)} | ${r.responses} | ${r.non2xx + r.errors + r.timeouts} | ${f2(cpu.target)} · ${f2(cpu.simulator)} · ${f2(cpu.redis)} · ${f2(cpu.loadGenerator)} | ${f1(r.redisCallsPerResponse)} | ${f1(r.rssMiB)} | ${f1(r.load1)} |`,
    );
  }
  return lines.join('\n');
}

export interface Ratio {
  connections: number;
  rpsVsProxy: number;
  rpsVsSimulator: number;
  /** NaN when nginx was not measured (not installed). */
  rpsVsNginx: number;
  addedP50: number;
  addedP99: number;
  addedP999: number;
  /** Bare proxy CPU per response / gateway CPU per response: the throughput ratio when each is bound by one core. */
  cpuRatio: number;
}

export function ratios(rows: Row[]): Ratio[] {
  const levels = [...new Set(rows.map((r) => r.connections))];
  return levels.flatMap((connections) => {
    const at = (target: Target) => rows.find((r) => r.connections === connections && r.target === target);
    const [sim, proxy, nginx, gov] = [at('simulator'), at('bare-proxy'), at('nginx'), at('govshare')];
    if (!sim || !proxy || !gov) return [];
    return [
      {
        connections,
        rpsVsProxy: gov.rps / proxy.rps,
        rpsVsSimulator: gov.rps / sim.rps,
        rpsVsNginx: nginx ? gov.rps / nginx.rps : Number.NaN,
        addedP50: gov.p50 - proxy.p50,
        addedP99: gov.p99 - proxy.p99,
        addedP999: gov.p999 - proxy.p999,
        cpuRatio: proxy.cpuPerResponse.target / gov.cpuPerResponse.target,
      },
    ];
  });
}

export function ratiosTable(list: Ratio[]): string {
  const lines = [
    '| conns | govshare / bare proxy req/s | govshare / simulator req/s | govshare / nginx req/s | added p50 ms | added p99 ms | added p99.9 ms | CPU/resp: bare proxy / gateway |',
    '|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const r of list) {
    lines.push(
      `| ${r.connections} | ${f2(r.rpsVsProxy)} | ${f2(r.rpsVsSimulator)} | ${f2(r.rpsVsNginx)} | ${f2(r.addedP50)} | ${f2(r.addedP99)} | ${f2(r.addedP999)} | ${f2(r.cpuRatio)} |`,
    );
  }
  return lines.join('\n');
}

export interface PacedRow extends PacedMeasurement {
  target: Target;
}

export function pacedTable(rows: PacedRow[]): string {
  const lines = [
    '| target | offered req/s | p50 ms | p99 ms | p99.9 ms | max ms | responses | non-2xx |',
    '|---|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const r of rows) {
    lines.push(
      `| ${r.target} | ${Math.round(r.rate)} | ${f2(r.p50)} | ${f2(r.p99)} | ${f2(r.p999)} | ${f1(r.max)} | ${r.responses} | ${r.non2xx + r.errors} |`,
    );
  }
  return lines.join('\n');
}

/**
 * At a light, paced load the bare proxy answers in about a millisecond; a p99 far above that means the
 * machine stalled during the run, and the latency comparison then says nothing about govshare.
 */
const DISTURBED_BASELINE_P99_MS = 25;

export function targetVerdict(list: Ratio[], paced: PacedRow[]): string {
  const at = list.find((r) => r.connections === TARGET_CONNECTIONS);
  if (!at) return `target not measured (needs ${TARGET_CONNECTIONS} connections)`;
  const mark = (ok: boolean, added = 0) =>
    added < 0 ? 'inconclusive: negative, the machine was disturbed' : ok ? 'met' : 'NOT met';
  const lines = [
    `target at ${TARGET_CONNECTIONS} connections: throughput ${f2(at.rpsVsProxy)} of the bare proxy ` +
      `(≥ ${TARGET_RPS_RATIO}: ${mark(at.rpsVsProxy >= TARGET_RPS_RATIO)}); added p99 at full load ` +
      `${f2(at.addedP99)} ms (< ${TARGET_ADDED_P99_MS} ms: ${mark(at.addedP99 < TARGET_ADDED_P99_MS, at.addedP99)})`,
  ];
  const proxy = paced.find((r) => r.target === 'bare-proxy');
  const gov = paced.find((r) => r.target === 'govshare');
  if (proxy && gov) {
    const added = gov.p99 - proxy.p99;
    const verdict =
      proxy.p99 > DISTURBED_BASELINE_P99_MS
        ? `inconclusive: the bare proxy's own p99 was ${f1(proxy.p99)} ms, the machine was disturbed; rerun`
        : mark(added < TARGET_ADDED_P99_MS, added);
    lines.push(
      `added p99 at an equal offered load of ${Math.round(gov.rate)} req/s: ${f2(added)} ms ` +
        `(< ${TARGET_ADDED_P99_MS} ms: ${verdict}); added p50 ${f2(gov.p50 - proxy.p50)} ms`,
    );
  }
  return lines.join('\n');
}

/** Redis commands per response, busiest first, from two INFO commandstats snapshots. */
export function commandMix(before: Map<string, number>, after: Map<string, number>, responses: number) {
  return [...after]
    .map(([name, calls]) => [name, (calls - (before.get(name) ?? 0)) / responses] as const)
    .filter(([, per]) => per >= 0.01)
    .sort((a, b) => b[1] - a[1])
    .map(([name, per]) => `${name} ${per.toFixed(2)}`)
    .join(', ');
}

function packageVersion(name: string): string {
  try {
    const require = createRequire(import.meta.url);
    const file = require.resolve(`${name}/package.json`);
    return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
  } catch {
    return '?';
  }
}

function redisVersion(redisServer: string): string {
  try {
    return /v=(\S+)/.exec(execFileSync(redisServer, ['--version'], { encoding: 'utf8' }))?.[1] ?? '?';
  } catch {
    return '?';
  }
}

export function environment(redisServer: string): string {
  const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
  const model = /^model name\s*:\s*(.*)$/m.exec(cpuinfo)?.[1] ?? 'unknown CPU';
  const memKiB = Number(/^MemTotal:\s+(\d+)/m.exec(readFileSync('/proc/meminfo', 'utf8'))?.[1] ?? 0);
  return [
    `machine: ${availableParallelism()} cores (${model}), ${(memKiB / 1048576).toFixed(1)} GiB RAM, load ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
    `versions: node ${process.version}, autocannon ${packageVersion('autocannon')}, fastify ${packageVersion('fastify')}, ` +
      `undici ${packageVersion('undici')}, ioredis ${packageVersion('ioredis')}, redis-server ${redisVersion(redisServer)}`,
  ].join('\n');
}
