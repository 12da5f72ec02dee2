import t from 'tap';
import { createRedisClient } from '../../platform/redis.js';
import { decide } from '../../policies/decide.js';
import type { Actor, Grant } from '../../policies/grant.js';
import {
  canView,
  consumerKey,
  type GrantChange,
  GrantStore,
  grantsChangedChannel,
  parseGrantChange,
} from '../../policies/grant-store.js';
import { useRedis } from '../helpers/redis.js';
import {
  AUDITOR,
  BUREAU,
  CIVIL_ADMIN,
  CIVIL_AFFAIRS,
  HEALTH,
  HEALTH_ADMIN,
  HEALTH_RECORDS,
  OTHER_DEPT,
  POLICE,
  POLICE_ADMIN,
  POPULATION,
  populationRequest,
  SECURITY,
} from './fixtures.js';

type Tap = Parameters<typeof useRedis>[0];

const ON_APPLICATION = { kind: 'application', applicationId: 'app-1' } as const;

async function setup(t: Tap) {
  const { server, redis, prefix } = await useRedis(t);
  const clock = { now: new Date('2026-03-02T02:00:00.000Z') };
  const store = new GrantStore(redis, prefix, { now: () => clock.now });
  return { server, redis, prefix, clock, store };
}

/** Collects the change announcements on the channel through a connection of its own. */
async function listen(t: Tap, url: string, channel: string) {
  const sub = createRedisClient(url);
  t.teardown(() => sub.quit().then(() => undefined));
  const changes: GrantChange[] = [];
  sub.on('message', (_channel: string, message: string) => {
    const change = parseGrantChange(message);
    if (change) changes.push(change);
  });
  await sub.subscribe(channel);
  return {
    changes,
    async next(count: number) {
      for (let i = 0; i < 200 && changes.length < count; i++) await new Promise((r) => setTimeout(r, 5));
      return changes.slice(0, count);
    },
  };
}

const healthRequest = () =>
  populationRequest({ resourceCode: HEALTH_RECORDS.code, items: ['idNumber', 'name', 'diagnosisCode'] });

t.test('create, get and findActive; the change is announced', async (t) => {
  const { server, prefix, store } = await setup(t);
  t.equal(store.channel, grantsChangedChannel(prefix));
  t.equal(store.channel, `${prefix}{grants}:changed`);
  const feed = await listen(t, server.url, store.channel);
  t.equal(await store.findActive(CIVIL_AFFAIRS, 'assistance', POPULATION.code), undefined);

  const grant = await store.create(
    { ...BUREAU, extra: 'ignored' } as Actor,
    POPULATION,
    populationRequest({
      items: ['divisionCode', 'name', 'idNumber'],
      validFrom: undefined,
      quota: { perDay: 10 },
    }),
  );
  t.match(grant, {
    deptCode: CIVIL_AFFAIRS,
    systemId: 'assistance',
    resourceCode: POPULATION.code,
    providerCode: POLICE,
    items: ['idNumber', 'name', 'divisionCode'],
    validFrom: '2026-03-02T02:00:00.000Z',
    validTo: '2026-12-31T16:00:00.000Z',
    quota: { perDay: 10 },
    masking: {},
    signResponses: false,
    status: 'active',
    grantedBy: { role: 'bureau', name: BUREAU.name },
    grantedAt: '2026-03-02T02:00:00.000Z',
    source: { kind: 'direct' },
    statusHistory: [{ status: 'active', at: '2026-03-02T02:00:00.000Z', reason: 'granted' }],
  });
  t.notOk('extra' in grant.grantedBy, 'only the actor fields are stored');
  t.same(await store.get(grant.id), grant);
  t.same(await store.findActive(CIVIL_AFFAIRS, 'assistance', POPULATION.code), grant);
  t.equal(
    await store.findActive(CIVIL_AFFAIRS, 'pension', POPULATION.code),
    undefined,
    'another system has none',
  );
  t.equal(await store.get('nope'), undefined);
  t.same(await feed.next(1), [
    { id: grant.id, consumer: consumerKey(CIVIL_AFFAIRS, 'assistance', POPULATION.code), status: 'active' },
  ]);
});

t.test('a refused creation stores nothing', async (t) => {
  const { store } = await setup(t);
  await t.rejects(store.create(BUREAU, HEALTH_RECORDS, healthRequest()), { code: 'GRANT_FORBIDDEN' });
  await t.rejects(store.create(HEALTH_ADMIN, HEALTH_RECORDS, healthRequest()), {
    code: 'GRANT_APPLICATION_REQUIRED',
  });
  t.equal((await store.list({ page: 1, pageSize: 10 })).total, 0);
});

t.test('a direct grant records its basis; a grant on an application records the application', async (t) => {
  const { store } = await setup(t);
  const direct = await store.create(BUREAU, POPULATION, populationRequest({ basis: '依《办法》第二十一条' }));
  t.equal(direct.basis, '依《办法》第二十一条');
  t.same(direct.source, { kind: 'direct' });
  t.equal(direct.statusHistory[0]!.reason, 'granted directly: 依《办法》第二十一条');
  const authorized = await store.create(HEALTH_ADMIN, HEALTH_RECORDS, healthRequest(), {
    source: ON_APPLICATION,
  });
  t.same(authorized.source, ON_APPLICATION);
  t.equal(authorized.statusHistory[0]!.reason, 'granted on application app-1');
});

t.test('a new grant supersedes the live one of the same consumer system atomically', async (t) => {
  const { server, store, clock } = await setup(t);
  const feed = await listen(t, server.url, store.channel);
  const first = await store.create(BUREAU, POPULATION, populationRequest());
  const otherSystem = await store.create(BUREAU, POPULATION, populationRequest({ systemId: 'pension' }));
  clock.now = new Date('2026-03-03T02:00:00.000Z');
  const second = await store.create(
    POLICE_ADMIN,
    POPULATION,
    populationRequest({ purposes: ['elderly-care'] }),
    {
      source: { kind: 'application', applicationId: 'app-42' },
    },
  );
  const old = await store.get(first.id);
  t.equal(old?.status, 'revoked');
  t.match(old?.statusHistory.at(-1), {
    status: 'revoked',
    at: '2026-03-03T02:00:00.000Z',
    by: { role: 'dept-admin', dept: POLICE },
    reason: 'superseded',
  });
  t.same(second.source, { kind: 'application', applicationId: 'app-42' });
  t.equal(second.statusHistory[0]?.reason, 'granted on application app-42');
  t.equal((await store.findActive(CIVIL_AFFAIRS, 'assistance', POPULATION.code))?.id, second.id);
  t.equal((await store.get(otherSystem.id))?.status, 'active', 'the other system keeps its grant');
  const changes = await feed.next(4);
  t.same(
    changes.map((c) => [c.id, c.status]),
    [
      [first.id, 'active'],
      [otherSystem.id, 'active'],
      [first.id, 'revoked'],
      [second.id, 'active'],
    ],
  );

  await store.setStatus(BUREAU, second.id, 'revoked', 'no longer needed');
  const third = await store.create(BUREAU, POPULATION, populationRequest());
  t.equal((await store.get(second.id))?.statusHistory.length, 2, 'a revoked grant is not superseded again');
  t.equal((await store.findActive(CIVIL_AFFAIRS, 'assistance', POPULATION.code))?.id, third.id);
});

t.test('concurrent creations from two instances leave exactly one active grant', async (t) => {
  const { server, redis, prefix } = await setup(t);
  const other = createRedisClient(server.url);
  t.teardown(() => other.quit().then(() => undefined));
  const stores = [new GrantStore(redis, prefix), new GrantStore(other, prefix)];
  const made = await Promise.all(
    Array.from({ length: 6 }, (_, i) => stores[i % 2]!.create(BUREAU, POPULATION, populationRequest())),
  );
  const all = await Promise.all(made.map((g) => stores[0]!.get(g.id)));
  t.equal(all.filter((g) => g?.status === 'active').length, 1);
  t.equal(all.filter((g) => g?.status === 'revoked').length, 5);
  const current = await stores[1]!.findActive(CIVIL_AFFAIRS, 'assistance', POPULATION.code);
  t.equal(current?.status, 'active');
});

t.test('status changes: who, which transitions, and what decide makes of them', async (t) => {
  const { store, clock } = await setup(t);
  const grant = await store.create(BUREAU, POPULATION, populationRequest());
  const decideNow = (g: Grant | undefined) =>
    decide(
      { deptCode: CIVIL_AFFAIRS, systemId: 'assistance', serial: '01' },
      { entry: POPULATION, status: 'active' },
      g,
      { purpose: 'social-assistance', mode: 'api', queryItems: ['idNumber'], now: clock.now.getTime() },
    );
  t.ok(decideNow(await store.findActive(CIVIL_AFFAIRS, 'assistance', POPULATION.code)).allow);

  const suspended = await store.setStatus(POLICE_ADMIN, grant.id, 'suspended', 'misuse under review');
  t.equal(suspended.status, 'suspended');
  t.match(suspended.statusHistory.at(-1), {
    status: 'suspended',
    reason: 'misuse under review',
    by: POLICE_ADMIN,
  });
  t.match(decideNow(await store.findActive(CIVIL_AFFAIRS, 'assistance', POPULATION.code)), {
    allow: false,
    code: 'GRANT_SUSPENDED',
  });

  const refusals: [Actor, string, string, string][] = [
    [CIVIL_ADMIN, 'active', 'GRANT_FORBIDDEN', 'the consumer cannot resume'],
    [HEALTH_ADMIN, 'revoked', 'GRANT_FORBIDDEN', 'an unrelated department'],
    [AUDITOR, 'revoked', 'GRANT_FORBIDDEN', 'auditors only read'],
    [SECURITY, 'revoked', 'GRANT_FORBIDDEN', 'security admins do not grant'],
    [BUREAU, 'suspended', 'GRANT_ILLEGAL_TRANSITION', 'already suspended'],
    [BUREAU, 'expired', 'GRANT_ILLEGAL_TRANSITION', 'not past validTo'],
  ];
  for (const [actor, status, code, why] of refusals) {
    await t.rejects(store.setStatus(actor, grant.id, status as Grant['status'], 'because'), { code }, why);
  }
  await t.rejects(store.setStatus(BUREAU, grant.id, 'active', '  '), { code: 'GRANT_INVALID' });
  await t.rejects(store.setStatus(BUREAU, 'missing', 'active', 'x'), {
    code: 'GRANT_NOT_FOUND',
    statusCode: 404,
  });

  t.equal((await store.setStatus(BUREAU, grant.id, 'active', 'review closed')).status, 'active');
  const revoked = await store.setStatus(CIVIL_ADMIN, grant.id, 'revoked', 'system retired');
  t.same(
    revoked.statusHistory.map((h) => h.status),
    ['active', 'suspended', 'active', 'revoked'],
  );
  await t.rejects(store.setStatus(BUREAU, grant.id, 'active', 'undo'), {
    code: 'GRANT_ILLEGAL_TRANSITION',
    statusCode: 409,
    message: /revoked is final/,
  });
  t.match(decideNow(await store.findActive(CIVIL_AFFAIRS, 'assistance', POPULATION.code)), {
    code: 'GRANT_REVOKED',
  });

  const later = await store.create(
    BUREAU,
    POPULATION,
    populationRequest({ validTo: '2026-04-01T00:00:00Z' }),
  );
  clock.now = new Date('2026-04-01T00:00:00.000Z');
  t.equal((await store.setStatus(BUREAU, later.id, 'expired', 'validity ended')).status, 'expired');
  await t.rejects(store.setStatus(POLICE_ADMIN, later.id, 'suspended', 'x'), {
    code: 'GRANT_ILLEGAL_TRANSITION',
  });
});

t.test('suspendAllForResource suspends the active grants of one resource only', async (t) => {
  const { server, store } = await setup(t);
  const a = await store.create(BUREAU, POPULATION, populationRequest());
  const b = await store.create(BUREAU, POPULATION, populationRequest({ deptCode: OTHER_DEPT }));
  const c = await store.create(BUREAU, POPULATION, populationRequest({ systemId: 'pension' }));
  await store.setStatus(BUREAU, c.id, 'revoked', 'ended');
  const h = await store.create(HEALTH_ADMIN, HEALTH_RECORDS, healthRequest(), { source: ON_APPLICATION });
  const feed = await listen(t, server.url, store.channel);

  const affected = await store.suspendAllForResource(
    POPULATION.code,
    'resource suspended by provider',
    POLICE_ADMIN,
  );
  t.same(affected.map((g) => g.id).sort(), [a.id, b.id].sort());
  for (const g of affected) {
    t.same(await store.get(g.id), g);
    t.match(g.statusHistory.at(-1), { status: 'suspended', reason: 'resource suspended by provider' });
  }
  t.equal((await store.get(c.id))?.status, 'revoked');
  t.equal((await store.get(h.id))?.status, 'active');
  t.same(
    (await feed.next(2)).map((x) => x.status),
    ['suspended', 'suspended'],
  );
  t.same(
    await store.suspendAllForResource(POPULATION.code, 'again', POLICE_ADMIN),
    [],
    'nothing left to suspend',
  );
  t.same(await store.suspendAllForResource('999999/1', 'none', BUREAU), []);
});

t.test('list filters, orders newest first and pages', async (t) => {
  const { store, clock } = await setup(t);
  const made: Grant[] = [];
  const tick = () => {
    clock.now = new Date(clock.now.getTime() + 60_000);
  };
  for (const systemId of ['s1', 's2', 's3']) {
    tick();
    made.push(await store.create(BUREAU, POPULATION, populationRequest({ systemId })));
  }
  tick();
  made.push(await store.create(BUREAU, POPULATION, populationRequest({ deptCode: OTHER_DEPT })));
  tick();
  made.push(await store.create(HEALTH_ADMIN, HEALTH_RECORDS, healthRequest(), { source: ON_APPLICATION }));
  await store.setStatus(BUREAU, made[1]!.id, 'suspended', 'check');
  const ids = (page: { grants: Grant[] }) => page.grants.map((g) => g.id);
  const [s1, s2, s3, other, health] = made.map((g) => g.id);

  t.same(ids(await store.list({ page: 1, pageSize: 10 })), [health, other, s3, s2, s1]);
  const page2 = await store.list({ page: 2, pageSize: 2 });
  t.same([ids(page2), page2.total, page2.page, page2.pageSize], [[s3, s2], 5, 2, 2]);
  t.same(ids(await store.list({ consumerDept: CIVIL_AFFAIRS, page: 1, pageSize: 10 })), [health, s3, s2, s1]);
  t.same(ids(await store.list({ providerDept: HEALTH, page: 1, pageSize: 10 })), [health]);
  t.same(ids(await store.list({ resourceCode: POPULATION.code, page: 1, pageSize: 10 })), [
    other,
    s3,
    s2,
    s1,
  ]);
  t.same(ids(await store.list({ status: 'suspended', page: 1, pageSize: 10 })), [s2]);
  const filtered = await store.list({
    consumerDept: CIVIL_AFFAIRS,
    providerDept: POLICE,
    status: 'active',
    page: 2,
    pageSize: 1,
  });
  t.same([ids(filtered), filtered.total], [[s1], 2]);
  t.same(ids(await store.list({ providerDept: OTHER_DEPT, page: 1, pageSize: 10 })), []);
  await t.rejects(store.list({ page: 0, pageSize: 10 }), { code: 'GRANT_INVALID' });
  await t.rejects(store.list({ page: 1, pageSize: 501 }), { code: 'GRANT_INVALID' });
});

t.test('canView', async (t) => {
  const { store } = await setup(t);
  const grant = await store.create(BUREAU, POPULATION, populationRequest());
  const cases: [Actor, boolean][] = [
    [BUREAU, true],
    [AUDITOR, true],
    [CIVIL_ADMIN, true],
    [POLICE_ADMIN, true],
    [HEALTH_ADMIN, false],
    [{ role: 'dept-admin', name: 'x' }, false],
    [SECURITY, false],
  ];
  for (const [actor, expected] of cases)
    t.equal(canView(actor, grant), expected, `${actor.role} ${actor.dept ?? ''}`);
});

t.test('parseGrantChange rejects what is not a change', async (t) => {
  t.equal(parseGrantChange('not json'), undefined);
  t.equal(parseGrantChange('{"id":1}'), undefined);
  t.same(parseGrantChange('{"id":"a","consumer":"b","status":"active"}'), {
    id: 'a',
    consumer: 'b',
    status: 'active',
  });
});

t.test('the investigation flag is kept on the grant only when set', async (t) => {
  const { store } = await setup(t);
  const flagged = await store.create(BUREAU, POPULATION, populationRequest({ investigation: true }));
  t.equal(flagged.investigation, true);
  t.equal((await store.get(flagged.id))!.investigation, true);
  const plain = await store.create(
    BUREAU,
    POPULATION,
    populationRequest({ systemId: 'pension', investigation: false }),
  );
  t.notOk('investigation' in plain, 'false is the absence of the flag');
});
