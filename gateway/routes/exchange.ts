/**
 * Bulk exchange for signed department systems: submit an export job, follow its progress, download the
 * encrypted file (Range supported, for resuming), and manage incremental subscriptions. A system sees
 * only its own jobs and subscriptions; anything else answers 404.
 */
import { createReadStream } from 'node:fs';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AuditWriter } from '../../audit/writer.js';
import type { ExchangeDeps } from '../../exchange/deps.js';
import {
  ExchangeJobRequest,
  ExchangeJobView,
  JOB_ID_PATTERN,
  SUBSCRIPTION_ID_PATTERN,
  Subscription,
  SubscriptionRequest,
} from '../../exchange/schema.js';
import {
  getJobForCaller,
  jobView,
  listJobsForCaller,
  openJobFileForCaller,
  submitExchangeJob,
} from '../../exchange/service.js';
import {
  createSubscription,
  deleteSubscription,
  getSubscriptionForCaller,
  listSubscriptionsForCaller,
} from '../../exchange/subscriptions.js';
import { problemResponses } from '../app/schemas.js';

const JobParams = Type.Object({ id: Type.String({ pattern: JOB_ID_PATTERN }) });
const SubscriptionParams = Type.Object({ id: Type.String({ pattern: SUBSCRIPTION_ID_PATTERN }) });

/** `bytes=a-b`, `bytes=a-` or `bytes=-n` (one range); undefined when absent, null when unsatisfiable. */
export function parseRange(
  header: string | undefined,
  size: number,
): { start: number; end: number } | undefined | null {
  if (!header) return undefined;
  // RFC 9110 §14.2: a range the server does not support (another unit, several ranges) or cannot parse
  // (bytes=10-5) is ignored and the whole file sent; 416 is only for a valid range the file cannot satisfy.
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!match || (match[1] === '' && match[2] === '')) return undefined;
  if (match[1] === '') {
    const suffix = Number(match[2]);
    if (!Number.isSafeInteger(suffix)) return undefined;
    if (suffix === 0 || size === 0) return null;
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(match[1]);
  const last = match[2] === '' ? Number.MAX_SAFE_INTEGER : Number(match[2]);
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(last) || last < start) return undefined;
  if (start >= size) return null;
  return { start, end: Math.min(last, size - 1) };
}

function callerOf(request: FastifyRequest) {
  const caller = request.caller!;
  return {
    deptCode: caller.deptCode,
    systemId: caller.systemId,
    serial: caller.serial,
    ...(caller.userId ? { userId: caller.userId } : {}),
  };
}

/** What a signed request that starts an export says: its purpose, its id and the acting official. */
function submitContext(request: FastifyRequest) {
  const caller = request.caller!;
  return {
    purpose: caller.purpose,
    requestId: String(request.id),
    ...(caller.userId ? { userId: caller.userId } : {}),
  };
}

export const exchangeRoutes: FastifyPluginAsyncTypebox<{ deps: ExchangeDeps; audit: AuditWriter }> = async (
  app,
  { deps, audit },
) => {
  app.post(
    '/v1/exchange/jobs',
    {
      config: { access: 'system' },
      schema: {
        tags: ['exchange'],
        description:
          'Submit a bulk export (full or incremental, jsonl or csv) under a grant whose modes include bulk. The file is encrypted for the calling system. ' +
          'The signed x-user-id names the official acting through the system, recorded on the job, its audit records and its manifest; ' +
          'required (USER_ID_REQUIRED) unless the grant is machine-to-machine and GOVSHARE_MACHINE_CALLS is on.',
        body: ExchangeJobRequest,
        response: { 202: ExchangeJobView, ...problemResponses },
      },
    },
    async (request, reply) => {
      const job = await submitExchangeJob(deps, callerOf(request), request.body, submitContext(request));
      return reply.code(202).header('location', `/v1/exchange/jobs/${job.id}`).send(jobView(job));
    },
  );

  app.get(
    '/v1/exchange/jobs',
    {
      config: { access: 'system' },
      schema: {
        tags: ['exchange'],
        description: "The calling system's jobs, newest first.",
        querystring: Type.Object(
          { limit: Type.Integer({ minimum: 1, maximum: 500, default: 50 }) },
          { additionalProperties: false },
        ),
        response: { 200: Type.Object({ jobs: Type.Array(ExchangeJobView) }), ...problemResponses },
      },
    },
    async (request) => ({
      jobs: (await listJobsForCaller(deps, callerOf(request), request.query.limit)).map(jobView),
    }),
  );

  app.get(
    '/v1/exchange/jobs/:id',
    {
      config: { access: 'system' },
      schema: {
        tags: ['exchange'],
        description:
          'A job with its progress (rows, percent when the total is known), manifest and file once completed.',
        params: JobParams,
        response: { 200: ExchangeJobView, ...problemResponses },
      },
    },
    async (request) => jobView(await getJobForCaller(deps, callerOf(request), request.params.id)),
  );

  /** The file of a job, or one part of a job in parts: audited, with Range to resume. */
  const sendFile = async (request: FastifyRequest, reply: FastifyReply, id: string, part?: number) => {
    const file = await openJobFileForCaller(deps, callerOf(request), id, part);
    const range = parseRange(request.headers.range, file.bytes);
    if (range === null) {
      reply.header('content-range', `bytes */${file.bytes}`);
      return reply
        .code(416)
        .type('application/problem+json')
        .send({
          type: 'https://govshare.dev/problems/range-not-satisfiable',
          title: 'Range not satisfiable',
          status: 416,
          detail: `the file has ${file.bytes} bytes; ask for bytes=<start>-<end> within it`,
          code: 'RANGE_NOT_SATISFIABLE',
          requestId: String(request.id),
        });
    }
    const caller = request.caller!;
    await audit.append({
      time: new Date(request.receivedAt || Date.now()).toISOString(),
      requestId: String(request.id),
      instance: audit.instance,
      kind: 'exchange',
      actor: {
        deptCode: caller.deptCode,
        systemId: caller.systemId,
        certSerial: caller.serial,
        ...(caller.userId ? { userId: caller.userId } : {}),
      },
      action: 'exchange.download',
      resource: file.job.resource,
      grantId: file.job.grantId,
      purpose: caller.purpose.slice(0, 256),
      decision: 'allow',
      status: range ? 206 : 200,
      latencyMs: Date.now() - (request.receivedAt || Date.now()),
      requestSignatureHash: caller.signatureHash,
      detail: {
        jobId: file.job.id,
        ...(part === undefined ? {} : { part }),
        bytes: range ? range.end - range.start + 1 : file.bytes,
        sha256: file.sha256,
      },
    });
    reply
      .header('accept-ranges', 'bytes')
      .header('etag', `"${file.sha256}"`)
      .header('x-content-sha256', file.sha256)
      .header('content-disposition', `attachment; filename="${file.name}"`)
      .type('application/octet-stream');
    if (range) {
      reply
        .code(206)
        .header('content-range', `bytes ${range.start}-${range.end}/${file.bytes}`)
        .header('content-length', range.end - range.start + 1);
      return reply.send(createReadStream(file.path, { start: range.start, end: range.end }));
    }
    reply.header('content-length', file.bytes);
    return reply.send(createReadStream(file.path));
  };

  app.get(
    '/v1/exchange/jobs/:id/file',
    {
      config: { access: 'system' },
      schema: {
        tags: ['exchange'],
        description:
          'Download the encrypted file (AES-256-GCM chunks, key wrapped to your certificate with RSA-OAEP). Supports `Range: bytes=...` to resume. A job in parts (manifest version 2) is downloaded part by part instead. ' +
          'Names the acting official in a signed x-user-id, as a job submission does (USER_ID_REQUIRED).',
        params: JobParams,
        produces: ['application/octet-stream'],
      },
    },
    async (request, reply) => sendFile(request, reply, request.params.id),
  );

  app.get(
    '/v1/exchange/jobs/:id/parts/:part/file',
    {
      config: { access: 'system' },
      schema: {
        tags: ['exchange'],
        description:
          'Download part `part` (from 0) of a job in parts, as the manifest lists it: each part is an encrypted file of its own (same key wrap), and the decrypted parts concatenate in order into the whole. Supports `Range: bytes=...` to resume.',
        params: Type.Object({
          id: Type.String({ pattern: JOB_ID_PATTERN }),
          part: Type.Integer({ minimum: 0, maximum: 9999 }),
        }),
        produces: ['application/octet-stream'],
      },
    },
    async (request, reply) => sendFile(request, reply, request.params.id, request.params.part),
  );

  app.post(
    '/v1/exchange/subscriptions',
    {
      config: { access: 'system' },
      schema: {
        tags: ['exchange'],
        description:
          'Subscribe to incremental exports on a schedule (e.g. daily at 02:00 China time); the watermark advances only when a file completes. ' +
          'Each run acts for the official who subscribed (the signed x-user-id, required as for a job).',
        body: SubscriptionRequest,
        response: { 201: Subscription, ...problemResponses },
      },
    },
    async (request, reply) =>
      reply
        .code(201)
        .send(await createSubscription(deps, callerOf(request), request.body, submitContext(request))),
  );

  app.get(
    '/v1/exchange/subscriptions',
    {
      config: { access: 'system' },
      schema: {
        tags: ['exchange'],
        response: { 200: Type.Object({ subscriptions: Type.Array(Subscription) }), ...problemResponses },
      },
    },
    async (request) => ({ subscriptions: await listSubscriptionsForCaller(deps, callerOf(request)) }),
  );

  app.get(
    '/v1/exchange/subscriptions/:id',
    {
      config: { access: 'system' },
      schema: {
        tags: ['exchange'],
        params: SubscriptionParams,
        response: { 200: Subscription, ...problemResponses },
      },
    },
    async (request) => getSubscriptionForCaller(deps, callerOf(request), request.params.id),
  );

  app.delete(
    '/v1/exchange/subscriptions/:id',
    {
      config: { access: 'system' },
      schema: {
        tags: ['exchange'],
        params: SubscriptionParams,
        response: { 204: Type.Null(), ...problemResponses },
      },
    },
    async (request, reply) => {
      await deleteSubscription(deps, callerOf(request), request.params.id);
      return reply.code(204).send(null);
    },
  );
};
