/**
 * Shapes of bulk exchange: what a consumer system posts, the job as stored and shown, its checkpoint,
 * the signed manifest, and incremental subscriptions. One TypeBox object per shape (validation, OpenAPI,
 * types).
 */

import { type Static, Type } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { ITEM_NAME_PATTERN, RESOURCE_CODE_PATTERN, USCC_PATTERN } from '../catalog/schema.js';
import { SERIAL_PATTERN } from '../certs/schema.js';
import { SYSTEM_ID_PATTERN } from '../policies/grant.js';
import { UseRestriction } from '../policies/onward.js';

/** Job ids name directories on disk: `x` and 32 lowercase hex digits, nothing else. */
export const JOB_ID_PATTERN = '^x[0-9a-f]{32}$';
export const SUBSCRIPTION_ID_PATTERN = '^s[0-9a-f]{32}$';
/** The x-user-id the signed-calls plugin accepts: 1–256 printable ASCII characters. */
export const USER_ID_PATTERN = '^[\\x20-\\x7e]{1,256}$';
/** UTC instants as `Date#toISOString()` writes them (a pattern, not a format: clients check it without ajv-formats). */
const ISO = (description: string) =>
  Type.String({
    pattern: '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z$',
    description,
  });

export const ExchangeFormat = Type.Union([Type.Literal('jsonl'), Type.Literal('csv')], {
  description: 'jsonl: one JSON object per line; csv: RFC 4180 with a header row',
});
export type ExchangeFormat = Static<typeof ExchangeFormat>;

export const ExchangeKind = Type.Union([Type.Literal('full'), Type.Literal('incremental')], {
  description: 'full: every row; incremental: rows changed after the watermark `since`',
});
export type ExchangeKind = Static<typeof ExchangeKind>;

export const ExchangeFilter = Type.Object(
  {
    item: Type.String({ pattern: ITEM_NAME_PATTERN }),
    equals: Type.String({
      minLength: 1,
      maxLength: 200,
      description: 'Rows pass when String(value) equals this',
    }),
  },
  { additionalProperties: false, description: 'Only rows whose item equals the value' },
);
export type ExchangeFilter = Static<typeof ExchangeFilter>;

const Items = Type.Array(Type.String({ pattern: ITEM_NAME_PATTERN }), {
  minItems: 1,
  maxItems: 500,
  uniqueItems: true,
  description: 'Items to export; every granted item when omitted. The file keeps catalog order.',
});

export const ExchangeJobRequest = Type.Object(
  {
    resource: Type.String({ pattern: RESOURCE_CODE_PATTERN, description: 'Catalog resource code' }),
    items: Type.Optional(Items),
    filter: Type.Optional(ExchangeFilter),
    kind: ExchangeKind,
    format: ExchangeFormat,
    since: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 64,
        description:
          'incremental only: the watermark value to start after (e.g. the `to` of the last manifest)',
      }),
    ),
  },
  { additionalProperties: false },
);
export type ExchangeJobRequest = Static<typeof ExchangeJobRequest>;

export const ExchangeConsumer = Type.Object(
  {
    deptCode: Type.String({ pattern: USCC_PATTERN }),
    systemId: Type.String({ pattern: SYSTEM_ID_PATTERN }),
    certSerial: Type.String({
      pattern: SERIAL_PATTERN,
      description: 'The file is encrypted for this certificate',
    }),
    userId: Type.Optional(
      Type.String({
        pattern: USER_ID_PATTERN,
        description:
          'The official acting through the system (the signed x-user-id of the submission or subscription); absent only on a machine-to-machine grant the platform allows',
      }),
    ),
  },
  { additionalProperties: false },
);
export type ExchangeConsumer = Static<typeof ExchangeConsumer>;

export const JobState = Type.Union(
  ['queued', 'running', 'completed', 'failed', 'expired'].map((s) => Type.Literal(s)),
  { description: 'queued → running → completed → expired, or failed' },
);
export type JobState = 'queued' | 'running' | 'completed' | 'failed' | 'expired';

const Count = (description: string) => Type.Integer({ minimum: 0, description });

export const Progress = Type.Object(
  {
    rows: Count('Rows written to the file so far'),
    scanned: Count('Rows read from the provider so far (before filters)'),
    pagesDone: Count('Pages read from the provider'),
    segments: Count('Checkpointed segments of the file'),
    total: Type.Optional(Count('Rows the provider holds, when it says')),
    percent: Type.Optional(Type.Integer({ minimum: 0, maximum: 100 })),
  },
  { additionalProperties: false },
);
export type Progress = Static<typeof Progress>;

/** Where a resumed run continues: everything before `bytes` is on disk (fsynced) and stays. */
export const Checkpoint = Type.Object(
  {
    segment: Count('Segments written'),
    cursor: Type.Optional(Type.String({ description: 'Connector cursor of the next page' })),
    rows: Count('Rows written'),
    scanned: Count('Rows read'),
    pagesDone: Count('Pages read'),
    bytes: Count('File length at the checkpoint'),
    nextChunk: Count('Index of the next envelope chunk'),
    total: Type.Optional(Count('Provider total at the last page')),
    watermarkTo: Type.Optional(Type.String({ description: 'Largest watermark value read so far' })),
    complete: Type.Optional(
      Type.Boolean({ description: 'The last segment is written: only completion is left' }),
    ),
  },
  { additionalProperties: false },
);
export type Checkpoint = Static<typeof Checkpoint>;

export const Watermark = Type.Object(
  {
    item: Type.String({ pattern: ITEM_NAME_PATTERN }),
    from: Type.Optional(
      Type.String({ description: 'Rows changed after this value (absent: from the start)' }),
    ),
    to: Type.Optional(Type.String({ description: 'Largest value in the rows read: the next `since`' })),
  },
  { additionalProperties: false },
);
export type Watermark = Static<typeof Watermark>;

export const ManifestFile = Type.Object(
  {
    name: Type.String(),
    bytes: Count('Size of the encrypted file'),
    sha256: Type.String({ pattern: '^[0-9a-f]{64}$', description: 'SHA-256 of the encrypted file' }),
    plaintextSha256: Type.String({ pattern: '^[0-9a-f]{64}$', description: 'SHA-256 of the decrypted gzip' }),
  },
  { additionalProperties: false },
);

/** Where a part starts and ends in the read order (exclusive after, inclusive until). */
export const PartPosition = Type.Object(
  {
    key: Type.Array(Type.Union([Type.String(), Type.Number(), Type.Boolean()]), {
      description: 'Values of the key items, in key order',
    }),
    watermark: Type.Optional(Type.Union([Type.String(), Type.Number(), Type.Boolean()])),
  },
  { additionalProperties: false },
);

/** One part of a file cut into parts (manifest version 2): its own encrypted file, read in parallel. */
export const ManifestPart = Type.Object(
  {
    index: Count('Position of the part: the decrypted parts concatenate in this order'),
    name: Type.String(),
    bytes: Count('Size of the encrypted part'),
    sha256: Type.String({ pattern: '^[0-9a-f]{64}$', description: 'SHA-256 of the encrypted part' }),
    plaintextSha256: Type.String({ pattern: '^[0-9a-f]{64}$', description: 'SHA-256 of the decrypted gzip' }),
    rows: Count('Rows in the part'),
    firstRow: Count('Rows in the parts before this one'),
    keyRange: Type.Optional(
      Type.Object(
        { after: Type.Optional(PartPosition), until: Type.Optional(PartPosition) },
        {
          additionalProperties: false,
          description:
            'Rows after `after` (absent: from the first) up to and including `until` (absent: to the last), in key order; only when the key items are delivered unmasked',
        },
      ),
    ),
  },
  { additionalProperties: false },
);
export type ManifestPart = Static<typeof ManifestPart>;

export const Manifest = Type.Object(
  {
    version: Type.Union([Type.Literal(1), Type.Literal(2)], {
      description: '1: one file (`file`); 2: the file cut into parts (`parts`)',
    }),
    jobId: Type.String({ pattern: JOB_ID_PATTERN }),
    resource: Type.String({ pattern: RESOURCE_CODE_PATTERN }),
    resourceVersion: Type.Integer({ minimum: 1 }),
    grantId: Type.String(),
    consumer: ExchangeConsumer,
    items: Type.Array(Type.String()),
    filter: Type.Optional(ExchangeFilter),
    kind: ExchangeKind,
    format: ExchangeFormat,
    rows: Count('Rows in the file'),
    file: Type.Optional(ManifestFile),
    parts: Type.Optional(Type.Array(ManifestPart, { minItems: 2 })),
    watermark: Type.Optional(Watermark),
    encryption: Type.Object(
      {
        scheme: Type.Literal('govshare-envelope-v1'),
        recipientSerial: Type.String({ pattern: SERIAL_PATTERN }),
        algorithms: Type.Optional(
          Type.Object(
            {
              keyWrap: Type.Literal('sm2-encrypt-c1c3c2'),
              content: Type.Literal('sm4-ctr+hmac-sm3'),
            },
            {
              additionalProperties: false,
              description:
                'Suite 2 (gm): the data key wrapped with SM2 (C1C3C2), chunks SM4-CTR with an HMAC-SM3 tag (certs/envelope.ts). Absent: suite 1, RSA-OAEP-SHA256 and AES-256-GCM',
            },
          ),
        ),
      },
      { additionalProperties: false },
    ),
    createdAt: ISO('When the job was submitted (completion time is on the job, not here)'),
    useRestriction: Type.Optional(UseRestriction),
    offlineRequest: Type.Optional(
      Type.String({
        pattern: '^o[0-9a-f]{32}$',
        description: 'An offline package: the approved offline request ([HB-S] 16) it was produced under',
      }),
    ),
  },
  {
    additionalProperties: false,
    description:
      'Signed by the platform. It holds nothing that depends on when or how often the job ran, so a resumed job has the same manifest.',
  },
);
export type Manifest = Static<typeof Manifest>;

export const SignedManifest = Type.Object(
  {
    manifest: Manifest,
    signature: Type.Object(
      {
        alg: Type.Union([Type.Literal('rsa-pss-sha256'), Type.Literal('sm2-sm3')]),
        keyid: Type.String({ description: 'Serial of the platform signing certificate' }),
        value: Type.String({ description: 'Base64 signature over the canonical JSON (JCS) of `manifest`' }),
      },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false },
);
export type SignedManifest = Static<typeof SignedManifest>;

export const JobError = Type.Object(
  { code: Type.String(), message: Type.String() },
  { additionalProperties: false },
);

export const ExchangeJob = Type.Object(
  {
    id: Type.String({ pattern: JOB_ID_PATTERN }),
    consumer: ExchangeConsumer,
    purpose: Type.String({ description: 'x-purpose of the submission; re-checked on every run' }),
    resource: Type.String({ pattern: RESOURCE_CODE_PATTERN }),
    resourceVersion: Type.Integer({ minimum: 1, description: 'Catalog version the job is pinned to' }),
    providerCode: Type.String({ pattern: USCC_PATTERN }),
    grantId: Type.String(),
    items: Type.Array(Type.String({ pattern: ITEM_NAME_PATTERN }), { description: 'In catalog order' }),
    filter: Type.Optional(ExchangeFilter),
    kind: ExchangeKind,
    format: ExchangeFormat,
    watermark: Type.Optional(Watermark),
    subscriptionId: Type.Optional(Type.String({ pattern: SUBSCRIPTION_ID_PATTERN })),
    parts: Type.Optional(
      Type.Integer({
        minimum: 2,
        description: 'The export is cut into this many parts, read in parallel; absent: one file',
      }),
    ),
    retryOf: Type.Optional(
      Type.String({ pattern: JOB_ID_PATTERN, description: 'The failed job this one retries' }),
    ),
    retriedBy: Type.Optional(
      Type.String({ pattern: JOB_ID_PATTERN, description: 'The job that retries this failed one' }),
    ),
    offlineRequest: Type.Optional(
      Type.String({
        pattern: '^o[0-9a-f]{32}$',
        description:
          'The approved offline request this job produced a package for ([HB-S] 16): delivered on a medium, never downloaded',
      }),
    ),
    state: JobState,
    progress: Progress,
    checkpoint: Type.Optional(Checkpoint),
    attempts: Count('Runs started (a resumed job counts each run)'),
    createdAt: ISO('Submitted'),
    updatedAt: ISO('Last change'),
    startedAt: Type.Optional(ISO('First run started')),
    completedAt: Type.Optional(ISO('File finished')),
    expiresAt: Type.Optional(ISO('File deleted after')),
    error: Type.Optional(JobError),
    file: Type.Optional(
      Type.Object(
        {
          path: Type.String({ description: 'Relative to the exchange directory' }),
          name: Type.String(),
          bytes: Count('Size of the encrypted file'),
          sha256: Type.String(),
        },
        { additionalProperties: false },
      ),
    ),
    manifest: Type.Optional(SignedManifest),
    envelopeHeader: Type.String({
      contentEncoding: 'base64',
      description:
        'Encoded envelope header (recipient, wrapped key, nonce prefix): the first bytes of the file',
    }),
  },
  { additionalProperties: false },
);
export type ExchangeJob = Static<typeof ExchangeJob>;

/** The job as its consumer sees it (GET /v1/exchange/jobs/{id}): without checkpoint and envelope header. */
export const ExchangeJobView = Type.Omit(ExchangeJob, ['checkpoint', 'envelopeHeader']);
export type ExchangeJobView = Static<typeof ExchangeJobView>;

export const Schedule = Type.Object(
  {
    pattern: Type.String({
      pattern: '^[0-9*/,\\-A-Za-z?LW#]+( [0-9*/,\\-A-Za-z?LW#]+){4,5}$',
      description: 'Cron pattern (5 or 6 fields). @defaultValue "0 2 * * *" (02:00 daily)',
    }),
    tz: Type.String({
      pattern: '^[A-Za-z_]+(/[A-Za-z0-9_+-]+){0,2}$',
      description: 'IANA time zone of the pattern. @defaultValue Asia/Shanghai',
    }),
  },
  { additionalProperties: false },
);
export type Schedule = Static<typeof Schedule>;

export const SubscriptionRequest = Type.Object(
  {
    resource: Type.String({ pattern: RESOURCE_CODE_PATTERN }),
    items: Type.Optional(Items),
    filter: Type.Optional(ExchangeFilter),
    format: ExchangeFormat,
    schedule: Type.Optional(Type.Partial(Schedule)),
    since: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 64,
        description: 'Start after this watermark; from the start when omitted',
      }),
    ),
  },
  { additionalProperties: false },
);
export type SubscriptionRequest = Static<typeof SubscriptionRequest>;

export const Subscription = Type.Object(
  {
    id: Type.String({ pattern: SUBSCRIPTION_ID_PATTERN }),
    consumer: ExchangeConsumer,
    purpose: Type.String(),
    resource: Type.String({ pattern: RESOURCE_CODE_PATTERN }),
    grantId: Type.String(),
    items: Type.Optional(Items),
    filter: Type.Optional(ExchangeFilter),
    format: ExchangeFormat,
    schedule: Schedule,
    createdAt: ISO('Created'),
  },
  { additionalProperties: false },
);
export type Subscription = Static<typeof Subscription>;

export const checkJobRequest = TypeCompiler.Compile(ExchangeJobRequest);
export const checkSubscriptionRequest = TypeCompiler.Compile(SubscriptionRequest);
export const checkSignedManifest = TypeCompiler.Compile(SignedManifest);
