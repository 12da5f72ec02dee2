import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import {
  addDepartment,
  addSystem,
  currentCrl,
  issueCertificate,
  listCertificates,
  revokeCertificate,
} from '../../certs/registry.js';
import { CertsStore } from '../../certs/store.js';
import { useRedis } from '../helpers/redis.js';
import { makePlatform, openssl, tempDir } from './platform-fixture.js';

const { platform } = await makePlatform(t, { now: new Date('2026-01-01T00:00:00Z') });
const work = tempDir(t, 'registry');
writeFileSync(join(work, 'ca.pem'), platform.caCertPem);
const uscc = '91350100M000100Y43';
const now = new Date('2026-05-01T09:00:00Z');
const day = 86_400_000;

async function registryWithSystem(t: Parameters<typeof useRedis>[0]) {
  const { redis, prefix } = await useRedis(t);
  const store = new CertsStore(redis, prefix);
  await addDepartment(store, { code: uscc, name: '福州市公安局' }, now);
  await addSystem(store, { deptCode: uscc, systemId: 'hukou-query', name: '户籍查询' }, now);
  return { redis, prefix, store };
}

/** openssl verifies at the test's clock, a little after `when`, not at the wall clock. */
function at(when: Date): string[] {
  return ['-attime', String(Math.floor(when.getTime() / 1000) + 60)];
}

function crlPem(der: Buffer): string {
  const lines = der
    .toString('base64')
    .match(/.{1,64}/g)!
    .join('\n');
  return `-----BEGIN X509 CRL-----\n${lines}\n-----END X509 CRL-----\n`;
}

/** The CRL number inside the DER, read by openssl. */
function crlNumberIn(der: Buffer, name: string): number {
  writeFileSync(join(work, name), der);
  const out = openssl(['crl', '-inform', 'DER', '-in', name, '-noout', '-crlnumber'], work).stdout.trim();
  return Number(out.replace('crlNumber=', ''));
}

t.test('issue, list, revoke, and the CRL that revokes', async (t) => {
  const { store } = await registryWithSystem(t);
  await t.rejects(
    issueCertificate(platform, store, { deptCode: '91110108551385082Q', systemId: 'hukou-query' }, now),
    {
      code: 'DEPARTMENT_NOT_FOUND',
      statusCode: 404,
    },
  );
  await t.rejects(issueCertificate(platform, store, { deptCode: uscc, systemId: 'nope' }, now), {
    code: 'SYSTEM_NOT_FOUND',
    statusCode: 404,
  });
  await t.rejects(
    issueCertificate(platform, store, { deptCode: uscc, systemId: 'hukou-query', days: 900 }, now),
    {
      code: 'CERT_VALIDITY_INVALID',
    },
  );

  const issued = await issueCertificate(
    platform,
    store,
    { deptCode: uscc, systemId: 'hukou-query', days: 30 },
    now,
  );
  t.equal(issued.notAfter.getTime() - now.getTime(), 30 * day);
  t.same(await store.getCertificate(issued.serial), issued.record);
  t.equal(issued.record.certPem, issued.certPem);
  writeFileSync(join(work, 'issued.pem'), issued.certPem);
  const verify = openssl(['verify', ...at(now), '-CAfile', 'ca.pem', 'issued.pem'], work);
  t.equal(verify.status, 0, verify.stderr);
  t.match(
    openssl(['x509', '-in', 'issued.pem', '-noout', '-subject', '-nameopt', 'utf8'], work).stdout,
    'O=福州市公安局',
  );

  // Issued a second later: the list is in issue order (ties would fall back to serial order).
  const later = new Date(now.getTime() + 1000);
  const second = await issueCertificate(platform, store, { deptCode: uscc, systemId: 'hukou-query' }, later);
  const statuses = async (at: Date) =>
    (await listCertificates(store, { now: at })).map((c) => [c.serial, c.effectiveStatus]);
  t.same(await statuses(now), [
    [issued.serial, 'active'],
    [second.serial, 'active'],
  ]);
  t.same(await statuses(new Date(now.getTime() + 31 * day)), [
    [issued.serial, 'expired'],
    [second.serial, 'active'],
  ]);

  const empty = await currentCrl(platform, store, { crlDays: 7, now });
  t.equal(empty.crlNumber, 1);
  t.equal(crlNumberIn(empty.der, 'empty.der'), 1);

  const revoked = await revokeCertificate(store, second.serial, 'keyCompromise', later);
  t.equal(revoked.status, 'revoked');
  t.equal(revoked.revocationReason, 'keyCompromise');
  t.same(await statuses(new Date(now.getTime() + 31 * day)), [
    [issued.serial, 'expired'],
    [second.serial, 'revoked'],
  ]);

  const crl = await currentCrl(platform, store, { crlDays: 7, now: new Date(now.getTime() + 1000) });
  t.equal(crl.crlNumber, 2, 'a revocation makes the next CRL');
  writeFileSync(join(work, 'crl.pem'), crlPem(crl.der));
  writeFileSync(join(work, 'second.pem'), second.certPem);
  const text = openssl(['crl', '-in', 'crl.pem', '-CAfile', 'ca.pem', '-noout', '-text'], work);
  t.match(text.stderr, /verify OK/);
  t.match(text.stdout, `Serial Number: ${second.serial.toUpperCase()}`);
  const checked = openssl(
    ['verify', ...at(now), '-crl_check', '-CAfile', 'ca.pem', '-CRLfile', 'crl.pem', 'second.pem'],
    work,
  );
  t.not(checked.status, 0);
  t.match(`${checked.stdout}${checked.stderr}`, /certificate revoked/);
  const stillGood = openssl(
    ['verify', ...at(now), '-crl_check', '-CAfile', 'ca.pem', '-CRLfile', 'crl.pem', 'issued.pem'],
    work,
  );
  t.equal(stillGood.status, 0, stillGood.stderr);
});

t.test('the CRL is cached until revoked or half its validity has passed', async (t) => {
  const { store } = await registryWithSystem(t);
  const first = await currentCrl(platform, store, { crlDays: 2, now });
  const cached = await currentCrl(platform, store, { crlDays: 2, now: new Date(now.getTime() + day - 1000) });
  t.equal(cached.crlNumber, first.crlNumber);
  t.same(cached.der, first.der);
  t.same(cached.thisUpdate, first.thisUpdate);
  t.equal(first.nextUpdate.getTime() - first.thisUpdate.getTime(), 2 * day);
  const halfway = new Date(now.getTime() + day);
  const renewed = await currentCrl(platform, store, { crlDays: 2, now: halfway });
  t.equal(renewed.crlNumber, first.crlNumber + 1, 'renewed at half its validity');
  t.same(renewed.thisUpdate, halfway);
  await t.rejects(currentCrl(platform, store, { crlDays: 0, now }), RangeError);
});

t.test('concurrent callers on several connections never share a CRL number', async (t) => {
  const { redis, prefix, store } = await registryWithSystem(t);
  const issued = await issueCertificate(platform, store, { deptCode: uscc, systemId: 'hukou-query' }, now);
  await currentCrl(platform, store, { crlDays: 7, now });
  await revokeCertificate(store, issued.serial, 'superseded', now);
  const connections = Array.from({ length: 4 }, () => redis.duplicate());
  t.teardown(() => Promise.all(connections.map((c) => c.quit())));
  const stores = connections.map((c) => new CertsStore(c, prefix));
  const results = await Promise.all(
    Array.from({ length: 12 }, (_, i) =>
      currentCrl(platform, stores[i % stores.length]!, { crlDays: 7, now }),
    ),
  );
  const byNumber = new Map<number, string>();
  for (const result of results) {
    const hex = result.der.toString('hex');
    t.equal(byNumber.get(result.crlNumber) ?? hex, hex, `one CRL per number (${result.crlNumber})`);
    byNumber.set(result.crlNumber, hex);
  }
  for (const [number, hex] of byNumber)
    t.equal(crlNumberIn(Buffer.from(hex, 'hex'), `c${number}.der`), number);
  t.comment(`numbers: ${[...byNumber.keys()].join(',')}`);
  const settled = await currentCrl(platform, store, { crlDays: 7, now });
  t.equal(settled.crlNumber, Math.max(...byNumber.keys()), 'the highest number is the one kept');
  writeFileSync(join(work, 'settled.pem'), crlPem(settled.der));
  t.match(
    openssl(['crl', '-in', 'settled.pem', '-noout', '-text'], work).stdout,
    issued.serial.toUpperCase(),
  );
});
