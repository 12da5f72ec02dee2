import { execFileSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { verifyAudit } from '../../../audit/verify.js';
import { buildTestApp } from '../../helpers/app.js';
import { auditRecordsOf } from '../../helpers/audit.js';

const PSB = '11420100010000303G';
const AMR = '11420100010001138Y';
const security = { sub: 'sec-1', role: 'security-admin' } as const;
const bureau = { sub: 'bureau-1', role: 'bureau' } as const;

t.test('departments, systems, certificates and the CRL over HTTP', async (t) => {
  const { app, context, auth } = await buildTestApp(t);

  const health = await app.inject({ method: 'GET', url: '/health' });
  t.equal(health.statusCode, 200);
  const ready = await app.inject({ method: 'GET', url: '/ready' });
  t.equal(ready.statusCode, 200);
  t.equal(ready.json().checks.redis, 'ok');

  const noToken = await app.inject({
    method: 'POST',
    url: '/v1/departments',
    payload: { code: PSB, name: '公安局' },
  });
  t.equal(noToken.statusCode, 401);
  t.equal(noToken.json().code, 'AUTH_TOKEN_MISSING');
  t.match(noToken.headers['content-type'], /application\/problem\+json/);

  const wrongRole = await app.inject({
    method: 'POST',
    url: '/v1/departments',
    headers: auth(bureau),
    payload: { code: PSB, name: '公安局' },
  });
  t.equal(wrongRole.statusCode, 403);
  t.equal(wrongRole.json().code, 'ROLE_FORBIDDEN');

  const badCheck = await app.inject({
    method: 'POST',
    url: '/v1/departments',
    headers: auth(security),
    payload: { code: '11420100010000303H', name: '公安局' },
  });
  t.equal(badCheck.statusCode, 422);
  t.equal(badCheck.json().code, 'USCC_INVALID');
  t.match(badCheck.json().detail, /character 18/);

  for (const [code, name] of [
    [PSB, '武汉市公安局'],
    [AMR, '武汉市市场监督管理局'],
  ]) {
    const created = await app.inject({
      method: 'POST',
      url: '/v1/departments',
      headers: auth(security),
      payload: { code, name },
    });
    t.equal(created.statusCode, 201, `registers ${name}`);
  }
  const duplicate = await app.inject({
    method: 'POST',
    url: '/v1/departments',
    headers: auth(security),
    payload: { code: PSB, name: 'x' },
  });
  t.equal(duplicate.statusCode, 409);

  const system = await app.inject({
    method: 'POST',
    url: `/v1/departments/${PSB}/systems`,
    headers: auth(security),
    payload: { systemId: 'hukou-service', name: '户籍业务系统' },
  });
  t.equal(system.statusCode, 201);
  await app.inject({
    method: 'POST',
    url: `/v1/departments/${AMR}/systems`,
    headers: auth(security),
    payload: { systemId: 'registration', name: '企业登记注册系统' },
  });

  const issued = await app.inject({
    method: 'POST',
    url: '/v1/certificates',
    headers: auth(security),
    payload: { deptCode: PSB, systemId: 'hukou-service', days: 30 },
  });
  t.equal(issued.statusCode, 201);
  const bundle = issued.json();
  t.match(bundle.serial, /^[0-9a-f]{32}$/);
  t.ok(bundle.keyPem.includes('PRIVATE KEY'), 'platform-generated key is returned once');
  t.equal(issued.headers['cache-control'], 'no-store');
  const dir = mkdtempSync(join(tmpdir(), 'govshare-cert-'));
  writeFileSync(join(dir, 'cert.pem'), bundle.certPem);
  writeFileSync(join(dir, 'ca.pem'), bundle.caPem);
  t.match(
    execFileSync('openssl', ['verify', '-CAfile', join(dir, 'ca.pem'), join(dir, 'cert.pem')], {
      encoding: 'utf8',
    }),
    /OK/,
  );

  // A department that generates its own key: only the public half travels.
  const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const own = await app.inject({
    method: 'POST',
    url: '/v1/certificates',
    headers: auth(security),
    payload: {
      deptCode: AMR,
      systemId: 'registration',
      publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    },
  });
  t.equal(own.statusCode, 201);
  t.notOk(own.json().keyPem, 'no private key when the department sent its public key');

  const ownList = await app.inject({
    method: 'GET',
    url: '/v1/certificates',
    headers: auth({ sub: 'a', role: 'dept-admin', dept: AMR }),
  });
  t.equal(ownList.statusCode, 200);
  t.same(
    ownList.json().certificates.map((c: { deptCode: string }) => c.deptCode),
    [AMR],
    'a dept-admin sees only its own certificates',
  );
  const otherList = await app.inject({
    method: 'GET',
    url: `/v1/certificates?dept=${PSB}`,
    headers: auth({ sub: 'a', role: 'dept-admin', dept: AMR }),
  });
  t.equal(otherList.statusCode, 403);
  t.equal(otherList.json().code, 'DEPARTMENT_FORBIDDEN');
  const otherSystems = await app.inject({
    method: 'GET',
    url: `/v1/departments/${PSB}/systems`,
    headers: auth({ sub: 'a', role: 'dept-admin', dept: AMR }),
  });
  t.equal(otherSystems.statusCode, 403);

  const before = await app.inject({ method: 'GET', url: '/v1/ca/crl/status' });
  t.equal(before.statusCode, 200, before.body);
  t.equal(before.json().revoked, 0, 'the CRL lists nothing before a revocation');
  const revoked = await app.inject({
    method: 'POST',
    url: `/v1/certificates/${bundle.serial}/revoke`,
    headers: auth(security),
    payload: { reason: 'keyCompromise' },
  });
  t.equal(revoked.statusCode, 200);
  t.equal(revoked.json().effectiveStatus, 'revoked');
  const again = await app.inject({
    method: 'POST',
    url: `/v1/certificates/${bundle.serial}/revoke`,
    headers: auth(security),
    payload: { reason: 'keyCompromise' },
  });
  t.equal(again.statusCode, 409);

  const crl = await app.inject({ method: 'GET', url: '/v1/ca/crl' });
  t.equal(crl.statusCode, 200);
  t.equal(crl.headers['content-type'], 'application/pkix-crl');
  writeFileSync(join(dir, 'crl.der'), crl.rawPayload);
  const text = execFileSync(
    'openssl',
    ['crl', '-inform', 'DER', '-in', join(dir, 'crl.der'), '-CAfile', join(dir, 'ca.pem'), '-noout', '-text'],
    {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  t.match(text, new RegExp(bundle.serial.toUpperCase()));
  t.match(text, /Key Compromise/);

  // The CRL in words, for the console: read from the same CRL the relying parties fetch.
  const status = await app.inject({ method: 'GET', url: '/v1/ca/crl/status' });
  t.equal(status.statusCode, 200, status.body);
  const crlStatus = status.json();
  t.equal(crlStatus.revoked, 1, 'one certificate listed');
  t.equal(String(crlStatus.crlNumber), crl.headers['x-crl-number'], 'the number of the CRL served');
  t.ok(crlStatus.crlNumber > before.json().crlNumber, 'a new CRL after the revocation');
  t.equal(
    Date.parse(crlStatus.nextUpdate) - Date.parse(crlStatus.thisUpdate),
    context.config.GOVSHARE_CRL_DAYS * 86_400_000,
    'the next update is due GOVSHARE_CRL_DAYS after this one',
  );
  t.match(text, new RegExp(`Next Update: .*${new Date(crlStatus.nextUpdate).getUTCFullYear()}`));

  const caCert = await app.inject({ method: 'GET', url: '/v1/ca/cert' });
  t.equal(caCert.body, bundle.caPem);

  const audit = await verifyAudit(context.redis, context.prefix, {
    publicKey: context.platform.signingCertX509.publicKey,
  });
  t.ok(audit.ok, 'the audit chain of these admin actions verifies');
  const records = await auditRecordsOf(context.redis, context.prefix, context.audit.instance);
  t.same(
    records.filter((r) => !r.action.startsWith('request.')).map((r) => r.action),
    [
      'department.add',
      'department.add',
      'system.add',
      'system.add',
      'certificate.issue',
      'certificate.issue',
      'certificate.revoke',
    ],
    'two departments, two systems, two certificates and one revocation were audited',
  );
  t.ok(
    records.some((r) => r.action === 'request.refused' && r.reasonCode === 'ROLE_FORBIDDEN'),
    'and the refusals too',
  );
});

t.test('bad input is a 4xx problem detail, never a 500', async (t) => {
  const { app, auth } = await buildTestApp(t);
  const cases = [
    {
      method: 'POST',
      url: '/v1/departments',
      payload: '{"code":',
      headers: { 'content-type': 'application/json' },
      status: 400,
      code: 'BODY_INVALID_JSON',
    },
    {
      method: 'POST',
      url: '/v1/departments',
      payload: 'code=1',
      headers: { 'content-type': 'text/plain' },
      status: 415,
      code: 'UNSUPPORTED_MEDIA_TYPE',
    },
    {
      method: 'POST',
      url: '/v1/departments',
      payload: { code: PSB },
      status: 400,
      code: 'VALIDATION_FAILED',
    },
    {
      method: 'POST',
      url: '/v1/departments',
      payload: { code: PSB, name: 'x', extra: 1 },
      status: 400,
      code: 'VALIDATION_FAILED',
    },
    {
      method: 'POST',
      url: '/v1/certificates/zz/revoke',
      payload: { reason: 'keyCompromise' },
      status: 400,
      code: 'VALIDATION_FAILED',
    },
    {
      method: 'POST',
      url: '/v1/certificates/abcdef/revoke',
      payload: { reason: 'nope' },
      status: 400,
      code: 'VALIDATION_FAILED',
    },
    {
      method: 'POST',
      url: '/v1/certificates/abcdef/revoke',
      payload: { reason: 'superseded' },
      status: 404,
      code: 'CERT_NOT_FOUND',
    },
    {
      method: 'POST',
      url: '/v1/certificates',
      payload: { deptCode: PSB, systemId: 'nope' },
      status: 404,
      code: 'DEPARTMENT_NOT_FOUND',
    },
    {
      method: 'POST',
      url: '/v1/certificates',
      payload: { deptCode: PSB, systemId: 'x', publicKeyPem: 'x'.repeat(200) },
      status: 400,
      code: 'VALIDATION_FAILED',
    },
    { method: 'GET', url: '/v1/nothing-here', status: 404, code: 'NOT_FOUND' },
  ] as const;
  for (const c of cases) {
    const res = await app.inject({
      method: c.method,
      url: c.url,
      headers: { ...auth(security), ...('headers' in c ? c.headers : {}) },
      ...('payload' in c ? { payload: c.payload } : {}),
    });
    t.equal(
      res.statusCode,
      c.status,
      `${c.method} ${c.url} ${JSON.stringify('payload' in c ? c.payload : '')}`,
    );
    t.equal(res.json().code, c.code);
    t.ok(res.json().requestId, 'carries the request id');
  }
  const garbageToken = await app.inject({
    method: 'GET',
    url: '/v1/departments',
    headers: { authorization: 'Bearer not.a.token' },
  });
  t.equal(garbageToken.statusCode, 401);
  t.equal(garbageToken.json().code, 'AUTH_TOKEN_INVALID');
});
