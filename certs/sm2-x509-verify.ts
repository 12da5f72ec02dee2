/**
 * Verifying SM2-with-SM3 certificates and CRLs with asn1js and sm2.ts only: the hot path (the gateway
 * checks each caller certificate against the CA) and every process start stay free of @peculiar/x509,
 * which gm-x509.ts loads only where a gm platform builds certificates and CRLs.
 *
 * node's X509Certificate parses SM2 certificates (names, SAN, validity) but cannot verify them.
 */
import { X509Certificate } from 'node:crypto';
import * as asn1js from 'asn1js';
import { SM_OIDS, type Sm2VerifyKey, sm2SignatureFromDer, sm2Verify, sm2VerifyKey } from './sm2.js';

/** The parts of a signed X.509 structure (certificate or CRL): TBS bytes as encoded, algorithm, signature. */
interface SignedParts {
  tbs: Uint8Array;
  algorithm: string;
  signature: Uint8Array;
}

function derOf(pemOrDer: string | Uint8Array): Uint8Array {
  if (typeof pemOrDer !== 'string') return pemOrDer;
  const body = pemOrDer.replace(/-----(BEGIN|END) [A-Z0-9 ]+-----|\s+/g, '');
  return new Uint8Array(Buffer.from(body, 'base64'));
}

/** Reads the three fields of Certificate / CertificateList without re-encoding the TBS. */
function signedParts(der: Uint8Array): SignedParts | undefined {
  const parsed = asn1js.fromBER(der);
  if (parsed.offset !== der.length || !(parsed.result instanceof asn1js.Sequence)) return undefined;
  const [tbs, algorithm, signature] = parsed.result.valueBlock.value;
  if (!(tbs instanceof asn1js.Sequence) || !(algorithm instanceof asn1js.Sequence)) return undefined;
  const oid = algorithm.valueBlock.value[0];
  if (!(oid instanceof asn1js.ObjectIdentifier) || !(signature instanceof asn1js.BitString)) return undefined;
  return {
    tbs: new Uint8Array(tbs.valueBeforeDecodeView),
    algorithm: oid.valueBlock.toString(),
    signature: new Uint8Array(signature.valueBlock.valueHexView),
  };
}

/** Whether a certificate or CRL (PEM or DER) is signed with SM2-with-SM3. */
export function isSm2Signed(pemOrDer: string | Uint8Array): boolean {
  try {
    return signedParts(derOf(pemOrDer))?.algorithm === SM_OIDS.sm2WithSm3;
  } catch {
    return false;
  }
}

/**
 * Whether a certificate or CRL (PEM or DER) carries a valid SM2-with-SM3 signature by `issuerPublicKey`
 * (SPKI PEM, or a verification key already made), with the default ID. The signature only: names,
 * validity and usage are the caller's checks.
 */
export function verifySm2Signed(
  pemOrDer: string | Uint8Array,
  issuerPublicKey: string | Sm2VerifyKey,
): boolean {
  try {
    const parts = signedParts(derOf(pemOrDer));
    if (!parts || parts.algorithm !== SM_OIDS.sm2WithSm3) return false;
    const rs = sm2SignatureFromDer(parts.signature);
    if (!rs) return false;
    const key = typeof issuerPublicKey === 'string' ? sm2VerifyKey(issuerPublicKey) : issuerPublicKey;
    return sm2Verify(parts.tbs, rs, key);
  } catch {
    return false;
  }
}

/** SM2 check of a certificate against its issuer's certificate: issuer name and signature. */
export function verifyIssuedBy(cert: string | Uint8Array, issuer: string | Uint8Array): boolean {
  try {
    const child = new X509Certificate(derOf(cert));
    const parent = new X509Certificate(derOf(issuer));
    if (!child.checkIssued(parent)) return false;
    const spki = parent.publicKey.export({ type: 'spki', format: 'der' });
    return verifySm2Signed(derOf(cert), spkiPem(new Uint8Array(spki)));
  } catch {
    return false;
  }
}

/** Verifies an SM2 CRL's signature against the CA certificate (its issuer name is the caller's check). */
export function verifySm2Crl(crlDer: Uint8Array, caPem: string): boolean {
  try {
    const spki = new X509Certificate(caPem).publicKey.export({ type: 'spki', format: 'der' });
    return verifySm2Signed(crlDer, spkiPem(new Uint8Array(spki)));
  } catch {
    return false;
  }
}

export function spkiPem(der: Uint8Array): string {
  const b64 = Buffer.from(der).toString('base64');
  return `-----BEGIN PUBLIC KEY-----\n${b64.match(/.{1,64}/g)!.join('\n')}\n-----END PUBLIC KEY-----\n`;
}
