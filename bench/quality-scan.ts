/**
 * Quality-scan throughput: N synthetic social insurance enrolment rows (8 items: ID number, name, credit
 * code, division code, phone, two dates, an amount; 1% bad ID numbers, 0.5% bad credit codes, 0.1%
 * duplicate keys) run through the check plan in memory: schema, identifier, date and uniqueness rules,
 * freshness. Once over every row, once with a 10% sample. No database: the scan's own cost, to compare
 * with the connector's read rate (bench/sql-read.ts).
 *
 *   npx tsc -p . && node dist/bench/quality-scan.js [rows, default 200000, at most 5000000]
 *
 * Measured on the 2-vCPU build machine (Node 20) with other builds running, 200 200 rows in pages of 1000:
 * every row checked 96k–199k rows/s; with a 10% sample 254k–732k rows/s read (25k–72k checked). The
 * costs are the identifier checks, ajv's date/date-time formats and the key hash; the connector reads
 * 120k–180k rows/s (bench/sql-read.ts), so a full scan is bound by the scan or the read about equally.
 */
import { qualityPlan } from '../catalog/quality/plan.js';
import { runQualityCheck } from '../catalog/quality/run.js';
import { enrolmentEntry, spread, syntheticRows } from '../test/catalog/quality/fixtures.js';

const ROWS = Math.min(5_000_000, Number(process.argv[2] ?? 200_000));
const now = Date.now();
const options = {
  rows: ROWS,
  badIdNumbers: spread(Math.floor(ROWS / 100), 3, 100),
  badCreditCodes: spread(Math.floor(ROWS / 200), 7, 200),
  duplicateOf: spread(Math.floor(ROWS / 1000), 11, 1000),
  newestMs: now - 3_600_000,
};
// Rows are made before timing so that the generator's cost is not counted.
const rows = [...syntheticRows(options)];
/** Pages of 1000, as a connector delivers them. */
async function* stream() {
  for (let i = 0; i < rows.length; i += 1000) yield rows.slice(i, i + 1000);
}

const plan = qualityPlan(enrolmentEntry('daily'), 1);
for (const [name, sample] of [
  ['warm-up', undefined],
  ['every row', undefined],
  ['10% sample', { ratio: 0.1, seed: 'bench' }],
] as const) {
  const started = performance.now();
  const report = await runQualityCheck(
    plan,
    stream(),
    sample ? { sample, now: () => now } : { now: () => now },
  );
  const seconds = (performance.now() - started) / 1000;
  if (name === 'warm-up') continue;
  const counts = report.rules
    .filter((r) => r.violations > 0)
    .map((r) => `${r.rule}=${r.violations}`)
    .join(' ');
  console.log(
    `${name.padEnd(10)} ${report.rowsRead} rows read, ${report.rowsChecked} checked in ${seconds.toFixed(2)} s: ` +
      `${Math.round(report.rowsRead / seconds).toLocaleString('en')} rows/s read, ` +
      `${Math.round(report.rowsChecked / seconds).toLocaleString('en')} rows/s checked; score ${report.score}; ${counts}`,
  );
}
console.log(
  `peak RSS ${Math.round(process.resourceUsage().maxRSS / 1024)} MiB (rows held in memory for the run)`,
);
