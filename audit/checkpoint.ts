/**
 * Signed checkpoints: now and then the writer signs its chain head `{ instance, seq, hash, time }` with
 * the platform signing key. A checkpoint makes every record up to `seq` unforgeable for anyone without
 * the key, even someone able to rewrite the whole stream and recompute every hash.
 *
 * Checkpoint stream entry fields:
 * - `payload`: canonical JSON (see canonical.ts) of `{ hash, instance, seq, time }`;
 * - `sig`: base64 RSA-PSS signature over the UTF-8 bytes of `payload`, SHA-256, MGF1-SHA-256, salt
 *   length 32 (the JOSE "PS256" parameters), e.g. `openssl dgst -sha256 -sigopt rsa_padding_mode:pss
 *   -sigopt rsa_pss_saltlen:32 -verify pub.pem -signature sig.bin payload.txt`;
 * - `alg`: `rsa-pss-sha256`; `signer`: SHA-256 fingerprint of the signing certificate.
 */
import { constants, type KeyObject, sign, verify, type X509Certificate } from 'node:crypto';
import type { RedisClient } from '../platform/redis.js';
import { canonicalJson } from './canonical.js';
import { fieldMap, lastEntry, type RawEntry } from './entries.js';
import { AuditSetupInvalid } from './errors.js';
import type { AuditKeys } from './keys.js';

export const CHECKPOINT_ALG = 'rsa-pss-sha256';

const PSS = { padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 } as const;

export interface CheckpointPayload {
  instance: string;
  seq: number;
  hash: string;
  time: string;
}

export interface CheckpointSigner {
  /** The platform signing key (RSA). */
  privateKey: KeyObject;
  /** Its certificate; checkpoints carry the certificate's fingerprint so verifiers can pick the key. */
  certificate: X509Certificate;
}

export function checkSigner(signer: CheckpointSigner): void {
  if (signer.privateKey.type !== 'private' || signer.privateKey.asymmetricKeyType !== 'rsa') {
    throw new AuditSetupInvalid('the checkpoint signing key must be an RSA private key');
  }
  if (!signer.certificate.checkPrivateKey(signer.privateKey)) {
    throw new AuditSetupInvalid('the checkpoint signing key does not belong to the given certificate');
  }
}

/** Signs on libuv's thread pool (the callback form), so the event loop keeps serving requests. */
export function signPayload(privateKey: KeyObject, payload: string): Promise<string> {
  return new Promise((resolve, reject) => {
    sign('sha256', Buffer.from(payload), { key: privateKey, ...PSS }, (err, signature) =>
      err ? reject(err) : resolve(signature.toString('base64')),
    );
  });
}

export function verifyPayload(publicKey: KeyObject, payload: string, signatureBase64: string): boolean {
  try {
    return verify(
      'sha256',
      Buffer.from(payload),
      { key: publicKey, ...PSS },
      Buffer.from(signatureBase64, 'base64'),
    );
  } catch {
    return false;
  }
}

export async function writeCheckpoint(
  redis: RedisClient,
  keys: AuditKeys,
  signer: CheckpointSigner,
  checkpoint: CheckpointPayload,
): Promise<string> {
  const payload = canonicalJson(checkpoint);
  const sig = await signPayload(signer.privateKey, payload);
  const fingerprint = signer.certificate.fingerprint256.replaceAll(':', '').toLowerCase();
  const id = await redis.xadd(
    keys.checkpoints(checkpoint.instance),
    '*',
    'payload',
    payload,
    'sig',
    sig,
    'alg',
    CHECKPOINT_ALG,
    'signer',
    fingerprint,
  );
  return id!;
}

export interface StoredCheckpoint {
  id: string;
  payload: string;
  sig: string;
  signer: string | undefined;
  /** Parsed payload; undefined when it is not a well-formed checkpoint payload. */
  parsed: CheckpointPayload | undefined;
}

export function readCheckpointEntry([id, fields]: RawEntry): StoredCheckpoint {
  const map = fieldMap(fields);
  const payload = map.get('payload') ?? '';
  let parsed: CheckpointPayload | undefined;
  try {
    const value = JSON.parse(payload) as Partial<CheckpointPayload>;
    if (
      typeof value.instance === 'string' &&
      Number.isSafeInteger(value.seq) &&
      typeof value.hash === 'string' &&
      typeof value.time === 'string'
    ) {
      parsed = value as CheckpointPayload;
    }
  } catch {
    parsed = undefined;
  }
  return { id, payload, sig: map.get('sig') ?? '', signer: map.get('signer'), parsed };
}

/** The seq of the instance's last checkpoint, 0 when it has none. */
export async function lastCheckpointSeq(
  redis: RedisClient,
  keys: AuditKeys,
  instance: string,
): Promise<number> {
  const entry = await lastEntry(redis, keys.checkpoints(instance));
  return entry ? (readCheckpointEntry(entry).parsed?.seq ?? 0) : 0;
}
