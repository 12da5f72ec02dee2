/**
 * Rows given as column values (`ColumnRows`, what a SQL source's COPY reader yields) must give the very
 * report the same rows give as objects: same counts, reasons, examples, samples and consistency batches.
 */
import t, { type Test } from 'tap';
import { idNumberCheckCharacter } from '../../../catalog/identifiers.js';
import { type ConsistencyRule, qualityPlan } from '../../../catalog/quality/plan.js';
import type { QualityReport } from '../../../catalog/quality/report.js';
import { ColumnRows, type RunQualityOptions, runQualityCheck } from '../../../catalog/quality/run.js';
import { asAsync, enrolmentEntry, idNumberFor, spread, syntheticRows } from './fixtures.js';

const NOW = Date.parse('2025-06-10T02:00:00Z');
const HOUR = 3_600_000;
type Row = Record<string, unknown>;

/** Consecutive rows with the same properties (in the same order) as one page of column values. */
function* columnPages(rows: Iterable<Row>, pageRows = 1000): Generator<ColumnRows> {
  let columns: string[] | undefined;
  let values: unknown[][] = [];
  for (const row of rows) {
    const keys = Object.keys(row);
    if (
      columns === undefined ||
      values.length >= pageRows ||
      keys.join('\u0000') !== columns.join('\u0000')
    ) {
      if (columns !== undefined && values.length > 0) yield new ColumnRows(columns, values);
      columns = keys;
      values = [];
    }
    values.push(keys.map((k) => row[k]));
  }
  if (columns !== undefined && values.length > 0) yield new ColumnRows(columns, values);
}

async function both(
  t: Test,
  rows: Row[],
  options: RunQualityOptions & { consistency?: Omit<ConsistencyRule, 'rule'>[] } = {},
): Promise<QualityReport> {
  const { consistency, ...run } = options;
  const plan = qualityPlan(enrolmentEntry('daily'), 2, consistency ? { consistency } : {});
  const opts = { now: () => NOW, id: 'same', ...run };
  const asObjects = await runQualityCheck(plan, asAsync(rows), opts);
  const asColumns = await runQualityCheck(plan, asAsync(columnPages(rows)), opts);
  t.same(asColumns, asObjects, 'the same report from column values as from objects');
  return asColumns;
}

const rule = (report: QualityReport, id: string) => report.rules.find((r) => r.rule === id);

t.test('planted faults: identifier check characters, duplicates and staleness', async (t) => {
  const rows = [
    ...syntheticRows({
      rows: 5000,
      badIdNumbers: spread(37, 3, 97),
      badCreditCodes: spread(23, 5, 151),
      duplicateOf: spread(11, 20, 300),
      newestMs: NOW - 30 * HOUR,
    }),
  ];
  const report = await both(t, rows);
  t.equal(rule(report, 'idNumber:idNumber')?.violations, 37);
  t.equal(rule(report, 'uscc:employerCreditCode')?.violations, 23);
  t.equal(rule(report, 'unique:key')?.violations, 11);
  t.equal(report.freshness.stale, true);
  t.equal(
    rule(report, 'idNumber:idNumber')!.examples[0]!.reason,
    'check character 18 does not match the first 17 digits',
  );
});

t.test('schema, date, domain and required-item faults, with hostile values', async (t) => {
  const good = [...syntheticRows({ rows: 12, newestMs: NOW - HOUR })];
  const id = (k: number) => idNumberFor(50_000 + k);
  const badBirth = `42010219901301001${idNumberCheckCharacter('42010219901301001')}`;
  const rows: Row[] = [
    ...good,
    { ...good[0], idNumber: id(1), name: undefined },
    { ...good[0], idNumber: id(2), name: null },
    { ...good[1], idNumber: id(3), name: '很长很长很长很长很长很长很长很长很长很长很长' },
    { ...good[1], idNumber: id(4), name: '𝒳'.repeat(20) }, // 20 characters in 40 UTF-16 units: fits
    { ...good[1], idNumber: id(5), name: '𝒳'.repeat(21) },
    { ...good[2], idNumber: id(6), enrolledOn: '2021-02-30' },
    { ...good[3], idNumber: id(7), enrolledOn: 20210101 },
    { ...good[3], idNumber: id(8), updatedAt: '2025-06-10T01:00:00' },
    { ...good[3], idNumber: id(9), updatedAt: '2025-06-09T23:59:60Z' },
    { ...good[4], idNumber: id(10), divisionCode: '990000' },
    { ...good[4], idNumber: id(11), divisionCode: '420002' },
    { ...good[5], idNumber: id(12), phone: '12345' },
    { ...good[5], idNumber: id(13), phone: '010-12345678' },
    { ...good[5], idNumber: id(14), monthlyBase: Number.NaN },
    { ...good[5], idNumber: id(15), monthlyBase: '3000' },
    { ...good[6], idNumber: id(16), extra: 'x' },
    { ...good[7], idNumber: badBirth },
    { ...good[8], idNumber: null },
    { ...good[9], idNumber: 'x"\\\t\n\u0000' },
    { ...good[10], idNumber: `${id(17).slice(0, 17)}x` },
  ];
  const report = await both(t, rows);
  const counts = Object.fromEntries(
    report.rules.filter((r) => r.violations > 0).map((r) => [r.rule, r.violations]),
  );
  t.same(counts, {
    'schema:idNumber': 1,
    'schema:name': 4,
    'schema:enrolledOn': 1,
    'schema:monthlyBase': 2,
    'schema:row': 1,
    'idNumber:idNumber': 3,
    'divisionCode:divisionCode': 2,
    'phone:phone': 1,
    'date:enrolledOn': 1,
    'date:updatedAt': 1,
  });
  t.match(rule(report, 'schema:name')!.examples, [
    { item: 'name', reason: 'must have a value' },
    { item: 'name', reason: 'must be a string' },
    { item: 'name', reason: 'must be at most 20 characters long' },
    { item: 'name', reason: 'must be at most 20 characters long' },
  ]);
});

t.test('samples pick the same rows, rows without a key included', async (t) => {
  const rows: Row[] = [
    ...syntheticRows({
      rows: 6000,
      badIdNumbers: spread(120, 1, 50),
      duplicateOf: spread(60, 7, 90),
      newestMs: NOW - HOUR,
    }),
  ];
  for (let i = 0; i < 300; i++)
    rows.splice(i * 20, 0, { ...rows[i * 20]!, idNumber: null, name: `无号${i}` });
  const report = await both(t, rows, { sample: { ratio: 0.2, seed: 'june' } });
  t.ok(report.rowsChecked > 1000 && report.rowsChecked < 1500, `a fifth checked (${report.rowsChecked})`);
  t.ok(rule(report, 'schema:idNumber')!.violations > 30, 'rows without a key are sampled too');
});

t.test('consistency rules fetch the same batches', async (t) => {
  const rows = [...syntheticRows({ rows: 1200, newestMs: NOW - HOUR })];
  const other = new Map<string, unknown>();
  for (const [i, row] of rows.entries()) {
    if (i % 100 === 99) continue;
    other.set(row.idNumber as string, i % 50 === 7 ? '420111' : ` ${row.divisionCode}`);
  }
  const fetched: number[] = [];
  const report = await both(t, rows, {
    consistencyBatch: 500,
    consistency: [
      {
        item: 'divisionCode',
        otherResource: '101001/1',
        otherItem: 'householdDivision',
        fetch: async (keys) => {
          fetched.push(keys.length);
          return new Map(keys.filter((k) => other.has(k)).map((k) => [k, other.get(k)]));
        },
      },
    ],
  });
  t.same(fetched, [500, 500, 200, 500, 500, 200], 'batches of 500 in both runs');
  t.equal(rule(report, 'consistency:divisionCode@101001/1')?.violations, 24);
});

t.test('column order, missing columns and pages of both kinds in one run', async (t) => {
  const rows = [...syntheticRows({ rows: 3000, badIdNumbers: spread(30, 2, 100), newestMs: NOW - HOUR })];
  const plan = qualityPlan(enrolmentEntry('daily'), 2);
  const opts = { now: () => NOW, id: 'same' };
  const expected = await runQualityCheck(plan, asAsync(rows), opts);
  const reversed = Object.keys(rows[0]!).reverse();
  const pages: (ColumnRows | Row[])[] = [];
  for (let i = 0; i < rows.length; i += 500) {
    const part = rows.slice(i, i + 500);
    pages.push(
      (i / 500) % 2 === 0
        ? part
        : new ColumnRows(
            reversed,
            part.map((row) => reversed.map((k) => row[k])),
          ),
    );
  }
  t.same(await runQualityCheck(plan, asAsync(pages), opts), expected, 'reversed columns, mixed pages');
  // Without the name column (a required item): every row fails it, as every object without the name does.
  const noName = rows.slice(0, 100).map(({ name: _, ...rest }) => rest);
  const report = await both(t, noName);
  t.equal(rule(report, 'schema:name')?.violations, 100);
});
