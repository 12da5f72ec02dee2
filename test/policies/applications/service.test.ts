import t from 'tap';
import type { WorkflowEvent } from '../../../policies/applications/schema.js';
import { ApplicationService } from '../../../policies/applications/service.js';
import { resolveLimits } from '../../../policies/calendar/limits.js';
import { GrantStore } from '../../../policies/grant-store.js';
import {
  bureauActor,
  CIVIL_AFFAIRS,
  CRIMINAL_CASES,
  civilAdmin,
  ENTERPRISE,
  enterpriseApplication,
  HUMAN_RESOURCES,
  hrAdmin,
  insuranceApplication,
  MARKET_REGULATION,
  MEDICAL_SECURITY,
  marketAdmin,
  medicalAdmin,
  POPULATION,
  policeAdmin,
  SOCIAL_INSURANCE,
} from './fixtures.js';
import { buildWorld } from './world.js';

const events = (entries: { events?: WorkflowEvent[] }[]) =>
  entries.flatMap((e) => e.events ?? []).map((e) => [e.type, [...e.recipients].sort()]);

t.test(
  'submission refuses what cannot be applied for, with a problem the applicant can act on',
  async (t) => {
    const w = await buildWorld(t);
    await w.catalog.suspend(policeAdmin, POPULATION, { reason: '数据治理', effectiveFrom: '2026-03-02' });
    const cases: [string, Parameters<typeof w.service.submit>, string, number][] = [
      [
        'unknown item',
        [civilAdmin, enterpriseApplication({ items: ['uscc', 'shoeSize'] })],
        'APPLICATION_ITEM_UNKNOWN',
        422,
      ],
      [
        'not-shared resource',
        [civilAdmin, enterpriseApplication({ resourceCode: CRIMINAL_CASES, items: ['caseNo'] })],
        'APPLICATION_RESOURCE_NOT_SHARED',
        422,
      ],
      [
        'unknown resource',
        [civilAdmin, enterpriseApplication({ resourceCode: '102001/999' })],
        'APPLICATION_RESOURCE_UNKNOWN',
        404,
      ],
      [
        'suspended resource',
        [civilAdmin, enterpriseApplication({ resourceCode: POPULATION, items: ['idNumber'] })],
        'APPLICATION_RESOURCE_UNAVAILABLE',
        422,
      ],
      [
        'system of another department',
        [civilAdmin, enterpriseApplication({ deptCode: MEDICAL_SECURITY, systemId: 'claims' })],
        'APPLICATION_FORBIDDEN',
        403,
      ],
      [
        'system not registered under the department',
        [civilAdmin, enterpriseApplication({ systemId: 'claims' })],
        'APPLICATION_SYSTEM_UNKNOWN',
        422,
      ],
      [
        'mode not offered',
        [civilAdmin, enterpriseApplication({ modes: ['bulk'] })],
        'APPLICATION_INVALID',
        422,
      ],
      [
        'validity already over',
        [civilAdmin, enterpriseApplication({ validTo: '2026-01-01T00:00:00+08:00' })],
        'APPLICATION_INVALID',
        422,
      ],
      ['the bureau does not apply', [bureauActor, enterpriseApplication()], 'APPLICATION_FORBIDDEN', 403],
    ];
    for (const [name, args, code, statusCode] of cases) {
      await t.rejects(w.service.submit(...args), { code, statusCode }, name);
    }
    t.same(await w.store.idsOf(w.store.keys.all), [], 'nothing was recorded');
  },
);

t.test('a withdrawn resource is refused at submission', async (t) => {
  const w = await buildWorld(t);
  await w.catalog.withdraw(marketAdmin, ENTERPRISE, { reason: '职能调整', effectiveFrom: '2026-03-03' });
  w.clock.set('2026-03-03T09:00:00+08:00');
  await t.rejects(w.service.submit(civilAdmin, enterpriseApplication()), {
    code: 'APPLICATION_RESOURCE_UNAVAILABLE',
    message: /is withdrawn by its provider/,
  });
});

t.test(
  'a direct grant that failed at submission is made at the clock retry, its audit record committed with it',
  async (t) => {
    const w = await buildWorld(t);
    let failures = 1;
    class FlakyGrants extends GrantStore {
      override async create(...args: Parameters<GrantStore['create']>) {
        if (failures-- > 0) throw new Error('grant store unavailable');
        return super.create(...args);
      }
    }
    const service = new ApplicationService({
      store: w.store,
      grants: new FlakyGrants(w.redis, w.prefix, { now: w.clock.now }),
      catalog: w.catalog,
      systems: w.certs,
      calendar: w.calendar,
      limits: resolveLimits(),
      now: w.clock.now,
    });
    await t.rejects(service.submit(civilAdmin, enterpriseApplication()), /grant store unavailable/);
    const [submitted] = await w.takeOutbox();
    const id = submitted?.events?.[0]?.data.applicationId as string;
    t.equal((await service.get(bureauActor, id)).state, 'granting', 'left for the retry');
    t.equal(submitted?.audit, undefined, 'a submission is audited by its request, not by the outbox');

    w.clock.set('2026-03-03T10:00:00+08:00');
    const granted = await service.retryDirectGrant(id);
    t.equal(granted?.state, 'granted');
    t.match(granted?.history.at(-1), { action: 'grant', by: { role: 'system' } });
    const [grantedEntry] = await w.takeOutbox();
    t.same(grantedEntry?.audit, [
      {
        action: 'application.grant',
        at: '2026-03-03T02:00:00.000Z',
        detail: { application: id, grant: granted?.grantId },
      },
    ]);
    t.equal(await service.retryDirectGrant(id), undefined, 'a second retry finds nothing to do');
  },
);

t.test(
  'direct path: the platform grants at once, records it as its own act and informs the provider',
  async (t) => {
    const w = await buildWorld(t);
    const app = await w.service.submit(civilAdmin, enterpriseApplication());
    t.match(app.id, /^APP-20260302-\d{6}$/);
    t.equal(app.path, 'direct');
    t.equal(app.state, 'granted');
    t.same(
      app.history.map((h) => [h.action, h.from, h.to, h.by.role]),
      [
        ['submitDirect', null, 'granting', 'dept-admin'],
        ['grant', 'granting', 'granted', 'system'],
      ],
    );
    t.equal(app.stages[0]?.name, 'directGrant');
    t.equal(app.stages[0]?.dueDate, '2026-03-05', '3 working days');
    t.equal(app.stages[0]?.completedAt, app.submittedAt, 'granted at once');
    const grant = await w.grants.get(app.grantId!);
    t.same(grant?.source, { kind: 'application', applicationId: app.id });
    t.same(grant?.items, ['uscc', 'entName', 'regStatus']);
    t.equal(grant?.grantedBy.role, 'bureau');
    t.match(grant?.grantedBy.name, /platform/);
    const outbox = await w.takeOutbox();
    t.same(events(outbox), [
      ['application.received', [CIVIL_AFFAIRS]],
      ['application.granted', [CIVIL_AFFAIRS, MARKET_REGULATION].sort()],
    ]);
    t.equal(outbox[0]?.timers?.length, 3, 'the stage timers were set');
    t.same(
      outbox[1]?.cancel,
      outbox[0]?.timers?.map((x) => x.id),
      'and dropped when the grant was made',
    );
  },
);

t.test(
  'check then authorization with narrowed items: the grant has exactly the authorized terms',
  async (t) => {
    const w = await buildWorld(t);
    const app = await w.service.submit(civilAdmin, insuranceApplication());
    t.equal(app.state, 'checking');
    t.equal(app.path, 'authorization');
    t.equal(app.stages[0]?.dueDate, '2026-03-05');

    w.clock.set('2026-03-03T15:00:00+08:00');
    const checked = await w.service.check(bureauActor, app.id, { outcome: 'accept' });
    t.equal(checked.state, 'authorizing');
    t.equal(checked.stages[1]?.name, 'authorize');
    t.equal(checked.stages[1]?.dueDate, '2026-03-17', '10 working days from the check');

    await t.rejects(w.service.authorize(medicalAdmin, app.id, {}), {
      code: 'APPLICATION_FORBIDDEN',
      statusCode: 403,
    });
    await t.rejects(
      w.service.authorize(civilAdmin, app.id, {}),
      { code: 'APPLICATION_FORBIDDEN' },
      'not the consumer',
    );
    await t.rejects(w.service.authorize(hrAdmin, app.id, { items: ['idNumber', 'active'] }), {
      code: 'APPLICATION_TERMS_INVALID',
      message: /items active were not applied for/,
    });
    await t.rejects(w.service.authorize(hrAdmin, app.id, { validTo: '2028-01-01T00:00:00+08:00' }), {
      code: 'APPLICATION_TERMS_INVALID',
    });

    w.clock.set('2026-03-10T11:00:00+08:00');
    const { application, grant } = await w.service.authorize(hrAdmin, app.id, {
      items: ['idNumber', 'insuranceType', 'monthsPaid'],
      masking: { idNumber: 'default' },
      quota: { perDay: 500 },
      validTo: '2026-12-31T00:00:00+08:00',
      reason: '缴费基数不予提供',
    });
    t.equal(application.state, 'granted');
    t.equal(application.grantId, grant.id);
    t.same(grant.items, ['idNumber', 'insuranceType', 'monthsPaid'], 'exactly the narrowed items');
    t.same(grant.quota, { perDay: 500 });
    t.equal(grant.validTo, '2026-12-30T16:00:00.000Z');
    t.same(grant.source, { kind: 'application', applicationId: app.id });
    t.same(await w.grants.findActive(CIVIL_AFFAIRS, 'assistance', SOCIAL_INSURANCE), grant);
    t.same(
      application.stages.map((s) => [s.name, s.completedBy]),
      [
        ['check', 'accept'],
        ['authorize', 'authorize'],
        ['notify', 'notify'],
      ],
    );
    t.equal(application.decidedAt, '2026-03-10T03:00:00.000Z');
    t.same(events(await w.takeOutbox()), [
      ['application.received', [CIVIL_AFFAIRS, HUMAN_RESOURCES, 'bureau'].sort()],
      ['application.checked', [CIVIL_AFFAIRS, HUMAN_RESOURCES].sort()],
      ['application.authorized', [CIVIL_AFFAIRS, 'bureau'].sort()],
    ]);

    await t.rejects(w.service.refuse(hrAdmin, app.id, 'too late'), {
      code: 'APPLICATION_ILLEGAL_TRANSITION',
      statusCode: 409,
    });
    await t.rejects(w.service.withdraw(civilAdmin, app.id), { code: 'APPLICATION_ILLEGAL_TRANSITION' });
  },
);

t.test('rejection at the check and refusal by the provider carry their reasons', async (t) => {
  const w = await buildWorld(t);
  const first = await w.service.submit(civilAdmin, insuranceApplication());
  await t.rejects(w.service.check(bureauActor, first.id, { outcome: 'reject' }), {
    code: 'APPLICATION_REASON_REQUIRED',
    statusCode: 422,
  });
  await t.rejects(w.service.check(civilAdmin, first.id, { outcome: 'accept' }), {
    code: 'APPLICATION_FORBIDDEN',
  });
  const rejected = await w.service.check(bureauActor, first.id, {
    outcome: 'reject',
    reason: '用途与申请事项不符',
  });
  t.equal(rejected.state, 'rejected');
  t.equal(rejected.history.at(-1)?.reason, '用途与申请事项不符');
  t.ok(rejected.decidedAt);
  t.equal(await w.grants.findActive(CIVIL_AFFAIRS, 'assistance', SOCIAL_INSURANCE), undefined);

  const second = await w.service.submit(civilAdmin, insuranceApplication());
  await w.service.check(bureauActor, second.id, { outcome: 'accept' });
  await t.rejects(w.service.refuse(hrAdmin, second.id, '  '), { code: 'APPLICATION_REASON_REQUIRED' });
  const refused = await w.service.refuse(hrAdmin, second.id, '申请单位不在共享条件范围内');
  t.equal(refused.state, 'refused');
  t.same(refused.history.at(-1), {
    action: 'refuse',
    from: 'authorizing',
    to: 'refused',
    at: refused.decidedAt,
    by: hrAdmin,
    reason: '申请单位不在共享条件范围内',
    stage: 2,
  });
  const outbox = await w.takeOutbox();
  const refusal = outbox.flatMap((e) => e.events ?? []).find((e) => e.type === 'application.refused');
  t.equal(refusal?.data.reason, '申请单位不在共享条件范围内', 'the consumer is told the reason');
});

t.test('withdrawal, one pending application per system and resource, renewal', async (t) => {
  const w = await buildWorld(t);
  const app = await w.service.submit(civilAdmin, insuranceApplication());
  await t.rejects(w.service.submit(civilAdmin, insuranceApplication()), {
    code: 'APPLICATION_DUPLICATE',
    statusCode: 409,
    message: new RegExp(app.id),
  });
  await t.rejects(w.service.withdraw(medicalAdmin, app.id), {
    code: 'APPLICATION_FORBIDDEN',
    statusCode: 403,
  });
  await t.rejects(
    w.service.withdraw(hrAdmin, app.id),
    { code: 'APPLICATION_FORBIDDEN' },
    'the provider cannot withdraw it',
  );
  const withdrawn = await w.service.withdraw(civilAdmin, app.id, '事项已办结');
  t.equal(withdrawn.state, 'withdrawn');
  t.equal(withdrawn.stages[0]?.completedBy, 'withdraw');
  t.notOk(withdrawn.decidedAt, 'a withdrawal is not a decision');
  await t.rejects(w.service.check(bureauActor, app.id, { outcome: 'accept' }), {
    code: 'APPLICATION_ILLEGAL_TRANSITION',
  });
  const again = await w.service.submit(civilAdmin, insuranceApplication());
  t.equal(again.state, 'checking', 'the system may apply again');

  const first = await w.service.submit(civilAdmin, enterpriseApplication());
  await t.rejects(
    w.service.submit(medicalAdmin, enterpriseApplication({ systemId: 'claims', renews: first.grantId! })),
    {
      code: 'APPLICATION_FORBIDDEN',
      message: /belongs to department/,
    },
  );
  w.clock.set('2026-06-01T09:00:00+08:00');
  const renewal = await w.service.submit(
    civilAdmin,
    enterpriseApplication({ renews: first.grantId!, validTo: '2027-06-01T00:00:00+08:00' }),
  );
  t.equal(renewal.state, 'granted');
  t.equal(renewal.renews, first.grantId);
  const old = await w.grants.get(first.grantId!);
  t.equal(old?.status, 'revoked');
  t.equal(old?.statusHistory.at(-1)?.reason, 'superseded', 'the new grant supersedes the old one');
  t.equal((await w.grants.findActive(CIVIL_AFFAIRS, 'assistance', ENTERPRISE))?.id, renewal.grantId);
});

t.test('who sees an application', async (t) => {
  const w = await buildWorld(t);
  const app = await w.service.submit(civilAdmin, insuranceApplication());
  for (const actor of [civilAdmin, hrAdmin, bureauActor, { role: 'auditor' as const, name: 'a' }]) {
    t.equal((await w.service.get(actor, app.id)).id, app.id, `${actor.role} ${actor.dept ?? ''}`);
  }
  for (const actor of [medicalAdmin, marketAdmin, { role: 'security-admin' as const, name: 's' }]) {
    await t.rejects(w.service.get(actor, app.id), { code: 'APPLICATION_FORBIDDEN', statusCode: 403 });
  }
  await t.rejects(w.service.get(civilAdmin, 'APP-20260302-999999'), {
    code: 'APPLICATION_NOT_FOUND',
    statusCode: 404,
  });
});

t.test(
  'decisions on one application happen one at a time: a race leaves exactly the grant decided',
  async (t) => {
    const w = await buildWorld(t);
    const app = await w.service.submit(civilAdmin, insuranceApplication());
    w.clock.set('2026-03-03T15:00:00+08:00');
    await w.service.check(bureauActor, app.id, { outcome: 'accept' });
    const [one, two] = await Promise.allSettled([
      w.service.authorize(hrAdmin, app.id, {}),
      w.service.authorize(hrAdmin, app.id, {}),
    ]);
    t.same([one.status, two.status].sort(), ['fulfilled', 'rejected'], 'one authorization wins');
    const lost = [one, two].find((r) => r.status === 'rejected') as PromiseRejectedResult;
    t.equal(lost.reason.code, 'APPLICATION_ILLEGAL_TRANSITION', 'the other meets the decision made');
    const granted = await w.service.get(bureauActor, app.id);
    const active = await w.grants.findActive(CIVIL_AFFAIRS, 'assistance', SOCIAL_INSURANCE);
    t.equal(active?.id, granted.grantId, "the application's grant is the consumer's active grant");

    // A renewal withdrawn while it is being authorized: the grant it would replace survives the withdrawal.
    const renewal = await w.service.submit(civilAdmin, insuranceApplication({ renews: granted.grantId! }));
    await w.service.check(bureauActor, renewal.id, { outcome: 'accept' });
    const [authorized, withdrawn] = await Promise.allSettled([
      w.service.authorize(hrAdmin, renewal.id, {}),
      w.service.withdraw(civilAdmin, renewal.id, '撤回'),
    ]);
    const after = await w.service.get(bureauActor, renewal.id);
    const current = await w.grants.findActive(CIVIL_AFFAIRS, 'assistance', SOCIAL_INSURANCE);
    t.ok(current, 'the consumer keeps an active grant');
    if (after.state === 'withdrawn') {
      t.equal(withdrawn.status, 'fulfilled');
      t.equal(authorized.status, 'rejected');
      t.equal(current?.id, granted.grantId, 'the old grant, untouched');
    } else {
      t.equal(after.state, 'granted');
      t.equal(current?.id, after.grantId, 'the renewal, which replaced it');
    }
  },
);

t.test('validity dates must name real days, at submission and at authorization', async (t) => {
  const w = await buildWorld(t);
  await t.rejects(
    w.service.submit(civilAdmin, insuranceApplication({ validTo: '2027-02-30T00:00:00+08:00' })),
    { code: 'APPLICATION_INVALID', message: /real instants/ },
    '30 February is not read as 2 March',
  );
  const app = await w.service.submit(civilAdmin, insuranceApplication());
  w.clock.set('2026-03-03T15:00:00+08:00');
  await w.service.check(bureauActor, app.id, { outcome: 'accept' });
  await t.rejects(w.service.authorize(hrAdmin, app.id, { validTo: '2026-11-31T00:00:00+08:00' }), {
    code: 'APPLICATION_TERMS_INVALID',
    message: /real instants/,
  });
});

t.test('the provider may authorize an application as serving an investigation', async (t) => {
  const w = await buildWorld(t);
  const app = await w.service.submit(civilAdmin, insuranceApplication());
  w.clock.set('2026-03-03T15:00:00+08:00');
  await w.service.check(bureauActor, app.id, { outcome: 'accept' });
  const { grant } = await w.service.authorize(hrAdmin, app.id, { investigation: true });
  t.equal(grant.investigation, true, 'the grant carries the flag its calls are audited with');
  t.equal((await w.grants.get(grant.id))!.investigation, true);
});
