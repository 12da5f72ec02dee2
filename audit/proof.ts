/**
 * Inclusion proofs: evidence, checkable offline by a third party holding only the platform CA
 * certificate, that one audit record is in the signed trail exactly as shown.
 *
 * A proof bundle holds the record (canonical JSON as chained), its place (instance, seq; leaf index and
 * tree size in its checkpoint's tree), the RFC 9162 audit path (hex, leaf to root), the checkpoint that
 * covers it (the stored fields: payload, sig, alg, signer, tst) and the platform signing certificate.
 * Verifying it: the certificate is the platform's signing certificate as the CA issued it (valid when
 * the checkpoint was signed), the checkpoint is signed by it, the path leads from the record's leaf to the
 * checkpoint's root, and, given the TSA's CA, the timestamp token is over the payload.
 */
import { X509Certificate } from 'node:crypto';
import { type Static, Type } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { isPlatformSigningCertificate } from '../certs/platform.js';
import type { RedisClient } from '../platform/redis.js';
import { recordHashAlg } from './canonical.js';
import { readChainRange } from './chain-range.js';
import {
  CHECKPOINT_ALG,
  CHECKPOINT_ALGS,
  checkpointHashAlg,
  readCheckpoint,
  readCheckpointEntry,
  recordLeaf,
  type StoredCheckpoint,
  verifyPayload,
} from './checkpoint.js';
import { parseRecord, walkStream } from './entries.js';
import {
  AuditChainBroken,
  AuditProofInvalid,
  AuditProofPending,
  AuditRecordUnknown,
  AuditSetupInvalid,
} from './errors.js';
import { auditKeys } from './keys.js';
import { inclusionProof, verifyInclusion } from './merkle.js';
import { type AuditRecord, INSTANCE_ID_PATTERN } from './record.js';
import { searchAudit } from './search.js';
import type { AuditStore } from './store/store.js';
import { parseTrustAnchors, verifyTimestampToken } from './tsa.js';

const HEX64 = '^[0-9a-f]{64}$';

export const ProofCheckpoint = Type.Object(
  {
    payload: Type.String({ minLength: 2, maxLength: 4096, description: 'Canonical JSON that was signed' }),
    sig: Type.String({
      minLength: 1,
      maxLength: 4096,
      description: 'Base64 signature: RSA-PSS-SHA256 (intl) or SM2-SM3 r‖s (gm)',
    }),
    alg: Type.Union(CHECKPOINT_ALGS.map((alg) => Type.Literal(alg))),
    signer: Type.String({ pattern: HEX64, description: 'SHA-256 fingerprint of the signing certificate' }),
    tst: Type.Optional(
      Type.String({ minLength: 1, maxLength: 65_536, description: 'Base64 RFC 3161 token over the payload' }),
    ),
  },
  { additionalProperties: false },
);

export const InclusionProofBundle = Type.Object(
  {
    record: Type.String({
      minLength: 2,
      maxLength: 262_144,
      description: 'The record, canonical JSON as chained',
    }),
    instance: Type.String({ pattern: INSTANCE_ID_PATTERN }),
    seq: Type.Integer({ minimum: 1 }),
    leafIndex: Type.Integer({ minimum: 0, description: "The record's leaf in its checkpoint's tree" }),
    treeSize: Type.Integer({ minimum: 1, description: "Leaves of the checkpoint's tree (its seq − from)" }),
    proof: Type.Array(Type.String({ pattern: HEX64 }), {
      maxItems: 64,
      description: 'RFC 9162 audit path, hex, from the leaf up',
    }),
    checkpoint: ProofCheckpoint,
    platformCertificate: Type.String({ minLength: 1, maxLength: 16_384, description: 'PEM of the signer' }),
  },
  { additionalProperties: false },
);
export type InclusionProofBundle = Static<typeof InclusionProofBundle>;

const bundleChecker = TypeCompiler.Compile(InclusionProofBundle);

/** A record's place in the trail. */
export interface RecordLocator {
  instance: string;
  seq: number;
}

/** Most search pages read for one request id: without a store, 5000 stream entries per instance each. */
const MAX_PAGES = 200;

/**
 * The records a request wrote, newest first (a data request writes one; an administrative change also
 * a `request.received` before it). AUDIT_RECORD_UNKNOWN when there is none.
 */
export async function recordsOfRequest(
  redis: RedisClient,
  prefix: string,
  subjectSecret: Buffer,
  requestId: string,
  store?: AuditStore,
): Promise<(AuditRecord & RecordLocator)[]> {
  const found: (AuditRecord & RecordLocator)[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < MAX_PAGES; page++) {
    const result = await searchAudit(
      redis,
      prefix,
      subjectSecret,
      { requestId, limit: 100, ...(cursor ? { cursor } : {}) },
      store,
    );
    for (const { id: _id, ...record } of result.records) found.push(record);
    cursor = result.nextCursor;
    if (!cursor) break;
  }
  if (found.length === 0) throw new AuditRecordUnknown(`no audit record names request id ${requestId}`);
  return found;
}

/**
 * The inclusion proof of a record: its checkpoint (from the store, else the checkpoint stream), the
 * records of that checkpoint's tree (store, then stream) and the audit path. AUDIT_PROOF_PENDING when
 * no checkpoint with a tree head covers the record yet.
 *
 * `signingCertificates` holds every platform signing certificate by fingerprint: the bundle carries the
 * one that signed the checkpoint, so a proof of a checkpoint signed before a key rotation still
 * verifies. A checkpoint naming no signer is checked against `current`.
 */
export async function buildInclusionProof(
  redis: RedisClient,
  prefix: string,
  at: RecordLocator,
  signing: { current: X509Certificate; byFingerprint: ReadonlyMap<string, X509Certificate> },
  store?: AuditStore,
): Promise<InclusionProofBundle> {
  const keys = auditKeys(prefix);
  const checkpoint = await coveringCheckpoint(redis, prefix, at, store);
  const { from, seq, root, hash } = checkpoint.parsed!;
  const platformCertificate = checkpoint.signer
    ? signing.byFingerprint.get(checkpoint.signer)
    : signing.current;
  if (!platformCertificate) {
    throw new AuditSetupInvalid(
      `checkpoint ${checkpoint.id} of ${at.instance} was signed by platform certificate ${checkpoint.signer}, which is not in the signing history: restore it to platform/signing-history/`,
    );
  }
  if (!verifyPayload(platformCertificate.publicKey, checkpoint.payload, checkpoint.sig, checkpoint.alg)) {
    throw new AuditChainBroken(
      `checkpoint ${checkpoint.id} of ${at.instance} is not signed by the platform key`,
    );
  }
  const records = await readChainRange(
    redis,
    keys,
    { instance: at.instance, fromSeq: from! + 1, toSeq: seq },
    store,
  );
  const alg = checkpointHashAlg(checkpoint.parsed!);
  const leaves = records.map((entry) => recordLeaf(entry.rec, alg));
  if (records[records.length - 1]!.hash !== hash) {
    throw new AuditChainBroken(
      `checkpoint ${checkpoint.id} of ${at.instance} signed another head than the chain's`,
    );
  }
  const leafIndex = at.seq - from! - 1;
  const proof = inclusionProof(leaves, leafIndex, alg).map((node) => node.toString('hex'));
  if (
    !verifyInclusion({
      leafIndex,
      treeSize: leaves.length,
      leafHash: leaves[leafIndex]!,
      proof: proof.map(hexBytes),
      root: hexBytes(root!),
      alg,
    })
  ) {
    throw new AuditChainBroken(
      `checkpoint ${checkpoint.id} of ${at.instance}: its tree head is not over its records`,
    );
  }
  return {
    record: records[leafIndex]!.rec,
    instance: at.instance,
    seq: at.seq,
    leafIndex,
    treeSize: leaves.length,
    proof,
    checkpoint: {
      payload: checkpoint.payload,
      sig: checkpoint.sig,
      alg: checkpoint.alg === 'sm2-sm3' ? 'sm2-sm3' : CHECKPOINT_ALG,
      signer: checkpoint.signer ?? '',
      ...(checkpoint.tst ? { tst: checkpoint.tst } : {}),
    },
    platformCertificate: platformCertificate.toString(),
  };
}

/** The first checkpoint with a tree head whose range (from, seq] holds the record. */
async function coveringCheckpoint(
  redis: RedisClient,
  prefix: string,
  at: RecordLocator,
  store: AuditStore | undefined,
): Promise<StoredCheckpoint> {
  const stored = await store?.checkpointCovering(at.instance, at.seq);
  if (stored) return stored;
  let signedOnly = false;
  for await (const chunk of walkStream(redis, auditKeys(prefix).checkpoints(at.instance))) {
    for (const raw of chunk) {
      const checkpoint = readCheckpointEntry(raw);
      const parsed = checkpoint.parsed;
      if (!parsed || parsed.instance !== at.instance || parsed.seq < at.seq) continue;
      if (parsed.root !== undefined && parsed.from! < at.seq) return checkpoint;
      if (parsed.root === undefined) signedOnly = true;
    }
  }
  throw new AuditProofPending(
    signedOnly
      ? `record ${at.seq} of instance ${at.instance} is covered only by checkpoints written before tree heads: no inclusion proof can be made`
      : `record ${at.seq} of instance ${at.instance} is not covered by a checkpoint yet; retry after the next one (every 1000 records or 10 s)`,
  );
}

export type TimestampCheck =
  | { status: 'verified'; genTime: string; tsa: string }
  | { status: 'unchecked' }
  | { status: 'absent' };

export interface VerifiedInclusion {
  record: AuditRecord;
  instance: string;
  seq: number;
  /** When the platform signed the checkpoint (its own clock). */
  signedAt: string;
  /** Subject of the platform signing certificate. */
  signer: string;
  checkpointSeq: number;
  timestamp: TimestampCheck;
}

export interface VerifyProofOptions {
  /** PEM of the platform CA certificate. */
  caPem: string;
  /** PEM of the TSA trust anchor; without it a timestamp token is reported unchecked. */
  tsaCaPem?: string;
}

/** Verifies a proof bundle offline; AUDIT_PROOF_INVALID (or AUDIT_TIMESTAMP_INVALID) saying what fails. */
export async function verifyInclusionBundle(
  bundle: unknown,
  options: VerifyProofOptions,
): Promise<VerifiedInclusion> {
  if (!bundleChecker.Check(bundle)) {
    const first = bundleChecker.Errors(bundle).First();
    throw new AuditProofInvalid(`the proof file ${first?.path || '/'}: ${first?.message ?? 'is malformed'}`);
  }
  const ca = readCertificate(options.caPem, 'the CA certificate');
  const cert = readCertificate(bundle.platformCertificate, 'platformCertificate');
  const checkpoint = readCheckpoint('proof', bundle.checkpoint);
  const cp = checkpoint.parsed;
  if (!cp || cp.root === undefined)
    throw new AuditProofInvalid('the checkpoint payload is not a checkpoint with a tree head');
  if (!isPlatformSigningCertificate(cert, ca, new Date(cp.time))) {
    throw new AuditProofInvalid(
      `platformCertificate is not the platform signing certificate issued by this CA (valid at ${cp.time})`,
    );
  }
  if (bundle.checkpoint.signer !== cert.fingerprint256.replaceAll(':', '').toLowerCase()) {
    throw new AuditProofInvalid('the checkpoint names another signer than platformCertificate');
  }
  if (!verifyPayload(cert.publicKey, checkpoint.payload, checkpoint.sig, checkpoint.alg)) {
    throw new AuditProofInvalid('the checkpoint signature does not verify with platformCertificate');
  }
  if (cp.instance !== bundle.instance) {
    throw new AuditProofInvalid(`the checkpoint is for instance ${cp.instance}, not ${bundle.instance}`);
  }
  const from = cp.from!;
  if (!(from < bundle.seq && bundle.seq <= cp.seq)) {
    throw new AuditProofInvalid(`the checkpoint covers records ${from + 1}..${cp.seq}, not ${bundle.seq}`);
  }
  if (bundle.leafIndex !== bundle.seq - from - 1 || bundle.treeSize !== cp.seq - from) {
    throw new AuditProofInvalid('leafIndex or treeSize does not match the record and its checkpoint');
  }
  const record = parseRecord(bundle.record);
  if (!record || record.instance !== bundle.instance) {
    throw new AuditProofInvalid('the record is not an audit record of that instance');
  }
  // The signed checkpoint names the tree's hash (SM3 under gm). An SM3 record under a SHA-256 tree is a
  // downgrade; a SHA-256 record under an SM3 tree is one written before its gm platform chained with SM3.
  const alg = checkpointHashAlg(cp);
  const recordAlg = recordHashAlg(bundle.record);
  if (recordAlg === undefined || (recordAlg === 'sm3' && alg !== 'sm3')) {
    throw new AuditProofInvalid(`the record names the hash ${recordAlg ?? 'unknown'}, its checkpoint ${alg}`);
  }
  const included = verifyInclusion({
    leafIndex: bundle.leafIndex,
    treeSize: bundle.treeSize,
    leafHash: recordLeaf(bundle.record, alg),
    proof: bundle.proof.map(hexBytes),
    root: hexBytes(cp.root),
    alg,
  });
  if (!included) {
    throw new AuditProofInvalid("the inclusion proof does not lead from the record to the checkpoint's root");
  }
  return {
    record,
    instance: bundle.instance,
    seq: bundle.seq,
    signedAt: cp.time,
    signer: cert.subject.replaceAll('\n', ', '),
    checkpointSeq: cp.seq,
    timestamp: await checkTimestamp(checkpoint, options.tsaCaPem),
  };
}

async function checkTimestamp(
  checkpoint: StoredCheckpoint,
  tsaCaPem: string | undefined,
): Promise<TimestampCheck> {
  if (!checkpoint.tst) return { status: 'absent' };
  if (!tsaCaPem) return { status: 'unchecked' };
  const verified = await verifyTimestampToken(
    Buffer.from(checkpoint.tst, 'base64'),
    Buffer.from(checkpoint.payload, 'utf8'),
    parseTrustAnchors(tsaCaPem),
  );
  return { status: 'verified', genTime: verified.genTime.toISOString(), tsa: verified.signer };
}

function readCertificate(pem: string, what: string): X509Certificate {
  try {
    return new X509Certificate(pem);
  } catch (err) {
    throw new AuditProofInvalid(`${what} is not a readable certificate: ${(err as Error).message}`);
  }
}

function hexBytes(hex: string): Buffer {
  return Buffer.from(hex, 'hex');
}
