/**
 * Every request to a /v1 route leaves an audit record before its answer: routes write their own (admin
 * changes, data requests, downloads); the rest get a catch-all `request.served` / `request.refused`
 * record. If it cannot be written, the answer is 503.
 */
import t, { type Test } from 'tap';
import { auditKeys } from '../../audit/keys.js';
import type { AuditRecord } from '../../audit/record.js';
import { buildTestApp } from '../helpers/app.js';
import { useRedis } from '../helpers/redis.js';
import { buildWorld, enc, signedInject } from '../helpers/world.js';

type TestApp = Awaited<ReturnType<typeof buildTestApp>>;

async function records(app: TestApp): Promise<AuditRecord[]> {
  const stream = auditKeys(app.context.prefix).stream(app.context.audit.instance);
  const entries = await app.context.redis.xrange(stream, '-', '+');
  return entries.map(([, fields]) => JSON.parse(fields[fields.indexOf('rec') + 1]!) as AuditRecord);
}

/**
 * A second app on the same Redis and key prefix as `a`, connected as a Redis user that may not XADD: every
 * audit append it tries fails, while its other reads and writes work.
 */
async function appWithoutAuditWrites(t: Test, a: TestApp) {
  const { server } = await useRedis(t);
  const admin = await useRedis(t);
  await admin.redis.call('ACL', 'SETUSER', 'noaudit', 'on', '>noaudit-pw', '~*', '&*', '+@all', '-xadd');
  return buildTestApp(t, {
    sameRedisAs: a,
    redisUrl: server.url.replace('redis://', 'redis://noaudit:noaudit-pw@'),
  });
}

t.test('refusals of people routes are audited with the caller, the route and the problem code', async (t) => {
  const a = await buildTestApp(t);
  const world = await buildWorld(t, a.context);
  const before = (await records(a)).length;
  const cases = [
    {
      name: 'no token',
      headers: {},
      method: 'GET',
      url: '/v1/grants',
      status: 401,
      code: 'AUTH_TOKEN_MISSING',
    },
    {
      name: 'a role the route does not allow',
      headers: a.auth({ sub: 'au', role: 'auditor' }),
      method: 'POST',
      url: '/v1/departments',
      status: 403,
      code: 'ROLE_FORBIDDEN',
    },
    {
      name: 'another department',
      headers: a.auth({ sub: 'p', role: 'dept-admin', dept: world.systems.psb.deptCode }),
      method: 'GET',
      url: `/v1/departments/${world.systems.amr.deptCode}/systems`,
      status: 403,
      code: 'DEPARTMENT_FORBIDDEN',
    },
  ] as const;
  for (const c of cases) {
    const res = await a.app.inject({ method: c.method, url: c.url, headers: c.headers });
    t.equal(res.statusCode, c.status, `${c.name}: ${res.body.slice(0, 120)}`);
    t.equal(res.json().code, c.code, c.name);
  }
  const ok = await a.app.inject({
    method: 'GET',
    url: '/v1/grants',
    headers: a.auth({ sub: 'b', role: 'bureau' }),
  });
  t.equal(ok.statusCode, 200, 'an allowed read');

  const written = (await records(a)).slice(before);
  const refused = written.filter((r) => r.action === 'request.refused');
  t.equal(refused.length, cases.length, 'one record per refusal');
  t.match(
    written.filter((r) => r.action === 'request.served'),
    [
      {
        actor: { person: 'b', role: 'bureau' },
        decision: 'allow',
        status: 200,
        detail: { route: '/v1/grants' },
      },
    ],
    'and one for the allowed read',
  );
  t.equal(written.length, cases.length + 1, 'nothing twice');
  t.match(refused, [
    {
      kind: 'admin',
      actor: {},
      decision: 'deny',
      reasonCode: 'AUTH_TOKEN_MISSING',
      status: 401,
      detail: { method: 'GET', route: '/v1/grants' },
    },
    {
      actor: { person: 'au', role: 'auditor' },
      reasonCode: 'ROLE_FORBIDDEN',
      status: 403,
      detail: { method: 'POST', route: '/v1/departments' },
    },
    {
      actor: { person: 'p', role: 'dept-admin', deptCode: world.systems.psb.deptCode },
      reasonCode: 'DEPARTMENT_FORBIDDEN',
      status: 403,
    },
  ]);
  t.equal(new Set(refused.map((r) => r.requestId)).size, cases.length, 'each names its request');
});

t.test('a signed read (a job list) is audited with the system; a data request only once', async (t) => {
  const a = await buildTestApp(t);
  const world = await buildWorld(t, a.context);
  const before = (await records(a)).length;
  const list = await signedInject(a.app, world.systems.amr, { method: 'GET', path: '/v1/exchange/jobs' });
  t.equal(list.statusCode, 200);
  const lookup = await signedInject(a.app, world.systems.amr, {
    method: 'GET',
    path: `/v1/data/${enc(world.codes.population)}?idNumber=110105194912310021`,
  });
  t.equal(lookup.statusCode, 403, 'no grant');
  const written = (await records(a)).slice(before);
  t.match(written, [
    {
      kind: 'exchange',
      action: 'request.served',
      actor: { deptCode: world.systems.amr.deptCode, systemId: world.systems.amr.systemId },
      detail: { method: 'GET', route: '/v1/exchange/jobs' },
    },
    { kind: 'data', action: 'data.lookup', decision: 'deny', reasonCode: 'GRANT_MISSING' },
  ]);
  t.equal(written.length, 2, 'the data path wrote its own record, and no catch-all');
});

t.test('a refusal whose audit record cannot be written is answered 503', async (t) => {
  const a = await buildTestApp(t);
  const crippled = await appWithoutAuditWrites(t, a);
  const res = await crippled.app.inject({ method: 'GET', url: '/v1/grants' });
  t.equal(res.statusCode, 503);
  t.equal(res.json().code, 'SERVICE_UNAVAILABLE');
  t.match(res.headers['content-type'], /application\/problem\+json/);
  t.ok(Number(res.headers['retry-after']) > 0, 'with Retry-After');
});

const PSB = '11420100010000303G';
const security = { sub: 'sec-1', role: 'security-admin' } as const;

t.test('an administrative change is announced in the trail before it is attempted', async (t) => {
  const a = await buildTestApp(t);
  const before = (await records(a)).length;
  const created = await a.app.inject({
    method: 'POST',
    url: '/v1/departments',
    headers: a.auth(security),
    payload: { code: PSB, name: '武汉市公安局' },
  });
  t.equal(created.statusCode, 201);
  const again = await a.app.inject({
    method: 'POST',
    url: '/v1/departments',
    headers: a.auth(security),
    payload: { code: PSB, name: '武汉市公安局' },
  });
  t.equal(again.statusCode, 409, 'a department registered twice is refused by the route');
  const read = await a.app.inject({ method: 'GET', url: '/v1/departments', headers: a.auth(security) });
  t.equal(read.statusCode, 200);

  const written = (await records(a)).slice(before);
  const announced = {
    kind: 'admin',
    actor: { person: security.sub, role: security.role },
    action: 'request.received',
    decision: 'allow',
    status: 100,
    detail: { method: 'POST', route: '/v1/departments' },
  };
  t.match(written, [
    { ...announced, requestId: created.headers['x-request-id'] },
    { action: 'department.add', status: 201, requestId: created.headers['x-request-id'] },
    { ...announced, requestId: again.headers['x-request-id'] },
    {
      action: 'request.refused',
      status: 409,
      reasonCode: again.json().code,
      requestId: again.headers['x-request-id'],
    },
    { action: 'request.served', detail: { method: 'GET' } },
  ]);
  t.equal(written.length, 5, 'a read is not announced; each change has its announcement and its outcome');
});

t.test('a change whose announcement cannot be written is answered 503 and not made', async (t) => {
  const a = await buildTestApp(t);
  const crippled = await appWithoutAuditWrites(t, a);
  const res = await crippled.app.inject({
    method: 'POST',
    url: '/v1/departments',
    headers: crippled.auth(security),
    payload: { code: PSB, name: '武汉市公安局' },
  });
  t.equal(res.statusCode, 503);
  t.equal(res.json().code, 'SERVICE_UNAVAILABLE');
  t.match(res.json().detail, /nothing was changed/);
  const list = await a.app.inject({ method: 'GET', url: '/v1/departments', headers: a.auth(security) });
  t.notOk(
    list.json().departments.some((d: { code: string }) => d.code === PSB),
    'the department was not registered',
  );
});

t.test('a change whose outcome record fails is answered 503 saying the change was made', async (t) => {
  const a = await buildTestApp(t);
  const append = a.context.audit.append.bind(a.context.audit);
  // The writer fails for this one record only, as when Redis goes away between the change and its record.
  a.context.audit.append = (record, tallies) =>
    record.action === 'department.add'
      ? Promise.reject(new Error('Redis went away'))
      : append(record, tallies);
  const res = await a.app.inject({
    method: 'POST',
    url: '/v1/departments',
    headers: a.auth(security),
    payload: { code: PSB, name: '武汉市公安局' },
  });
  t.equal(res.statusCode, 503);
  t.equal(res.json().code, 'SERVICE_UNAVAILABLE');
  t.match(res.json().detail, /change was made.*department\.add/);
  const trail = await records(a);
  t.match(
    trail.filter((r) => r.requestId === res.headers['x-request-id']),
    [{ action: 'request.received', detail: { route: '/v1/departments' } }],
    'the trail holds the request, announced before the change',
  );
  const list = await a.app.inject({ method: 'GET', url: '/v1/departments', headers: a.auth(security) });
  t.ok(list.json().departments.some((d: { code: string }) => d.code === PSB));
});

t.test('a reused X-Request-Id never lets one request stand for another in the trail', async (t) => {
  const a = await buildTestApp(t);
  const bureau = { sub: 'bureau-1', role: 'bureau' } as const;
  const shared = { 'x-request-id': 'client-chosen-0001' };
  const before = (await records(a)).length;
  const answers = await Promise.all(
    Array.from({ length: 10 }, () => [
      a.app.inject({
        method: 'POST',
        url: '/v1/departments',
        headers: { ...a.auth(security), ...shared },
        payload: { code: PSB, name: '武汉市公安局' },
      }),
      a.app.inject({ method: 'GET', url: '/v1/departments', headers: { ...a.auth(bureau), ...shared } }),
    ]).flat(),
  );
  const ids = answers.map((r) => r.headers['x-request-id'] as string);
  t.equal(new Set(ids).size, ids.length, 'a client id in use by another request is replaced');
  t.ok(ids.includes(shared['x-request-id']), 'and kept when free');
  const written = (await records(a)).slice(before);
  for (const [i, answer] of answers.entries()) {
    const own = written.filter((r) => r.requestId === ids[i] && r.action !== 'request.received');
    t.equal(own.length, 1, `request ${i} (${answer.statusCode}) has its own outcome record`);
    t.equal(own[0]?.status, answer.statusCode);
  }

  // An id the writer holds a record under (e.g. a job's) is not handed to a request either.
  await a.context.audit.append({
    time: new Date().toISOString(),
    requestId: 'job-id-known-to-the-caller',
    instance: a.context.audit.instance,
    kind: 'exchange',
    actor: { deptCode: PSB, systemId: 'x' },
    action: 'exchange.complete',
    decision: 'allow',
    status: 200,
    latencyMs: 0,
  });
  const read = await a.app.inject({
    method: 'GET',
    url: '/v1/departments',
    headers: { ...a.auth(bureau), 'x-request-id': 'job-id-known-to-the-caller' },
  });
  t.not(read.headers['x-request-id'], 'job-id-known-to-the-caller');
  t.ok((await records(a)).some((r) => r.requestId === read.headers['x-request-id']));
});
