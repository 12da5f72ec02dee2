/**
 * Small X.509 helpers shared by the CA, the issuer and the CRL builder: serial numbers, names, key
 * conversion and validity arithmetic. node-forge builds and signs; node:crypto generates keys.
 */
import { generateKeyPair, type KeyObject, randomBytes, sign } from 'node:crypto';
import { isIP } from 'node:net';
import { promisify } from 'node:util';
import forge from 'node-forge';
import type { Signer } from './signer.js';

const generateKeyPairAsync = promisify(generateKeyPair);

export interface RsaKeyPairPem {
  privateKeyPem: string;
  publicKeyPem: string;
}

/** RSA keys come from node:crypto (OpenSSL, on the thread pool); forge's JS key generation is far slower. */
export async function generateRsaKeyPair(modulusLength: 2048 | 3072): Promise<RsaKeyPairPem> {
  const { privateKey, publicKey } = await generateKeyPairAsync('rsa', {
    modulusLength,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  return { privateKeyPem: privateKey, publicKeyPem: publicKey };
}

/**
 * A fresh certificate serial: 16 random bytes, top bit cleared (a positive INTEGER needs no 0x00 pad)
 * and a first byte of at least 0x10, so the lowercase hex is always 32 characters with no leading zero.
 * That string is exactly what `openssl x509 -serial` and node's `X509Certificate.serialNumber` print,
 * lowercased, and what `BigInt('0x' + s).toString(16)` gives back: every tool agrees on the keyid.
 */
export function randomSerialHex(): string {
  for (;;) {
    const bytes = randomBytes(16);
    bytes[0] = bytes[0]! & 0x7f;
    if (bytes[0] >= 0x10) return bytes.toString('hex');
  }
}

/**
 * RSA PKCS#1 v1.5 with SHA-256 over forge's binary string, by OpenSSL: ~3 ms for RSA-3072 where forge's
 * JavaScript RSA takes ~170 ms and blocks the event loop. These signatures are deterministic, so the bytes
 * are exactly those forge's `key.sign(md.sha256…)` gives (a test compares them).
 */
export function signSha256Rsa(bytes: string, key: KeyObject): string {
  return sign('sha256', Buffer.from(bytes, 'binary'), key).toString('binary');
}

/**
 * `cert.sign(key, md.sha256.create())` with the signature made by a `Signer` (RSA PKCS#1 v1.5, SHA-256):
 * the same TBS forge builds and the same bytes, since these signatures are deterministic (a test compares
 * them), but the key stays in the Signer.
 */
export async function signCertificate(cert: forge.pki.Certificate, signer: Signer): Promise<void> {
  cert.signatureOid = forge.pki.oids.sha256WithRSAEncryption!;
  cert.siginfo.algorithmOid = cert.signatureOid;
  const tbs = (
    forge.pki as unknown as { getTBSCertificate(c: forge.pki.Certificate): forge.asn1.Asn1 }
  ).getTBSCertificate(cert);
  const signature = await signer.sign(
    Buffer.from(forge.asn1.toDer(tbs).getBytes(), 'binary'),
    'rsa-v1_5-sha256',
  );
  // forge writes `tbsCertificate` and `signature` when encoding a certificate it did not parse.
  (cert as forge.pki.Certificate & { tbsCertificate: forge.asn1.Asn1 }).tbsCertificate = tbs;
  cert.signature = signature.toString('binary');
}

export type NameAttribute = { type?: string; shortName?: string; value: string; valueTagClass?: number };

/** C is a PrintableString; the other attributes are UTF8String so Chinese department names survive. */
export function utf8Name(pairs: [shortName: string, value: string][]): NameAttribute[] {
  return pairs.map(([shortName, value]) =>
    shortName === 'C' ? { shortName, value } : { shortName, value, valueTagClass: forge.asn1.Type.UTF8 },
  );
}

/**
 * The attributes of a parsed certificate's subject, ready to be set as another certificate's issuer.
 * forge keeps parsed UTF8String values as raw UTF-8 bytes but encodes them again when writing: decode
 * them first, or a Chinese CA name would be encoded twice and no issued certificate would chain.
 */
export function issuerAttributesOf(ca: forge.pki.Certificate): NameAttribute[] {
  return ca.subject.attributes.map((attr) => {
    const value = String(attr.value);
    const tag = attr.valueTagClass as number | undefined;
    return {
      ...(attr.type ? { type: attr.type } : {}),
      ...(attr.shortName ? { shortName: attr.shortName } : {}),
      value: tag === forge.asn1.Type.UTF8 ? forge.util.decodeUtf8(value) : value,
      ...(tag === undefined ? {} : { valueTagClass: tag }),
    };
  });
}

/** A subject attribute's value as text (UTF8String values decoded). */
export function nameValue(cert: forge.pki.Certificate, shortName: string): string | undefined {
  const attr = issuerAttributesOf(cert).find((a) => a.shortName === shortName);
  return attr?.value;
}

/** The subjectKeyIdentifier of a certificate as bytes, for the authorityKeyIdentifier of what it signs. */
export function subjectKeyIdentifierBytes(cert: forge.pki.Certificate): string {
  const ext = cert.getExtension('subjectKeyIdentifier') as { subjectKeyIdentifier?: string } | undefined;
  if (ext?.subjectKeyIdentifier) return forge.util.hexToBytes(ext.subjectKeyIdentifier);
  return cert.generateSubjectKeyIdentifier().getBytes();
}

/** The certificate's subject Name exactly as encoded in its DER (a CRL's issuer must match it byte for byte). */
export function subjectNameAsn1(certPem: string): forge.asn1.Asn1 {
  const der = forge.pem.decode(certPem)[0]!.body;
  const certificate = forge.asn1.fromDer(der);
  const tbs = (certificate.value as forge.asn1.Asn1[])[0]!;
  const fields = tbs.value as forge.asn1.Asn1[];
  const hasVersion = fields[0]!.tagClass === forge.asn1.Class.CONTEXT_SPECIFIC;
  // TBSCertificate: [version], serialNumber, signature, issuer, validity, subject, ...
  return fields[hasVersion ? 5 : 4]!;
}

/** X.509 times carry whole seconds. */
export function wholeSeconds(date: Date): Date {
  return new Date(Math.floor(date.getTime() / 1000) * 1000);
}

export function addYears(date: Date, years: number): Date {
  const next = new Date(date.getTime());
  next.setUTCFullYear(next.getUTCFullYear() + years);
  return next;
}

export function addDays(date: Date, days: number): Date {
  return new Date(date.getTime() + days * 86_400_000);
}

/** A certificate cannot outlive the CA that vouches for it. */
export function notAfterWithin(ca: forge.pki.Certificate, wanted: Date): Date {
  return wanted.getTime() > ca.validity.notAfter.getTime() ? ca.validity.notAfter : wanted;
}

/** What an end-entity certificate issued by the platform CA says; `newCertificate` does the rest. */
export interface EndEntityProfile {
  /** SPKI PEM of the key being certified. */
  publicKeyPem: string;
  issuer: forge.pki.Certificate;
  issuerSigner: Signer;
  notBefore: Date;
  /** Wanted end of validity; never past the issuer's own. */
  notAfter: Date;
  subject: [shortName: string, value: string][];
  keyUsage: { digitalSignature?: boolean; keyEncipherment?: boolean };
  /** Extended key usages, e.g. { clientAuth: true }; none when omitted. */
  extKeyUsage?: Record<string, boolean>;
  /** The one SAN URI that names what the certificate identifies. */
  sanUri?: string;
  /** Instead of sanUri: DNS names and IP addresses (a TLS server certificate). */
  sanHosts?: string[];
}

/**
 * One end-entity certificate signed by the platform CA: random serial, validity capped by the issuer's,
 * UTF-8 subject, not a CA, the key usages given, one SAN URI, and key identifiers linking it to the issuer.
 * Both issuers (system certificates and the platform's own signing certificate) go through here.
 */
export async function newCertificate(profile: EndEntityProfile): Promise<forge.pki.Certificate> {
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(profile.publicKeyPem);
  cert.serialNumber = randomSerialHex();
  cert.validity.notBefore = profile.notBefore;
  cert.validity.notAfter = notAfterWithin(profile.issuer, profile.notAfter);
  cert.setSubject(utf8Name(profile.subject));
  cert.setIssuer(issuerAttributesOf(profile.issuer));
  cert.setExtensions([
    { name: 'basicConstraints', critical: true, cA: false },
    { name: 'keyUsage', critical: true, ...profile.keyUsage },
    ...(profile.extKeyUsage ? [{ name: 'extKeyUsage', ...profile.extKeyUsage }] : []),
    {
      name: 'subjectAltName',
      altNames: profile.sanHosts
        ? profile.sanHosts.map((host) => (isIP(host) ? { type: 7, ip: host } : { type: 2, value: host }))
        : [{ type: 6, value: profile.sanUri }],
    },
    { name: 'authorityKeyIdentifier', keyIdentifier: subjectKeyIdentifierBytes(profile.issuer) },
    { name: 'subjectKeyIdentifier' },
  ]);
  await signCertificate(cert, profile.issuerSigner);
  return cert;
}
