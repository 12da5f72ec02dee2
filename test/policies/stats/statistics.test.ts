import t from 'tap';
import { CallCounters } from '../../../policies/stats/counters.js';
import { statisticsCsv } from '../../../policies/stats/csv.js';
import { StatsService } from '../../../policies/stats/service.js';
import { median } from '../../../policies/stats/statistics.js';
import {
  bureauActor,
  CIVIL_AFFAIRS,
  civilAdmin,
  ENTERPRISE,
  enterpriseApplication,
  HUMAN_RESOURCES,
  hrAdmin,
  insuranceApplication,
  MARKET_REGULATION,
  MEDICAL_SECURITY,
  medicalAdmin,
  SOCIAL_INSURANCE,
} from '../applications/fixtures.js';
import { buildWorld } from '../applications/world.js';

async function scenario(t: Parameters<typeof buildWorld>[0]) {
  const w = await buildWorld(t);
  const at = (iso: string) => w.clock.set(`${iso}+08:00`);
  await w.certs.addSystem(
    { deptCode: CIVIL_AFFAIRS, systemId: 'elderly', name: '养老服务系统' },
    w.clock.now(),
  );
  at('2026-03-02T10:00:00');
  await w.service.submit(civilAdmin, enterpriseApplication()); // A: granted at once
  const b = await w.service.submit(civilAdmin, insuranceApplication()); // B
  const c = await w.service.submit(medicalAdmin, insuranceApplication({ systemId: 'claims' })); // C
  at('2026-03-03T10:00:00');
  await w.service.check(bureauActor, b.id, { outcome: 'accept' });
  at('2026-03-04T10:00:00');
  await w.service.submit(civilAdmin, insuranceApplication({ systemId: 'elderly' })); // D: never checked
  at('2026-03-09T10:00:00');
  await w.service.check(bureauActor, c.id, { outcome: 'accept' }); // after its 3-day deadline (03-05)
  at('2026-03-10T10:00:00');
  await w.service.authorize(hrAdmin, b.id, {});
  at('2026-03-11T10:00:00');
  await w.service.refuse(hrAdmin, c.id, '不符合共享条件');

  const stats = new StatsService({
    redis: w.redis,
    prefix: w.prefix,
    applications: w.store,
    calendar: w.calendar,
    now: w.clock.now,
  });
  const call = (consumerDept: string, providerDept: string, resource: string, reasonCode?: string) => ({
    consumerDept,
    providerDept,
    resource,
    decision: reasonCode ? ('deny' as const) : ('allow' as const),
    ...(reasonCode ? { reasonCode } : {}),
  });
  for (let i = 0; i < 3; i++)
    await stats.calls.record(
      call(CIVIL_AFFAIRS, MARKET_REGULATION, ENTERPRISE),
      Date.parse('2026-03-03T12:00:00+08:00'),
    );
  await stats.calls.record(
    call(CIVIL_AFFAIRS, MARKET_REGULATION, ENTERPRISE, 'PURPOSE_MISMATCH'),
    Date.parse('2026-03-03T12:00:00+08:00'),
  );
  for (let i = 0; i < 2; i++)
    await stats.calls.record(
      call(MEDICAL_SECURITY, HUMAN_RESOURCES, SOCIAL_INSURANCE, 'GRANT_MISSING'),
      Date.parse('2026-03-31T23:59:00+08:00'),
    );
  await stats.calls.record(
    call(CIVIL_AFFAIRS, MARKET_REGULATION, ENTERPRISE),
    Date.parse('2026-04-01T00:00:00+08:00'),
  );
  for (const ok of [true, true, false, true]) {
    await stats.probes.record(
      { providerDept: MARKET_REGULATION, resource: ENTERPRISE, ok, latencyMs: 12 },
      Date.parse('2026-03-05T08:00:00+08:00'),
    );
  }
  at('2026-03-20T10:00:00');
  return { w, stats };
}

t.test('statistics per department and overall for a period', async (t) => {
  const { stats } = await scenario(t);
  const result = await stats.forActor(bureauActor, { from: '2026-03-01', to: '2026-03-31' });
  t.same(
    result.departments.map((d) => d.dept),
    [CIVIL_AFFAIRS, HUMAN_RESOURCES, MARKET_REGULATION, MEDICAL_SECURITY].sort(),
  );
  const dept = (code: string) => result.departments.find((d) => d.dept === code)!;

  t.same(dept(HUMAN_RESOURCES).applications, {
    received: 3,
    decided: 2,
    granted: 1,
    rejected: 0,
    refused: 1,
    decidedWithinLimit: 1,
    withinLimitShare: 0.5,
    medianWorkdays: 6.5,
    p90Workdays: 7,
    overdue: 2,
    overdueByStage: { check: 2, directGrant: 0, authorize: 0, notify: 0 },
  });
  t.match(dept(MARKET_REGULATION).applications, {
    received: 1,
    decided: 1,
    granted: 1,
    withinLimitShare: 1,
    medianWorkdays: 0,
    overdue: 0,
  });
  t.equal(dept(CIVIL_AFFAIRS).applicationsFiled, 3);
  t.equal(dept(MEDICAL_SECURITY).applicationsFiled, 1);
  t.same(dept(CIVIL_AFFAIRS).callsMade, { allowed: 3, denied: 1, deniedByReason: { PURPOSE_MISMATCH: 1 } });
  t.same(dept(MARKET_REGULATION).callsServed, {
    allowed: 3,
    denied: 1,
    deniedByReason: { PURPOSE_MISMATCH: 1 },
  });
  t.same(dept(HUMAN_RESOURCES).callsServed, { allowed: 0, denied: 2, deniedByReason: { GRANT_MISSING: 2 } });
  t.same(dept(MARKET_REGULATION).availability, { probes: 4, ok: 3, share: 0.75 });
  t.same(dept(HUMAN_RESOURCES).availability, { probes: 0, ok: 0, share: null });

  t.match(result.overall, {
    applications: {
      received: 4,
      decided: 3,
      granted: 2,
      refused: 1,
      decidedWithinLimit: 2,
      withinLimitShare: 0.6667,
      medianWorkdays: 6,
      p90Workdays: 7,
      overdue: 2,
    },
    calls: { allowed: 3, denied: 3, deniedByReason: { PURPOSE_MISMATCH: 1, GRANT_MISSING: 2 } },
    availability: { probes: 4, ok: 3, share: 0.75 },
  });

  const april = await stats.compute({ from: '2026-04-01', to: '2026-04-30' });
  t.same(april.overall?.calls, { allowed: 1, denied: 0, deniedByReason: {} }, 'a call counts on its CST day');
  t.equal(april.overall?.applications.received, 0);
});

t.test('a department administrator sees its own department only', async (t) => {
  const { stats } = await scenario(t);
  const own = await stats.forActor(hrAdmin, { from: '2026-03-01', to: '2026-03-31' });
  t.same(
    own.departments.map((d) => d.dept),
    [HUMAN_RESOURCES],
  );
  t.equal(own.overall, undefined, 'no platform-wide figures');
  t.equal(own.departments[0]?.applications.received, 3);
  await t.rejects(stats.forActor(hrAdmin, { from: '2026-03-01', to: '2026-03-31', dept: CIVIL_AFFAIRS }), {
    code: 'STATS_FORBIDDEN',
    statusCode: 403,
  });
  await t.rejects(stats.forActor({ role: 'auditor', name: 'a' }, { from: '2026-03-01', to: '2026-03-31' }), {
    code: 'STATS_FORBIDDEN',
  });
});

t.test('periods are checked', async (t) => {
  const { stats } = await scenario(t);
  for (const [from, to] of [
    ['2026-03-31', '2026-03-01'],
    ['2026-02-30', '2026-03-01'],
    ['2025-01-01', '2026-03-01'],
    ['2026/03/01', '2026-03-02'],
  ] as const) {
    await t.rejects(
      stats.compute({ from, to }),
      { code: 'STATS_PERIOD_INVALID', statusCode: 422 },
      `${from}..${to}`,
    );
  }
});

t.test('CSV: one row per department and the overall row', async (t) => {
  const { stats } = await scenario(t);
  const csv = statisticsCsv(await stats.compute({ from: '2026-03-01', to: '2026-03-31' }));
  const lines = csv.trimEnd().split('\r\n');
  t.equal(lines.length, 6);
  t.match(lines[0], /^from,to,scope,dept,applications_received,applications_decided,granted,/);
  const hr = lines.find((l) => l.includes(HUMAN_RESOURCES))!;
  t.equal(
    hr,
    `2026-03-01,2026-03-31,department,${HUMAN_RESOURCES},3,2,1,0,1,1,0.5,6.5,7,2,2,0,0,0,0,0,,0,2,GRANT_MISSING=2,0,0,`,
  );
  t.match(
    lines.at(-1),
    /^2026-03-01,2026-03-31,overall,,4,3,2,0,1,2,0.6667,6,7,2,2,0,0,4,3,3,GRANT_MISSING=2;PURPOSE_MISMATCH=1,/,
  );
});

t.test('recording a call is one HINCRBY, usable in the data path’s pipeline', async (t) => {
  const { w } = await scenario(t);
  const counters = new CallCounters(w.redis, w.prefix);
  const [key, field, increment] = counters.callCommand(
    {
      consumerDept: CIVIL_AFFAIRS,
      providerDept: MARKET_REGULATION,
      resource: ENTERPRISE,
      decision: 'deny',
      reasonCode: 'QUOTA_EXCEEDED',
    },
    Date.parse('2026-03-31T16:30:00Z'),
  );
  t.equal(key, `${w.prefix}{stats}:calls:2026-04-01`, 'the CST day');
  t.equal(field, `${CIVIL_AFFAIRS}|${MARKET_REGULATION}|${ENTERPRISE}|deny|QUOTA_EXCEEDED`);
  await w.redis.pipeline().hincrby(key, field, increment).exec();
  t.same(
    (await counters.read('2026-04-01', '2026-04-01')).filter((c) => c.decision === 'deny'),
    [
      {
        day: '2026-04-01',
        consumerDept: CIVIL_AFFAIRS,
        providerDept: MARKET_REGULATION,
        resource: ENTERPRISE,
        decision: 'deny',
        reasonCode: 'QUOTA_EXCEEDED',
        count: 1,
      },
    ],
  );
  t.equal(median([1, 2, 3]), 2);
  t.equal(median([]), null);
});
