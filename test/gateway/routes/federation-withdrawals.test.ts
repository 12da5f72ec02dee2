/**
 * A forwarded application withdrawn on the city is withdrawn on the province, with two complete platforms:
 * the city's withdrawal commits a timer that tells the province (signed as the city platform), which ends
 * its application as a local withdrawal would (clock cancelled, its bureau told), audited on both sides
 * under the one correlation id; the city records the province's answer once. The province down at the
 * withdrawal: it is told once it is back. A peer withdraws only what it forwarded; a repeat changes nothing;
 * an application the province had decided stays decided, and a grant it made is revoked.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import t, { type Test } from 'tap';
import { request } from 'undici';
import type { AuditRecord } from '../../../audit/record.js';
import {
  FORWARDED_APPLICATIONS_PATH,
  FORWARDED_WITHDRAWALS_PATH,
  ForwardedApplications,
  withdrawForwardedApplication,
} from '../../../federation/applications.js';
import type { PeerPlatformError } from '../../../federation/errors.js';
import type { Application } from '../../../policies/applications/schema.js';
import { stageTimers } from '../../../policies/applications/stages.js';
import { auditRecordsOf } from '../../helpers/audit.js';
import { type Cascade, CITY, CITY_DEPT, PROVINCE, uscc } from '../../helpers/federation.js';
import {
  apply,
  CONDITIONAL,
  cascadeWithConditional,
  cityApplicant,
  cityApplication,
  cityBureau,
  provinceApplication,
  provinceApplicationById,
  provinceBureau,
  provinceProvider,
} from '../../helpers/forwarded-applications.js';
import { eventually } from '../jobs/workflow-app.js';

const ITEMS = ['idNumber', 'name', 'gender'];

/** Filed and accepted on the city, taken by the province (the city knows the province id). */
async function forwarded(cascade: Cascade): Promise<{ filed: Application; upstream: Application }> {
  const filed = await apply(cascade, CITY_DEPT.system, ITEMS);
  const checked = await cascade.city.app.inject({
    method: 'POST',
    url: `/v1/applications/${filed.id}/check`,
    headers: cascade.city.auth(cityBureau),
    payload: { outcome: 'accept' },
  });
  if (checked.statusCode !== 200) throw new Error(`city check refused: ${checked.body}`);
  const upstream = await provinceApplication(cascade, filed.id);
  await eventually(async () => {
    const app = await cityApplication(cascade, filed.id);
    return app.federation?.peerApplicationId === upstream.id ? app : undefined;
  }, 'the city learning the province application id');
  return { filed, upstream };
}

function withdrawOnCity(cascade: Cascade, id: string, reason?: string) {
  return cascade.city.app.inject({
    method: 'POST',
    url: `/v1/applications/${id}/withdraw`,
    headers: cascade.city.auth(cityApplicant),
    payload: reason ? { reason } : {},
  });
}

/** The city's record of the province's answer, once there is one. */
function cityPeerWithdrawal(cascade: Cascade, id: string, timeoutMs = 15_000) {
  return eventually(
    async () => {
      const app = await cityApplication(cascade, id);
      return app.history.some((h) => h.action === 'peer-withdraw') ? app : undefined;
    },
    `the province's answer to the withdrawal of ${id}`,
    timeoutMs,
  );
}

/** A withdrawal sent by hand as the city platform (what its worker sends), for what the province answers. */
async function sendWithdrawal(
  cascade: Cascade,
  peerApplicationId: string,
  origin: { deptCode: string; systemId: string } = { deptCode: CITY_DEPT.code, systemId: CITY_DEPT.system },
): Promise<{ status: number; body: Record<string, unknown> }> {
  const factory = cascade.city.context.federation;
  const link = await factory.peers.activeWith(PROVINCE.platformId);
  try {
    const body = (await factory.send(link, {
      path: FORWARDED_WITHDRAWALS_PATH,
      payload: { peerApplicationId, reason: '企业已注销，不再需要' },
      origin: { ...origin, purpose: 'market-supervision', userId: 'wang.li' },
      correlationId: `fapp-${randomUUID()}`,
      signedResponse: true,
    })) as Record<string, unknown>;
    return { status: 200, body };
  } catch (err) {
    const error = err as PeerPlatformError;
    if (error.code !== 'UPSTREAM_PLATFORM_REFUSED') throw err;
    return { status: error.upstreamStatus!, body: { code: error.upstreamCode, detail: error.message } };
  }
}

function records(p: Cascade['city']): Promise<AuditRecord[]> {
  return auditRecordsOf(p.context.dataRedis, p.config.GOVSHARE_REDIS_PREFIX, p.context.audit.instance);
}

const correlationOf = (record: AuditRecord) =>
  (record.detail as { federation?: { correlationId?: string } } | undefined)?.federation?.correlationId;

t.test(
  'withdrawn on the city: withdrawn on the province, its clock cancelled, its bureau told',
  async (t) => {
    const cascade = await cascadeWithConditional(t);
    const { city, province } = cascade;
    const { filed, upstream } = await forwarded(cascade);
    const correlationId = filed.federation!.correlationId;
    const timers = stageTimers(upstream, upstream.stages[0]!);
    t.equal(timers.length, 3, "the province's check has its clock");
    for (const timer of timers)
      t.ok(await province.app.workflow.queues.deadlines.getJob(timer.id), `${timer.kind} timer set`);

    const withdrawn = await withdrawOnCity(cascade, filed.id, '企业已注销，不再需要核验');
    t.equal(withdrawn.statusCode, 200, withdrawn.body);
    t.equal(withdrawn.json().state, 'withdrawn', 'withdrawn on the city at once');

    const ended = await eventually(
      async () => {
        const app = await provinceApplicationById(cascade, upstream.id);
        return app.state === 'withdrawn' ? app : undefined;
      },
      'the province withdrawal',
      15_000,
    );
    const entry = ended.history.at(-1)!;
    t.match(entry, {
      action: 'withdraw',
      from: 'checking',
      to: 'withdrawn',
      reason: 'withdrawn on yichang-city: 企业已注销，不再需要核验',
      by: { role: 'system', name: 'yichang-city: wang.li' },
      peer: `yichang-city:${filed.id}:withdraw`,
    });
    t.equal(ended.stages[0]!.completedBy, 'withdraw', "the province's check stage ended by the withdrawal");
    await eventually(async () => {
      const left = await Promise.all(
        timers.map((timer) => province.app.workflow.queues.deadlines.getJob(timer.id)),
      );
      return left.every((job) => job === undefined) ? true : undefined;
    }, "the province's clock cancelled");

    const notice = await eventually(async () => {
      const inbox = await province.app.inject({
        url: '/v1/inbox?type=application.withdrawn',
        headers: province.auth(provinceBureau),
      });
      return inbox.statusCode === 200 ? inbox.json().events[0] : undefined;
    }, "the province bureau's notice");
    t.match(notice, { data: { applicationId: upstream.id, reason: /企业已注销/ } });

    const told = await cityPeerWithdrawal(cascade, filed.id);
    const answers = told.history.filter((h) => h.action === 'peer-withdraw');
    t.equal(answers.length, 1, "the province's answer recorded once");
    t.match(answers[0], {
      from: 'withdrawn',
      to: 'withdrawn',
      reason: `withdrawn: withdrawn on hubei-province as ${upstream.id}`,
      peer: `hubei-province:${upstream.id}:withdraw`,
    });
    t.equal(told.state, 'withdrawn');

    // Both trails hold the withdrawal under the one correlation id.
    const cityTrail = (await records(city)).filter((r) => correlationOf(r) === correlationId);
    for (const action of ['application.withdraw', 'application.peer-withdraw'])
      t.ok(
        cityTrail.some((r) => r.action === action),
        `city audit ${action}`,
      );
    const provinceTrail = (await records(province)).filter((r) => correlationOf(r) === correlationId);
    const record = provinceTrail.find((r) => r.action === 'application.peer-withdraw');
    t.match(record, {
      detail: { application: upstream.id, state: 'checking', reason: '企业已注销，不再需要核验' },
    });

    // The same withdrawal again (a retry after a lost answer): answered, nothing changes.
    const again = await sendWithdrawal(cascade, filed.id);
    t.equal(again.status, 200);
    t.match(again.body, { id: upstream.id, state: 'withdrawn', applied: false });
    const after = await provinceApplicationById(cascade, upstream.id);
    t.equal(after.history.filter((h) => h.action === 'withdraw').length, 1, 'withdrawn once on the province');
    t.equal(after.history.length, ended.history.length, 'nothing added');
    const resent = await withdrawForwardedApplication(city.context.federation, told, 'retry');
    t.match(resent, { outcome: 'withdrawn', upperId: upstream.id });
    t.notOk(
      await city.app.workflow.applications.markPeerWithdrawn(filed.id, resent),
      'a second answer is not recorded on the city',
    );
    t.equal(
      (await cityApplication(cascade, filed.id)).history.filter((h) => h.action === 'peer-withdraw').length,
      1,
    );
  },
);

/** A loopback relay to the province that drops every connection while `down`. */
async function relay(t: Test, target: () => string) {
  const state = { down: false, dropped: 0 };
  const server = createServer(async (req, res) => {
    if (state.down) {
      state.dropped++;
      req.socket.destroy();
      return;
    }
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const headers: IncomingHttpHeaders = { ...req.headers };
    delete headers.connection;
    const upstream = await request(`${target()}${req.url}`, {
      method: req.method as 'POST',
      headers: headers as Record<string, string>,
      body: chunks.length ? Buffer.concat(chunks) : null,
    });
    const answer: Record<string, string> = {};
    for (const [name, value] of Object.entries(upstream.headers)) {
      if (value !== undefined && name !== 'content-length' && name !== 'connection' && name !== 'keep-alive')
        answer[name] = Array.isArray(value) ? value.join(', ') : value;
    }
    res.writeHead(upstream.statusCode, answer);
    res.end(Buffer.from(await upstream.body.arrayBuffer()));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, state };
}

t.test('the province unreachable at the withdrawal: told once it is back', async (t) => {
  let provinceUrl = '';
  const proxy = await relay(t, () => provinceUrl);
  const cascade = await cascadeWithConditional(t, {}, { provinceUrl: () => proxy.url });
  provinceUrl = cascade.province.url;
  const { filed, upstream } = await forwarded(cascade);

  proxy.state.down = true;
  const withdrawn = await withdrawOnCity(cascade, filed.id);
  t.equal(withdrawn.statusCode, 200, 'the withdrawal stands on the city while the province is down');
  t.equal(withdrawn.json().state, 'withdrawn');
  const job = await eventually(async () => {
    const found = await cascade.city.app.workflow.queues.deadlines.getJob(`${filed.id}.forward-withdraw`);
    return found && found.attemptsMade >= 2 ? found : undefined;
  }, 'two failed attempts');
  t.ok(job.attemptsMade >= 2 && proxy.state.dropped >= 2, 'retried while the province is down');
  t.equal((await provinceApplicationById(cascade, upstream.id)).state, 'checking', 'not told yet');
  t.notOk(
    (await cityApplication(cascade, filed.id)).history.some((h) => h.action === 'peer-withdraw'),
    'no answer recorded',
  );

  proxy.state.down = false;
  const told = await cityPeerWithdrawal(cascade, filed.id, 40_000);
  t.equal(told.history.filter((h) => h.action === 'peer-withdraw').length, 1);
  t.match(told.history.at(-1)!.reason, /^withdrawn: /);
  const ended = await provinceApplicationById(cascade, upstream.id);
  t.equal(ended.state, 'withdrawn', 'withdrawn on the province once it was back');
  t.match(ended.history.at(-1)!.reason, /no reason stated/, "the city's note that no reason was given");
  t.equal(ended.history.filter((h) => h.action === 'withdraw').length, 1);
});

t.test("a peer withdraws only what it forwarded: not another peer's, not a local one", async (t) => {
  const cascade = await cascadeWithConditional(t);
  const { province, world } = cascade;
  // First (a withdrawal by hand below marks ids the city has not issued yet: never taken afterwards).
  const { filed, upstream } = await forwarded(cascade);

  // A local application of the province's market regulator.
  const localDept = world.systems.amr;
  const local = await province.app.inject({
    method: 'POST',
    url: '/v1/applications',
    headers: province.auth({ sub: 'zhao.amr', role: 'dept-admin', dept: localDept.deptCode }),
    payload: {
      systemId: localDept.systemId,
      resourceCode: CONDITIONAL,
      items: ['idNumber', 'name'],
      purposes: ['market-supervision'],
      reason: '市场主体登记核验',
      modes: ['api'],
      validTo: new Date(Date.now() + 30 * 86_400_000).toISOString(),
    },
  });
  t.equal(local.statusCode, 201, local.body);
  const localId = local.json().id as string;

  // An application another city platform forwarded, under the same lower-platform id the city could name.
  const otherPeerAppId = 'APP-20261208-000042';
  const other = await province.app.workflow.applications.receive({
    peerPlatformId: 'xiangyang-city',
    agreementId: 'agr-xiangyang',
    correlationId: `fapp-${randomUUID()}`,
    peerApplicationId: otherPeerAppId,
    deptCode: uscc('1142060001000002'),
    systemId: 'registration',
    official: 'li.si',
    request: {
      systemId: 'registration',
      resourceCode: CONDITIONAL,
      items: ['idNumber', 'name'],
      purposes: ['market-supervision'],
      reason: '市场主体登记核验',
      modes: ['api'],
      validTo: new Date(Date.now() + 30 * 86_400_000).toISOString(),
    },
  });
  const fapps = new ForwardedApplications(province.context.redis, province.context.prefix);
  await fapps.set('xiangyang-city', otherPeerAppId, other.id);

  for (const [what, id] of [
    ["another peer's", otherPeerAppId],
    ['a local', localId],
  ] as const) {
    const refused = await sendWithdrawal(cascade, id);
    t.equal(refused.status, 404, `${what} application: ${JSON.stringify(refused.body)}`);
    t.equal(refused.body.code, 'APPLICATION_NOT_FOUND');
  }
  t.equal((await provinceApplicationById(cascade, other.id)).state, 'checking', "the other peer's stands");
  t.equal((await provinceApplicationById(cascade, localId)).state, 'checking', 'the local one stands');

  // The city's own forwarded application, named for a department that did not file it: refused too.
  const wrongDept = await sendWithdrawal(cascade, filed.id, {
    deptCode: uscc('1142050001000003'),
    systemId: 'licensing',
  });
  t.equal(wrongDept.status, 404, JSON.stringify(wrongDept.body));
  t.equal((await provinceApplicationById(cascade, upstream.id)).state, 'checking');

  // A withdrawal of one never taken: a forwarding of it afterwards (it overtook the forwarding) is refused.
  const never = 'APP-20261208-000777';
  t.equal((await sendWithdrawal(cascade, never)).status, 404);
  const factory = cascade.city.context.federation;
  const link = await factory.offering(PROVINCE.platformId, CONDITIONAL);
  const late = await factory
    .send(link, {
      path: FORWARDED_APPLICATIONS_PATH,
      payload: {
        peerApplicationId: never,
        systemId: CITY_DEPT.system,
        resourceCode: CONDITIONAL,
        items: ['idNumber'],
        purposes: ['market-supervision'],
        reason: '市场主体登记核验',
        modes: ['api'],
        validTo: new Date(Date.now() + 30 * 86_400_000).toISOString(),
      },
      origin: {
        deptCode: CITY_DEPT.code,
        systemId: CITY_DEPT.system,
        purpose: 'market-supervision',
        userId: 'wang.li',
      },
      correlationId: `fapp-${randomUUID()}`,
      signedResponse: true,
    })
    .then(
      () => undefined,
      (err: PeerPlatformError) => err,
    );
  t.match(late, {
    code: 'UPSTREAM_PLATFORM_REFUSED',
    upstreamStatus: 409,
    upstreamCode: 'FEDERATION_APPLICATION_WITHDRAWN',
  });
  t.equal(await fapps.get(CITY.platformId, never), 'withdrawn-before-taken');
});

t.test(
  'withdrawn on the city after the province decided: it stays decided there, its grant revoked',
  async (t) => {
    // The province's decisions do not reach the city (its webhooks are off): the city still waits.
    const cascade = await cascadeWithConditional(t, { province: { webhooks: false } });
    const { city, province } = cascade;

    const { filed, upstream } = await forwarded(cascade);
    for (const [url, headers, payload] of [
      [`/v1/applications/${upstream.id}/check`, province.auth(provinceBureau), { outcome: 'accept' }],
      [`/v1/applications/${upstream.id}/authorize`, province.auth(provinceProvider), { items: ITEMS }],
    ] as const) {
      const res = await province.app.inject({ method: 'POST', url, headers, payload });
      t.equal(res.statusCode, 200, res.body);
    }
    const granted = await provinceApplicationById(cascade, upstream.id);
    t.equal(granted.state, 'granted');
    t.equal((await province.context.grants.get(granted.grantId!))!.status, 'active');
    t.equal((await cityApplication(cascade, filed.id)).state, 'authorizing', 'the city has not heard yet');

    t.equal((await withdrawOnCity(cascade, filed.id, '不再需要')).statusCode, 200);
    const told = await cityPeerWithdrawal(cascade, filed.id);
    t.match(told.history.at(-1)!.reason, /^decided: .*APPLICATION_ALREADY_DECIDED.*granted/);
    t.notOk(told.grantId, 'no grant on the city');
    const revoked = (await province.context.grants.get(granted.grantId!))!;
    t.equal(revoked.status, 'revoked', 'no live grant on the province either');
    const decided = await provinceApplicationById(cascade, upstream.id);
    t.equal(decided.state, 'granted', 'the province application stays as decided');
    t.match(decided.history.at(-1), {
      action: 'peer-withdraw',
      from: 'granted',
      to: 'granted',
      grantId: granted.grantId,
      reason: 'withdrawn on yichang-city: 不再需要',
    });
    const notice = await eventually(async () => {
      const inbox = await province.app.inject({
        url: '/v1/inbox?type=grant.revoked',
        headers: province.auth(provinceProvider),
      });
      return inbox.statusCode === 200 ? inbox.json().events[0] : undefined;
    }, "the province provider's notice");
    t.match(notice, { data: { grantId: granted.grantId, status: 'revoked' } });

    const again = await sendWithdrawal(cascade, filed.id);
    t.equal(again.status, 409);
    t.equal(again.body.code, 'APPLICATION_ALREADY_DECIDED');
    t.equal(
      (await provinceApplicationById(cascade, upstream.id)).history.filter(
        (h) => h.action === 'peer-withdraw',
      ).length,
      1,
      'the revocation is recorded once',
    );

    // Refused on the province before the withdrawal arrived: nothing changes there.
    const second = await forwarded(cascade);
    await province.app.inject({
      method: 'POST',
      url: `/v1/applications/${second.upstream.id}/check`,
      headers: province.auth(provinceBureau),
      payload: { outcome: 'accept' },
    });
    const refused = await province.app.inject({
      method: 'POST',
      url: `/v1/applications/${second.upstream.id}/refuse`,
      headers: province.auth(provinceProvider),
      payload: { reason: '不属于共享用途' },
    });
    t.equal(refused.statusCode, 200, refused.body);
    const before = await provinceApplicationById(cascade, second.upstream.id);
    t.equal((await withdrawOnCity(cascade, second.filed.id)).statusCode, 200);
    const secondTold = await cityPeerWithdrawal(cascade, second.filed.id);
    t.match(secondTold.history.at(-1)!.reason, /^decided: .*refused/);
    t.same(await provinceApplicationById(cascade, second.upstream.id), before, 'unchanged on the province');

    const grants = await city.context.grants.list({
      consumerDept: CITY_DEPT.code,
      resourceCode: CONDITIONAL,
      page: 1,
      pageSize: 50,
    });
    t.equal(grants.total, 0, 'no city grant');
  },
);

t.test('the province trail refusing the record: nothing withdrawn there until it takes it', async (t) => {
  const cascade = await cascadeWithConditional(t);
  const { province } = cascade;
  const { filed, upstream } = await forwarded(cascade);
  // The province's audit writer refuses exactly the withdrawal's record, as when Redis goes away just then.
  const writer = province.context.audit;
  const append = writer.append.bind(writer);
  let refusedRecords = 0;
  writer.append = ((record: AuditRecord, ...rest: unknown[]) => {
    if (record.action !== 'application.peer-withdraw') {
      return (append as (r: AuditRecord, ...x: unknown[]) => ReturnType<typeof append>)(record, ...rest);
    }
    refusedRecords++;
    return Promise.reject(new Error('Redis went away'));
  }) as typeof writer.append;

  t.equal((await withdrawOnCity(cascade, filed.id, '不再需要')).statusCode, 200);
  await eventually(async () => (refusedRecords >= 2 ? true : undefined), 'two refused attempts');
  const untouched = await provinceApplicationById(cascade, upstream.id);
  t.equal(untouched.state, 'checking', 'not withdrawn without its record');
  t.notOk(
    untouched.history.some((h) => h.action === 'withdraw'),
    'nothing in the history',
  );
  t.notOk(
    (await cityApplication(cascade, filed.id)).history.some((h) => h.action === 'peer-withdraw'),
    'the city keeps trying',
  );

  writer.append = append;
  await cityPeerWithdrawal(cascade, filed.id, 40_000);
  const ended = await provinceApplicationById(cascade, upstream.id);
  t.equal(ended.state, 'withdrawn', 'withdrawn once the trail takes the record');
  const trail = (await records(province)).filter((r) => r.action === 'application.peer-withdraw');
  t.equal(trail.length, 1, 'with its one record');
});
