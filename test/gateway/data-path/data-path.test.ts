import t from 'tap';
import { sampleKeys } from '../../../connectors/simulator/datasets.js';
import { buildTestApp } from '../../helpers/app.js';
import { buildWorld, enc, grantPopulation, signedHeaders, signedInject } from '../../helpers/world.js';

const bureau = { sub: 'bureau-1', role: 'bureau' } as const;
const auditor = { sub: 'auditor-1', role: 'auditor' } as const;

t.test('the signed data path: allow with masking, refusals with their codes, audit', async (t) => {
  const { app, context, auth } = await buildTestApp(t);
  const world = await buildWorld(t, context);
  const { psb, amr, hrss } = world.systems;
  const population = enc(world.codes.population);
  const [idNumber, second] = sampleKeys('residents', 2);

  const grantRes = await app.inject({
    method: 'POST',
    url: '/v1/grants',
    headers: auth(bureau),
    payload: {
      deptCode: amr.deptCode,
      systemId: amr.systemId,
      resourceCode: world.codes.population,
      items: ['idNumber', 'name', 'gender', 'birthDate', 'phone', 'address'],
      purposes: ['market-supervision'],
      modes: ['api'],
      validTo: new Date(Date.now() + 30 * 86400_000).toISOString(),
      basis: '《政务信息资源共享管理办法》第二十一条',
      quota: { perMinute: 6 },
    },
  });
  t.equal(grantRes.statusCode, 201, 'the bureau grants an unconditional resource');
  const grant = grantRes.json();

  const allowed = await signedInject(app, amr, {
    method: 'GET',
    path: `/v1/data/${population}?idNumber=${idNumber}`,
  });
  t.equal(allowed.statusCode, 200);
  const body = allowed.json();
  t.equal(body.meta.count, 1);
  t.equal(body.meta.grantId, grant.id);
  const row = body.data[0];
  t.same(
    Object.keys(row),
    ['idNumber', 'name', 'gender', 'birthDate', 'phone', 'address'],
    'projected to the granted items in catalog order',
  );
  t.equal(
    row.idNumber,
    `${idNumber!.slice(0, 6)}********${idNumber!.slice(14)}`,
    'ID number keeps the first 6 and last 4',
  );
  t.match(row.phone, /^1\d{2}\*{4}\d{4}$/, 'phone keeps the first 3 and last 4');
  t.match(row.name, /^.\*+$/u, 'name keeps the first character');
  t.notOk('divisionCode' in row, 'items outside the grant are not returned');

  const narrowed = await signedInject(app, amr, {
    method: 'GET',
    path: `/v1/data/${population}?idNumber=${idNumber}&items=name,gender`,
  });
  t.same(Object.keys(narrowed.json().data[0]), ['name', 'gender']);

  const batch = await signedInject(app, amr, {
    method: 'POST',
    path: `/v1/data/${population}/query`,
    body: { keys: [idNumber, second, '110105194912310021'], items: ['gender'] },
  });
  t.equal(batch.statusCode, 200);
  t.equal(batch.json().meta.count, 2, 'unknown keys return no rows');

  const cases: [string, Parameters<typeof signedInject>[2], number, string, typeof amr?][] = [
    [
      'purpose not granted',
      { method: 'GET', path: `/v1/data/${population}?idNumber=${idNumber}`, purpose: 'tax-collection' },
      403,
      'PURPOSE_MISMATCH',
    ],
    [
      'item not granted',
      { method: 'GET', path: `/v1/data/${population}?idNumber=${idNumber}&items=divisionCode` },
      403,
      'ITEM_NOT_GRANTED',
    ],
    [
      'another system has no grant',
      { method: 'GET', path: `/v1/data/${population}?idNumber=${idNumber}` },
      403,
      'GRANT_MISSING',
      hrss,
    ],
    [
      'not-shared resource',
      { method: 'GET', path: `/v1/data/${enc(world.codes.criminalCases)}?caseNumber=1` },
      403,
      'RESOURCE_NOT_SHARED',
    ],
    [
      'unknown resource',
      { method: 'GET', path: `/v1/data/${enc('101001/999999')}?idNumber=${idNumber}` },
      404,
      'RESOURCE_NOT_FOUND',
    ],
    ['unkeyed scan', { method: 'GET', path: `/v1/data/${population}?name=x` }, 400, 'CONTROL_PARAM_MISSING'],
    [
      'a key longer than a provider takes (200 characters)',
      { method: 'GET', path: `/v1/data/${population}?idNumber=${'1'.repeat(201)}` },
      400,
      'VALIDATION_FAILED',
    ],
    [
      'a filter by a masked item (it would confirm guesses of the hidden digits)',
      { method: 'GET', path: `/v1/data/${population}?idNumber=${idNumber}&phone=13800000000` },
      403,
      'ITEM_NOT_GRANTED',
    ],
    [
      'no purpose signed',
      {
        method: 'GET',
        path: `/v1/data/${population}?idNumber=${idNumber}`,
        purpose: '',
        sign: { components: ['@method', '@target-uri'] },
      },
      401,
      'SIG_COMPONENT_MISSING',
    ],
    [
      'old signature',
      {
        method: 'GET',
        path: `/v1/data/${population}?idNumber=${idNumber}`,
        sign: { created: Math.floor(Date.now() / 1000) - 3600 },
      },
      401,
      'SIG_EXPIRED',
    ],
    [
      'unknown key id',
      { method: 'GET', path: `/v1/data/${population}?idNumber=${idNumber}`, sign: { keyId: 'abcdef0123' } },
      401,
      'CERT_UNKNOWN',
    ],
    [
      'key of another system',
      { method: 'GET', path: `/v1/data/${population}?idNumber=${idNumber}`, sign: { keyId: psb.serial } },
      401,
      'SIG_INVALID',
    ],
  ];
  for (const [name, call, status, code, system] of cases) {
    const res = await signedInject(app, system ?? amr, call);
    t.equal(res.statusCode, status, `${name}: ${status}`);
    t.equal(res.json().code, code, `${name}: ${code}`);
    t.notOk(res.json().data, 'no data');
  }

  const head = await signedInject(app, amr, {
    method: 'HEAD',
    path: `/v1/data/${population}?idNumber=${idNumber}`,
  });
  t.equal(head.statusCode, 404, 'HEAD is not a way to read data');
  t.equal(head.payload, '');

  const missing = await app.inject({
    method: 'GET',
    url: `/v1/data/${population}?idNumber=${idNumber}`,
    headers: { 'x-purpose': 'market-supervision' },
  });
  t.equal(missing.statusCode, 401);
  t.equal(missing.json().code, 'SIG_MISSING');

  const headers = (await import('../../helpers/world.js')).signedHeaders(amr, {
    method: 'POST',
    path: `/v1/data/${population}/query`,
    body: { keys: [idNumber] },
  });
  const tampered = await app.inject({
    method: 'POST',
    url: `/v1/data/${population}/query`,
    headers,
    payload: JSON.stringify({ keys: [second] }),
  });
  t.equal(tampered.statusCode, 401);
  t.equal(tampered.json().code, 'DIGEST_MISMATCH', 'a body changed after signing is caught by its digest');
  const replay = await app.inject({
    method: 'POST',
    url: `/v1/data/${population}/query`,
    headers,
    payload: JSON.stringify({ keys: [idNumber] }),
  });
  t.equal(replay.statusCode, 200, 'the original request goes through once');
  const replayed = await app.inject({
    method: 'POST',
    url: `/v1/data/${population}/query`,
    headers,
    payload: JSON.stringify({ keys: [idNumber] }),
  });
  t.equal(replayed.statusCode, 401);
  t.equal(replayed.json().code, 'SIG_REPLAY');

  // Quota: 6 per minute; 5 allowed calls were counted above (lookup, narrowed, batch, replay original, ...).
  let quotaHit: Awaited<ReturnType<typeof signedInject>> | undefined;
  for (let i = 0; i < 6 && !quotaHit; i++) {
    const res = await signedInject(app, amr, {
      method: 'GET',
      path: `/v1/data/${population}?idNumber=${idNumber}`,
    });
    if (res.statusCode === 429) quotaHit = res;
  }
  t.ok(quotaHit, 'the per-minute quota is enforced');
  t.equal(quotaHit?.json().code, 'QUOTA_EXCEEDED');
  t.ok(Number(quotaHit?.headers['retry-after']) > 0, 'with Retry-After');

  const suspended = await app.inject({
    method: 'POST',
    url: `/v1/grants/${grant.id}/suspend`,
    headers: auth(bureau),
    payload: { reason: '核查使用情况', emergency: '疑似越权使用，立即暂停' },
  });
  t.equal(suspended.statusCode, 200);
  const afterSuspend = await signedInject(app, amr, {
    method: 'GET',
    path: `/v1/data/${population}?idNumber=${idNumber}`,
  });
  t.equal(
    afterSuspend.json().code,
    'GRANT_SUSPENDED',
    'a suspended grant is refused at once (cache invalidated)',
  );

  const search = await app.inject({
    method: 'GET',
    url: `/v1/audit?subject=${idNumber}&limit=100`,
    headers: auth(auditor),
  });
  t.equal(search.statusCode, 200);
  const records = search.json().records as {
    decision: string;
    actor: { systemId?: string };
    reasonCode?: string;
    subjects?: string[];
  }[];
  t.ok(records.length >= 8, 'every call about this person is found by subject');
  t.ok(records.some((r) => r.decision === 'allow'));
  t.ok(records.some((r) => r.reasonCode === 'PURPOSE_MISMATCH'));
  t.notOk(JSON.stringify(records).includes(idNumber!), 'the ID number is not stored in clear');
  const verify = await app.inject({ method: 'GET', url: '/v1/audit/verify', headers: auth(auditor) });
  t.equal(verify.json().ok, true, 'the audit chain verifies');
  const forbidden = await app.inject({ method: 'GET', url: '/v1/audit', headers: auth(bureau) });
  t.equal(forbidden.statusCode, 403, 'only auditors read the audit trail');
});

t.test(
  'replays use up no quota; a replayed refusal is a replay; a chosen request id changes nothing',
  async (t) => {
    const { app, context, auth } = await buildTestApp(t);
    const world = await buildWorld(t, context);
    const { amr } = world.systems;
    await grantPopulation({ app, auth }, world, { items: ['idNumber', 'name'], quota: { perMinute: 2 } });
    const [first, second, third] = sampleKeys('residents', 3);
    const path = (id: string | undefined) => `/v1/data/${enc(world.codes.population)}?idNumber=${id}`;
    const send = (headers: Record<string, string>, id: string | undefined) =>
      app.inject({ method: 'GET', url: path(id), headers });

    // The request id is the client's when it sends one: a replay with the same one is still a replay.
    const original = signedHeaders(amr, {
      method: 'GET',
      path: path(first),
      headers: { 'x-request-id': 'req-0001' },
    });
    t.equal((await send(original, first)).statusCode, 200, 'the original is served');
    for (let i = 0; i < 3; i++) {
      const replay = await send(original, first);
      t.equal(replay.statusCode, 401, `replay ${i + 1} is refused`);
      t.equal(replay.json().code, 'SIG_REPLAY');
    }
    t.equal(
      (await signedInject(app, amr, { method: 'GET', path: path(second) })).statusCode,
      200,
      'the quota has room for a second call: the replays counted nothing',
    );
    const over = await signedInject(app, amr, { method: 'GET', path: path(third) });
    t.equal(over.json().code, 'QUOTA_EXCEEDED', 'the third call is over the quota of 2');

    const refused = signedHeaders(amr, { method: 'GET', path: path(first), purpose: 'tax-collection' });
    t.equal((await send(refused, first)).json().code, 'PURPOSE_MISMATCH');
    t.equal(
      (await send(refused, first)).json().code,
      'SIG_REPLAY',
      'the refused request replayed is a replay',
    );
  },
);

t.test('every key of a large batch is in its audit record: each person can be traced', async (t) => {
  const { app, context, auth } = await buildTestApp(t, { env: { GOVSHARE_BATCH_MAX_KEYS: '300' } });
  const world = await buildWorld(t, context);
  await grantPopulation({ app, auth }, world, { items: ['idNumber', 'gender'] });
  const keys = sampleKeys('residents', 150);
  const res = await signedInject(app, world.systems.amr, {
    method: 'POST',
    path: `/v1/data/${enc(world.codes.population)}/query`,
    body: { keys: [...keys, keys[0]], items: ['gender'] },
  });
  t.equal(res.statusCode, 200);
  t.equal(res.json().meta.count, 150);
  for (const key of [keys[0]!, keys[99]!, keys[100]!, keys[149]!]) {
    const found = await app.inject({
      method: 'GET',
      url: `/v1/audit?subject=${key}`,
      headers: auth(auditor),
    });
    t.equal(found.json().records.length, 1, `key ${keys.indexOf(key) + 1} of 150 is found by subject`);
  }
});

t.test(
  'a malformed Accept-Signature is refused before the quota is used or the provider asked',
  async (t) => {
    const testApp = await buildTestApp(t);
    const world = await buildWorld(t, testApp.context);
    await grantPopulation(testApp, world, { items: ['idNumber', 'gender'], quota: { perMinute: 2 } });
    const [idNumber] = sampleKeys('residents', 1);
    const path = `/v1/data/${enc(world.codes.population)}?idNumber=${idNumber}`;
    const bad = await signedInject(testApp.app, world.systems.amr, {
      method: 'GET',
      path,
      headers: { 'accept-signature': 'sig1=:AAAA:' },
    });
    t.equal(bad.statusCode, 400);
    t.equal(bad.json().code, 'ACCEPT_SIGNATURE_INVALID');
    for (const n of [1, 2]) {
      const good = await signedInject(testApp.app, world.systems.amr, { method: 'GET', path });
      t.equal(good.statusCode, 200, `call ${n} of a quota of 2 is served: the refused one used none`);
    }
    const records = await testApp.app.inject({
      method: 'GET',
      url: `/v1/audit?subject=${idNumber}`,
      headers: testApp.auth(auditor),
    });
    t.match(
      records.json().records.find((r: { status: number }) => r.status === 400),
      { action: 'data.lookup', decision: 'deny', reasonCode: 'ACCEPT_SIGNATURE_INVALID' },
      'the refusal is a data.lookup record with the person looked up',
    );
  },
);
