import { once } from 'node:events';
import t, { type Test } from 'tap';
import { revokedChannel } from '../../certs/keys.js';
import { CertsStore, type NewCertificate } from '../../certs/store.js';
import { useRedis } from '../helpers/redis.js';

const uscc = '91350100M000100Y43';
const otherUscc = '91110108551385082Q';
const at = new Date('2026-05-01T09:00:00Z');

function certificate(serial: string, systemId = 'hukou-query', deptCode = uscc): NewCertificate {
  return {
    serial,
    deptCode,
    systemId,
    notBefore: at,
    notAfter: new Date('2027-05-01T09:00:00Z'),
    fingerprint256: 'AB:CD',
    // Slashes, pluses and newlines survive the Lua cjson round trip of a revocation.
    certPem: '-----BEGIN CERTIFICATE-----\nMIIB/+x==\n-----END CERTIFICATE-----\n',
  };
}

async function storeWithSystem(t: Test) {
  const { redis, prefix } = await useRedis(t);
  const store = new CertsStore(redis, prefix);
  await store.addDepartment({ code: uscc, name: '福州市公安局' }, at);
  await store.addSystem({ deptCode: uscc, systemId: 'hukou-query', name: '户籍查询' }, at);
  return { redis, prefix, store };
}

t.test('departments: USCC checked, duplicates refused', async (t) => {
  const { redis, prefix } = await useRedis(t);
  const store = new CertsStore(redis, prefix);
  const added = await store.addDepartment({ code: uscc, name: '福州市公安局' }, at);
  t.same(added, { code: uscc, name: '福州市公安局', usccCheck: 'passed', createdAt: at.toISOString() });
  t.same(await store.getDepartment(uscc), added);
  t.equal(await store.getDepartment(otherUscc), null);
  await t.rejects(store.addDepartment({ code: uscc, name: 'again' }, at), {
    code: 'DEPARTMENT_EXISTS',
    statusCode: 409,
  });
  await t.rejects(store.addDepartment({ code: '91350100M000100Y44', name: 'x' }, at), {
    code: 'USCC_INVALID',
    statusCode: 422,
    message: /check character 18 is "4" but the first 17 characters give "3".*override/,
  });
  await t.rejects(
    store.addDepartment({ code: '91350100I000100Y43', name: 'x', allowInvalidCheck: true }, at),
    {
      code: 'USCC_INVALID',
      message: /character 9 \("I"\)/,
    },
  );
  await t.rejects(store.addDepartment({ code: otherUscc, name: '' }, at), {
    code: 'DEPARTMENT_NAME_INVALID',
  });
  await t.rejects(store.addDepartment({ code: otherUscc, name: 'x'.repeat(201) }, at), {
    code: 'DEPARTMENT_NAME_INVALID',
  });
  await store.addDepartment({ code: otherUscc, name: '小米' }, at);
  t.same(
    (await store.listDepartments()).map((d) => d.code),
    [otherUscc, uscc],
    'listed by code',
  );
});

t.test('an operator may register a code whose only fault is its check character', async (t) => {
  const { redis, prefix } = await useRedis(t);
  const store = new CertsStore(redis, prefix);
  const added = await store.addDepartment(
    { code: '91350100M000100Y44', name: '旧代码', allowInvalidCheck: true },
    at,
  );
  t.equal(added.usccCheck, 'overridden');
  t.match(added.usccCheckFailure, /check character 18/);
  t.same(await store.getDepartment('91350100M000100Y44'), added);
  // A code whose organisation-code part (GB 11714) fails its own check: refused, unless overridden.
  await t.rejects(store.addDepartment({ code: '91350100M000100Y56', name: '旧机构代码' }, at), {
    code: 'USCC_INVALID',
    message: /character 17 is "5" .* \(an operator may override a wrong check character explicitly\)/,
  });
  const legacy = await store.addDepartment(
    { code: '91350100M000100Y56', name: '旧机构代码', allowInvalidCheck: true },
    at,
  );
  t.equal(legacy.usccCheck, 'overridden');
  t.match(legacy.usccCheckFailure, /organisation code/);
  for (const code of ['91420100MA4K12345:', '91420100MA4K12345z', '91420100MA4K12345Z']) {
    await t.rejects(
      store.addDepartment({ code, name: '坏代码', allowInvalidCheck: true }, at),
      { code: 'USCC_INVALID', message: /character 18 .* is not allowed/ },
      `${code}: a character outside the alphabet is not a check character to override`,
    );
  }
});

t.test('systems belong to a registered department', async (t) => {
  const { store } = await storeWithSystem(t);
  await t.rejects(store.addSystem({ deptCode: otherUscc, systemId: 'x1', name: 'x' }, at), {
    code: 'DEPARTMENT_NOT_FOUND',
    statusCode: 404,
  });
  await t.rejects(store.addSystem({ deptCode: uscc, systemId: 'hukou-query', name: 'again' }, at), {
    code: 'SYSTEM_EXISTS',
    statusCode: 409,
  });
  await t.rejects(store.addSystem({ deptCode: uscc, systemId: 'Bad_Id', name: 'x' }, at), {
    code: 'SYSTEM_ID_INVALID',
    statusCode: 422,
  });
  await t.rejects(store.addSystem({ deptCode: uscc, systemId: 'ok-id', name: ' ' }, at), {
    code: 'SYSTEM_NAME_INVALID',
  });
  await store.addSystem({ deptCode: uscc, systemId: 'aa-first', name: '第一' }, at);
  t.same(
    (await store.listSystems(uscc)).map((s) => s.systemId),
    ['aa-first', 'hukou-query'],
  );
  t.same(await store.getSystem(uscc, 'hukou-query'), {
    deptCode: uscc,
    systemId: 'hukou-query',
    name: '户籍查询',
    createdAt: at.toISOString(),
  });
  t.equal(await store.getSystem(uscc, 'nope'), null);
  t.same(await store.listSystems(otherUscc), []);
});

t.test('certificates are recorded once, listed in issue order', async (t) => {
  const { store } = await storeWithSystem(t);
  await store.addDepartment({ code: otherUscc, name: '小米' }, at);
  await store.addSystem({ deptCode: otherUscc, systemId: 'phone', name: '手机' }, at);
  await t.rejects(store.recordCertificate(certificate('aa', 'no-such-system'), at), {
    code: 'SYSTEM_NOT_FOUND',
  });
  await t.rejects(store.recordCertificate(certificate('NOT-HEX'), at), { code: 'CERT_SERIAL_INVALID' });
  // Issue order is not serial order.
  await store.recordCertificate(certificate('7f01'), new Date('2026-05-01T10:00:00Z'));
  await store.recordCertificate(certificate('1a02', 'phone', otherUscc), new Date('2026-05-01T11:00:00Z'));
  const third = await store.recordCertificate(certificate('3c03'), new Date('2026-05-01T12:00:00Z'));
  t.equal(third.status, 'active');
  t.equal(third.issuedAt, '2026-05-01T12:00:00.000Z');
  await t.rejects(store.recordCertificate(certificate('3c03'), at), { code: 'CERT_EXISTS', statusCode: 409 });
  t.same(
    (await store.listCertificates()).map((c) => c.serial),
    ['7f01', '1a02', '3c03'],
  );
  t.same(
    (await store.listCertificates({ deptCode: uscc })).map((c) => c.serial),
    ['7f01', '3c03'],
  );
  t.same(await store.getCertificate('3c03'), third);
  t.equal(await store.getCertificate('ffff'), null);
});

t.test('revocation: atomic, announced, counted', async (t) => {
  const { redis, prefix, store } = await storeWithSystem(t);
  const original = await store.recordCertificate(certificate('5e01'), at);
  await store.recordCertificate(certificate('5e02'), at);
  t.equal(store.revokedChannel, `${prefix}{certs}:revoked`);
  t.equal(revokedChannel(prefix), store.revokedChannel);

  const subscriber = redis.duplicate();
  t.teardown(() => subscriber.quit());
  await subscriber.subscribe(store.revokedChannel);
  const message = once(subscriber, 'message');

  t.equal(await store.revocationGeneration(), 0);
  const revokedAt = new Date('2026-06-01T00:00:00Z');
  t.equal(await store.revokeCertificate('5e01', 'keyCompromise', revokedAt), 1, 'generation 1');
  t.same(await message, [store.revokedChannel, '5e01'], 'a second connection hears the serial');

  t.same(await store.getCertificate('5e01'), {
    ...original,
    status: 'revoked',
    revokedAt: revokedAt.toISOString(),
    revocationReason: 'keyCompromise',
  });
  await t.rejects(store.revokeCertificate('5e01', 'superseded', revokedAt), {
    code: 'CERT_ALREADY_REVOKED',
    statusCode: 409,
  });
  await t.rejects(store.revokeCertificate('beef', 'superseded', revokedAt), {
    code: 'CERT_NOT_FOUND',
    statusCode: 404,
  });
  await t.rejects(store.revokeCertificate('5e02', 'removeFromCRL' as 'superseded', revokedAt), {
    code: 'REVOCATION_REASON_INVALID',
  });
  t.equal(await store.revocationGeneration(), 1, 'refused revocations do not count');
  t.equal(await store.revokeCertificate('5e02', 'unspecified', new Date('2026-05-15T00:00:00Z')), 2);
  t.same(await store.listRevoked(), [
    {
      serial: '5e02',
      revokedAt: '2026-05-15T00:00:00.000Z',
      reason: 'unspecified',
      notAfter: original.notAfter,
    },
    {
      serial: '5e01',
      revokedAt: revokedAt.toISOString(),
      reason: 'keyCompromise',
      notAfter: original.notAfter,
    },
  ]);
});

t.test('every key carries the module hash tag', async (t) => {
  const { redis, prefix, store } = await storeWithSystem(t);
  await store.recordCertificate(certificate('6d01'), at);
  await store.revokeCertificate('6d01', 'superseded', at);
  const keys = await redis.keys(`${prefix}*`);
  t.ok(keys.length >= 8);
  for (const key of keys) t.ok(key.startsWith(`${prefix}{certs}:`), key);
});

t.test(
  'a system role: set, kept with the rest of the record, taken away; unknown systems and roles refused',
  async (t) => {
    const { store } = await storeWithSystem(t);
    t.notOk((await store.getSystem(uscc, 'hukou-query'))!.role, 'standard by default');
    const portal = await store.setSystemRole(uscc, 'hukou-query', 'portal');
    t.same(portal, {
      deptCode: uscc,
      systemId: 'hukou-query',
      name: '户籍查询',
      createdAt: at.toISOString(),
      role: 'portal',
    });
    t.same(await store.getSystem(uscc, 'hukou-query'), portal);
    const standard = await store.setSystemRole(uscc, 'hukou-query', 'standard');
    t.notOk('role' in standard, 'standard is the absence of a role');
    t.same(await store.getSystem(uscc, 'hukou-query'), standard);
    await t.rejects(store.setSystemRole(uscc, 'no-such', 'portal'), { code: 'SYSTEM_NOT_FOUND' });
    await t.rejects(store.setSystemRole(otherUscc, 'hukou-query', 'portal'), { code: 'SYSTEM_NOT_FOUND' });
    await t.rejects(store.setSystemRole(uscc, 'hukou-query', 'root' as never), {
      code: 'SYSTEM_ROLE_INVALID',
    });
  },
);
