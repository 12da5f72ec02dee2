/**
 * The signature algorithms govshare accepts (RFC 9421 §3.3) and the node:crypto calls behind them.
 * Verification uses the callback form of crypto.verify so that the RSA work runs on libuv's thread
 * pool instead of the event loop.
 */
import { constants, createPrivateKey, type KeyObject, sign, verify } from 'node:crypto';
import { SigAlgUnsupported, SigArgumentInvalid } from './errors.js';

export const SIGNATURE_ALGORITHMS = ['rsa-pss-sha512', 'rsa-v1_5-sha256'] as const;
export type SignatureAlgorithm = (typeof SIGNATURE_ALGORITHMS)[number];

/** RFC 9421 §3.3.1: RSASSA-PSS with SHA-512, MGF1 with SHA-512 (OpenSSL's default for PSS) and a 64-byte salt. */
export const PSS_SALT_LENGTH = 64;

interface AlgorithmParams {
  hash: 'sha512' | 'sha256';
  padding: number;
  signSaltLength?: number;
  verifySaltLength?: number;
}

const ALGORITHMS: Record<SignatureAlgorithm, AlgorithmParams> = {
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
  return typeof alg === 'string' && Object.hasOwn(ALGORITHMS, alg);
}

export function unsupportedAlgorithm(alg: string): InstanceType<typeof SigAlgUnsupported> {
  return new SigAlgUnsupported(
    `alg "${alg}" is not supported: sign with one of ${SIGNATURE_ALGORITHMS.join(', ')} and send it as alg="..."`,
  );
}

/** A PEM string or a KeyObject, checked to be an RSA private key. */
export function rsaPrivateKey(privateKey: KeyObject | string): KeyObject {
  let key: KeyObject;
  try {
    key = typeof privateKey === 'string' ? createPrivateKey(privateKey) : privateKey;
  } catch (error) {
    throw new SigArgumentInvalid(
      `privateKey is not a readable PEM private key (${(error as Error).message})`,
    );
  }
  if (key.type !== 'private' || (key.asymmetricKeyType !== 'rsa' && key.asymmetricKeyType !== 'rsa-pss')) {
    throw new SigArgumentInvalid(
      `privateKey must be an RSA private key, got a ${key.asymmetricKeyType ?? 'secret'} ${key.type} key`,
    );
  }
  return key;
}

/** Sign a signature base (synchronous: signing is the client's side and is not on the gateway's hot path). */
export function signSignatureBase(alg: SignatureAlgorithm, privateKey: KeyObject, base: string): Buffer {
  const params = ALGORITHMS[alg];
  return sign(params.hash, Buffer.from(base), {
    key: privateKey,
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
