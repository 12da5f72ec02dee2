/**
 * Certificate revocation lists (RFC 5280 section 5). node-forge reads and writes certificates but not
 * CRLs, so the CertificateList is assembled with forge.asn1 and signed by the CA's Signer (through
 * OpenSSL: the same bytes forge would give, 50 times faster). Under gm @peculiar/x509 builds it.
 */
import forge from 'node-forge';
import { CertSerialInvalid, RevocationReasonInvalid } from './errors.js';
import type { Platform } from './platform.js';
import { REVOCATION_REASONS, type RevocationReason } from './schema.js';
import { subjectKeyIdentifierBytes, subjectNameAsn1, wholeSeconds } from './x509.js';

export { RevocationReason } from './schema.js';

export interface RevokedCertificate {
  /** Lowercase hex, as recorded at issue. */
  serial: string;
  revokedAt: Date;
  reason: RevocationReason;
}

export interface CrlOptions {
  /** Monotonically increasing; gaps are allowed (RFC 5280 5.2.3). */
  crlNumber: number;
  thisUpdate: Date;
  nextUpdate: Date;
}

const { Class, Type } = forge.asn1;
const OID = {
  sha256WithRSAEncryption: '1.2.840.113549.1.1.11',
  reasonCode: '2.5.29.21',
  authorityKeyIdentifier: '2.5.29.35',
  cRLNumber: '2.5.29.20',
} as const;

/** CRLReason ENUMERATED values (RFC 5280 5.3.1); 7 is unused, removeFromCRL (8) is never issued here. */
const REASON_CODES: Record<RevocationReason, number> = {
  unspecified: 0,
  keyCompromise: 1,
  caCompromise: 2,
  affiliationChanged: 3,
  superseded: 4,
  cessationOfOperation: 5,
  certificateHold: 6,
  privilegeWithdrawn: 9,
};

/**
 * A DER CertificateList v2 signed by the platform CA through its Signer: SHA-256 with RSA under intl,
 * SM2-with-SM3 under gm (built by @peculiar/x509, see gm-x509.ts).
 */
export async function buildCrl(
  platform: Platform,
  revoked: RevokedCertificate[],
  options: CrlOptions,
): Promise<Buffer> {
  if (!Number.isSafeInteger(options.crlNumber) || options.crlNumber < 0) {
    throw new RangeError(`crlNumber must be a non-negative integer, not ${options.crlNumber}`);
  }
  if (options.nextUpdate.getTime() <= options.thisUpdate.getTime()) {
    throw new RangeError('nextUpdate must be after thisUpdate');
  }
  if (platform.profile === 'gm' || !platform.caCert) {
    for (const entry of revoked) checkEntry(entry);
    const { sm2Crl } = await import('./gm-x509.js');
    return sm2Crl({
      caSigner: platform.caSigner,
      caCertPem: platform.caCertPem,
      crlNumber: options.crlNumber,
      thisUpdate: wholeSeconds(options.thisUpdate),
      nextUpdate: wholeSeconds(options.nextUpdate),
      entries: revoked.map((entry) => ({
        serialHex: entry.serial,
        revokedAt: wholeSeconds(entry.revokedAt),
        // RFC 5280 5.3.1: the reasonCode extension is absent rather than "unspecified".
        ...(entry.reason === 'unspecified' ? {} : { reason: REASON_CODES[entry.reason] }),
      })),
    });
  }
  const caCert = platform.caCert;
  const tbsFields: forge.asn1.Asn1[] = [
    integer(bytesOfUnsigned(1n)), // v2
    sha256WithRsa(),
    subjectNameAsn1(platform.caCertPem),
    time(options.thisUpdate),
    time(options.nextUpdate),
  ];
  // An empty revokedCertificates SEQUENCE is not allowed: the field is left out instead.
  if (revoked.length > 0) tbsFields.push(seq(revoked.map(revokedEntry)));
  tbsFields.push(
    node(Class.CONTEXT_SPECIFIC, 0, true, [
      seq([
        extension(OID.authorityKeyIdentifier, false, [
          seq([node(Class.CONTEXT_SPECIFIC, 0, false, subjectKeyIdentifierBytes(caCert))]),
        ]),
        extension(OID.cRLNumber, false, [integer(bytesOfUnsigned(BigInt(options.crlNumber)))]),
      ]),
    ]),
  );
  const tbs = seq(tbsFields);
  const tbsDer = Buffer.from(forge.asn1.toDer(tbs).getBytes(), 'binary');
  const signature = (await platform.caSigner.sign(tbsDer, 'rsa-v1_5-sha256')).toString('binary');
  const certificateList = seq([
    tbs,
    sha256WithRsa(),
    node(Class.UNIVERSAL, Type.BITSTRING, false, `\x00${signature}`),
  ]);
  return Buffer.from(forge.asn1.toDer(certificateList).getBytes(), 'binary');
}

export function isRevocationReason(value: string): value is RevocationReason {
  return (REVOCATION_REASONS as readonly string[]).includes(value);
}

function checkEntry(entry: RevokedCertificate): void {
  if (!/^[0-9a-f]+$/.test(entry.serial)) {
    throw new CertSerialInvalid(`serial "${entry.serial}" is not lowercase hexadecimal`);
  }
  if (!isRevocationReason(entry.reason)) {
    throw new RevocationReasonInvalid(`"${entry.reason}" is not one of ${REVOCATION_REASONS.join(', ')}`);
  }
}

function revokedEntry(entry: RevokedCertificate): forge.asn1.Asn1 {
  checkEntry(entry);
  const fields = [integer(bytesOfUnsigned(BigInt(`0x${entry.serial}`))), time(entry.revokedAt)];
  // RFC 5280 5.3.1: the reasonCode extension is absent rather than "unspecified".
  if (entry.reason !== 'unspecified') {
    const reason = node(
      Class.UNIVERSAL,
      Type.ENUMERATED,
      false,
      String.fromCharCode(REASON_CODES[entry.reason]),
    );
    fields.push(seq([extension(OID.reasonCode, false, [reason])]));
  }
  return seq(fields);
}

function extension(oid: string, critical: boolean, value: forge.asn1.Asn1[]): forge.asn1.Asn1 {
  const der = value.map((v) => forge.asn1.toDer(v).getBytes()).join('');
  return seq([
    node(Class.UNIVERSAL, Type.OID, false, forge.asn1.oidToDer(oid).getBytes()),
    ...(critical ? [node(Class.UNIVERSAL, Type.BOOLEAN, false, '\xff')] : []),
    node(Class.UNIVERSAL, Type.OCTETSTRING, false, der),
  ]);
}

function sha256WithRsa(): forge.asn1.Asn1 {
  return seq([
    node(Class.UNIVERSAL, Type.OID, false, forge.asn1.oidToDer(OID.sha256WithRSAEncryption).getBytes()),
    node(Class.UNIVERSAL, Type.NULL, false, ''),
  ]);
}

/** UTCTime through 2049, GeneralizedTime from 2050 (RFC 5280 5.1.2.4). */
function time(date: Date): forge.asn1.Asn1 {
  const whole = wholeSeconds(date);
  return whole.getUTCFullYear() < 2050
    ? node(Class.UNIVERSAL, Type.UTCTIME, false, forge.asn1.dateToUtcTime(whole))
    : node(Class.UNIVERSAL, Type.GENERALIZEDTIME, false, forge.asn1.dateToGeneralizedTime(whole));
}

/** Minimal two's-complement bytes of a non-negative integer (a 0x00 pad when the top bit is set). */
function bytesOfUnsigned(value: bigint): string {
  let hex = value.toString(16);
  if (hex.length % 2 === 1) hex = `0${hex}`;
  if (Number.parseInt(hex.slice(0, 2), 16) >= 0x80) hex = `00${hex}`;
  return forge.util.hexToBytes(hex);
}

function integer(bytes: string): forge.asn1.Asn1 {
  return node(Class.UNIVERSAL, Type.INTEGER, false, bytes);
}

function seq(value: forge.asn1.Asn1[]): forge.asn1.Asn1 {
  return node(Class.UNIVERSAL, Type.SEQUENCE, true, value);
}

function node(
  tagClass: forge.asn1.Class,
  type: number,
  constructed: boolean,
  value: string | forge.asn1.Asn1[],
) {
  return forge.asn1.create(tagClass, type as forge.asn1.Type, constructed, value);
}
