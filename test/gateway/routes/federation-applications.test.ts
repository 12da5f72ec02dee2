/**
 * Forwarded applications with two complete platforms: an application for a province resource filed on
 * the city platform is checked by the city bureau, forwarded (signed as the city platform) to the province
 * procedure, checked by the province bureau and authorized by the province provider with fewer items; the
 * decision comes back as the province's signed webhook and makes the city grant with those items, under
 * which a forwarded call then succeeds. A refusal reaches the city applicant with the province's reason;
 * a redelivered webhook changes nothing; both audit trails carry each transition under one correlation id.
 */
import t from 'tap';
import type { AuditRecord } from '../../../audit/record.js';
import { signRequest } from '../../../certs/httpsig/index.js';
import * as registry from '../../../certs/registry.js';
import { sampleKeys } from '../../../connectors/simulator/datasets.js';
import { APPLICATION_EVENTS_PATH } from '../../../federation/applications.js';
import { DEMO_DEPARTMENTS } from '../../../scripts/lib/demo-catalog.js';
import { auditRecordsOf } from '../../helpers/audit.js';
import { buildCascade, type Cascade, CITY_DEPT, cityLookup } from '../../helpers/federation.js';
import {
  apply,
  CONDITIONAL,
  cascadeWithConditional,
  cityApplicant,
  cityApplication,
  cityBureau,
  provinceApplication,
  provinceBureau,
  provinceProvider,
} from '../../helpers/forwarded-applications.js';
import { eventually } from '../jobs/workflow-app.js';

const [idNumber] = sampleKeys('residents', 1);
const provinceBureauActor = { name: 'zhou.bureau', role: 'bureau' } as const;

function records(p: Cascade['city']): Promise<AuditRecord[]> {
  return auditRecordsOf(p.context.dataRedis, p.config.GOVSHARE_REDIS_PREFIX, p.context.audit.instance);
}

const correlationOf = (record: AuditRecord) =>
  (record.detail as { federation?: { correlationId?: string } } | undefined)?.federation?.correlationId;

t.test('filed on the city, decided on the province with fewer items, granted on the city', async (t) => {
  const cascade = await cascadeWithConditional(t);
  const { city, province } = cascade;

  const filed = await apply(cascade, CITY_DEPT.system, ['idNumber', 'name', 'gender', 'phone']);
  t.equal(filed.state, 'checking', "a federated resource goes to the city bureau's check, never direct");
  t.match(filed.federation, { role: 'forwarded', peerPlatformId: 'hubei-province' });
  const correlationId = filed.federation!.correlationId;

  const checked = await city.app.inject({
    method: 'POST',
    url: `/v1/applications/${filed.id}/check`,
    headers: city.auth(cityBureau),
    payload: { outcome: 'accept' },
  });
  t.equal(checked.statusCode, 200, checked.body);
  t.equal(checked.json().state, 'authorizing');

  const upstream = await provinceApplication(cascade, filed.id);
  t.match(upstream, {
    state: 'checking',
    consumerDept: CITY_DEPT.code,
    systemId: CITY_DEPT.system,
    items: ['idNumber', 'name', 'gender', 'phone'],
    purposes: ['market-supervision'],
    path: 'authorization',
    federation: {
      role: 'received',
      peerPlatformId: 'yichang-city',
      peerApplicationId: filed.id,
      correlationId,
      agreementId: cascade.agreementId,
      official: 'wang.li',
    },
  });
  t.ok(upstream.stages[0]?.dueAt, "the province's own clock runs for its check");
  await eventually(async () => {
    const app = await cityApplication(cascade, filed.id);
    return app.federation?.peerApplicationId === upstream.id ? app : undefined;
  }, 'the city learning the province application id');

  const provinceCheck = await province.app.inject({
    method: 'POST',
    url: `/v1/applications/${upstream.id}/check`,
    headers: province.auth(provinceBureau),
    payload: { outcome: 'accept' },
  });
  t.equal(provinceCheck.statusCode, 200, provinceCheck.body);
  const authorized = await province.app.inject({
    method: 'POST',
    url: `/v1/applications/${upstream.id}/authorize`,
    headers: province.auth(provinceProvider),
    payload: { items: ['idNumber', 'name', 'gender'], reason: '联系电话不属于登记核验所需' },
  });
  t.equal(authorized.statusCode, 200, authorized.body);
  t.match(authorized.json().grant, { deptCode: CITY_DEPT.code, systemId: CITY_DEPT.system });

  const granted = await eventually(
    async () => {
      const app = await cityApplication(cascade, filed.id);
      return app.state === 'granted' ? app : undefined;
    },
    'the city grant',
    15_000,
  );
  const cityGrant = (await city.context.grants.get(granted.grantId!))!;
  t.same(cityGrant.items, ['idNumber', 'name', 'gender'], 'the items the province authorized, not more');
  t.match(cityGrant, {
    deptCode: CITY_DEPT.code,
    systemId: CITY_DEPT.system,
    resourceCode: CONDITIONAL,
    source: { kind: 'application', applicationId: filed.id },
    grantedBy: { role: 'dept-admin', dept: DEMO_DEPARTMENTS.publicSecurity.code },
  });
  t.same(
    granted.history.map((h) => h.action).sort(),
    ['accept', 'authorize', 'forward', 'peer-accept', 'peer-received', 'submit'],
    'each step once (the province may tell its receipt before it answers the forwarding)',
  );
  t.equal(granted.history.filter((h) => h.action === 'authorize').length, 1);
  t.equal(
    granted.history.find((h) => h.action === 'authorize')?.reason,
    '联系电话不属于登记核验所需',
    "the province provider's reason for the narrower terms",
  );
  t.ok(
    granted.history.some((h) => h.action === 'forward'),
    'the forwarding is in the history',
  );

  // A forwarded call under the new grants: the city's, then the province's to the city department.
  const call = await cityLookup({ ...cascade, federatedCode: CONDITIONAL }, idNumber!);
  t.equal(call.statusCode, 200, call.body);
  t.same(Object.keys(call.json().data[0]).sort(), ['gender', 'idNumber', 'name']);

  // A redelivered webhook (the province's authorized event) is answered and changes nothing.
  // Recorded as delivered once the city has answered (the city's state changes before that answer).
  const authorizedDelivery = await eventually(async () => {
    const deliveries = await province.app.workflow.notifications.deliveries(provinceBureauActor, {
      owner: CITY_DEPT.code,
      limit: 50,
    });
    const found = deliveries.find((d) => d.event.type === 'application.authorized');
    return found?.status === 'delivered' ? found : undefined;
  }, 'the delivered authorization');
  await province.app.workflow.notifications.redeliver(provinceBureauActor, authorizedDelivery.id);
  await eventually(async () => {
    const d = await province.app.workflow.notifications.store.getDelivery(authorizedDelivery.id);
    return d?.status === 'delivered' && d.attempts > authorizedDelivery.attempts ? d : undefined;
  }, 'the redelivery');
  const after = await cityApplication(cascade, filed.id);
  t.equal(after.history.filter((h) => h.action === 'authorize').length, 1, 'not transitioned twice');
  const grants = await city.context.grants.list({
    consumerDept: CITY_DEPT.code,
    resourceCode: CONDITIONAL,
    page: 1,
    pageSize: 50,
  });
  t.equal(grants.total, 1, 'one city grant');

  // Both trails hold each transition under the one correlation id.
  const cityActions = (await records(city)).filter((r) => correlationOf(r) === correlationId);
  const provinceActions = (await records(province)).filter((r) => correlationOf(r) === correlationId);
  for (const action of [
    'application.submit',
    'application.accept',
    'application.forward',
    'application.peer-received',
    'application.peer-accept',
    'application.peer-authorize',
  ])
    t.ok(
      cityActions.some((r) => r.action === action),
      `city audit ${action}`,
    );
  t.ok(
    cityActions.some(
      (r) => r.action === 'application.peer-event' && (r.detail as { applied?: boolean }).applied === false,
    ),
    'the redelivery is audited as not applied',
  );
  for (const action of ['application.submit', 'application.accept', 'application.authorize'])
    t.ok(
      provinceActions.some((r) => r.action === action),
      `province audit ${action}`,
    );
});

t.test('a refusal on the province reaches the city applicant with its reason', async (t) => {
  const cascade = await cascadeWithConditional(t);
  const { city, province } = cascade;
  const now = new Date();
  await registry.addSystem(
    city.context.certs,
    { deptCode: CITY_DEPT.code, systemId: 'licensing', name: '许可审批系统' },
    now,
  );
  const filed = await apply(cascade, 'licensing', ['idNumber', 'name']);
  await city.app.inject({
    method: 'POST',
    url: `/v1/applications/${filed.id}/check`,
    headers: city.auth(cityBureau),
    payload: { outcome: 'accept' },
  });
  const upstream = await provinceApplication(cascade, filed.id);
  await province.app.inject({
    method: 'POST',
    url: `/v1/applications/${upstream.id}/check`,
    headers: province.auth(provinceBureau),
    payload: { outcome: 'accept' },
  });
  const refused = await province.app.inject({
    method: 'POST',
    url: `/v1/applications/${upstream.id}/refuse`,
    headers: province.auth(provinceProvider),
    payload: { reason: '许可审批不属于本资源的共享用途' },
  });
  t.equal(refused.statusCode, 200, refused.body);

  const cityRefused = await eventually(
    async () => {
      const app = await cityApplication(cascade, filed.id);
      return app.state === 'refused' ? app : undefined;
    },
    'the city refusal',
    15_000,
  );
  t.match(
    cityRefused.history.at(-1)!.reason,
    /hubei-province's provider refused it: 许可审批不属于本资源的共享用途/,
  );
  t.notOk(cityRefused.grantId, 'no city grant');
  // The notice is delivered right after the refusal is committed (the outbox drain).
  const notice = await eventually(async () => {
    const inbox = await city.app.inject({
      url: '/v1/inbox?type=application.refused',
      headers: city.auth(cityApplicant),
    });
    return inbox.statusCode === 200 ? inbox.json().events[0] : undefined;
  }, "the applicant's notice");
  t.match(notice, {
    data: { applicationId: filed.id, reason: /许可审批不属于本资源的共享用途/ },
  });
});

t.test('the events route takes only the peer platform’s valid signature', async (t) => {
  const cascade = await buildCascade(t);
  const { city } = cascade;
  const body = JSON.stringify({
    id: 'evt-1',
    type: 'application.refused',
    at: new Date().toISOString(),
    data: { applicationId: 'APP-20261207-000001', federation: { peerApplicationId: 'APP-20261207-000001' } },
  });
  const headers = {
    'content-type': 'application/json',
    'idempotency-key': 'evt-1',
    'x-govshare-event': 'application.refused',
  };
  const unsigned = await city.app.inject({
    method: 'POST',
    url: APPLICATION_EVENTS_PATH,
    headers,
    payload: body,
  });
  t.equal(unsigned.statusCode, 401, unsigned.body);

  // Signed by the city itself (a key no agreement names as the peer's): refused.
  const url = `${city.url}${APPLICATION_EVENTS_PATH}`;
  const selfSigned = signRequest({
    method: 'POST',
    url,
    headers,
    body,
    keyId: city.context.platform.signingCertX509.serialNumber.toLowerCase(),
    privateKey: city.context.platform.signingKey,
    components: [
      '@method',
      '@target-uri',
      'content-type',
      'content-digest',
      'idempotency-key',
      'x-govshare-event',
    ],
  });
  const refused = await fetch(url, { method: 'POST', headers: { ...headers, ...selfSigned }, body });
  t.equal(refused.status, 401);
  t.equal(((await refused.json()) as { code: string }).code, 'FEDERATION_PEER_UNKNOWN');

  // The province's key, but the event names no application the city forwarded.
  const province = cascade.province.context.platform;
  const signed = signRequest({
    method: 'POST',
    url,
    headers,
    body,
    keyId: province.signingCertX509.serialNumber.toLowerCase(),
    privateKey: province.signingKey,
    components: [
      '@method',
      '@target-uri',
      'content-type',
      'content-digest',
      'idempotency-key',
      'x-govshare-event',
    ],
  });
  const unknown = await fetch(url, { method: 'POST', headers: { ...headers, ...signed }, body });
  const problem = (await unknown.json()) as { code: string };
  t.equal(unknown.status, 404, JSON.stringify(problem));
  t.equal(problem.code, 'APPLICATION_NOT_FOUND');
});
