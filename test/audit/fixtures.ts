import { generateKeyPairSync, X509Certificate } from 'node:crypto';
import forge from 'node-forge';
import type { CheckpointSigner } from '../../audit/checkpoint.js';
import type { AuditRecord } from '../../audit/record.js';
import { FileKeySigner } from '../../certs/signer.js';

/** A real RSA-2048 key and a self-signed certificate for it, as the platform signing key would be. */
export function makeSigner(commonName = 'govshare audit test'): CheckpointSigner {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const pem = privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
  const forgeKey = forge.pki.privateKeyFromPem(pem);
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.setRsaPublicKey(forgeKey.n, forgeKey.e);
  cert.serialNumber = '01';
  cert.validity.notBefore = new Date(Date.now() - 60_000);
  cert.validity.notAfter = new Date(Date.now() + 86_400_000);
  const subject = [{ name: 'commonName', value: commonName }];
  cert.setSubject(subject);
  cert.setIssuer(subject);
  cert.sign(forgeKey, forge.md.sha256.create());
  return {
    signer: FileKeySigner.fromPem(pem),
    certificate: new X509Certificate(forge.pki.certificateToPem(cert)),
  };
}

export const SUBJECT_SECRET = Buffer.from('0123456789abcdef0123456789abcdef');
export const BASE_TIME = Date.parse('2025-03-01T08:00:00.000Z');

let counter = 0;

/** A valid data-request record; override what a test cares about. */
export function makeRecord(instance: string, overrides: Partial<AuditRecord> = {}): AuditRecord {
  counter++;
  return {
    time: new Date(BASE_TIME + counter).toISOString(),
    requestId: `req-${instance}-${counter}`,
    instance,
    kind: 'data',
    actor: { deptCode: '11100000000013127D', systemId: 'hukou', userId: 'u-7', certSerial: '0a1b' },
    action: 'data.lookup',
    resource: '101001/000001',
    grantId: 'g-1',
    purpose: 'social assistance eligibility check',
    items: ['name', 'idNumber'],
    rowCount: 1,
    decision: 'allow',
    status: 200,
    latencyMs: 3.5,
    ...overrides,
  };
}
