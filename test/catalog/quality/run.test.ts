import t from 'tap';
import { idNumberCheckCharacter } from '../../../catalog/identifiers.js';
import { qualityPlan } from '../../../catalog/quality/plan.js';
import type { QualityReport } from '../../../catalog/quality/report.js';
import { type Inconsistency, isoInstantMs, runQualityCheck } from '../../../catalog/quality/run.js';
import type { ResourceEntry } from '../../../catalog/schema.js';
import { asAsync, enrolmentEntry, idNumberFor, spread, syntheticRows } from './fixtures.js';

const NOW = Date.parse('2025-06-10T02:00:00Z');
const HOUR = 3_600_000;
const clock = () => NOW;
const rule = (report: QualityReport, id: string) => report.rules.find((r) => r.rule === id);

t.test('planted faults are found with exact counts', async (t) => {
  const badIds = spread(37, 3, 97);
  const badCodes = spread(23, 5, 151);
  const dups = spread(11, 20, 300);
  const rows = syntheticRows({
    rows: 5000,
    badIdNumbers: badIds,
    badCreditCodes: badCodes,
    duplicateOf: dups,
    newestMs: NOW - 30 * HOUR,
  });
  const plan = qualityPlan(enrolmentEntry('daily'), 3);
  const report = await runQualityCheck(plan, asAsync(rows), { now: clock, id: 'run-1', trigger: 'manual' });

  t.match(report, {
    id: 'run-1',
    resource: '201003/7',
    version: 3,
    trigger: 'manual',
    startedAt: '2025-06-10T02:00:00.000Z',
    rowsRead: 5011,
    rowsChecked: 5011,
  });
  t.equal(rule(report, 'idNumber:idNumber')?.violations, 37, 'bad ID numbers');
  t.equal(
    rule(report, 'uscc:employerCreditCode')?.violations,
    23,
    'bad credit codes, found by the item name',
  );
  t.equal(rule(report, 'unique:key')?.violations, 11, 'duplicate keys');
  t.equal(rule(report, 'phone:phone')?.violations, 0);
  t.equal(rule(report, 'divisionCode:divisionCode')?.violations, 0);
  t.same(
    report.rules.filter((r) => r.violations > 0).map((r) => r.rule),
    ['idNumber:idNumber', 'uscc:employerCreditCode', 'unique:key', 'freshness'],
    'nothing else is reported',
  );
  t.match(report.freshness, {
    checked: true,
    stale: true,
    watermark: 'updatedAt',
    newest: '2025-06-08T20:00:00.000Z',
    ageSeconds: 30 * 3600,
    maxAgeSeconds: 24 * 3600,
  });
  const faultyRows = new Set([...badIds, ...badCodes]).size + 11;
  t.equal(report.rowsWithViolations, faultyRows, 'a row with several faults counts once');
  const expected = Math.floor(((100 * (5011 - faultyRows)) / 5011 - 20) * 100) / 100;
  t.equal(report.score, expected, 'score: share of clean rows, minus 20 for staleness');

  const idExamples = rule(report, 'idNumber:idNumber')!.examples;
  t.equal(idExamples.length, 5, 'at most five examples');
  t.match(idExamples[0], {
    key: /^420102\*{8}\d{3}[\dX]$/,
    item: 'idNumber',
    value: /^420102\*{8}\d{3}[\dX]$/,
    reason: 'check character 18 does not match the first 17 digits',
  });
  const text = JSON.stringify(report);
  t.notMatch(text, /\d{17}[\dX]/, 'no clear ID number anywhere in the report');
  t.notMatch(text, /91420100\d{9}/, 'no clear credit code');
  t.notMatch(text, /139\d{8}/, 'no clear phone number');
  t.match(rule(report, 'unique:key')!.examples[0], { reason: 'the key appears more than once' });
});

t.test('schema, date, division code and phone faults go to their own rules', async (t) => {
  const good = [...syntheticRows({ rows: 10, newestMs: NOW - HOUR })];
  const id = (k: number) => idNumberFor(50_000 + k);
  const badBirth = `42010219901301001${idNumberCheckCharacter('42010219901301001')}`;
  const rows = [
    ...good,
    { ...good[0], idNumber: id(1), name: undefined },
    { ...good[1], idNumber: id(2), name: '很长很长很长很长很长很长很长很长很长很长很长' },
    { ...good[2], idNumber: id(3), enrolledOn: '2021-02-30' },
    { ...good[3], idNumber: id(4), enrolledOn: 20210101 },
    { ...good[4], idNumber: id(5), divisionCode: '990000' },
    { ...good[5], idNumber: id(6), phone: '12345' },
    { ...good[6], idNumber: id(7), extra: 'x' },
    { ...good[7], idNumber: badBirth },
    { ...good[8], idNumber: null },
  ];
  const report = await runQualityCheck(qualityPlan(enrolmentEntry(), 1), asAsync(rows), { now: clock });
  const counts = Object.fromEntries(
    report.rules.filter((r) => r.violations > 0).map((r) => [r.rule, r.violations]),
  );
  t.same(counts, {
    'schema:idNumber': 1,
    'schema:name': 2,
    'schema:enrolledOn': 1,
    'schema:row': 1,
    'idNumber:idNumber': 1,
    'divisionCode:divisionCode': 1,
    'phone:phone': 1,
    'date:enrolledOn': 1,
  });
  t.equal(report.rowsWithViolations, 9);
  t.match(rule(report, 'schema:name')!.examples, [
    { item: 'name', reason: 'must have a value' },
    { item: 'name', value: '很*******************', reason: 'must be at most 20 characters long' },
  ]);
  t.match(rule(report, 'date:enrolledOn')!.examples, [{ value: '2021-02-30', reason: /must be a date/ }]);
  t.match(rule(report, 'idNumber:idNumber')!.examples, [
    { value: `420102********${badBirth.slice(14)}`, reason: 'characters 7-14 are not a real birth date' },
  ]);
  t.match(rule(report, 'schema:row')!.examples, [{ item: 'extra', reason: /is not an item/ }]);
  t.notOk(JSON.stringify(report).includes('19901301'), 'the reason does not give back the masked birth date');
  t.equal(report.freshness.stale, false);
  t.equal(report.score, Math.floor(((100 * 10) / 19) * 100) / 100);
});

t.test('freshness follows the update cycle', async (t) => {
  const cases: [ResourceEntry['updateCycle'], number, boolean | undefined][] = [
    ['realtime', 50 * 60_000, false],
    ['realtime', 61 * 60_000, true],
    ['daily', 23 * HOUR, false],
    ['daily', 25 * HOUR, true],
    ['weekly', 6 * 24 * HOUR, false],
    ['weekly', 8 * 24 * HOUR, true],
    ['monthly', 30 * 24 * HOUR, false],
    ['monthly', 32 * 24 * HOUR, true],
    ['yearly', 365 * 24 * HOUR, false],
    ['other', 1000 * 24 * HOUR, undefined],
  ];
  for (const [cycle, age, stale] of cases) {
    const rows = syntheticRows({ rows: 3, newestMs: NOW - age });
    const report = await runQualityCheck(qualityPlan(enrolmentEntry(cycle), 1), asAsync(rows), {
      now: clock,
    });
    if (stale === undefined) {
      t.match(
        report.freshness,
        { checked: false, stale: false, reason: /sets no limit/ },
        `${cycle} is not checked`,
      );
      t.notOk(rule(report, 'freshness'));
    } else {
      t.equal(report.freshness.stale, stale, `${cycle}, ${age / HOUR} h old → ${stale ? 'stale' : 'fresh'}`);
    }
  }
  // A half-yearly resource updated on 1 July and checked early on 1 January, before that half's update.
  const halfYear = await runQualityCheck(
    qualityPlan(enrolmentEntry('halfyearly'), 1),
    asAsync([
      { ...[...syntheticRows({ rows: 1, newestMs: NOW })][0], updatedAt: '2025-07-01T10:00:00+08:00' },
    ]),
    { now: () => Date.parse('2026-01-01T03:00:00+08:00') },
  );
  t.equal(halfYear.freshness.stale, false, '1 July to 1 January is within a half year (184 days)');
  // Dates without a zone are China Standard Time: a row dated the day of an early-morning check is not future.
  const dated = await runQualityCheck(
    qualityPlan(enrolmentEntry('daily'), 1),
    asAsync([
      { ...[...syntheticRows({ rows: 1, newestMs: NOW })][0], updatedAt: '2026-01-01' },
      { ...[...syntheticRows({ rows: 1, newestMs: NOW })][0], updatedAt: '2025-12-31' },
    ]),
    { now: () => Date.parse('2026-01-01T03:00:00+08:00') },
  );
  t.equal(dated.freshness.futureRows, undefined);
  t.equal(dated.freshness.newest, '2026-01-01');
  const future = [
    ...syntheticRows({ rows: 2, newestMs: NOW - 40 * HOUR }),
    { ...[...syntheticRows({ rows: 3, newestMs: NOW })][2], updatedAt: '2030-01-01T00:00:00Z' },
  ];
  const report = await runQualityCheck(qualityPlan(enrolmentEntry('daily'), 1), asAsync(future), {
    now: clock,
  });
  t.match(
    report.freshness,
    { stale: true, futureRows: 1 },
    'a row dated in the future does not make a resource fresh',
  );
  const empty = await runQualityCheck(qualityPlan(enrolmentEntry('daily'), 1), asAsync([]), { now: clock });
  t.match(empty, {
    rowsChecked: 0,
    score: 80,
    freshness: { stale: true, reason: 'no row has a watermark value' },
  });
  const noWatermark = enrolmentEntry('daily');
  delete noWatermark.service!.watermark;
  const unchecked = await runQualityCheck(qualityPlan(noWatermark, 1), asAsync([]), { now: clock });
  t.match(unchecked, {
    score: 100,
    freshness: { checked: false, reason: 'the resource has no watermark item' },
  });
});

t.test('sampling is deterministic by key and seed', async (t) => {
  const make = () =>
    asAsync(
      syntheticRows({
        rows: 20_000,
        badIdNumbers: spread(400, 1, 50),
        duplicateOf: spread(200, 7, 90),
        newestMs: NOW - HOUR,
      }),
    );
  const plan = qualityPlan(enrolmentEntry(), 1);
  const a = await runQualityCheck(plan, make(), {
    now: clock,
    id: 'x',
    sample: { ratio: 0.1, seed: 'june' },
  });
  const b = await runQualityCheck(plan, make(), {
    now: clock,
    id: 'x',
    sample: { ratio: 0.1, seed: 'june' },
  });
  const c = await runQualityCheck(plan, make(), {
    now: clock,
    id: 'x',
    sample: { ratio: 0.1, seed: 'july' },
  });
  t.same(a, b, 'same seed, same report');
  t.equal(a.rowsRead, 20_200);
  t.ok(a.rowsChecked > 1800 && a.rowsChecked < 2250, `about a tenth checked (${a.rowsChecked})`);
  t.not(a.rowsChecked, c.rowsChecked, 'another seed picks other rows');
  t.match(a.sample, { ratio: 0.1, seed: 'june' });
  const dupA = rule(a, 'unique:key')!.violations;
  t.ok(dupA > 5 && dupA < 45, `duplicates are found inside the sample (${dupA} of 200)`);
  t.equal(a.freshness.stale, false, 'freshness looks at every row');
  await t.rejects(runQualityCheck(plan, make(), { sample: { ratio: 0, seed: 'x' } }), RangeError);
});

t.test('cross-source consistency by batched lookups', async (t) => {
  const rows = [...syntheticRows({ rows: 1200, newestMs: NOW - HOUR })];
  const other = new Map<string, unknown>();
  for (const [i, row] of rows.entries()) {
    if (i % 100 === 99) continue; // 12 keys the other resource does not hold
    other.set(row.idNumber as string, i % 50 === 7 ? '420111' : ` ${row.divisionCode}`);
  }
  const fetched: number[] = [];
  const plan = qualityPlan(enrolmentEntry(), 1, {
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
  const report = await runQualityCheck(plan, asAsync(rows), { now: clock, consistencyBatch: 500 });
  t.same(fetched, [500, 500, 200], 'keys are fetched in batches');
  t.match(rule(report, 'consistency:divisionCode@101001/1'), {
    kind: 'consistency',
    violations: 24,
    note: '12 keys not found in 101001/1',
    examples: [
      { item: 'divisionCode', value: '420102', reason: 'differs from householdDivision in 101001/1' },
    ],
  });
  t.equal(report.rowsWithViolations, 24);
  t.throws(
    () =>
      qualityPlan(enrolmentEntry(), 1, {
        consistency: [{ item: 'nope', otherResource: 'x', otherItem: 'y', fetch: async () => new Map() }],
      }),
    RangeError,
  );
});

t.test('every inconsistent row is told to the listener, beyond the five examples', async (t) => {
  const rows = [...syntheticRows({ rows: 600, newestMs: NOW - HOUR })];
  const other = new Map(
    rows.map((row, i) => [row.idNumber as string, i % 50 === 7 ? '420111' : row.divisionCode]),
  );
  const plan = qualityPlan(enrolmentEntry(), 1, {
    consistency: [
      {
        item: 'divisionCode',
        otherResource: '101001/1',
        otherItem: 'householdDivision',
        semanticId: 'person.householdDivision',
        fetch: async (keys) => new Map(keys.map((k) => [k, other.get(k)])),
      },
    ],
  });
  const told: Inconsistency[] = [];
  const report = await runQualityCheck(plan, asAsync(rows), {
    now: clock,
    consistencyBatch: 250,
    onInconsistency: (found) => told.push(found),
  });
  t.equal(rule(report, 'consistency:divisionCode@101001/1')?.violations, 12);
  t.equal(told.length, 12, 'all of them, not only the examples');
  t.same(
    told.map((f) => f.key),
    rows.filter((_, i) => i % 50 === 7).map((r) => r.idNumber),
    'with the clear key, for the listener to hash',
  );
  t.match(told[0], {
    rule: { semanticId: 'person.householdDivision', otherResource: '101001/1' },
    shownKey: /^\d{6}\*+\d{3}[\dX]$/,
    value: '420102',
    otherValue: '420111',
  });
});

t.test("the other resource's outage leaves its keys uncompared, not the check failed", async (t) => {
  const rows = [...syntheticRows({ rows: 1000, newestMs: NOW - HOUR })];
  let calls = 0;
  const plan = qualityPlan(enrolmentEntry(), 1, {
    consistency: [
      {
        item: 'divisionCode',
        otherResource: '101001/1',
        otherItem: 'householdDivision',
        fetch: async (keys) => {
          if (++calls === 2) {
            throw Object.assign(new Error(`timeout looking up ${keys[0]}`), { code: 'UPSTREAM_TIMEOUT' });
          }
          return new Map(keys.map((k, i) => [k, i === 0 ? '420111' : '420102']));
        },
      },
    ],
  });
  const report = await runQualityCheck(plan, asAsync(rows), { now: clock, consistencyBatch: 400 });
  t.match(rule(report, 'consistency:divisionCode@101001/1'), {
    violations: 2,
    partial: true,
    note: '400 keys not compared: 101001/1 could not be read (UPSTREAM_TIMEOUT)',
  });
  t.notMatch(JSON.stringify(report), /timeout looking up/, 'no message that could quote a key');
  t.equal(report.rowsChecked, 1000);
});

t.test('a sample weighs the rows without a key as it weighs the others', async (t) => {
  const rows = [...syntheticRows({ rows: 2000, newestMs: NOW - HOUR })];
  const plan = qualityPlan(enrolmentEntry('daily'), 1);
  const full = await runQualityCheck(plan, asAsync(rows), { now: clock, missingKeys: 100 });
  const sampled = await runQualityCheck(plan, asAsync(rows), {
    now: clock,
    missingKeys: 100,
    sample: { ratio: 0.1, seed: 'weights' },
  });
  t.equal(full.rules.find((r) => r.rule === 'key:missing')?.violations, 100);
  t.ok(Math.abs(full.score - sampled.score) < 2, `full ${full.score}, sampled ${sampled.score}`);
});

t.test('watermarks read from their characters are what Date.parse reads', async (t) => {
  const copyFormat = [
    '2025-03-01T09:30:00+00:00',
    '2025-03-01T09:30:00.123456+00:00',
    '2024-02-29T23:59:59.5Z',
  ];
  for (const value of copyFormat) {
    t.equal(isoInstantMs(value), Date.parse(value), value);
  }
  // Left to Date.parse (NaN here): what it reads another way, or not at all.
  for (const value of [
    '2025-02-29T00:00:00Z', // V8 rolls it over to 1 March
    '2025-04-31T00:00:00Z',
    '2025-03-01T24:00:00Z',
    '0099-01-01T00:00:00Z', // Date.UTC would read 1999
    '2025-03-01T00:00:00', // no zone: China Standard Time, see watermarkMs
    '2025-03-01 00:00:00+08:00',
    '2025-03-01T00:00:00.Z',
    '2025-03-01T00:00:00+0800',
    '2025-03-01T00:00:60Z',
    '2025-03-01T00:00:00+24:00',
    '2025-03-01',
  ]) {
    t.ok(Number.isNaN(isoInstantMs(value)), `${value}: Date.parse's`);
  }
  // Many instants, zones and fractions: the same milliseconds.
  let seed = 7;
  const next = () => {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
    return seed;
  };
  const pad = (n: number, w: number) => String(n).padStart(w, '0');
  let compared = 0;
  const differ: string[] = [];
  for (let i = 0; i < 20_000; i++) {
    const ms = Date.UTC(1000, 0, 1) + (next() / 2 ** 31) * (Date.UTC(9999, 11, 31) - Date.UTC(1000, 0, 1));
    const d = new Date(Math.floor(ms));
    const fraction = [
      '',
      '.1',
      '.12',
      `.${pad(d.getUTCMilliseconds(), 3)}`,
      `.${pad(next() % 1_000_000, 6)}`,
    ][next() % 5];
    const offset =
      next() % 3 === 0 ? 'Z' : `${next() % 2 ? '+' : '-'}${pad(next() % 15, 2)}:${pad((next() % 4) * 15, 2)}`;
    const value = `${d.toISOString().slice(0, 19)}${fraction}${offset}`;
    if (isoInstantMs(value) !== Date.parse(value)) differ.push(value);
    compared++;
  }
  t.same(differ, [], 'no instant read otherwise');
  t.equal(compared, 20_000);
});
