/**
 * Identity attacks on the data path: a certificate of another CA slipped into the registry, a request
 * replayed against the other gateway instance, and instances whose clocks differ within the window.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { issueSystemCertificate } from '../../../certs/issue.js';
import { initPlatform, loadPlatform } from '../../../certs/platform.js';
import { sampleKeys } from '../../../connectors/simulator/datasets.js';
import { buildTestApp } from '../../helpers/app.js';
import { buildWorld, enc, grantPopulation, signedHeaders, signedInject } from '../../helpers/world.js';

const [idNumber] = sampleKeys('residents', 1);

t.test('a certificate of another CA, replays across instances, clock skew within the window', async (t) => {
  let skewB = 0;
  const a = await buildTestApp(t);
  const b = await buildTestApp(t, { sameRedisAs: a, now: () => new Date(Date.now() + skewB) });
  const world = await buildWorld(t, a.context);
  const { amr } = world.systems;
  await grantPopulation(a, world, { items: ['idNumber', 'gender'] });
  const path = `/v1/data/${enc(world.codes.population)}?idNumber=${idNumber}`;

  // An attacker with write access to the registry records a certificate from their own CA for AMR.
  const rogueDir = mkdtempSync(join(tmpdir(), 'govshare-rogue-ca-'));
  await initPlatform(rogueDir);
  const rogue = await issueSystemCertificate(loadPlatform(rogueDir), {
    deptCode: amr.deptCode,
    deptName: 'x',
    systemId: amr.systemId,
  });
  await a.context.certs.recordCertificate(
    {
      serial: rogue.serial,
      deptCode: amr.deptCode,
      systemId: amr.systemId,
      notBefore: rogue.notBefore,
      notAfter: rogue.notAfter,
      fingerprint256: rogue.fingerprint256,
      certPem: rogue.certPem,
    },
    new Date(),
  );
  const forged = await signedInject(
    a.app,
    { ...amr, serial: rogue.serial, keyPem: rogue.keyPem, certPem: rogue.certPem },
    { method: 'GET', path },
  );
  t.equal(forged.statusCode, 401);
  t.equal(
    forged.json().code,
    'CERT_UNTRUSTED',
    'a certificate the platform CA did not issue is refused even if it is on record',
  );

  // The same signed bytes sent to A and then to B: the nonce store is shared.
  const headers = signedHeaders(amr, { method: 'GET', path });
  t.equal((await a.app.inject({ method: 'GET', url: path, headers })).statusCode, 200);
  const replay = await b.app.inject({ method: 'GET', url: path, headers });
  t.equal(replay.statusCode, 401);
  t.equal(replay.json().code, 'SIG_REPLAY', 'a replay against the other instance is refused');
  // Remembered past the last moment the signature could still be accepted: seen first at created − 300 s,
  // acceptable until created + 300 s and the second it is rounded to.
  // Data calls record their nonce with the quota, under the caller's admission tag.
  const [, nonceKeys] = await a.context.redis.scan(
    0,
    'MATCH',
    `${a.context.prefix}{adm:${amr.deptCode}:${amr.systemId}}:n:*`,
    'COUNT',
    1000,
  );
  t.ok(nonceKeys.length > 0);
  for (const key of nonceKeys) t.ok((await a.context.redis.ttl(key)) >= 601, `${key} lives 602 s`);

  // Instance B runs 200 s ahead (inside the ±300 s window): fresh requests pass on both, no false replays.
  skewB = 200_000;
  for (let i = 0; i < 3; i++) {
    t.equal(
      (await signedInject(a.app, amr, { method: 'GET', path })).statusCode,
      200,
      `A accepts fresh request ${i}`,
    );
    t.equal(
      (await signedInject(b.app, amr, { method: 'GET', path })).statusCode,
      200,
      `B (+200 s) accepts fresh request ${i}`,
    );
  }
  // Beyond the window the skewed instance refuses with a clock error, never a replay.
  skewB = 400_000;
  const late = await signedInject(b.app, amr, { method: 'GET', path });
  t.equal(late.json().code, 'SIG_EXPIRED', 'outside the window: SIG_EXPIRED names the clocks');
});
