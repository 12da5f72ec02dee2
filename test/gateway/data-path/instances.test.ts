import { createPrivateKey, X509Certificate } from 'node:crypto';
import { createSigner, httpbis } from 'http-message-signatures';
import t from 'tap';
import { verifyResponseSignature } from '../../../certs/httpsig/index.js';
import { sampleKeys } from '../../../connectors/simulator/datasets.js';
import { startLocalRedis } from '../../../scripts/lib/local-redis.js';
import { buildTestApp } from '../../helpers/app.js';
import { useRedis } from '../../helpers/redis.js';
import {
  buildWorld,
  enc,
  grantPopulation,
  INJECT_ORIGIN,
  signedHeaders,
  signedInject,
} from '../../helpers/world.js';

const security = { sub: 'sec-1', role: 'security-admin' } as const;
const [idNumber] = sampleKeys('residents', 1);

t.test('quota and revocation hold across two gateway instances', async (t) => {
  const a = await buildTestApp(t);
  const b = await buildTestApp(t, { sameRedisAs: a });
  const world = await buildWorld(t, a.context);
  await grantPopulation(a, world, { quota: { perMinute: 4 } });
  const path = `/v1/data/${enc(world.codes.population)}?idNumber=${idNumber}`;
  // The per-minute quota counts calendar minutes: start the six calls early in a minute, so that they
  // cannot straddle two windows even on a slow, loaded machine.
  const second = new Date().getSeconds();
  if (second > 20) await new Promise((r) => setTimeout(r, (60 - second) * 1000 + 100));
  const statuses: number[] = [];
  for (let i = 0; i < 6; i++) {
    const gateway = i % 2 === 0 ? a : b;
    statuses.push((await signedInject(gateway.app, world.systems.amr, { method: 'GET', path })).statusCode);
  }
  t.same(
    statuses,
    [200, 200, 200, 200, 429, 429],
    'four calls per minute in total, whichever instance serves them',
  );

  // Instance B has the certificate's key cached; A revokes it.
  const psbPath = `/v1/data/${enc(world.codes.population)}?idNumber=${idNumber}`;
  const before = await signedInject(b.app, world.systems.psb, { method: 'GET', path: psbPath });
  t.equal(before.json().code, 'GRANT_MISSING', 'B knows the certificate (cached) before the revocation');
  const revokedAt = Date.now();
  const revoke = await a.app.inject({
    method: 'POST',
    url: `/v1/certificates/${world.systems.psb.serial}/revoke`,
    headers: a.auth(security),
    payload: { reason: 'keyCompromise' },
  });
  t.equal(revoke.statusCode, 200);
  let seenAfter = -1;
  while (Date.now() - revokedAt < 3000) {
    const res = await signedInject(b.app, world.systems.psb, { method: 'GET', path: psbPath });
    if (res.json().code === 'CERT_REVOKED') {
      seenAfter = Date.now() - revokedAt;
      break;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  t.ok(
    seenAfter >= 0 && seenAfter < 2000,
    `instance B refuses the revoked certificate within 2 s (took ${seenAfter} ms)`,
  );
});

t.test('no data leaves without its audit record: audit writes refused → 503', async (t) => {
  const { server } = await useRedis(t);
  const admin = await useRedis(t);
  // A Redis user that may do everything except append to streams: the audit write fails, nothing else.
  await admin.redis.call('ACL', 'SETUSER', 'noaudit', 'on', '>noaudit-pw', '~*', '&*', '+@all', '-xadd');
  const a = await buildTestApp(t);
  const world = await buildWorld(t, a.context);
  await grantPopulation(a, world);
  const crippled = await buildTestApp(t, {
    sameRedisAs: a,
    redisUrl: server.url.replace('redis://', 'redis://noaudit:noaudit-pw@'),
  });
  const res = await signedInject(crippled.app, world.systems.amr, {
    method: 'GET',
    path: `/v1/data/${enc(world.codes.population)}?idNumber=${idNumber}`,
  });
  t.equal(res.statusCode, 503);
  t.equal(res.json().code, 'SERVICE_UNAVAILABLE');
  t.notOk(res.body.includes(idNumber!.slice(0, 6)), 'no data in the answer');
  t.ok(res.headers['retry-after'], 'with Retry-After');
});

t.test('Redis down means 503 with Retry-After, never 401 or 403', async (t) => {
  const redis = await startLocalRedis();
  t.teardown(() => redis.stop());
  const a = await buildTestApp(t, { redisUrl: redis.url });
  const world = await buildWorld(t, a.context);
  await grantPopulation(a, world);
  const path = `/v1/data/${enc(world.codes.population)}?idNumber=${idNumber}`;
  t.equal((await signedInject(a.app, world.systems.amr, { method: 'GET', path })).statusCode, 200);
  await redis.stop();
  const res = await signedInject(a.app, world.systems.amr, { method: 'GET', path });
  t.equal(res.statusCode, 503, `answered ${res.statusCode} ${res.json().code}`);
  t.ok(Number(res.headers['retry-after']) > 0);
  const ready = await a.app.inject({ method: 'GET', url: '/ready' });
  t.equal(ready.statusCode, 503, '/ready says so too');
});

t.test('an independent RFC 9421 client is accepted, and the signed response verifies', async (t) => {
  const a = await buildTestApp(t);
  const world = await buildWorld(t, a.context);
  await grantPopulation(a, world);
  const { amr } = world.systems;
  const path = `/v1/data/${enc(world.codes.population)}?idNumber=${idNumber}`;
  for (const alg of ['rsa-pss-sha512', 'rsa-v1_5-sha256'] as const) {
    const theirs = await httpbis.signMessage(
      {
        key: createSigner(createPrivateKey(amr.keyPem), alg, amr.serial),
        name: 'sig1',
        fields: ['@method', '@target-uri', 'x-purpose', 'x-user-id'],
        params: ['keyid', 'alg', 'created', 'nonce'],
        paramValues: { nonce: `interop-${alg}` },
      },
      {
        method: 'GET',
        url: `${INJECT_ORIGIN}${path}`,
        headers: { 'x-purpose': 'market-supervision', 'x-user-id': 'interop.official' },
      },
    );
    const res = await a.app.inject({
      method: 'GET',
      url: path,
      headers: theirs.headers as Record<string, string>,
    });
    t.equal(res.statusCode, 200, `http-message-signatures with ${alg} is accepted`);
  }

  const headers = signedHeaders(amr, {
    method: 'GET',
    path,
    headers: {
      'accept-signature': 'sig1=("@status" "content-digest" "signature";req;key="sig1");alg="rsa-pss-sha512"',
    },
  });
  const res = await a.app.inject({ method: 'GET', url: path, headers });
  t.equal(res.statusCode, 200);
  t.ok(res.headers.signature, 'the response is signed when asked');
  const platformCert = new X509Certificate(a.context.platform.signingCertPem);
  const verified = await verifyResponseSignature(
    {
      status: res.statusCode,
      headers: res.headers as Record<string, string>,
      body: res.rawPayload,
      request: { method: 'GET', url: `${INJECT_ORIGIN}${path}`, headers },
    },
    { key: platformCert.publicKey },
  );
  t.ok(verified, 'the client helper verifies the response signature with the platform certificate');
  await t.rejects(
    verifyResponseSignature(
      {
        status: res.statusCode,
        headers: res.headers as Record<string, string>,
        body: Buffer.from(res.body.replace('"count":1', '"count":2')),
        request: { method: 'GET', url: `${INJECT_ORIGIN}${path}`, headers },
      },
      { key: platformCert.publicKey },
    ),
    'a changed body does not verify',
  );
});
