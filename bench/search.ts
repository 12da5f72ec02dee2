/**
 * Search benchmark (issue 6 §1): catalog search over 20 000 published entries, audit search by subject
 * and by department over 1 000 000 records, and `audit verify` speed, each against a baseline measured
 * in the same run. Loopback only, bounded; Redis is a private redis-server (AOF everysec, as deployed).
 *
 *   npx tsc -p . --outDir .build/bench && node .build/bench/bench/search.js [--quick] [--json FILE]
 *
 * --quick: 100 000 audit records (20 000 people) instead of 1 000 000 (200 000 people), fewer queries;
 * the catalog part is the same (the baseline, being slow, answers the first 200 / 300 of the
 * 300 / 1000 searches). Method and results: bench/README.md.
 */
import { writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import type { ResourceEntry } from '../catalog/schema.js';
import type { SearchResult } from '../catalog/search.js';
import { CatalogService } from '../catalog/service.js';
import { createRedisClient } from '../platform/redis.js';
import { startLocalRedis } from '../scripts/lib/local-redis.js';
import { requireBinary } from '../scripts/lib/local-tools.js';
import { readCpuMs } from './lib/children.js';
import { environment } from './lib/report.js';
import { type AuditShape, auditDataset, writeAuditDataset } from './lib/search-audit.js';
import {
  dayWindow,
  departmentDayExport,
  departmentFirstPageScan,
  departmentPages,
  departmentScan,
  subjectQueries,
  subjectScan,
  verifyAgainstReading,
} from './lib/search-audit-queries.js';
import {
  CATALOG_BUREAU,
  CATALOG_READER,
  catalogEntry,
  catalogQueryMix,
  naiveSearch,
  sameAnswer,
} from './lib/search-catalog.js';
import { f2, int, type Latency, seededRandom, summarize, timed } from './lib/search-stats.js';

const { values: args } = parseArgs({
  options: { quick: { type: 'boolean', default: false }, json: { type: 'string' } },
});
const QUICK = args.quick;
const CATALOG_ENTRIES = 20_000;
const CATALOG_QUERIES = QUICK ? 300 : 1000;
/** The baseline answers the first queries of the same list only: it is slow, and the run must stay bounded. */
const BASELINE_QUERIES = QUICK ? 200 : 300;
const BASELINE_WARMUP = 100;
const AUDIT: AuditShape = {
  records: QUICK ? 100_000 : 1_000_000,
  instances: 4,
  departments: 5,
  systems: 50,
  subjects: QUICK ? 20_000 : 200_000,
  days: 10,
  callers: 500,
};
const SUBJECT_QUERIES = QUICK ? 500 : 2000;
const DEPARTMENT_QUERIES = QUICK ? 200 : 500;
const SUBJECT_SCANS = QUICK ? 3 : 2;

const startedAt = performance.now();
const log = (line: string) =>
  console.log(`[${((performance.now() - startedAt) / 1000).toFixed(1).padStart(5)} s] ${line}`);
const latencyRow = (name: string, l: Latency) =>
  `| ${name} | ${l.n} | ${f2(l.p50)} | ${f2(l.p95)} | ${f2(l.p99)} | ${f2(l.max)} | ${int(l.perSecond)} |`;
const LATENCY_HEAD =
  '| | runs | p50 ms | p95 ms | p99 ms | max ms | per s (one after another) |\n|---|---:|---:|---:|---:|---:|---:|';
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor((values.length - 1) / 2)]!;

async function catalogPart(redisUrl: string) {
  const redis = createRedisClient(redisUrl);
  try {
    const prefix = 'bench:catalog:';
    const writer = new CatalogService(redis, prefix);
    const entries: ResourceEntry[] = Array.from({ length: CATALOG_ENTRIES }, (_, i) => catalogEntry(i + 1));
    const load = await timed(async () => {
      for (let i = 0; i < entries.length; i += 200) {
        await Promise.all(
          entries.slice(i, i + 200).map((entry) => writer.importEntry(CATALOG_BUREAU, entry)),
        );
      }
    });
    log(`catalog: ${CATALOG_ENTRIES} entries imported and published in ${(load.ms / 1000).toFixed(1)} s`);
    // A fresh service: its first search loads the whole index, as after a gateway restart.
    const reader = new CatalogService(redis, prefix);
    const cold = await timed(() => reader.search(CATALOG_READER, { q: '人口' }));
    const mix = catalogQueryMix(CATALOG_QUERIES, CATALOG_ENTRIES);
    const run = async (
      search: (q: (typeof mix)[number]['query']) => Promise<SearchResult> | SearchResult,
      list = mix,
    ) => {
      const samples: number[] = [];
      const answers: SearchResult[] = [];
      for (const { query } of list) {
        const { ms, value } = await timed(() => search(query));
        samples.push(ms);
        answers.push(value);
      }
      return { samples, answers };
    };
    const govshareSearch = (query: (typeof mix)[number]['query']) => reader.search(CATALOG_READER, query);
    const naive = (query: (typeof mix)[number]['query']) => naiveSearch(entries, query);
    await run(govshareSearch);
    const govshare = await run(govshareSearch);
    log(`catalog: govshare ${CATALOG_QUERIES} searches done (after a warm-up pass)`);
    // The baseline has nothing to fill but the JIT: a shorter warm-up keeps the full run bounded.
    await run(naive, mix.slice(0, BASELINE_WARMUP));
    const baseline = await run(naive, mix.slice(0, BASELINE_QUERIES));
    log(`catalog: baseline ${BASELINE_QUERIES} searches done (after ${BASELINE_WARMUP} warm-up searches)`);
    const same = baseline.answers.filter((a, i) => sameAnswer(a, govshare.answers[i]!)).length;
    const labels = [...new Set(mix.map((m) => m.label))];
    const byLabel = labels.map((label) => {
      const pick = (samples: number[]) => samples.filter((_, i) => mix[i]!.label === label);
      return {
        label,
        govshare: summarize(pick(govshare.samples)),
        baseline: summarize(pick(baseline.samples)),
      };
    });
    return {
      entries: CATALOG_ENTRIES,
      loadSeconds: load.ms / 1000,
      coldFirstSearchMs: cold.ms,
      govshare: summarize(govshare.samples),
      baseline: summarize(baseline.samples),
      identicalAnswers: same,
      queries: mix.length,
      baselineQueries: BASELINE_QUERIES,
      byLabel,
    };
  } finally {
    await redis.quit();
  }
}

async function auditPart(redisUrl: string, redisPid: number) {
  const data = auditDataset(AUDIT, 'bench:');
  log(
    `audit: writing ${int(AUDIT.records)} records (${AUDIT.instances} instances × ${AUDIT.callers} callers, ` +
      `${AUDIT.departments} departments, ${AUDIT.systems} systems, ${int(AUDIT.subjects)} people, ${AUDIT.days} days)`,
  );
  const cpuBefore = { node: process.cpuUsage(), redis: readCpuMs(redisPid) };
  const write = await writeAuditDataset(redisUrl, data, (n) => log(`audit: ${int(n)} written`));
  const nodeCpu = process.cpuUsage(cpuBefore.node);
  const writeCpuUs = {
    node: (nodeCpu.user + nodeCpu.system) / write.records,
    redis: ((readCpuMs(redisPid) - cpuBefore.redis) * 1000) / write.records,
  };
  log(
    `audit: ${int(write.records)} records in ${write.seconds.toFixed(1)} s = ${int(write.perSecond)} records/s`,
  );
  const redis = createRedisClient(redisUrl);
  try {
    const memory = /used_memory:(\d+)/.exec(await redis.info('memory'))?.[1];
    const subjects = await subjectQueries(redis, data, SUBJECT_QUERIES);
    const pages = await departmentPages(redis, data, DEPARTMENT_QUERIES);
    log(`audit: ${SUBJECT_QUERIES} subject queries, ${pages.samples.length} department-day pages done`);

    const subjectBaseline: { ms: number; scanned: number; matchesGovshare: boolean }[] = [];
    for (const { idNumber, records } of subjects.found.slice(0, SUBJECT_SCANS)) {
      const scan = await subjectScan(redis, data, idNumber);
      subjectBaseline.push({
        ms: scan.ms,
        scanned: scan.value.scanned,
        matchesGovshare: scan.value.found === records,
      });
    }
    const random = seededRandom(23);
    const firstPageBaseline: number[] = [];
    for (let i = 0; i < 20; i++) {
      const dept = data.departments[i % data.departments.length]!;
      firstPageBaseline.push(
        (await departmentFirstPageScan(redis, data, dept, dayWindow(data, random).from)).ms,
      );
    }
    const wholeDay: { govshareMs: number; baselineMs: number; records: number; same: boolean }[] = [];
    for (let i = 0; i < 3; i++) {
      const dept = data.departments[i]!;
      const { from } = dayWindow(data, random);
      const gov = await departmentDayExport(redis, data, dept, from);
      const scan = await departmentScan(redis, data, dept, from);
      wholeDay.push({
        govshareMs: gov.ms,
        baselineMs: scan.ms,
        records: gov.value,
        same: gov.value === scan.value.found,
      });
    }
    log('audit: baselines done; verifying');
    const verify = await verifyAgainstReading(redis, data);
    log(`audit: verify ${verify.ok ? 'ok' : 'BROKEN'}, ${int(verify.verify.perSecond)} records/s`);
    return {
      shape: AUDIT,
      write: { ...write, cpuMicrosecondsPerRecord: writeCpuUs },
      redisUsedMemoryMiB: Number(memory ?? 0) / 1048576,
      subject: {
        latency: summarize(subjects.samples),
        meanRecords: subjects.found.reduce((sum, f) => sum + f.records, 0) / subjects.found.length,
        baselineFullScanMs: median(subjectBaseline.map((b) => b.ms)),
        baselineRuns: subjectBaseline,
      },
      department: {
        pages: summarize(pages.samples),
        firstPages: summarize(pages.firstPages),
        baselineFirstPageMs: median(firstPageBaseline),
        wholeDay,
      },
      verify,
    };
  } finally {
    await redis.quit();
  }
}

function report(
  catalog: Awaited<ReturnType<typeof catalogPart>>,
  audit: Awaited<ReturnType<typeof auditPart>>,
) {
  const c = catalog;
  console.log(
    `\n## Catalog search, ${int(c.entries)} published entries: ${c.queries} searches, the baseline the first ${c.baselineQueries} of them (warm)\n`,
  );
  console.log(
    'Baseline: **a naive in-process linear filter** over the same 20 000 entries held in memory (lower-case\n' +
      'and `includes` on every searchable field of every entry, then sort and slice the page; no index, no Redis).\n',
  );
  console.log(`${LATENCY_HEAD}\n${latencyRow('govshare (CatalogService.search)', c.govshare)}`);
  console.log(latencyRow('baseline: naive linear filter', c.baseline));
  console.log(
    `\nratio baseline / govshare: p50 ${f2(c.baseline.p50 / c.govshare.p50)}×, p95 ${f2(c.baseline.p95 / c.govshare.p95)}×, ` +
      `searches/s ${f2(c.govshare.perSecond / c.baseline.perSecond)}×; identical answers ${c.baselineQueries === c.identicalAnswers ? 'all' : 'ONLY'} ` +
      `${c.identicalAnswers}/${c.baselineQueries}; import ${c.loadSeconds.toFixed(1)} s; first search of a fresh process (index load) ${f2(c.coldFirstSearchMs)} ms`,
  );
  console.log(
    '\n| search kind | runs (govshare / baseline) | govshare p50 / p95 ms | baseline p50 / p95 ms |\n|---|---:|---:|---:|',
  );
  for (const k of c.byLabel) {
    console.log(
      `| ${k.label} | ${k.govshare.n} / ${k.baseline.n} | ${f2(k.govshare.p50)} / ${f2(k.govshare.p95)} | ${f2(k.baseline.p50)} / ${f2(k.baseline.p95)} |`,
    );
  }
  const a = audit;
  const scale = QUICK ? ' (--quick: 100 000 records, not 1 000 000)' : '';
  console.log(`\n## Audit search over ${int(a.shape.records)} records${scale}\n`);
  console.log(
    `Written through AuditWriter by ${a.shape.instances} instances: **${int(a.write.perSecond)} records/s** ` +
      `(${a.write.seconds.toFixed(1)} s, chain + checkpoints + 8 index entries each; CPU per record: this process (records generated here too) ` +
      `${f2(a.write.cpuMicrosecondsPerRecord.node)} µs, Redis ${f2(a.write.cpuMicrosecondsPerRecord.redis)} µs); Redis used memory ${int(a.redisUsedMemoryMiB)} MiB.\n` +
      'Baselines: the same question answered by XRANGE-scanning the streams (pages of 1000, substring test on the\n' +
      'stored JSON, matching candidates parsed).\n',
  );
  console.log(
    `${LATENCY_HEAD}\n${latencyRow('by subject, whole answer (searchAudit, pages of 100)', a.subject.latency)}`,
  );
  console.log(latencyRow('by department + day, each page of 100 (pages 1-5)', a.department.pages));
  console.log(latencyRow('by department + day, first page', a.department.firstPages));
  const s = a.subject;
  const d = a.department;
  console.log(
    '\n| query | govshare ms | baseline ms | baseline / govshare | same answer |\n|---|---:|---:|---:|---|',
  );
  console.log(
    `| by subject (mean ${f2(s.meanRecords)} records), govshare p95 vs one full scan of ${int(s.baselineRuns[0]?.scanned ?? 0)} records | ${f2(s.latency.p95)} | ${f2(s.baselineFullScanMs)} | ${int(s.baselineFullScanMs / s.latency.p95)}× | ${s.baselineRuns.every((r) => r.matchesGovshare) ? 'yes' : 'NO'} |`,
  );
  console.log(
    `| department + day, first page: govshare p95 vs XREVRANGE newest first until 100 found (median of 20) | ${f2(d.firstPages.p95)} | ${f2(d.baselineFirstPageMs)} | ${f2(d.baselineFirstPageMs / d.firstPages.p95)}× | |`,
  );
  for (const w of d.wholeDay) {
    console.log(
      `| department + day, whole answer (${int(w.records)} records, pages of 500) vs XRANGE of the day | ${f2(w.govshareMs)} | ${f2(w.baselineMs)} | ${f2(w.baselineMs / w.govshareMs)}× | ${w.same ? 'yes' : 'NO'} |`,
    );
  }
  const v = a.verify;
  console.log(`\n## audit verify over the ${int(v.verify.records)} records written${scale}\n`);
  console.log('| | records | s | records/s |\n|---|---:|---:|---:|');
  console.log(
    `| govshare: audit verify (${int(v.checkpoints)} checkpoints) | ${int(v.verify.records)} | ${f2(v.verify.seconds)} | ${int(v.verify.perSecond)} |`,
  );
  console.log(
    `| baseline: plain XRANGE reading, same pages of 1000 | ${int(v.read.records)} | ${f2(v.read.seconds)} | ${int(v.read.perSecond)} |`,
  );
  console.log(
    `\nverify / reading: ${f2(v.verify.perSecond / v.read.perSecond)} (chain ${v.ok ? 'verifies' : 'BROKEN'})`,
  );
}

async function main() {
  console.log(environment(requireBinary('redis-server', 'redis-server')));
  const server = await startLocalRedis({ appendfsync: 'everysec' });
  try {
    const catalog = await catalogPart(server.url);
    const audit = await auditPart(server.url, server.process.pid!);
    report(catalog, audit);
    const checks = [
      catalog.identicalAnswers === catalog.baselineQueries,
      audit.verify.ok,
      audit.subject.baselineRuns.every((r) => r.matchesGovshare),
      audit.department.wholeDay.every((w) => w.same),
    ];
    console.log(
      `\nload average at the end ${loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}`,
    );
    if (args.json) {
      writeFileSync(args.json, `${JSON.stringify({ quick: QUICK, catalog, audit }, null, 2)}\n`);
    }
    log('done');
    if (!checks.every(Boolean)) {
      console.error('a correctness check failed (see above): the numbers are not valid');
      process.exitCode = 1;
    }
  } finally {
    await server.stop();
  }
}

await main();
