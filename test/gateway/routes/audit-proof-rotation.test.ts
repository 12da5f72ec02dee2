import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { type InclusionProofBundle, verifyInclusionBundle } from '../../../audit/proof.js';
import { certificateFingerprint, platformFiles, rotateSigningKey } from '../../../certs/platform.js';
import { makeRecord } from '../../audit/fixtures.js';
import { buildTestApp, type TestApp } from '../../helpers/app.js';

const auditor = { sub: 'au', role: 'auditor' } as const;

async function appendRequests(testApp: TestApp, from: number, to: number): Promise<void> {
  const { audit } = testApp.context;
  for (let i = from; i < to; i++) {
    await audit.append(makeRecord(audit.instance, { requestId: `r-${i}` }));
  }
  await audit.checkpoint();
}

const proofOf = (testApp: TestApp, requestId: string) =>
  testApp.app.inject({ method: 'GET', url: `/v1/audit/${requestId}/proof`, headers: testApp.auth(auditor) });

t.test(
  'after a signing key rotation, earlier checkpoints still verify and prove their records',
  async (t) => {
    const before = await buildTestApp(t);
    await appendRequests(before, 0, 5);
    const oldCert = before.context.platform.signingCertX509;

    const rotated = await rotateSigningKey(before.config.GOVSHARE_DATA_DIR);
    t.equal(rotated.previous, certificateFingerprint(oldCert));
    // A gateway started after the rotation signs with the new key, on the same Redis.
    const after = await buildTestApp(t, { sameRedisAs: before });
    t.equal(certificateFingerprint(after.context.platform.signingCertX509), rotated.current);
    await appendRequests(after, 5, 10);
    const caPem = readFileSync(join(after.config.GOVSHARE_DATA_DIR, platformFiles.caCert), 'utf8');

    const old = await proofOf(after, 'r-2');
    t.equal(old.statusCode, 200, old.body);
    const oldBundle = old.json() as InclusionProofBundle;
    t.equal(oldBundle.checkpoint.signer, rotated.previous, 'a checkpoint signed with the old key');
    t.equal(
      oldBundle.platformCertificate.trim(),
      oldCert.toString().trim(),
      'carries the certificate that signed it',
    );
    t.match(await verifyInclusionBundle(oldBundle, { caPem }), { record: { requestId: 'r-2' } });

    const fresh = (await proofOf(after, 'r-7')).json() as InclusionProofBundle;
    t.equal(fresh.checkpoint.signer, rotated.current);
    t.match(await verifyInclusionBundle(fresh, { caPem }), { record: { requestId: 'r-7' } });

    // The old certificate cannot stand in for the new one.
    await t.rejects(
      verifyInclusionBundle({ ...fresh, platformCertificate: oldBundle.platformCertificate }, { caPem }),
      { code: 'AUDIT_PROOF_INVALID' },
    );

    const verified = await after.app.inject({
      method: 'GET',
      url: '/v1/audit/verify',
      headers: after.auth(auditor),
    });
    t.equal(verified.statusCode, 200);
    t.equal(verified.json().ok, true, 'both chains verify, each checkpoint with the key that signed it');
    t.equal(verified.json().instances.length, 2);
  },
);
