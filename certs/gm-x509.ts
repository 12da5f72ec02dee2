/**
 * SM2 certificates and CRLs (the gm profile) with @peculiar/x509. node-forge knows RSA keys only, so
 * the gm CA builds with @peculiar/x509 instead, and signs through the platform's `Signer`:
 *
 * - an `IAlgorithm` registered in @peculiar/x509's container maps `{ name: 'SM2', hash: 'SM3' }` to
 *   SM2-with-SM3 (OID 1.2.156.10197.1.501, no parameters, as GM/T 0015 and OpenSSL write it);
 * - the `crypto` handed to the generators is node's WebCrypto except for `subtle.sign` with SM2, which
 *   asks the Signer for r‖s and returns the DER SEQUENCE { r, s } the certificate carries (the default
 *   signature formatter then passes it through unchanged).
 *
 * Verification never uses WebCrypto or node's X509Certificate.verify (neither knows SM2 with an ID):
 * sm2-x509-verify.ts reads the TBS bytes and checks the signature with sm2.ts. This module is imported
 * dynamically (loadGmX509) by the gm paths that build certificates and CRLs: @peculiar/x509 takes a
 * noticeable time to load, which intl platforms and every process start should not pay.
 */
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import { AlgorithmIdentifier } from '@peculiar/asn1-x509';
import * as x509 from '@peculiar/x509';
import { container } from 'tsyringe';
import type { Signer } from './signer.js';
import { SM_OIDS, sm2SignatureToDer } from './sm2.js';

type Algorithm = webcrypto.Algorithm;
type CryptoKey = webcrypto.CryptoKey;
type Crypto = webcrypto.Crypto;

const SM2_WITH_SM3 = { name: 'SM2', hash: { name: 'SM3' } } as const;

class Sm2Algorithm implements x509.IAlgorithm {
  toAsnAlgorithm(alg: Algorithm): AlgorithmIdentifier | null {
    if (alg.name.toUpperCase() !== 'SM2') return null;
    return new AlgorithmIdentifier({ algorithm: SM_OIDS.sm2WithSm3 });
  }
  toWebAlgorithm(alg: AlgorithmIdentifier): Algorithm | null {
    return alg.algorithm === SM_OIDS.sm2WithSm3 ? { ...SM2_WITH_SM3 } : null;
  }
}
container.registerSingleton(x509.diAlgorithm, Sm2Algorithm);

/** The CryptoKey-shaped handle @peculiar/x509 passes back to `subtle.sign`: it carries only the Signer. */
interface SignerKey extends CryptoKey {
  signer: Signer;
}

function signerKey(signer: Signer): SignerKey {
  if (signer.keyType !== 'sm2') throw new TypeError('the gm CA signs with an SM2 key');
  return {
    algorithm: { ...SM2_WITH_SM3 },
    extractable: false,
    type: 'private',
    usages: ['sign'],
    signer,
  } as SignerKey;
}

/** node's WebCrypto, with SM2 signing delegated to the Signer. */
function cryptoFor(): Crypto {
  const subtle = webcrypto.subtle;
  const sm2Subtle = {
    digest: subtle.digest.bind(subtle),
    exportKey: subtle.exportKey.bind(subtle),
    importKey: subtle.importKey.bind(subtle),
    verify: subtle.verify.bind(subtle),
    async sign(algorithm: Algorithm, key: CryptoKey, data: webcrypto.BufferSource): Promise<ArrayBuffer> {
      if ('signer' in key) {
        const bytes = ArrayBuffer.isView(data)
          ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
          : new Uint8Array(data);
        const rs = await (key as SignerKey).signer.sign(bytes, 'sm2-sm3');
        const der = sm2SignatureToDer(rs);
        return der.buffer.slice(der.byteOffset, der.byteOffset + der.byteLength) as ArrayBuffer;
      }
      return subtle.sign(algorithm as never, key as never, data as never);
    },
  };
  return {
    subtle: sm2Subtle as unknown as webcrypto.SubtleCrypto,
    getRandomValues: webcrypto.getRandomValues.bind(webcrypto),
    randomUUID: webcrypto.randomUUID.bind(webcrypto),
  } as Crypto;
}

function spkiDer(publicKeyPem: string): ArrayBuffer {
  const body = publicKeyPem.replace(/-----(BEGIN|END) PUBLIC KEY-----|\s+/g, '');
  const der = Buffer.from(body, 'base64');
  return der.buffer.slice(der.byteOffset, der.byteOffset + der.byteLength) as ArrayBuffer;
}

/** An RFC 4514 name from (short name, value) pairs, values escaped. */
function rfc4514(pairs: [string, string][]): string {
  const escaped = (value: string) =>
    value
      .replace(/([,+"\\<>;=])/g, '\\$1')
      .replace(/^([ #])/, '\\$1')
      .replace(/ $/, '\\ ');
  return pairs.map(([type, value]) => `${type}=${escaped(value)}`).join(', ');
}

export interface Sm2CaOptions {
  signer: Signer;
  subject: [shortName: string, value: string][];
  serialHex: string;
  notBefore: Date;
  notAfter: Date;
}

/** A self-signed SM2 root CA certificate (PEM). */
export async function selfSignedSm2Ca(options: Sm2CaOptions): Promise<string> {
  const crypto = cryptoFor();
  const name = rfc4514(options.subject);
  const publicKey = new x509.PublicKey(spkiDer(options.signer.publicKeyPem));
  const cert = await x509.X509CertificateGenerator.create(
    {
      serialNumber: options.serialHex,
      subject: name,
      issuer: name,
      notBefore: options.notBefore,
      notAfter: options.notAfter,
      publicKey,
      signingKey: signerKey(options.signer),
      signingAlgorithm: { ...SM2_WITH_SM3 },
      extensions: [
        new x509.BasicConstraintsExtension(true, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
        await x509.SubjectKeyIdentifierExtension.create(publicKey, false, crypto),
      ],
    },
    crypto,
  );
  return cert.toString('pem');
}

export interface Sm2EndEntityOptions {
  caSigner: Signer;
  caCertPem: string;
  publicKeyPem: string;
  serialHex: string;
  subject: [shortName: string, value: string][];
  notBefore: Date;
  notAfter: Date;
  keyUsage: { digitalSignature?: boolean; keyEncipherment?: boolean };
  extKeyUsage?: { clientAuth?: boolean; serverAuth?: boolean };
  sanUri: string;
}

/** An end-entity SM2 certificate signed by the SM2 CA: the same profile as newCertificate's (x509.ts). */
export async function sm2EndEntity(options: Sm2EndEntityOptions): Promise<string> {
  const crypto = cryptoFor();
  const ca = new x509.X509Certificate(options.caCertPem);
  const publicKey = new x509.PublicKey(spkiDer(options.publicKeyPem));
  const usage =
    (options.keyUsage.digitalSignature ? x509.KeyUsageFlags.digitalSignature : 0) |
    (options.keyUsage.keyEncipherment ? x509.KeyUsageFlags.keyEncipherment : 0);
  const eku = [
    ...(options.extKeyUsage?.clientAuth ? [x509.ExtendedKeyUsage.clientAuth] : []),
    ...(options.extKeyUsage?.serverAuth ? [x509.ExtendedKeyUsage.serverAuth] : []),
  ];
  const cert = await x509.X509CertificateGenerator.create(
    {
      serialNumber: options.serialHex,
      subject: rfc4514(options.subject),
      issuer: ca.subjectName,
      notBefore: options.notBefore,
      notAfter: options.notAfter.getTime() > ca.notAfter.getTime() ? ca.notAfter : options.notAfter,
      publicKey,
      signingKey: signerKey(options.caSigner),
      signingAlgorithm: { ...SM2_WITH_SM3 },
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(usage, true),
        ...(eku.length > 0 ? [new x509.ExtendedKeyUsageExtension(eku)] : []),
        new x509.SubjectAlternativeNameExtension([{ type: 'url', value: options.sanUri }]),
        await x509.AuthorityKeyIdentifierExtension.create(ca, false, crypto),
        await x509.SubjectKeyIdentifierExtension.create(publicKey, false, crypto),
      ],
    },
    crypto,
  );
  return cert.toString('pem');
}

export interface Sm2CrlEntry {
  serialHex: string;
  revokedAt: Date;
  /** CRLReason code (RFC 5280 5.3.1); absent for "unspecified". */
  reason?: number;
}

/** A v2 CRL signed by the SM2 CA (DER), with authorityKeyIdentifier and cRLNumber. */
export async function sm2Crl(options: {
  caSigner: Signer;
  caCertPem: string;
  crlNumber: number;
  thisUpdate: Date;
  nextUpdate: Date;
  entries: Sm2CrlEntry[];
}): Promise<Buffer> {
  const crypto = cryptoFor();
  const ca = new x509.X509Certificate(options.caCertPem);
  const crl = await x509.X509CrlGenerator.create(
    {
      issuer: ca.subjectName,
      thisUpdate: options.thisUpdate,
      nextUpdate: options.nextUpdate,
      entries: options.entries.map((entry) => ({
        serialNumber: entry.serialHex,
        revocationDate: entry.revokedAt,
        ...(entry.reason === undefined ? {} : { reason: entry.reason }),
      })),
      signingKey: signerKey(options.caSigner),
      signingAlgorithm: { ...SM2_WITH_SM3 },
      extensions: [
        await x509.AuthorityKeyIdentifierExtension.create(ca, false, crypto),
        new x509.Extension('2.5.29.20', false, integerDer(options.crlNumber)),
      ],
    },
    crypto,
  );
  return Buffer.from(crl.rawData);
}

function integerDer(value: number): ArrayBuffer {
  let hex = value.toString(16);
  if (hex.length % 2) hex = `0${hex}`;
  if (Number.parseInt(hex.slice(0, 2), 16) & 0x80) hex = `00${hex}`;
  const bytes = Buffer.from(`02${(hex.length / 2).toString(16).padStart(2, '0')}${hex}`, 'hex');
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
}
