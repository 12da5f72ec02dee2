/**
 * TLS server certificates issued by the platform CA, for `govshare serve --tls-cert --tls-key` and for
 * front-end processors the HTTP connector reaches over HTTPS with the platform CA pinned.
 *
 * Only an intl (RSA) platform issues them: Node's TLS (OpenSSL 3 without TLCP) cannot serve or verify
 * SM2 certificates, so a gm platform serves HTTPS with a certificate from an intl CA (a second,
 * intl data directory: `govshare init --data-dir tls-ca`, then this) and terminates TLCP (GB/T 38636) with
 * SM2 certificates in a Tongsuo-based proxy in front of the gateway (README, compose.yaml).
 */
import { X509Certificate } from 'node:crypto';
import forge from 'node-forge';
import { CertKeyTypeInvalid, CertValidityInvalid } from './errors.js';
import type { Platform } from './platform.js';
import { addDays, generateRsaKeyPair, newCertificate, wholeSeconds } from './x509.js';

const HOST =
  /^(?=.{1,253}$)([A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

export interface TlsServerCertificateRequest {
  /** DNS names and IP addresses the server answers on (the SAN); the first is also the CN. */
  hosts: string[];
  /** @defaultValue 365 */
  days?: number;
  now?: Date;
}

export interface TlsServerCertificate {
  keyPem: string;
  certPem: string;
  caPem: string;
  serial: string;
}

export async function issueTlsServerCertificate(
  platform: Platform,
  request: TlsServerCertificateRequest,
): Promise<TlsServerCertificate> {
  if (platform.profile !== 'intl' || !platform.caCert) {
    throw new CertKeyTypeInvalid(
      'a gm platform does not issue TLS server certificates (Node has no SM2 TLS): issue one from an intl CA, ' +
        'and terminate TLCP in a Tongsuo proxy (see README, 国密 profile)',
    );
  }
  const hosts = [...new Set(request.hosts)];
  if (hosts.length === 0 || hosts.length > 20) {
    throw new CertValidityInvalid('a TLS server certificate names 1-20 hosts');
  }
  for (const host of hosts) {
    if (!HOST.test(host) && !/^[0-9a-fA-F:.]+$/.test(host)) {
      throw new CertValidityInvalid(`"${host.slice(0, 80)}" is not a DNS name or an IP address`);
    }
  }
  const days = request.days ?? 365;
  if (!Number.isInteger(days) || days < 1 || days > 825) {
    throw new CertValidityInvalid('validity must be a whole number of days from 1 to 825');
  }
  const now = wholeSeconds(request.now ?? new Date());
  const pair = await generateRsaKeyPair(2048);
  const cert = await newCertificate({
    publicKeyPem: pair.publicKeyPem,
    issuer: platform.caCert,
    issuerSigner: platform.caSigner,
    notBefore: now,
    notAfter: addDays(now, days),
    subject: [
      ['C', 'CN'],
      ['CN', hosts[0]!],
    ],
    keyUsage: { digitalSignature: true, keyEncipherment: true },
    extKeyUsage: { serverAuth: true },
    sanHosts: hosts,
  });
  const certPem = forge.pki.certificateToPem(cert);
  return {
    keyPem: pair.privateKeyPem,
    certPem,
    caPem: platform.caCertPem,
    serial: new X509Certificate(certPem).serialNumber.toLowerCase(),
  };
}
