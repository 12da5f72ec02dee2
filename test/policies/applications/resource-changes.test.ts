import t from 'tap';
import {
  bureauActor,
  CIVIL_AFFAIRS,
  civilAdmin,
  ENTERPRISE,
  enterpriseApplication,
  insuranceApplication,
  MEDICAL_SECURITY,
  marketAdmin,
  medicalAdmin,
  SOCIAL_INSURANCE,
} from './fixtures.js';
import { buildWorld } from './world.js';

t.test('suspension suspends the grants, resumption resumes only those, holders are told', async (t) => {
  const w = await buildWorld(t);
  const civil = await w.service.submit(civilAdmin, enterpriseApplication());
  const medical = await w.service.submit(medicalAdmin, enterpriseApplication({ systemId: 'claims' }));
  await w.grants.setStatus(
    { role: 'bureau', name: '王敏' },
    medical.grantId!,
    'suspended',
    '违规调用，暂停使用',
  );
  await w.takeOutbox();

  const suspended = await w.resources.onResourceStatusChanged(
    ENTERPRISE,
    'suspended',
    '系统升级',
    marketAdmin,
  );
  t.same(
    suspended.grants.map((g) => g.id),
    [civil.grantId],
    'only the active grant',
  );
  t.equal((await w.grants.get(civil.grantId!))?.status, 'suspended');
  const resumed = await w.resources.onResourceStatusChanged(ENTERPRISE, 'active', '升级完成', marketAdmin);
  t.same(
    resumed.grants.map((g) => g.id),
    [civil.grantId],
  );
  t.equal((await w.grants.get(civil.grantId!))?.status, 'active');
  t.equal(
    (await w.grants.get(medical.grantId!))?.status,
    'suspended',
    'suspended for its own reason, stays so',
  );
  t.same(
    (await w.takeOutbox()).flatMap((e) => e.events ?? []).map((e) => [e.type, e.recipients]),
    [
      ['grant.suspended', [CIVIL_AFFAIRS]],
      ['grant.resumed', [CIVIL_AFFAIRS]],
    ],
  );
});

t.test(
  'a withdrawal filed in advance is announced now and ends grants and applications when it takes effect',
  async (t) => {
    const w = await buildWorld(t);
    const granted = await w.service.submit(civilAdmin, enterpriseApplication());
    await w.takeOutbox();
    const effectiveFrom = new Date('2026-03-09T00:00:00+08:00');
    await w.catalog.withdraw(marketAdmin, ENTERPRISE, { reason: '职能划转', effectiveFrom: '2026-03-09' });
    const scheduled = await w.resources.onResourceStatusChanged(
      ENTERPRISE,
      'withdrawn',
      '职能划转',
      marketAdmin,
      effectiveFrom,
    );
    t.equal(scheduled.scheduledFor, effectiveFrom.toISOString());
    t.equal((await w.grants.get(granted.grantId!))?.status, 'active', 'nothing ends before the date');
    const [entry] = await w.takeOutbox();
    t.same(
      entry?.events?.map((e) => [e.type, e.recipients, e.data.effectiveFrom]),
      [['resource.withdrawn', [CIVIL_AFFAIRS], effectiveFrom.toISOString()]],
    );
    const timer = entry!.timers![0]!;
    t.match(timer, {
      kind: 'resource-status',
      resourceCode: ENTERPRISE,
      status: 'withdrawn',
      runAt: effectiveFrom.getTime(),
    });
    t.notOk(timer.id.includes(':'));

    t.equal(await w.resources.fireTimer(timer), 'early');
    w.clock.set('2026-03-09T00:00:01+08:00');
    t.equal(await w.resources.fireTimer(timer), 'done');
    const revoked = await w.grants.get(granted.grantId!);
    t.equal(revoked?.status, 'revoked');
    t.match(revoked?.statusHistory.at(-1)?.reason, /withdrawn by its provider: 职能划转/);
    t.same(
      (await w.takeOutbox()).flatMap((e) => e.events ?? []).map((e) => [e.type, e.recipients]),
      [
        ['grant.revoked', [CIVIL_AFFAIRS]],
        ['resource.withdrawn', [CIVIL_AFFAIRS]],
      ],
    );
  },
);

t.test('a withdrawal closes the open applications for the resource', async (t) => {
  const w = await buildWorld(t);
  const pending = await w.service.submit(medicalAdmin, insuranceApplication({ systemId: 'claims' }));
  await w.takeOutbox();
  const outcome = await w.resources.apply(SOCIAL_INSURANCE, 'withdrawn', '资源撤销', bureauActor);
  t.same(outcome.closedApplications, [pending.id]);
  const closed = await w.service.get(bureauActor, pending.id);
  t.equal(closed.state, 'closed');
  t.same(closed.history.at(-1)?.by, { role: 'system', name: 'govshare platform' });
  const types = (await w.takeOutbox())
    .flatMap((e) => e.events ?? [])
    .map((e) => [e.type, [...e.recipients].sort()]);
  t.same(types, [
    ['application.closed', [MEDICAL_SECURITY, 'bureau'].sort()],
    ['resource.withdrawn', [MEDICAL_SECURITY]],
  ]);
});
