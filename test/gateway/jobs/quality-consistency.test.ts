/**
 * Cross-source consistency from the 一数一源 registry ([HB-S] 14, 17) on a real front-end database and a
 * real Redis: an item reusing another department's source is checked against it through the source's
 * connector, and each disagreeing record opens one joint verification between the two departments,
 * deduplicated when the next run finds it again.
 */
import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import t from 'tap';
import { subjectHash } from '../../../audit/subject.js';
import { QualityStore } from '../../../catalog/quality/store.js';
import type { ResourceEntry } from '../../../catalog/schema.js';
import { ConnectorRegistry } from '../../../connectors/registry.js';
import { SqlConnectorFactory } from '../../../connectors/sql/connector.js';
import { type QualityWorkerDeps, runQualityJob } from '../../../gateway/jobs/quality.js';
import { itemSourceConsistency, openJointVerifications } from '../../../gateway/jobs/quality-consistency.js';
import { WorkdayCalendar } from '../../../policies/calendar/calendar.js';
import { CaseService } from '../../../policies/cases/service.js';
import { CaseStore } from '../../../policies/cases/store.js';
import { bureau, PUBLIC_SECURITY } from '../../catalog/fixtures.js';
import { enrolmentEntry, idNumberFor, syntheticRows } from '../../catalog/quality/fixtures.js';
import { sourcesFor } from '../../connectors/sql/fixtures.js';
import { usePostgres } from '../../helpers/postgres.js';
import { useRedis } from '../../helpers/redis.js';

const NOW = Date.parse('2026-03-02T02:00:00Z');
const ROWS = 300;
/** Rows whose name the population register holds differently. */
const DIFFERENT = [7, 42, 199];
const POPULATION = '101001/1';

/** The population register of the public security bureau: the source of person.name. */
function residentsEntry(): ResourceEntry {
  return {
    code: POPULATION,
    name: '人口基础信息',
    summary: '户籍人口基础信息',
    classification: { category: 'base', code: '101001' },
    provider: { code: PUBLIC_SECURITY, name: '武汉市公安局' },
    confidentiality: { result: 'not-classified', reviewedBy: '本单位保密工作机构', reviewedOn: '2026-01-05' },
    format: { type: 'database', subtype: 'PostgreSQL' },
    items: [
      {
        name: 'idNumber',
        label: '公民身份号码',
        dataType: 'C',
        length: 18,
        key: true,
        sensitive: 'idNumber',
      },
      {
        name: 'fullName',
        label: '姓名',
        dataType: 'C',
        length: 50,
        sensitive: 'name',
        semanticId: 'person.name',
        source: true,
      },
    ],
    share: { type: 'unconditional', modes: ['api'] },
    open: { type: 'none' },
    updateCycle: 'daily',
    service: { connector: 'sql', endpoint: 'frontdb', table: 'residents' },
  };
}

async function createTables(pool: pg.Pool): Promise<void> {
  await pool.query(`CREATE TABLE enrolment (
    "idNumber" text PRIMARY KEY, "name" text, "employerCreditCode" text, "divisionCode" text, "phone" text,
    "enrolledOn" date, "monthlyBase" numeric, "updatedAt" timestamptz)`);
  const rows = [...syntheticRows({ rows: ROWS, newestMs: NOW - 3_600_000 })];
  await pool.query('INSERT INTO enrolment SELECT * FROM json_populate_recordset(NULL::enrolment, $1)', [
    JSON.stringify(rows),
  ]);
  await pool.query(`CREATE TABLE residents ("idNumber" text PRIMARY KEY, "fullName" text)`);
  const residents = rows.map((r, i) => ({
    idNumber: r.idNumber,
    fullName: DIFFERENT.includes(i) ? `${r.name as string}（曾用名）` : ` ${r.name as string}`,
  }));
  // One enrolled person the register does not hold: not an inconsistency.
  residents.pop();
  await pool.query('INSERT INTO residents SELECT * FROM json_populate_recordset(NULL::residents, $1)', [
    JSON.stringify(residents),
  ]);
}

t.test(
  "items reusing another department's source are checked against it and open joint verifications",
  async (t) => {
    const { redis, prefix } = await useRedis(t);
    const db = await usePostgres(t);
    await createTables(db.pool);
    const enrolment = enrolmentEntry('daily');
    enrolment.items = enrolment.items.map((i) =>
      i.name === 'name' ? { ...i, semanticId: 'person.name' } : i,
    );
    const entries = new Map([enrolment, residentsEntry()].map((e) => [e.code, e]));
    const catalog = {
      publishedEntry: async (code: string) => {
        const entry = entries.get(code);
        return entry ? { version: 1, status: 'active' as const, entry } : null;
      },
    };
    const sourceOf = async (semanticId: string) => (semanticId === 'person.name' ? POPULATION : undefined);
    const connectors = new ConnectorRegistry({ sql: new SqlConnectorFactory(sourcesFor(db)) });
    t.teardown(() => connectors.close());
    const secret = randomBytes(32);
    const cases = new CaseService({
      store: new CaseStore(redis, prefix),
      calendar: new WorkdayCalendar(),
      now: () => new Date(NOW),
      isKnownDepartment: async () => true,
      publishedVersion: async () => undefined,
      joint: {
        subjectSecret: secret,
        async itemOf(code, semanticId) {
          const entry = entries.get(code);
          const item = entry?.items.find((i) => i.semanticId === semanticId);
          return entry && item ? { dept: entry.provider.code, item: item.name } : undefined;
        },
        sourceOf,
      },
    });
    const consistency = itemSourceConsistency({ catalog, sourceOf, connectors });
    t.same(await consistency(residentsEntry()), [], 'the source is not checked against itself');
    const rules = await consistency(enrolment);
    t.match(rules, [
      { item: 'name', otherResource: POPULATION, otherItem: 'fullName', semanticId: 'person.name' },
    ]);

    const deps: QualityWorkerDeps = {
      catalog,
      connectors,
      store: new QualityStore(redis, prefix, { now: () => NOW }),
      now: () => NOW,
      pageSize: 100,
      consistency,
      onInconsistencies: openJointVerifications(cases.joint),
    };
    const first = await runQualityJob(deps, 'run-1', { code: enrolment.code, trigger: 'manual' });
    t.same(first.jointVerifications, { opened: DIFFERENT.length, deduplicated: 0 });
    const report = (await deps.store.latest(enrolment.code))!;
    t.match(
      report.rules.find((r) => r.rule === `consistency:name@${POPULATION}`),
      {
        violations: DIFFERENT.length,
        note: `1 keys not found in ${POPULATION}`,
      },
    );

    const opened = await cases.list(bureau, { kind: 'joint-verification' });
    t.equal(opened.length, DIFFERENT.length);
    t.same(
      opened.map((c) => c.verification!.recordKeyHash).sort(),
      DIFFERENT.map((i) => subjectHash(secret, idNumberFor(i))).sort(),
      'one case per record, keyed by the subject hash',
    );
    t.match(opened[0], {
      state: 'open',
      fromDept: PUBLIC_SECURITY,
      dept: enrolment.provider.code,
      verification: {
        origin: 'quality-run',
        runId: 'run-1',
        authoritativeSource: POPULATION,
        maskedKey: /^\d{6}\*+\d{3}[\dX]$/,
        sides: [
          { resourceCode: POPULATION, item: 'fullName', authoritative: true },
          { resourceCode: enrolment.code, item: 'name', authoritative: false },
        ],
      },
    });
    const stored = JSON.stringify(await redis.hgetall(cases.store.keys.data));
    // The fixture's ID numbers themselves: any 18 digits in a row would also match the hex of a hash.
    const clear = Array.from({ length: ROWS }, (_, i) => idNumberFor(i)).filter((id) => stored.includes(id));
    t.same(clear, [], 'no clear ID number stored');
    t.notMatch(stored, /参保人/, 'no value stored');

    const second = await runQualityJob(deps, 'run-2', { code: enrolment.code, trigger: 'schedule' });
    t.same(
      second.jointVerifications,
      { opened: 0, deduplicated: DIFFERENT.length },
      'found again: the same cases',
    );
    t.equal((await cases.list(bureau, { kind: 'joint-verification' })).length, DIFFERENT.length);

    const capped = openJointVerifications(cases.joint, { maxOpened: 1 });
    await db.pool.query(`UPDATE residents SET "fullName" = 'x' || "fullName" WHERE "idNumber" IN ($1, $2)`, [
      idNumberFor(1),
      idNumberFor(2),
    ]);
    const third = await runQualityJob({ ...deps, onInconsistencies: capped }, 'run-3', {
      code: enrolment.code,
      trigger: 'schedule',
    });
    t.equal(third.jointVerifications?.opened, 1, 'at most maxOpened new cases per run');
    t.equal((await cases.list(bureau, { kind: 'joint-verification' })).length, DIFFERENT.length + 1);
  },
);
