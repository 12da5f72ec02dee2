/**
 * The gateway signs as the platform only through its Signer: with the platform signing key held in another
 * process (a stand-in for a GM/T 0018 module), data responses and audit checkpoints are signed by asking
 * it, under intl and gm, and they verify under the platform signing certificate. A signer that holds
 * another key is refused at start-up.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { auditKeys } from '../../audit/keys.js';
import { migrate } from '../../audit/store/migrations.js';
import { verifyAudit } from '../../audit/verify.js';
import { signRequest, verifyResponseSignature } from '../../certs/httpsig/index.js';
import { initPlatform, platformFiles } from '../../certs/platform.js';
import * as registry from '../../certs/registry.js';
import { generateSm2KeyPair } from '../../certs/sm2.js';
import { sampleKeys } from '../../connectors/simulator/datasets.js';
import { buildTestApp, usePlatformDir } from '../helpers/app.js';
import { usePostgres } from '../helpers/postgres.js';
import { ProcessSigner } from '../helpers/process-signer.js';
import { buildWorld, enc, grantPopulation, INJECT_ORIGIN, signedHeaders } from '../helpers/world.js';

const [idNumber] = sampleKeys('residents', 1);
const gmDir = mkdtempSync(join(tmpdir(), 'govshare-gm-signer-'));
t.teardown(() => rmSync(gmDir, { recursive: true, force: true }));
await initPlatform(gmDir, { crypto: 'gm' });

for (const [profile, responseAlg, checkpointAlg] of [
  ['intl', 'rsa-pss-sha512', 'rsa-pss-sha256'],
  ['gm', 'sm2-sm3', 'sm2-sm3'],
] as const) {
  t.test(`${profile}: responses and checkpoints are signed through the platform Signer`, async (t) => {
    const dataDir = profile === 'gm' ? gmDir : await usePlatformDir();
    const signer = await ProcessSigner.start(t, join(dataDir, platformFiles.signingKey));
    const a = await buildTestApp(t, { env: { GOVSHARE_DATA_DIR: dataDir }, platformSigner: signer });
    t.equal(a.context.platform.platformSigner, signer);
    const world = await buildWorld(t, a.context);
    const { amr } = world.systems;
    await grantPopulation(a, world, { items: ['idNumber', 'gender'] });
    const path = `/v1/data/${enc(world.codes.population)}?idNumber=${idNumber}`;
    const url = `${INJECT_ORIGIN}${path}`;
    const headers = {
      'x-purpose': 'market-supervision',
      'x-user-id': 'wang.keyuan',
      'accept-signature': 'sig1=("@status" "content-digest" "signature";req;key="sig1")',
    };
    const sent = {
      ...headers,
      ...signRequest({ method: 'GET', url, headers, keyId: amr.serial, privateKey: amr.keyPem }),
    };
    const before = signer.signed[responseAlg] ?? 0;
    const res = await a.app.inject({ method: 'GET', url: path, headers: sent });
    t.equal(res.statusCode, 200, res.body);
    if (responseAlg !== checkpointAlg) t.equal(signer.signed[responseAlg], before + 1, 'asked once');
    else t.ok(signer.signed[responseAlg]! > before, 'asked for the response signature');
    const verified = await verifyResponseSignature(
      {
        status: 200,
        headers: Object.fromEntries(Object.entries(res.headers).map(([k, v]) => [k, String(v)])),
        body: res.rawPayload,
        request: { method: 'GET', url, headers: sent },
      },
      {
        key: a.context.platform.signingCertX509.publicKey,
        keyId: a.context.platform.signingCertX509.serialNumber.toLowerCase(),
      },
    );
    t.equal(verified.alg, responseAlg);

    const asked = signer.signed[checkpointAlg] ?? 0;
    await a.context.audit.checkpoint();
    t.ok(
      (signer.signed[checkpointAlg] ?? 0) > asked,
      `the checkpoint was signed ${checkpointAlg} by the Signer`,
    );
    const latest = await a.context.redis.xrevrange(
      auditKeys(a.context.prefix).checkpoints(a.config.GOVSHARE_INSTANCE_ID),
      '+',
      '-',
      'COUNT',
      1,
    );
    const fields = latest[0]![1];
    t.equal(fields[fields.indexOf('alg') + 1], checkpointAlg);
    const result = await verifyAudit(a.context.redis, a.context.prefix, {
      publicKey: a.context.platform.signingCertX509.publicKey,
      instance: a.config.GOVSHARE_INSTANCE_ID,
    });
    t.ok(result.ok, JSON.stringify(result.instances));
  });
}

t.test('gm: a transparency answer asked with Accept-Signature is signed sm2-sm3 by the Signer', async (t) => {
  const db = await usePostgres(t);
  const signer = await ProcessSigner.start(t, join(gmDir, platformFiles.signingKey));
  const a = await buildTestApp(t, {
    env: { GOVSHARE_DATA_DIR: gmDir, GOVSHARE_AUDIT_STORE_URL: db.url },
    platformSigner: signer,
  });
  await migrate(a.context.auditStore!.pool);
  const { certs, platform } = a.context;
  const now = new Date();
  const portalDept = { code: '91350100M000100Y43', name: '市政务服务和大数据管理局' };
  await registry.addDepartment(certs, portalDept, now);
  await registry.addSystem(
    certs,
    { deptCode: portalDept.code, systemId: 'citizen-portal', name: '一网通办' },
    now,
  );
  const issued = await registry.issueCertificate(
    platform,
    certs,
    { deptCode: portalDept.code, systemId: 'citizen-portal' },
    now,
  );
  const made = await a.app.inject({
    method: 'PUT',
    url: `/v1/departments/${portalDept.code}/systems/citizen-portal/role`,
    headers: a.auth({ sub: 'bureau-1', role: 'bureau' }),
    payload: { role: 'portal' },
  });
  t.equal(made.statusCode, 200, made.body);
  const path = '/v1/transparency/uses';
  const sent = signedHeaders(
    {
      deptCode: portalDept.code,
      systemId: 'citizen-portal',
      serial: issued.serial,
      keyPem: issued.keyPem!,
      certPem: issued.certPem,
    },
    {
      method: 'GET',
      path,
      purpose: 'citizen-transparency',
      userId: 'portal-session-7f3a',
      headers: {
        'x-subject-id': idNumber!,
        'accept-signature': 'sig1=("@status" "content-digest" "signature";req;key="sig1")',
      },
    },
  );
  const before = signer.signed['sm2-sm3'] ?? 0;
  const res = await a.app.inject({ method: 'GET', url: path, headers: sent });
  t.equal(res.statusCode, 200, res.body);
  t.ok((signer.signed['sm2-sm3'] ?? 0) > before, 'the Signer was asked');
  const verified = await verifyResponseSignature(
    {
      status: 200,
      headers: Object.fromEntries(Object.entries(res.headers).map(([k, v]) => [k, String(v)])),
      body: res.rawPayload,
      request: { method: 'GET', url: `${INJECT_ORIGIN}${path}`, headers: sent },
    },
    { key: platform.signingCertX509.publicKey },
  );
  t.equal(verified.alg, 'sm2-sm3', 'not the rsa-pss-sha512 the route used to hard-code');
});

t.test('a Signer holding another key than the platform signing certificate is refused', async (t) => {
  const keyFile = join(gmDir, 'other-key.pem');
  writeFileSync(keyFile, (await generateSm2KeyPair()).privateKeyPem, { mode: 0o600 });
  const signer = await ProcessSigner.start(t, keyFile);
  await t.rejects(buildTestApp(t, { env: { GOVSHARE_DATA_DIR: gmDir }, platformSigner: signer }), {
    code: 'PLATFORM_INCONSISTENT',
    message: /does not hold the key of the platform signing certificate/,
  });
});
