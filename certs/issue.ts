/**
 * Certificates for department systems. A certificate names one system of one department: the subject
 * `C=CN, O=<department name>, OU=<department code>, CN=<system id>` for people, and the SAN URI
 * `urn:govshare:<USCC>:<systemId>` for machines (the gateway reads identity only from the URI).
 */
import { X509Certificate } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import forge from 'node-forge';
import type { CryptoProfile } from './crypto-profile.js';
import {
  BundleExists,
  CertIdentityInvalid,
  CertKeyTypeInvalid,
  CertValidityInvalid,
  DepartmentNameInvalid,
  SystemIdInvalid,
  UsccInvalid,
} from './errors.js';
import type { Platform } from './platform.js';
import { SYSTEM_ID_PATTERN, SYSTEM_ID_REGEXP } from './schema.js';
import { generateSm2KeyPair, isSm2Key } from './sm2.js';
import { addDays, generateRsaKeyPair, newCertificate, randomSerialHex, wholeSeconds } from './x509.js';

export { SYSTEM_ID_PATTERN };

export const DEFAULT_CERT_DAYS = 365;
/** The CA/Browser Forum's old ceiling for leaf certificates; long enough for a government system's cycle. */
export const MAX_CERT_DAYS = 825;

/** 18 characters of the GB 32100 alphabet. The check character is the registry's business (it may be overridden). */
const USCC_SHAPE = /^[0-9A-HJ-NPQRTUWXY]{18}$/;
const IDENTITY_URI = /^URI:urn:govshare:([0-9A-HJ-NPQRTUWXY]{18}):([a-z0-9][a-z0-9-]{1,62})$/;

export interface SystemCertificateRequest {
  deptCode: string;
  deptName: string;
  systemId: string;
  /** @defaultValue 365 (at most 825; never beyond the CA's own notAfter) */
  days?: number;
  now?: Date;
}

export interface SystemCertificate {
  certPem: string;
  caPem: string;
  /** Lowercase hex, 32 characters: `openssl x509 -serial` lowercased; the keyid of signed calls. */
  serial: string;
  notBefore: Date;
  notAfter: Date;
  /** SHA-256 of the DER as node:crypto prints it ("AB:CD:…"). */
  fingerprint256: string;
}

export interface SystemCertificateBundle extends SystemCertificate {
  /** PKCS#8 PEM. Bulk files are wrapped to this key (RSA-OAEP, or SM2 encryption under gm), so it also deciphers. */
  keyPem: string;
}

export interface SystemIdentity {
  deptCode: string;
  systemId: string;
}

/**
 * Generates a key pair of the platform's profile (RSA-2048 under intl, SM2 under gm) and certifies it.
 */
export async function issueSystemCertificate(
  platform: Platform,
  request: SystemCertificateRequest,
): Promise<SystemCertificateBundle> {
  const pair = await generateSystemKeyPair(platform.profile);
  return { keyPem: pair.privateKeyPem, ...(await certifySystemKey(platform, pair.publicKeyPem, request)) };
}

/** A system key pair of the profile, on the thread pool. */
export function generateSystemKeyPair(
  profile: CryptoProfile,
): Promise<{ privateKeyPem: string; publicKeyPem: string }> {
  return profile === 'gm' ? generateSm2KeyPair() : generateRsaKeyPair(2048);
}

/**
 * Certifies a public key (SPKI PEM) generated elsewhere: asynchronously, or by the department itself.
 * The key must be of the platform's profile: SM2 under gm, RSA under intl.
 */
export async function certifySystemKey(
  platform: Platform,
  publicKeyPem: string,
  request: SystemCertificateRequest,
): Promise<SystemCertificate> {
  const { deptCode, deptName, systemId } = request;
  if (!USCC_SHAPE.test(deptCode)) {
    throw new UsccInvalid(
      `department code "${deptCode}" is not 18 characters of the unified social credit code alphabet`,
    );
  }
  if (deptName.length < 1 || deptName.length > 200) {
    throw new DepartmentNameInvalid('the department name must be 1-200 characters');
  }
  assertSystemId(systemId);
  const days = validityDays(request.days);
  const now = wholeSeconds(request.now ?? new Date());
  const subject: [string, string][] = [
    ['C', 'CN'],
    ['O', deptName],
    ['OU', deptCode],
    ['CN', systemId],
  ];
  const profile = {
    notBefore: now,
    notAfter: addDays(now, days),
    subject,
    keyUsage: { digitalSignature: true, keyEncipherment: true },
    extKeyUsage: { clientAuth: true },
    sanUri: identityUri({ deptCode, systemId }),
  };
  const ca = platform.caCert;
  let certPem: string;
  if (platform.profile === 'gm' || !ca) {
    if (!isSm2Key(publicKeyPem)) {
      throw new CertKeyTypeInvalid('this platform is of the gm profile: it certifies SM2 keys only');
    }
    // @peculiar/x509 is loaded only when a gm platform issues (see gm-x509.ts).
    const { sm2EndEntity } = await import('./gm-x509.js');
    certPem = await sm2EndEntity({
      ...profile,
      caSigner: platform.caSigner,
      caCertPem: platform.caCertPem,
      publicKeyPem,
      serialHex: randomSerialHex(),
    });
  } else {
    if (isSm2Key(publicKeyPem)) {
      throw new CertKeyTypeInvalid('this platform is of the intl profile: it certifies RSA keys only');
    }
    const cert = await newCertificate({
      ...profile,
      publicKeyPem,
      issuer: ca,
      issuerSigner: platform.caSigner,
    });
    certPem = forge.pki.certificateToPem(cert);
  }
  const x509 = new X509Certificate(certPem);
  return {
    certPem,
    caPem: platform.caCertPem,
    serial: x509.serialNumber.toLowerCase(),
    notBefore: new Date(x509.validFrom),
    notAfter: new Date(x509.validTo),
    fingerprint256: x509.fingerprint256,
  };
}

export function identityUri(identity: SystemIdentity): string {
  return `urn:govshare:${identity.deptCode}:${identity.systemId}`;
}

/**
 * The (department, system) a certificate names, from its one `urn:govshare:` SAN URI. Pass the cached
 * X509Certificate on the hot path: node:crypto parses nothing again.
 */
export function parseSystemIdentity(cert: string | X509Certificate): SystemIdentity {
  const x509 = typeof cert === 'string' ? new X509Certificate(cert) : cert;
  // node quotes SAN values holding separators, so a crafted DNS name cannot pose as a URI entry.
  const matches = (x509.subjectAltName ?? '')
    .split(', ')
    .map((entry) => IDENTITY_URI.exec(entry))
    .filter((m) => m !== null);
  if (matches.length !== 1) {
    throw new CertIdentityInvalid(
      `certificate ${x509.serialNumber.toLowerCase()} must carry exactly one SAN URI urn:govshare:<deptCode>:<systemId>`,
    );
  }
  const [, deptCode, systemId] = matches[0]!;
  return { deptCode: deptCode!, systemId: systemId! };
}

/** The validity asked for, checked: whole days from 1 to 825, 365 when not given. */
export function validityDays(days: number | undefined): number {
  const value = days ?? DEFAULT_CERT_DAYS;
  if (!Number.isInteger(value) || value < 1 || value > MAX_CERT_DAYS) {
    throw new CertValidityInvalid(
      `validity must be a whole number of days from 1 to ${MAX_CERT_DAYS}, not ${value}`,
    );
  }
  return value;
}

export function assertSystemId(systemId: string): void {
  if (!SYSTEM_ID_REGEXP.test(systemId)) {
    throw new SystemIdInvalid(
      `system id "${systemId}" must be 2-63 characters of lowercase letters, digits and "-", starting with a letter or digit`,
    );
  }
}

export interface WrittenBundle {
  keyPath: string;
  certPath: string;
  caPath: string;
}

/** Writes key.pem (0600), cert.pem and ca.pem into dir (created 0700 when missing). */
/**
 * Throws CERT_BUNDLE_EXISTS when `dir` already holds a key and `force` is not set. Ask before issuing: a
 * certificate issued and then refused its directory would be on record with its private key lost.
 */
export function checkBundleTarget(dir: string, options: { force?: boolean } = {}): void {
  const keyPath = join(dir, 'key.pem');
  if (existsSync(keyPath) && !options.force) {
    throw new BundleExists(`${keyPath} already exists: pass force to replace it (the old key is lost)`);
  }
}

export async function writeCertificateBundle(
  dir: string,
  bundle: SystemCertificateBundle,
  options: { force?: boolean } = {},
): Promise<WrittenBundle> {
  const keyPath = join(dir, 'key.pem');
  const certPath = join(dir, 'cert.pem');
  const caPath = join(dir, 'ca.pem');
  if (!existsSync(dir)) await mkdir(dir, { recursive: true, mode: 0o700 });
  checkBundleTarget(dir, options);
  // Tighten an existing file before the new key goes into it.
  if (existsSync(keyPath)) await chmod(keyPath, 0o600);
  await writeFile(keyPath, bundle.keyPem, { mode: 0o600 });
  await writeFile(certPath, bundle.certPem, { mode: 0o644 });
  await writeFile(caPath, bundle.caPem, { mode: 0o644 });
  return { keyPath, certPath, caPath };
}
