/**
 * The signature algorithms govshare accepts (RFC 9421 §3.3) and the calls behind them: node:crypto for
 * RSA, sm2.ts (sm-crypto-v2) for `sm2-sm3`, SM2 over SM3(Z‖M) with the default ID 1234567812345678 and
 * the 64-byte r‖s as the signature value (the same convention RFC 9421 uses for ECDSA).
 */
import { constants, createPrivateKey, type KeyObject, sign, verify } from 'node:crypto';
import type { CryptoProfile } from '../crypto-profile.js';
import { isSm2Key, sm2PrivateKeyHex, sm2PublicKeyHex, sm2PublicKeyOf, sm2Sign, sm2Verify } from '../sm2.js';
import { SigAlgProfileMismatch, SigAlgUnsupported, SigArgumentInvalid } from './errors.js';

export const SIGNATURE_ALGORITHMS = ['rsa-pss-sha512', 'rsa-v1_5-sha256', 'sm2-sm3'] as const;
export type SignatureAlgorithm = (typeof SIGNATURE_ALGORITHMS)[number];

/** What a platform of each crypto profile accepts: its certificates hold keys of one kind only. */
export const PROFILE_ALGORITHMS: Record<CryptoProfile, readonly SignatureAlgorithm[]> = {
  intl: ['rsa-pss-sha512', 'rsa-v1_5-sha256'],
  gm: ['sm2-sm3'],
};

/** Refuses an algorithm the platform's profile does not allow, before any key is looked up. */
export function checkProfileAlgorithm(alg: SignatureAlgorithm, allowed: readonly SignatureAlgorithm[]): void {
  if (allowed.includes(alg)) return;
  throw new SigAlgProfileMismatch(
    `alg "${alg}" is not accepted by this platform's crypto profile: sign with ${allowed.join(' or ')} ` +
      'using the key of the certificate this platform issued you',
  );
}

/** RFC 9421 §3.3.1: RSASSA-PSS with SHA-512, MGF1 with SHA-512 (OpenSSL's default for PSS) and a 64-byte salt. */
export const PSS_SALT_LENGTH = 64;

interface AlgorithmParams {
  hash: 'sha512' | 'sha256';
  padding: number;
  signSaltLength?: number;
  verifySaltLength?: number;
}

const ALGORITHMS: Record<Exclude<SignatureAlgorithm, 'sm2-sm3'>, AlgorithmParams> = {
  'rsa-pss-sha512': {
    hash: 'sha512',
    padding: constants.RSA_PKCS1_PSS_PADDING,
    signSaltLength: PSS_SALT_LENGTH,
    // Read the salt length from the signature: signers built on Node's createSign default to the maximum
    // salt (190 bytes for RSA-2048) instead of 64, and the salt length does not weaken RSASSA-PSS.
    verifySaltLength: constants.RSA_PSS_SALTLEN_AUTO,
  },
  'rsa-v1_5-sha256': { hash: 'sha256', padding: constants.RSA_PKCS1_PADDING },
};

export function isSignatureAlgorithm(alg: unknown): alg is SignatureAlgorithm {
  return typeof alg === 'string' && (SIGNATURE_ALGORITHMS as readonly string[]).includes(alg);
}

export function unsupportedAlgorithm(alg: string): InstanceType<typeof SigAlgUnsupported> {
  return new SigAlgUnsupported(
    `alg "${alg}" is not supported: sign with one of ${SIGNATURE_ALGORITHMS.join(', ')} and send it as alg="..."`,
  );
}

/** A private key ready to sign: RSA as a KeyObject, SM2 as its scalar and point (hex). */
export type SigningKeyMaterial = { kind: 'rsa'; key: KeyObject } | { kind: 'sm2'; d: string; p: string };

const sm2Material = new WeakMap<KeyObject, SigningKeyMaterial>();

function sm2MaterialOf(pem: string): SigningKeyMaterial {
  return { kind: 'sm2', d: sm2PrivateKeyHex(pem), p: sm2PublicKeyHex(pem) };
}

/**
 * A PEM string or a KeyObject, checked to be an RSA or SM2 private key. Node loads SM2 keys as a key of
 * no named type; they are read from their PKCS#8 (once per KeyObject).
 */
export function signingKeyMaterial(privateKey: KeyObject | string): SigningKeyMaterial {
  if (typeof privateKey === 'string' && isSm2Key(privateKey)) return sm2MaterialOf(privateKey);
  let key: KeyObject;
  try {
    key = typeof privateKey === 'string' ? createPrivateKey(privateKey) : privateKey;
  } catch (error) {
    throw new SigArgumentInvalid(
      `privateKey is not a readable PEM private key (${(error as Error).message})`,
    );
  }
  if (key.type === 'private' && key.asymmetricKeyType === undefined) {
    const cached = sm2Material.get(key);
    if (cached) return cached;
    const pem = key.export({ type: 'pkcs8', format: 'pem' }).toString();
    if (isSm2Key(pem)) {
      const material = sm2MaterialOf(pem);
      sm2Material.set(key, material);
      return material;
    }
  }
  if (key.type !== 'private' || (key.asymmetricKeyType !== 'rsa' && key.asymmetricKeyType !== 'rsa-pss')) {
    throw new SigArgumentInvalid(
      `privateKey must be an RSA or SM2 private key, got a ${key.asymmetricKeyType ?? 'secret'} ${key.type} key`,
    );
  }
  return { kind: 'rsa', key };
}

/** A PEM string or a KeyObject, checked to be an RSA private key. */
export function rsaPrivateKey(privateKey: KeyObject | string): KeyObject {
  const material = signingKeyMaterial(privateKey);
  if (material.kind !== 'rsa')
    throw new SigArgumentInvalid('privateKey must be an RSA private key, got an SM2 key');
  return material.key;
}

/** The algorithm a key signs with when none is asked for. */
export function defaultAlgorithm(material: SigningKeyMaterial): SignatureAlgorithm {
  return material.kind === 'sm2' ? 'sm2-sm3' : 'rsa-pss-sha512';
}

/** Sign a signature base (synchronous: signing is the client's side and is not on the gateway's hot path). */
export function signSignatureBase(
  alg: SignatureAlgorithm,
  privateKey: KeyObject | SigningKeyMaterial,
  base: string,
): Buffer {
  const material = 'kind' in privateKey ? privateKey : signingKeyMaterial(privateKey);
  if ((alg === 'sm2-sm3') !== (material.kind === 'sm2')) {
    throw new SigArgumentInvalid(`a ${material.kind.toUpperCase()} key cannot sign ${alg}`);
  }
  if (material.kind === 'sm2') return sm2Sign(Buffer.from(base), material.d, material.p);
  const privateKeyObject = material.key;
  const params = ALGORITHMS[alg as keyof typeof ALGORITHMS];
  return sign(params.hash, Buffer.from(base), {
    key: privateKeyObject,
    padding: params.padding,
    ...(params.signSaltLength === undefined ? {} : { saltLength: params.signSaltLength }),
  });
}

/**
 * Verify a signature over a signature base on the thread pool. Resolves false for a signature that
 * does not verify, and also when the key cannot do this algorithm (e.g. an EC key for an RSA alg).
 */
export function verifySignatureBase(
  alg: SignatureAlgorithm,
  publicKey: KeyObject,
  base: string,
  signature: Buffer,
): Promise<boolean> {
  if (alg === 'sm2-sm3') {
    const key = sm2PublicKeyOf(publicKey);
    return Promise.resolve(key !== undefined && sm2Verify(Buffer.from(base), signature, key));
  }
  const params = ALGORITHMS[alg];
  const key = {
    key: publicKey,
    padding: params.padding,
    ...(params.verifySaltLength === undefined ? {} : { saltLength: params.verifySaltLength }),
  };
  // Synchronous on purpose: an RSA-2048 verify costs ~30 µs, and handing it to libuv's thread pool costs
  // the event loop about as much again while the pool competes for the same cores (bench/README.md).
  try {
    return Promise.resolve(verify(params.hash, Buffer.from(base), key, signature));
  } catch {
    return Promise.resolve(false);
  }
}
