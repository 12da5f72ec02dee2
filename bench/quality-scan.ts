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
import { ColumnRows, runQualityCheck } from '../catalog/quality/run.js';
import { frontEndDatabaseResidents } from '../scripts/lib/demo-catalog.js';
import { enrolmentEntry, idNumberFor, spread, syntheticRows } from '../test/catalog/quality/fixtures.js';

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
const columns = Object.keys(rows[0]!);
const arrays = rows.map((row) => columns.map((name) => row[name]));
/** Pages of 1000 as a SQL source's COPY reader delivers them (arrays of column values), or as objects. */
async function* stream(asObjects: boolean) {
  for (let i = 0; i < rows.length; i += 1000) {
    yield asObjects ? rows.slice(i, i + 1000) : new ColumnRows(columns, arrays.slice(i, i + 1000));
  }
}

const plan = qualityPlan(enrolmentEntry('daily'), 1);
for (const [name, sample, asObjects] of [
  ['warm-up', undefined, false],
  ['warm-up', undefined, true],
  ['every row', undefined, false],
  ['every row, object rows', undefined, true],
  ['10% sample', { ratio: 0.1, seed: 'bench' }, false],
] as const) {
  const started = performance.now();
  const cpu = process.cpuUsage();
  const report = await runQualityCheck(
    plan,
    stream(asObjects),
    sample ? { sample, now: () => now } : { now: () => now },
  );
  const seconds = (performance.now() - started) / 1000;
  const { user, system } = process.cpuUsage(cpu);
  if (name === 'warm-up') continue;
  const counts = report.rules
    .filter((r) => r.violations > 0)
    .map((r) => `${r.rule}=${r.violations}`)
    .join(' ');
  console.log(
    `${name.padEnd(22)} ${report.rowsRead} rows read, ${report.rowsChecked} checked in ${seconds.toFixed(2)} s ` +
      `(${((user + system) / report.rowsRead).toFixed(2)} µs CPU/row read): ` +
      `${Math.round(report.rowsRead / seconds).toLocaleString('en')} rows/s read, ` +
      `${Math.round(report.rowsChecked / seconds).toLocaleString('en')} rows/s checked; score ${report.score}; ${counts}`,
  );
}

/**
 * The residents of bench/exchange-pg.ts (ID number, name, phone, address, division code, updatedAt) as its
 * COPY reader yields them, in pages of 1000: what a scan of that table costs beyond reading it.
 */
const residents = frontEndDatabaseResidents({
  code: 'bench-residents',
  name: 'residents',
  summary: 'bench',
  table: 'residents',
  items: ['idNumber', 'name', 'phone', 'address', 'divisionCode', 'updatedAt'],
});
const residentColumns = residents.items.map((item) => item.name);
const residentRows = Array.from({ length: ROWS }, (_, i) => [
  idNumberFor(i),
  `${'张王李刘陈杨赵黄'[i % 8]}${['伟', '芳', '娜', '敏', '静', '磊', '洋', '军', '秀英'][Math.floor(i / 8) % 9]}`,
  `1${['39', '38', '50', '86', '77'][i % 5]}${String(i % 100_000_000).padStart(8, '0')}`,
  `湖北省武汉市江汉区建设大道${i % 2000}号${1 + (i % 30)}栋`,
  '420102',
  `${new Date(now - (i % 86_400) * 1000).toISOString().slice(0, 19)}.${String(i % 1_000_000).padStart(6, '0')}+00:00`,
]);
const residentPlan = qualityPlan(residents, 1);
for (const name of ['warm-up', 'residents, every row']) {
  const started = performance.now();
  const cpu = process.cpuUsage();
  const report = await runQualityCheck(
    residentPlan,
    (function* () {
      for (let i = 0; i < residentRows.length; i += 1000)
        yield new ColumnRows(residentColumns, residentRows.slice(i, i + 1000));
    })(),
    { now: () => now },
  );
  const seconds = (performance.now() - started) / 1000;
  const { user, system } = process.cpuUsage(cpu);
  if (name === 'warm-up') continue;
  const counts = report.rules.filter((r) => r.violations > 0).map((r) => ` ${r.rule}=${r.violations}`);
  console.log(
    `${name.padEnd(22)} ${report.rowsRead} rows in ${seconds.toFixed(2)} s ` +
      `(${((user + system) / report.rowsRead).toFixed(2)} µs CPU/row): ` +
      `${Math.round(report.rowsRead / seconds).toLocaleString('en')} rows/s; score ${report.score}${counts.join('')}`,
  );
}
console.log(
  `peak RSS ${Math.round(process.resourceUsage().maxRSS / 1024)} MiB (rows held in memory for the run)`,
);
