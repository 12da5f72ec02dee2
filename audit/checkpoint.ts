/**
 * Signed checkpoints: now and then the writer signs its chain head with the platform signing key. A
 * checkpoint makes every record up to `seq` unforgeable for anyone without the key, even someone able to
 * rewrite the whole stream and recompute every hash.
 *
 * Since issue 15 a checkpoint also carries the RFC 9162 tree head (`root`, hex) over the records it
 * covers, `from` + 1 .. `seq` (`from` is the seq of the instance's previous checkpoint, 0 for the first),
 * whose leaves are the UTF-8 bytes of each record's canonical JSON exactly as chained: an inclusion proof
 * then shows one record's content to be in the signed trail without the rest of it. Checkpoints written
 * before carry neither field and are checked by their hash alone.
 *
 * Checkpoint stream entry fields (the same columns in the store's `audit_checkpoints`):
 * - `payload`: canonical JSON (see canonical.ts) of `{ from?, hash, hashAlg?, instance, root?, seq, time }`;
 *   `hashAlg` is `"sm3"` under `gm` (the tree is then built with SM3, see merkle.ts), absent for SHA-256;
 * - `sig`: base64 signature over the UTF-8 bytes of `payload` by the platform's Signer. Under `intl`
 *   RSA-PSS, SHA-256, MGF1-SHA-256, salt length 32 (the JOSE "PS256" parameters), e.g. `openssl dgst
 *   -sha256 -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:32 -verify pub.pem -signature sig.bin
 *   payload.txt`; under `gm` SM2 over SM3(Z‖M) with the default ID, 64 bytes r‖s (`openssl pkeyutl
 *   -verify -rawin -digest sm3 -pkeyopt distid:1234567812345678` after DER-encoding r and s);
 * - `alg`: `rsa-pss-sha256` or `sm2-sm3`; `signer`: SHA-256 fingerprint of the signing certificate;
 * - `tst` (when a TSA is configured and answered): base64 DER of an RFC 3161 TimeStampToken over
 *   SHA-256 of the UTF-8 bytes of `payload` (see tsa.ts), the trusted time the checkpoint existed by.
 */
import { constants, type KeyObject, verify, type X509Certificate } from 'node:crypto';
import { type Signer, signerMatchesCertificate } from '../certs/signer.js';
import { sm2PublicKeyOf, sm2Verify } from '../certs/sm2.js';
import type { RedisClient } from '../platform/redis.js';
import { type ChainHashAlg, canonicalJson } from './canonical.js';
import { type ChainEntry, fieldMap, lastEntry, type RawEntry } from './entries.js';
import { AuditSetupInvalid } from './errors.js';
import type { AuditKeys } from './keys.js';
import { leafHashWith, treeHead } from './merkle.js';
import type { TimestampToken } from './tsa.js';

export const CHECKPOINT_ALG = 'rsa-pss-sha256';
/** The checkpoint signature algorithms: RSA-PSS under intl, SM2 under gm. */
export const CHECKPOINT_ALGS = [CHECKPOINT_ALG, 'sm2-sm3'] as const;
export type CheckpointAlg = (typeof CHECKPOINT_ALGS)[number];

const PSS = { padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 } as const;

export interface CheckpointPayload {
  instance: string;
  seq: number;
  hash: string;
  time: string;
  /** The seq after which the covered records start (the previous checkpoint's); absent before issue 15. */
  from?: number;
  /** Hex RFC 9162 tree head over the records from + 1 .. seq; absent before issue 15. */
  root?: string;
  /** `sm3` when the chain and the tree use SM3 (the `gm` profile); absent for SHA-256. */
  hashAlg?: 'sm3';
}

/** A checkpoint as stored: the stream entry's fields. */
export interface SignedCheckpoint {
  payload: string;
  sig: string;
  alg: string;
  signer: string;
  tst?: string;
}

/** Asks a time-stamping authority for a token over some bytes (TsaClient). */
export interface Timestamper {
  timestamp(data: Uint8Array): Promise<TimestampToken>;
}

const HEX64 = /^[0-9a-f]{64}$/;

/** The Merkle leaf hash of a record: over the UTF-8 bytes of its canonical JSON as chained. */
export function recordLeaf(rec: string, alg: ChainHashAlg = 'sha256'): Buffer {
  return leafHashWith(alg, Buffer.from(rec, 'utf8'));
}

/** The hex tree head over consecutive records, as a checkpoint's `root`. */
export function recordsRoot(
  entries: readonly Pick<ChainEntry, 'rec'>[],
  alg: ChainHashAlg = 'sha256',
): string {
  return treeHead(
    entries.map((entry) => recordLeaf(entry.rec, alg)),
    alg,
  ).toString('hex');
}

/** The tree hash algorithm a checkpoint names (its signed `hashAlg`), SHA-256 when it names none. */
export function checkpointHashAlg(payload: CheckpointPayload): ChainHashAlg {
  return payload.hashAlg === 'sm3' ? 'sm3' : 'sha256';
}

export interface CheckpointSigner {
  /** Its certificate; checkpoints carry the certificate's fingerprint so verifiers can pick the key. */
  certificate: X509Certificate;
  /** The key custody of the platform signing key (a file key, or a hardware module): RSA or SM2. */
  signer: Signer;
}

/** The chain hash algorithm that goes with a signing key: SM3 with an SM2 key (`gm`), SHA-256 otherwise. */
export function signerHashAlg(checkpointSigner: CheckpointSigner): ChainHashAlg {
  return checkpointSigner.signer.keyType === 'sm2' ? 'sm3' : 'sha256';
}

export function checkSigner(checkpointSigner: CheckpointSigner): void {
  const { signer, certificate } = checkpointSigner;
  if (signer.keyType !== 'rsa' && signer.keyType !== 'sm2') {
    throw new AuditSetupInvalid('the checkpoint signing key must be an RSA or SM2 private key');
  }
  if (!signerMatchesCertificate(certificate, signer)) {
    throw new AuditSetupInvalid('the checkpoint signing key does not belong to the given certificate');
  }
}

/**
 * Signs through the Signer (RSA on libuv's thread pool, so the event loop keeps serving requests) and
 * names the algorithm: `rsa-pss-sha256` for an RSA key, `sm2-sm3` for an SM2 key.
 */
export async function signPayload(
  checkpointSigner: CheckpointSigner,
  payload: string,
): Promise<{ sig: string; alg: CheckpointAlg }> {
  const { signer } = checkpointSigner;
  const alg: CheckpointAlg = signer.keyType === 'sm2' ? 'sm2-sm3' : CHECKPOINT_ALG;
  const signature = await signer.sign(Buffer.from(payload), alg);
  return { sig: signature.toString('base64'), alg };
}

/** Verifies a payload signature of either algorithm (`rsa-pss-sha256` when none is named). Never throws. */
export function verifyPayload(
  publicKey: KeyObject,
  payload: string,
  signatureBase64: string,
  alg: string = CHECKPOINT_ALG,
): boolean {
  if (alg === 'sm2-sm3') {
    const key = sm2PublicKeyOf(publicKey);
    return key !== undefined && sm2Verify(Buffer.from(payload), Buffer.from(signatureBase64, 'base64'), key);
  }
  if (alg !== CHECKPOINT_ALG) return false;
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

/**
 * Signs the checkpoint and, with a timestamper, asks for a token over the signed payload. A timestamp
 * failure is handed to `onTimestampError` and leaves the checkpoint signed only: trusted time is worth
 * having, never worth losing the checkpoint for.
 */
export async function signCheckpoint(
  signer: CheckpointSigner,
  checkpoint: CheckpointPayload,
  timestamper?: Timestamper,
  onTimestampError?: (err: Error) => void,
): Promise<SignedCheckpoint> {
  const payload = canonicalJson(checkpoint);
  const { sig, alg } = await signPayload(signer, payload);
  const fingerprint = signer.certificate.fingerprint256.replaceAll(':', '').toLowerCase();
  const signed: SignedCheckpoint = { payload, sig, alg, signer: fingerprint };
  if (timestamper) {
    try {
      signed.tst = (await timestamper.timestamp(Buffer.from(payload, 'utf8'))).token;
    } catch (err) {
      onTimestampError?.(err as Error);
    }
  }
  return signed;
}

export async function writeCheckpoint(
  redis: RedisClient,
  keys: AuditKeys,
  instance: string,
  signed: SignedCheckpoint,
): Promise<string> {
  const fields = ['payload', signed.payload, 'sig', signed.sig, 'alg', signed.alg, 'signer', signed.signer];
  if (signed.tst) fields.push('tst', signed.tst);
  const id = await redis.xadd(keys.checkpoints(instance), '*', ...fields);
  return id!;
}

export interface StoredCheckpoint {
  id: string;
  payload: string;
  sig: string;
  alg: string | undefined;
  signer: string | undefined;
  tst: string | undefined;
  /** Parsed payload; undefined when it is not a well-formed checkpoint payload. */
  parsed: CheckpointPayload | undefined;
}

export function readCheckpointEntry([id, fields]: RawEntry): StoredCheckpoint {
  const map = fieldMap(fields);
  return readCheckpoint(id, {
    payload: map.get('payload') ?? '',
    sig: map.get('sig') ?? '',
    alg: map.get('alg'),
    signer: map.get('signer'),
    tst: map.get('tst'),
  });
}

/** A checkpoint from its fields (a stream entry's or a store row's), its payload parsed and checked. */
export function readCheckpoint(
  id: string,
  fields: {
    payload: string;
    sig: string;
    alg?: string | undefined;
    signer?: string | undefined;
    tst?: string | undefined;
  },
): StoredCheckpoint {
  return {
    id,
    payload: fields.payload,
    sig: fields.sig,
    alg: fields.alg,
    signer: fields.signer,
    tst: fields.tst || undefined,
    parsed: parsePayload(fields.payload),
  };
}

function parsePayload(payload: string): CheckpointPayload | undefined {
  let value: Partial<CheckpointPayload>;
  try {
    value = JSON.parse(payload) as Partial<CheckpointPayload>;
  } catch {
    return undefined;
  }
  if (
    typeof value !== 'object' ||
    value === null ||
    typeof value.instance !== 'string' ||
    !Number.isSafeInteger(value.seq) ||
    typeof value.hash !== 'string' ||
    typeof value.time !== 'string' ||
    (value.hashAlg !== undefined && value.hashAlg !== 'sm3')
  ) {
    return undefined;
  }
  const hasTree = value.from !== undefined || value.root !== undefined;
  if (
    hasTree &&
    !(
      Number.isSafeInteger(value.from) &&
      value.from! >= 0 &&
      value.from! < value.seq! &&
      typeof value.root === 'string' &&
      HEX64.test(value.root)
    )
  ) {
    return undefined;
  }
  return value as CheckpointPayload;
}

/** The instance's last checkpoint (seq and hash), undefined when it has none. */
export async function lastCheckpoint(
  redis: RedisClient,
  keys: AuditKeys,
  instance: string,
): Promise<{ seq: number; hash: string } | undefined> {
  const entry = await lastEntry(redis, keys.checkpoints(instance));
  const parsed = entry && readCheckpointEntry(entry).parsed;
  return parsed && { seq: parsed.seq, hash: parsed.hash };
}

/** The seq of the instance's last checkpoint, 0 when it has none. */
export async function lastCheckpointSeq(
  redis: RedisClient,
  keys: AuditKeys,
  instance: string,
): Promise<number> {
  return (await lastCheckpoint(redis, keys, instance))?.seq ?? 0;
}
