/**
 * Key custody behind one interface. Everything the platform signs (certificates and CRLs by the CA,
 * audit checkpoints, response signatures, manifests) goes through a `Signer`: the private key never
 * leaves it. `FileKeySigner` holds a PEM key file; a GM/T 0018 hardware module (密码机) implements the
 * same interface later without touching the callers.
 */
import {
  constants,
  createPrivateKey,
  createPublicKey,
  type KeyObject,
  sign,
  type X509Certificate,
} from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isSm2Key, sm2PrivateKeyHex, sm2PublicKeyHex, sm2PublicKeyPem, sm2Sign } from './sm2.js';

/**
 * The signature schemes the platform uses, named as in RFC 9421's registry where it has a name:
 * - `rsa-v1_5-sha256`: RSASSA-PKCS1-v1_5 with SHA-256 (X.509 certificates and CRLs under intl);
 * - `rsa-pss-sha512`: RSASSA-PSS, SHA-512, salt 64 (RFC 9421 responses);
 * - `rsa-pss-sha256`: RSASSA-PSS, SHA-256, salt 32 (audit checkpoints, the JOSE PS256 parameters);
 * - `sm2-sm3`: SM2 over SM3(Z‖M), default ID 1234567812345678; 64-byte r‖s.
 */
export type SignatureScheme = 'rsa-v1_5-sha256' | 'rsa-pss-sha512' | 'rsa-pss-sha256' | 'sm2-sm3';

export type SignerKeyType = 'rsa' | 'sm2';

export const SCHEMES_BY_KEY: Record<SignerKeyType, readonly SignatureScheme[]> = {
  rsa: ['rsa-v1_5-sha256', 'rsa-pss-sha512', 'rsa-pss-sha256'],
  sm2: ['sm2-sm3'],
};

export interface Signer {
  /** The kind of key held; it decides which schemes `sign` accepts (SCHEMES_BY_KEY). */
  readonly keyType: SignerKeyType;
  /** The public key as SPKI PEM. */
  readonly publicKeyPem: string;
  /** The public key for node:crypto (RSA verification, `X509Certificate.checkPrivateKey`-style checks). */
  readonly publicKey: KeyObject;
  /** The signature over `data` by `scheme`; rejects a scheme the key cannot do. */
  sign(data: Uint8Array, scheme: SignatureScheme): Promise<Buffer>;
}

const RSA_SCHEMES = {
  'rsa-v1_5-sha256': { hash: 'sha256', options: {} },
  'rsa-pss-sha512': { hash: 'sha512', options: { padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 64 } },
  'rsa-pss-sha256': { hash: 'sha256', options: { padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 } },
} as const;

/** Whether a certificate certifies the signer's key (SPKI bytes compared: works for SM2 keys too). */
export function signerMatchesCertificate(cert: X509Certificate, signer: Signer): boolean {
  const certKey = cert.publicKey.export({ type: 'spki', format: 'der' });
  return certKey.equals(signer.publicKey.export({ type: 'spki', format: 'der' }));
}

/** The scheme of a key that has one natural scheme for `purpose`. */
export function schemeFor(
  keyType: SignerKeyType,
  rsaScheme: Exclude<SignatureScheme, 'sm2-sm3'>,
): SignatureScheme {
  return keyType === 'sm2' ? 'sm2-sm3' : rsaScheme;
}

/** A signer over a PEM private key (PKCS#8; RSA or SM2) held in memory. */
export class FileKeySigner implements Signer {
  readonly keyType: SignerKeyType;
  readonly publicKeyPem: string;
  readonly publicKey: KeyObject;
  readonly #rsaKey: KeyObject | undefined;
  readonly #sm2: { d: string; p: string } | undefined;

  private constructor(privateKeyPem: string) {
    if (isSm2Key(privateKeyPem)) {
      const d = sm2PrivateKeyHex(privateKeyPem);
      const p = sm2PublicKeyHex(privateKeyPem);
      this.keyType = 'sm2';
      this.#sm2 = { d, p };
      this.publicKeyPem = sm2PublicKeyPem(p);
    } else {
      const key = createPrivateKey(privateKeyPem);
      if (key.asymmetricKeyType !== 'rsa') {
        throw new TypeError(`a signing key must be RSA or SM2, not ${key.asymmetricKeyType ?? 'unknown'}`);
      }
      this.keyType = 'rsa';
      this.#rsaKey = key;
      this.publicKeyPem = createPublicKey(key).export({ type: 'spki', format: 'pem' }).toString();
    }
    this.publicKey = createPublicKey(this.publicKeyPem);
  }

  static fromPem(privateKeyPem: string): FileKeySigner {
    return new FileKeySigner(privateKeyPem);
  }

  static fromFile(path: string): FileKeySigner {
    return new FileKeySigner(readFileSync(path, 'utf8'));
  }

  /** The RSA key for callers that still need a KeyObject (TLS, legacy paths); undefined for SM2. */
  get rsaPrivateKey(): KeyObject | undefined {
    return this.#rsaKey;
  }

  sign(data: Uint8Array, scheme: SignatureScheme): Promise<Buffer> {
    if (!SCHEMES_BY_KEY[this.keyType].includes(scheme)) {
      return Promise.reject(new TypeError(`a ${this.keyType} key cannot sign ${scheme}`));
    }
    if (this.#sm2) {
      try {
        return Promise.resolve(sm2Sign(data, this.#sm2.d, this.#sm2.p));
      } catch (err) {
        return Promise.reject(err);
      }
    }
    const { hash, options } = RSA_SCHEMES[scheme as keyof typeof RSA_SCHEMES];
    const key = this.#rsaKey!;
    // The callback form runs on libuv's thread pool: RSA signing costs ~0.7 ms of CPU.
    return new Promise((resolve, reject) =>
      sign(hash, data, { key, ...options }, (err, signature) => (err ? reject(err) : resolve(signature))),
    );
  }
}
