/**
 * The flags every command that signs calls as a department system shares (`call`, `exchange run`): the
 * key, certificate and CA files, the purpose, the acting official and case, and the algorithm.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { type SignedCallInput, SignedClient } from '../../certs/client.js';
import { required, UsageError } from './command.js';

export const SIGNING_FLAGS = {
  key: { type: 'string' },
  cert: { type: 'string' },
  ca: { type: 'string' },
  purpose: { type: 'string' },
  'user-id': { type: 'string' },
  'case-id': { type: 'string' },
  alg: { type: 'string' },
  'tls-ca': { type: 'string' },
  mtls: { type: 'boolean' },
} as const;

export const SIGNING_USAGE =
  '--key key.pem --cert cert.pem --purpose P --user-id U [--ca ca.pem] [--case-id C] [--alg rsa-pss-sha512|rsa-v1_5-sha256|sm2-sm3] [--tls-ca gateway-ca.pem [--mtls]]';

/** What every signed call of one command run carries besides its method, URL and body. */
export type CallIdentity = Required<Pick<SignedCallInput, 'purpose'>> &
  Pick<SignedCallInput, 'userId' | 'caseId' | 'alg'>;

/** The client (key, certificate, CA; the CA defaults to ca.pem beside the certificate) and the call identity. */
export function signingIdentity(
  values: {
    [K in keyof typeof SIGNING_FLAGS]?: (typeof SIGNING_FLAGS)[K]['type'] extends 'boolean'
      ? boolean
      : string;
  },
): {
  client: SignedClient;
  identity: CallIdentity;
  /** The system's private key (PEM), e.g. to decrypt a bulk file wrapped for it. */
  keyPem: string;
} {
  // Without --alg the key decides: sm2-sm3 for an SM2 key (a gm platform), rsa-pss-sha512 for RSA.
  const alg = values.alg;
  if (alg !== undefined && alg !== 'rsa-pss-sha512' && alg !== 'rsa-v1_5-sha256' && alg !== 'sm2-sm3')
    throw new UsageError('--alg must be rsa-pss-sha512, rsa-v1_5-sha256 or sm2-sm3');
  const certPath = required(values, 'cert');
  const keyPem = readFileSync(required(values, 'key'), 'utf8');
  if (values.mtls && !values['tls-ca'])
    throw new UsageError('--mtls needs --tls-ca (the CA of the gateway certificate)');
  const client = new SignedClient(
    {
      keyPem,
      certPem: readFileSync(certPath, 'utf8'),
      caPem: readFileSync(values.ca ?? join(dirname(certPath), 'ca.pem'), 'utf8'),
    },
    values['tls-ca']
      ? { ca: readFileSync(values['tls-ca'], 'utf8'), clientCertificate: values.mtls === true }
      : undefined,
  );
  return {
    client,
    keyPem,
    identity: {
      purpose: required(values, 'purpose'),
      ...(alg ? { alg } : {}),
      ...(values['user-id'] ? { userId: values['user-id'] } : {}),
      ...(values['case-id'] ? { caseId: values['case-id'] } : {}),
    },
  };
}
