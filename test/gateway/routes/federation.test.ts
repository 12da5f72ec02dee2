/**
 * The province ↔ city cascade with two complete platforms in one test (separate data dirs, CAs, Redis
 * key prefixes and gateways on loopback ports): a city system's call to a federated entry is checked
 * against the city grant, forwarded signed as the city platform, checked against the province's grant
 * to the city platform, masked by the province's rule, audited on both sides under one correlation id;
 * refused without the province grant, after revocation, and when the province is down.
 */
import t from 'tap';
import type { AuditRecord } from '../../../audit/record.js';
import { signRequest } from '../../../certs/httpsig/index.js';
import { sampleKeys } from '../../../connectors/simulator/datasets.js';
import { FEDERATION_SYSTEM_ID, forwardedComponents } from '../../../federation/origin.js';
import { buildTestApp } from '../../helpers/app.js';
import { auditRecordsOf } from '../../helpers/audit.js';
import { buildCascade, type Cascade, CITY, CITY_DEPT, cityLookup } from '../../helpers/federation.js';
import { grantPopulation } from '../../helpers/world.js';

const [idNumber] = sampleKeys('residents', 1);
const bureau = { sub: 'bureau-1', role: 'bureau' } as const;

async function grant(target: Cascade['city'], body: Record<string, unknown>): Promise<{ id: string }> {
  const res = await target.app.inject({
    method: 'POST',
    url: '/v1/grants',
    headers: target.auth(bureau),
    payload: {
      purposes: ['market-supervision'],
      modes: ['api'],
      validTo: new Date(Date.now() + 86_400_000).toISOString(),
      basis: '《政务信息资源共享管理办法》第二十一条',
      ...body,
    },
  });
  if (res.statusCode !== 201) throw new Error(`grant refused: ${res.body}`);
  return res.json();
}

function records(p: Cascade['city']): Promise<AuditRecord[]> {
  return auditRecordsOf(p.context.dataRedis, p.config.GOVSHARE_REDIS_PREFIX, p.context.audit.instance);
}

const correlationOf = (record: AuditRecord) =>
  (record.detail as { federation?: { correlationId?: string } } | undefined)?.federation?.correlationId;

async function within(ms: number, check: () => Promise<boolean>): Promise<number> {
  const started = Date.now();
  for (;;) {
    if (await check()) return Date.now() - started;
    if (Date.now() - started > ms) throw new Error(`not true within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

t.test('a forwarded call: city grant, province grant and masking, both audits joined', async (t) => {
  const cascade = await buildCascade(t);
  const { city, province, federatedCode } = cascade;
  // The city grants its system more than the province grants the city platform (phone): the province decides.
  await grant(city, {
    deptCode: CITY_DEPT.code,
    systemId: CITY_DEPT.system,
    resourceCode: federatedCode,
    items: ['idNumber', 'name', 'gender', 'phone'],
  });

  // No province grant to the city platform yet: the province refuses, the city says so.
  const denied = await cityLookup(cascade, idNumber!);
  t.equal(denied.statusCode, 403, denied.body);
  t.equal(denied.json().code, 'UPSTREAM_PLATFORM_REFUSED');
  t.match(denied.json().detail, /hubei-province.*GRANT_MISSING/);
  const deniedId = denied.headers['x-request-id'] as string;
  const provinceDenied = (await records(province)).find((r) => correlationOf(r) === deniedId);
  t.match(provinceDenied, {
    action: 'data.federated',
    decision: 'deny',
    reasonCode: 'GRANT_MISSING',
    actor: { deptCode: CITY.operator, systemId: FEDERATION_SYSTEM_ID, userId: 'wang.li' },
  });
  t.match(
    (await records(city)).find((r) => r.requestId === deniedId),
    {
      decision: 'deny',
      reasonCode: 'UPSTREAM_PLATFORM_REFUSED',
    },
  );

  // The province grants the city platform three items for market supervision.
  const provinceGrant = await grant(province, {
    deptCode: CITY.operator,
    systemId: FEDERATION_SYSTEM_ID,
    resourceCode: federatedCode,
    items: ['idNumber', 'name', 'gender'],
  });
  const allowed = await cityLookup(cascade, idNumber!);
  t.equal(allowed.statusCode, 200, allowed.body);
  const [row] = allowed.json().data;
  t.same(
    Object.keys(row).sort(),
    ['gender', 'idNumber', 'name'],
    "the province grant's items, not the city's",
  );
  t.match(row.name, /^.\*+$/u, "masked by the province's rule");
  t.not(row.idNumber, idNumber, 'the ID number is masked');
  t.equal(row.idNumber.slice(-4), idNumber!.slice(-4));

  const requestId = allowed.headers['x-request-id'] as string;
  const cityRecord = (await records(city)).find((r) => r.requestId === requestId)!;
  const provinceRecord = (await records(province)).find((r) => correlationOf(r) === requestId)!;
  t.match(cityRecord, {
    action: 'data.lookup',
    decision: 'allow',
    actor: {
      deptCode: CITY_DEPT.code,
      systemId: CITY_DEPT.system,
      userId: 'wang.li',
      caseId: 'YC-SCJG-2026-07',
    },
    detail: { federation: { correlationId: requestId, forwardedTo: `hubei-province/${federatedCode}` } },
  });
  t.match(provinceRecord, {
    action: 'data.federated',
    decision: 'allow',
    grantId: provinceGrant.id,
    rowCount: 1,
    actor: {
      deptCode: CITY.operator,
      systemId: FEDERATION_SYSTEM_ID,
      userId: 'wang.li',
      caseId: 'YC-SCJG-2026-07',
    },
    detail: {
      federation: {
        agreementId: cascade.agreementId,
        peerPlatformId: 'yichang-city',
        correlationId: requestId,
        originDept: CITY_DEPT.code,
        originSystem: CITY_DEPT.system,
      },
    },
  });
  t.equal(provinceRecord.requestId, requestId, 'the province kept the correlation id as its request id');

  // Revocation on the province: every instance refuses within 2 s, the city relays the refusal.
  const second = await buildTestApp(t, {
    sameRedisAs: province,
    env: { GOVSHARE_DATA_DIR: province.dataDir },
  });
  t.ok(
    await second.context.peers.resolveCaller(
      cascade.agreementId,
      city.context.platform.signingCertX509.serialNumber.toLowerCase(),
    ),
  );
  await province.context.agreements.revoke(cascade.agreementId, new Date(), 'test: the agreement ended');
  const elapsed = await within(2000, async () => {
    const res = await cityLookup(cascade, idNumber!);
    return res.statusCode === 403 && /FEDERATION_AGREEMENT_INACTIVE/.test(res.json().detail);
  });
  t.ok(elapsed < 2000, `refused on the province after ${elapsed} ms`);
  await within(2000, () =>
    second.context.peers
      .resolveCaller(cascade.agreementId, city.context.platform.signingCertX509.serialNumber.toLowerCase())
      .then(
        () => false,
        (err) => err.code === 'FEDERATION_AGREEMENT_INACTIVE',
      ),
  );

  // Revocation on the city: nothing is forwarded at all.
  await city.context.agreements.revoke(cascade.agreementId, new Date(), 'test');
  await within(
    2000,
    async () => (await cityLookup(cascade, idNumber!)).json().code === 'FEDERATION_AGREEMENT_INACTIVE',
  );
});

t.test('the province down: 502 at once, then the circuit opens; every refusal audited', async (t) => {
  const cascade = await buildCascade(t);
  const { city, province, federatedCode } = cascade;
  await grant(city, {
    deptCode: CITY_DEPT.code,
    systemId: CITY_DEPT.system,
    resourceCode: federatedCode,
    items: ['idNumber', 'name'],
  });
  await province.app.close();
  const started = Date.now();
  const first = await cityLookup(cascade, idNumber!);
  t.equal(first.statusCode, 502, first.body);
  t.equal(first.json().code, 'UPSTREAM_PLATFORM_UNAVAILABLE');
  t.ok(Date.now() - started < 1000, 'fails fast');
  for (let i = 0; i < 5; i++) await cityLookup(cascade, idNumber!);
  const open = await cityLookup(cascade, idNumber!);
  t.equal(open.json().code, 'UPSTREAM_PLATFORM_UNAVAILABLE');
  t.match(open.json().detail, /circuit open/);
  t.ok(Number(open.headers['retry-after']) >= 1, 'says when to retry');
  const trail = (await records(city)).filter((r) => r.action === 'data.lookup');
  t.equal(trail.length, 7, 'each refused call has its record');
  t.ok(trail.every((r) => r.decision === 'error' && r.reasonCode === 'UPSTREAM_PLATFORM_UNAVAILABLE'));
});

t.test('the province refuses calls not signed as the peer platform, or without the origin', async (t) => {
  const cascade = await buildCascade(t);
  const { province, city, citySystem, federatedCode } = cascade;
  const path = `/v1/federation/data/${encodeURIComponent(federatedCode)}/query`;
  const body = JSON.stringify({ keys: [idNumber] });
  const origin = {
    'x-purpose': 'market-supervision',
    'x-user-id': 'wang.li',
    'x-federation-agreement': cascade.agreementId,
    'x-origin-dept': CITY_DEPT.code,
    'x-origin-system': CITY_DEPT.system,
    'x-correlation-id': 'corr-0000000001',
    'content-type': 'application/json',
  };
  const send = (
    headers: Record<string, string>,
    key: { keyId: string; privateKey: string | import('node:crypto').KeyObject },
  ) =>
    province.app.inject({
      method: 'POST',
      url: path,
      payload: body,
      headers: {
        ...headers,
        ...signRequest({
          method: 'POST',
          url: `http://localhost:80${path}`,
          headers,
          body,
          // What was sent is signed (a missing origin header is then refused by name, not as unsigned).
          components: forwardedComponents(headers).filter(
            (c) => c.startsWith('@') || c === 'content-digest' || c in headers,
          ),
          ...key,
        }),
      },
    });
  const cityKey = {
    keyId: city.context.platform.signingCertX509.serialNumber.toLowerCase(),
    privateKey: city.context.platform.signingKey,
  };
  // A city department system's own key is not the city platform's.
  const bySystem = await send(origin, { keyId: citySystem.serial, privateKey: citySystem.keyPem });
  t.equal(bySystem.statusCode, 401, bySystem.body);
  t.equal(bySystem.json().code, 'FEDERATION_PEER_UNKNOWN');
  const { 'x-origin-dept': _, ...noDept } = origin;
  const anonymous = await send(noDept, cityKey);
  t.equal(anonymous.statusCode, 401, anonymous.body);
  t.equal(anonymous.json().code, 'SIG_COMPONENT_MISSING', 'the origin department must be signed');
  const malformed = await send({ ...origin, 'x-origin-dept': '91420500MA000000' }, cityKey);
  t.equal(malformed.statusCode, 400, malformed.body);
  t.equal(malformed.json().code, 'FEDERATION_ORIGIN_INVALID');
  const notOffered = await province.app.inject({
    method: 'POST',
    url: `/v1/federation/data/${encodeURIComponent(cascade.world.codes.enterprise)}/query`,
    payload: body,
    headers: {
      ...origin,
      ...signRequest({
        method: 'POST',
        url: `http://localhost:80/v1/federation/data/${encodeURIComponent(cascade.world.codes.enterprise)}/query`,
        headers: origin,
        body,
        components: forwardedComponents(origin),
        ...cityKey,
      }),
    },
  });
  t.equal(notOffered.statusCode, 403, notOffered.body);
  t.equal(notOffered.json().code, 'FEDERATION_RESOURCE_NOT_OFFERED');
  const trail = await records(province);
  t.match(
    trail.find((r) => r.action === 'signature.refused' && r.reasonCode === 'FEDERATION_PEER_UNKNOWN'),
    { detail: { federation: { correlationId: 'corr-0000000001' } } },
    'a refused forwarded call keeps its correlation id',
  );
  t.ok(
    trail.some((r) => r.action === 'data.federated' && r.reasonCode === 'FEDERATION_RESOURCE_NOT_OFFERED'),
  );
});

t.test('the province may grant the city department itself rather than the city platform', async (t) => {
  const cascade = await buildCascade(t);
  const { city, province, federatedCode } = cascade;
  await grant(city, {
    deptCode: CITY_DEPT.code,
    systemId: CITY_DEPT.system,
    resourceCode: federatedCode,
    items: ['idNumber', 'name', 'gender'],
  });
  const now = new Date();
  // Registered as the city's department: the city may forward for it, and only the city.
  await province.context.certs.addDepartment(
    { code: CITY_DEPT.code, name: CITY_DEPT.name, homePlatform: CITY.platformId },
    now,
  );
  await province.context.certs.addSystem(
    { deptCode: CITY_DEPT.code, systemId: CITY_DEPT.system, name: '企业登记系统' },
    now,
  );
  const direct = await grant(province, {
    deptCode: CITY_DEPT.code,
    systemId: CITY_DEPT.system,
    resourceCode: federatedCode,
    items: ['idNumber', 'gender'],
  });
  const res = await cityLookup(cascade, idNumber!);
  t.equal(res.statusCode, 200, res.body);
  t.same(Object.keys(res.json().data[0]).sort(), ['gender', 'idNumber'], "the department grant's items");
  const record = (await records(province)).find((r) => correlationOf(r) === res.headers['x-request-id']);
  t.match(record, { decision: 'allow', grantId: direct.id, actor: { deptCode: CITY.operator } });
});

t.test(
  "a peer cannot speak for the province's own departments: no data, no application, no notices",
  async (t) => {
    const cascade = await buildCascade(t);
    const { province, city, world, federatedCode } = cascade;
    // A province department with its own grant to the resource.
    const local = world.systems.amr;
    await grantPopulation(province, world);
    const cityKey = {
      keyId: city.context.platform.signingCertX509.serialNumber.toLowerCase(),
      privateKey: city.context.platform.signingKey,
    };
    const forged = (path: string, payload: object) => {
      const body = JSON.stringify(payload);
      const headers = {
        'x-purpose': 'market-supervision',
        'x-user-id': 'wang.li',
        'x-federation-agreement': cascade.agreementId,
        'x-origin-dept': local.deptCode,
        'x-origin-system': local.systemId,
        'x-correlation-id': 'corr-0000000002',
        'content-type': 'application/json',
      };
      return province.app.inject({
        method: 'POST',
        url: path,
        payload: body,
        headers: {
          ...headers,
          ...signRequest({
            method: 'POST',
            url: `http://localhost:80${path}`,
            headers,
            body,
            components: forwardedComponents(headers),
            ...cityKey,
          }),
        },
      });
    };
    const call = await forged(`/v1/federation/data/${encodeURIComponent(federatedCode)}/query`, {
      keys: [idNumber],
    });
    t.equal(call.statusCode, 403, call.body);
    t.equal(call.json().code, 'FEDERATION_ORIGIN_FORBIDDEN');
    t.notOk(call.json().data, 'nothing of the department grant is served');
    const refused = (await records(province)).find((r) => r.reasonCode === 'FEDERATION_ORIGIN_FORBIDDEN');
    t.match(refused, { decision: 'deny', actor: { deptCode: CITY.operator } }, 'the refusal is audited');

    const application = await forged('/v1/federation/applications', {
      peerApplicationId: 'APP-20261208-000001',
      systemId: local.systemId,
      resourceCode: federatedCode,
      items: ['idNumber', 'name'],
      purposes: ['market-supervision'],
      reason: '企业登记核验需要核对法定代表人身份信息',
      modes: ['api'],
      validTo: new Date(Date.now() + 30 * 86400_000).toISOString(),
    });
    t.equal(application.statusCode, 403, application.body);
    t.equal(application.json().code, 'FEDERATION_ORIGIN_FORBIDDEN');
    const endpoints = await province.app.inject({
      method: 'GET',
      url: '/v1/webhooks',
      headers: province.auth({ sub: 'bureau-1', role: 'bureau' }),
    });
    t.notMatch(
      endpoints.body,
      city.url.replace('http://', ''),
      "no notice of the department goes to the city's gateway",
    );
  },
);
