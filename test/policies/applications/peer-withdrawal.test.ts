/**
 * The upper platform's side of a cascade withdrawal (ApplicationService.withdrawByPeer) on a real Redis:
 * an application a lower platform forwarded ends as withdrawn through the same step as a local withdrawal
 * (its stage closed, its clock's timers cancelled, whoever was waiting told), once, and only for the peer
 * and lower-platform id it was forwarded under; `before` (the audit record) runs before anything changes
 * and, when it fails, nothing changes. One decided before the withdrawal arrived stays decided; a grant it
 * made is revoked once. And the lower platform's side: its withdrawal of an accepted forwarded application
 * commits the timer that tells the upper platform, whose answer is recorded once.
 */
import t from 'tap';
import type { Application } from '../../../policies/applications/schema.js';
import {
  ApplicationService,
  type PeerWithdrawal,
  type ReceivedApplication,
} from '../../../policies/applications/service.js';
import { stageTimers } from '../../../policies/applications/stages.js';
import { resolveLimits } from '../../../policies/calendar/limits.js';
import { conditionalEntry, publish } from '../../catalog/fixtures.js';
import { bureauActor, civilAdmin, hrAdmin, insuranceApplication } from './fixtures.js';
import { buildWorld } from './world.js';

const LOWER_ID = 'APP-20261208-000007';
/** A department of the lower platform (not registered here). */
const CITY_DEPT = '11420500010000020W';

function received(overrides: Partial<ReceivedApplication> = {}): ReceivedApplication {
  const { deptCode: _dept, renews: _renews, ...request } = insuranceApplication();
  return {
    peerPlatformId: 'yichang-city',
    agreementId: 'agr-test',
    correlationId: 'fapp-0123456789',
    peerApplicationId: LOWER_ID,
    deptCode: CITY_DEPT,
    systemId: 'assistance',
    official: 'wang.li',
    request,
    ...overrides,
  };
}

const withdrawal: PeerWithdrawal = {
  peerPlatformId: 'yichang-city',
  peerApplicationId: LOWER_ID,
  official: 'wang.li',
  reason: '业务已办结',
};

t.test(
  'withdrawn once, as a local withdrawal: stage closed, timers cancelled, the waiting party told',
  async (t) => {
    const w = await buildWorld(t);
    const app = await w.service.receive(received());
    await w.takeOutbox();
    const seen: Application[] = [];
    const before = async (a: Application) => {
      seen.push(a);
    };

    const result = await w.service.withdrawByPeer(app.id, withdrawal, before);
    t.equal(result.applied, true);
    t.equal(seen.length, 1, 'the record is written first, once');
    t.equal(seen[0]!.state, 'checking', 'before the change');
    t.equal(result.application.state, 'withdrawn');
    t.match(result.application.history.at(-1), {
      action: 'withdraw',
      from: 'checking',
      to: 'withdrawn',
      reason: 'withdrawn on yichang-city: 业务已办结',
      by: { role: 'system', name: 'yichang-city: wang.li' },
      peer: `yichang-city:${LOWER_ID}:withdraw`,
    });
    t.equal(result.application.stages[0]!.completedBy, 'withdraw');
    const [entry] = await w.takeOutbox();
    t.same(
      entry!.cancel!.sort(),
      stageTimers(app, app.stages[0]!)
        .map((timer) => timer.id)
        .sort(),
      "the check stage's timers cancelled",
    );
    t.match(entry!.events, [{ type: 'application.withdrawn', recipients: ['bureau'] }]);

    const again = await w.service.withdrawByPeer(app.id, withdrawal, before);
    t.equal(again.applied, false, 'a repeat is answered with the recorded outcome');
    t.equal(seen.length, 1, 'and writes no record ahead');
    t.same(await w.takeOutbox(), [], 'nothing changes');
  },
);

t.test('only the peer and lower-platform id it was forwarded under; a local one never', async (t) => {
  const w = await buildWorld(t);
  const app = await w.service.receive(received());
  const local = await w.service.submit(civilAdmin, insuranceApplication());
  const never = async () => {
    t.fail('no record for a refused withdrawal');
  };
  for (const [id, other] of [
    [app.id, { ...withdrawal, peerPlatformId: 'xiangyang-city' }],
    [app.id, { ...withdrawal, peerApplicationId: 'APP-20261208-000008' }],
    [local.id, withdrawal],
  ] as const) {
    await t.rejects(w.service.withdrawByPeer(id, other, never), { code: 'APPLICATION_NOT_FOUND' });
  }
  t.equal((await w.store.read(app.id))!.app.state, 'checking', 'unchanged');
  t.equal((await w.store.read(local.id))!.app.state, 'checking', 'unchanged');
});

t.test('the record ahead refused: nothing changes', async (t) => {
  const w = await buildWorld(t);
  const app = await w.service.receive(received());
  await w.takeOutbox();
  await t.rejects(
    w.service.withdrawByPeer(app.id, withdrawal, async () => {
      throw new Error('Redis went away');
    }),
    /Redis went away/,
  );
  t.equal((await w.store.read(app.id))!.app.state, 'checking');
  t.same(await w.takeOutbox(), [], 'no timer cancelled, nobody told');
});

t.test('decided before the withdrawal: stays decided; a grant it made is revoked, once', async (t) => {
  const w = await buildWorld(t);
  const app = await w.service.receive(received());
  await w.service.check(bureauActor, app.id, { outcome: 'accept' });
  const { grant } = await w.service.authorize(hrAdmin, app.id, {});
  await w.takeOutbox();
  let records = 0;
  const before = async () => {
    records++;
  };

  await t.rejects(w.service.withdrawByPeer(app.id, withdrawal, before), {
    code: 'APPLICATION_ALREADY_DECIDED',
    statusCode: 409,
    message: new RegExp(`already granted here when yichang-city withdrew it.*grant ${grant.id} is revoked`),
  });
  t.equal(records, 1, 'the revocation is recorded ahead');
  t.equal((await w.grants.get(grant.id))!.status, 'revoked', 'no live grant without an application');
  const stored = (await w.store.read(app.id))!.app;
  t.equal(stored.state, 'granted', 'the application stays as decided');
  t.match(stored.history.at(-1), {
    action: 'peer-withdraw',
    from: 'granted',
    to: 'granted',
    grantId: grant.id,
  });
  const [entry] = await w.takeOutbox();
  t.match(entry!.events, [
    { type: 'grant.revoked', recipients: [grant.providerCode, 'bureau'], data: { grantId: grant.id } },
  ]);

  await t.rejects(w.service.withdrawByPeer(app.id, withdrawal, before), {
    code: 'APPLICATION_ALREADY_DECIDED',
  });
  t.equal(records, 1, 'a repeat changes nothing');
  t.equal((await w.store.read(app.id))!.app.history.filter((h) => h.action === 'peer-withdraw').length, 1);
  t.same(await w.takeOutbox(), []);

  // Refused: stays refused, nothing recorded.
  const second = await w.service.receive(received({ peerApplicationId: 'APP-20261208-000009' }));
  await w.service.check(bureauActor, second.id, { outcome: 'reject', reason: '用途不符' });
  await w.takeOutbox();
  const refusedBefore = (await w.store.read(second.id))!.json;
  await t.rejects(
    w.service.withdrawByPeer(second.id, { ...withdrawal, peerApplicationId: 'APP-20261208-000009' }, before),
    { code: 'APPLICATION_ALREADY_DECIDED', message: /already rejected/ },
  );
  t.equal(records, 1);
  t.equal((await w.store.read(second.id))!.json, refusedBefore, 'unchanged');
});

t.test(
  'the lower platform: an accepted forwarded application withdrawn here sets the timer that tells the upper one',
  async (t) => {
    const w = await buildWorld(t);
    const code = '301002/2';
    await publish(w.catalog, {
      ...conditionalEntry(),
      code,
      service: { connector: 'federation', endpoint: `hubei-province/${code}` },
    });
    // This platform forwards applications for resources an agreement offers it (here: every one).
    const lower = new ApplicationService({
      store: w.store,
      grants: w.grants,
      catalog: w.catalog,
      systems: w.certs,
      calendar: w.calendar,
      limits: resolveLimits(),
      now: w.clock.now,
      federation: { admit: async () => undefined },
    });

    // Withdrawn before its bureau accepted it: never forwarded, nobody upstream to tell.
    const early = await lower.submit(civilAdmin, insuranceApplication({ resourceCode: code }));
    t.equal(early.federation?.role, 'forwarded');
    await lower.withdraw(civilAdmin, early.id, '填错了');
    t.notOk(
      (await w.takeOutbox()).some((e) => e.timers?.some((timer) => timer.kind === 'forward-withdraw')),
      'no timer for one never accepted',
    );
    t.equal(await lower.awaitingPeerWithdrawal(early.id), undefined);

    const app = await lower.submit(civilAdmin, insuranceApplication({ resourceCode: code }));
    await lower.check(bureauActor, app.id, { outcome: 'accept' });
    await w.takeOutbox();
    const withdrawn = await lower.withdraw(civilAdmin, app.id, '业务已办结');
    t.equal(withdrawn.state, 'withdrawn', 'withdrawn here at once');
    const [entry] = await w.takeOutbox();
    t.ok(entry!.cancel!.includes(`${app.id}.forward`), 'a forwarding still waiting is dropped');
    t.match(entry!.timers, [
      { id: `${app.id}.forward-withdraw`, kind: 'forward-withdraw', applicationId: app.id },
    ]);
    t.match(await lower.awaitingPeerWithdrawal(app.id), { app: { id: app.id }, reason: '业务已办结' });

    const answer = {
      outcome: 'withdrawn',
      upperId: 'APP-20261208-000031',
      said: 'withdrawn on hubei-province',
    } as const;
    const recorded = await lower.markPeerWithdrawn(app.id, answer);
    t.match(recorded?.history.at(-1), {
      action: 'peer-withdraw',
      from: 'withdrawn',
      to: 'withdrawn',
      reason: 'withdrawn: withdrawn on hubei-province',
      peer: 'hubei-province:APP-20261208-000031:withdraw',
    });
    const [audited] = await w.takeOutbox();
    t.match(audited!.audit, [
      {
        action: 'application.peer-withdraw',
        detail: { application: app.id, outcome: 'withdrawn', federation: { peer: 'hubei-province' } },
      },
    ]);
    t.equal(await lower.markPeerWithdrawn(app.id, answer), undefined, 'a second answer is not recorded');
    t.equal(await lower.awaitingPeerWithdrawal(app.id), undefined, 'nothing left to send');
    t.same(await w.takeOutbox(), []);
  },
);
