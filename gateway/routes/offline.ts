/**
 * Offline (medium) exchange with approval, [HB-S] 16 (exchange/offline.ts). The consumer department's
 * administrator requests and confirms receipt (or withdraws); the provider department's administrator may
 * object; the bureau decides, orders the one package of a live approval and records the hand-over.
 * Everyone else, and anyone outside the two departments, gets 404. Each step is written to the audit
 * trail and its notices committed (inbox and webhooks of both departments) before it is stored.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyRequest } from 'fastify';
import { USCC_PATTERN } from '../../catalog/schema.js';
import {
  type BeforeCommit,
  confirmOfflineReceipt,
  decideOffline,
  getOffline,
  handOverOffline,
  listOffline,
  type OfflineDeps,
  objectOffline,
  orderOfflinePackage,
  requestOffline,
  withdrawOffline,
} from '../../exchange/offline.js';
import {
  OFFLINE_ID_PATTERN,
  OfflineDecisionBody,
  OfflineHandoverBody,
  OfflineObjectionBody,
  OfflineReceiptBody,
  OfflineRequest,
  OfflineRequestBody,
  OfflineState,
} from '../../exchange/offline-schema.js';
import { problemResponses } from '../app/schemas.js';
import { actorOf } from '../auth/people.js';
import { personOf } from '../plugins/people-auth.js';

const IdParams = Type.Object({ id: Type.String({ pattern: OFFLINE_ID_PATTERN }) });
const TAGS = ['exchange'];

/** What an offline step's audit record says about the request. */
function auditDetail(record: OfflineRequest): Record<string, unknown> {
  return {
    offlineId: record.id,
    state: record.state,
    consumer: `${record.consumer.deptCode}/${record.consumer.systemId}`,
    medium: record.medium,
    reasonKind: record.reason.kind,
    ...(record.decision ? { approved: record.decision.approved } : {}),
    ...(record.approvalExpiresAt ? { approvalExpiresAt: record.approvalExpiresAt } : {}),
    ...(record.production ? { jobId: record.production.jobId } : {}),
    ...(record.handover ? { mediumSerial: record.handover.mediumSerial } : {}),
  };
}

export const offlineRoutes: FastifyPluginAsyncTypebox<{ offline: OfflineDeps }> = async (
  app,
  { offline },
) => {
  /** Audit first (fail closed), then the notices, then the change is stored. */
  const commit =
    (request: FastifyRequest, action: string): BeforeCommit =>
    async (record, events) => {
      await request.auditBefore(action, auditDetail(record), {
        resource: record.resource,
        grantId: record.grantId,
        providerDept: record.providerCode,
      });
      if (events.length > 0) await offline.announce(events);
    };
  const actor = (request: FastifyRequest) => actorOf(personOf(request));

  app.post(
    '/v1/exchange/offline',
    {
      config: { access: ['dept-admin'] },
      schema: {
        tags: TAGS,
        description:
          "Request delivery of a granted resource on a medium, outside the network ([HB-S] 16): the reason (closed list and words), the medium, the hand-over contact. Decided like a bulk export of the system's grant (mode bulk, purpose, items, masking, data-use terms); told to the provider department and the bureau. Nothing is produced until the bureau approves.",
        body: OfflineRequestBody,
        response: { 201: OfflineRequest, ...problemResponses },
      },
    },
    async (request, reply) => {
      const created = await requestOffline(
        offline,
        actor(request),
        request.body,
        commit(request, 'offline.request'),
      );
      return reply.code(201).header('location', `/v1/exchange/offline/${created.id}`).send(created);
    },
  );

  app.get(
    '/v1/exchange/offline',
    {
      config: { access: ['bureau', 'auditor', 'dept-admin'] },
      schema: {
        tags: TAGS,
        description:
          'Offline requests, newest first. A dept-admin sees those of its department as consumer or as provider.',
        querystring: Type.Object(
          {
            state: Type.Optional(OfflineState),
            dept: Type.Optional(Type.String({ pattern: USCC_PATTERN })),
            limit: Type.Integer({ minimum: 1, maximum: 500, default: 50 }),
          },
          { additionalProperties: false },
        ),
        response: { 200: Type.Object({ requests: Type.Array(OfflineRequest) }), ...problemResponses },
      },
    },
    async (request) => {
      const { state, dept, limit } = request.query;
      return {
        requests: await listOffline(
          offline,
          actor(request),
          { ...(state ? { state: state as OfflineRequest['state'] } : {}), ...(dept ? { dept } : {}) },
          limit,
        ),
      };
    },
  );

  app.get(
    '/v1/exchange/offline/:id',
    {
      config: { access: ['bureau', 'auditor', 'dept-admin'] },
      schema: { tags: TAGS, params: IdParams, response: { 200: OfflineRequest, ...problemResponses } },
    },
    async (request) => getOffline(offline, request.params.id, actor(request)),
  );

  app.post(
    '/v1/exchange/offline/:id/objection',
    {
      config: { access: ['dept-admin'] },
      schema: {
        tags: TAGS,
        description:
          'The provider department objects before the bureau decides (once); the bureau then approves only by answering it ([HB-S] 27: 谁提供谁负责).',
        params: IdParams,
        body: OfflineObjectionBody,
        response: { 200: OfflineRequest, ...problemResponses },
      },
    },
    async (request) =>
      objectOffline(
        offline,
        request.params.id,
        actor(request),
        request.body.reason,
        commit(request, 'offline.object'),
      ),
  );

  app.post(
    '/v1/exchange/offline/:id/decision',
    {
      config: { access: ['bureau'] },
      schema: {
        tags: TAGS,
        description:
          'The bureau approves (for one package, ordered before the end of the GOVSHARE_OFFLINE_APPROVAL_WORKDAYS-th working day) or refuses with a reason. The grant is decided again. Both departments are told.',
        params: IdParams,
        body: OfflineDecisionBody,
        response: { 200: OfflineRequest, ...problemResponses },
      },
    },
    async (request) =>
      decideOffline(
        offline,
        request.params.id,
        actor(request),
        request.body,
        commit(request, 'offline.decide'),
      ),
  );

  app.post(
    '/v1/exchange/offline/:id/withdrawal',
    {
      config: { access: ['dept-admin'] },
      schema: {
        tags: TAGS,
        description: 'The consumer department withdraws its request before its package is ordered.',
        params: IdParams,
        response: { 200: OfflineRequest, ...problemResponses },
      },
    },
    async (request) =>
      withdrawOffline(offline, request.params.id, actor(request), commit(request, 'offline.withdraw')),
  );

  app.post(
    '/v1/exchange/offline/:id/package',
    {
      config: { access: ['bureau'] },
      schema: {
        tags: TAGS,
        description:
          "Order the one package of a live approval: a worker exports it through the bulk exchange runner (masking, encryption for the consumer system's certificate, signed manifest) into the offline outbox. Without a live, unused approval: OFFLINE_APPROVAL_REQUIRED, audited.",
        params: IdParams,
        response: { 202: OfflineRequest, ...problemResponses },
      },
    },
    async (request, reply) => {
      const ordered = await orderOfflinePackage(
        offline,
        request.params.id,
        actor(request),
        commit(request, 'offline.order'),
        async (current, why) => {
          await request.auditAdmin(
            'offline.produce',
            { ...auditDetail(current), refused: why },
            {
              decision: 'deny',
              status: 403,
              reasonCode: 'OFFLINE_APPROVAL_REQUIRED',
              resource: current.resource,
              grantId: current.grantId,
              providerDept: current.providerCode,
            },
          );
        },
      );
      return reply.code(202).send(ordered);
    },
  );

  app.post(
    '/v1/exchange/offline/:id/handover',
    {
      config: { access: ['bureau'] },
      schema: {
        tags: TAGS,
        description: 'Record the hand-over of the produced package: the medium serial and who took it over.',
        params: IdParams,
        body: OfflineHandoverBody,
        response: { 200: OfflineRequest, ...problemResponses },
      },
    },
    async (request) =>
      handOverOffline(
        offline,
        request.params.id,
        actor(request),
        request.body,
        commit(request, 'offline.handover'),
      ),
  );

  app.post(
    '/v1/exchange/offline/:id/receipt',
    {
      config: { access: ['dept-admin'] },
      schema: {
        tags: TAGS,
        description:
          'The consumer department confirms it received the medium; the package is then deleted from the outbox.',
        params: IdParams,
        body: OfflineReceiptBody,
        response: { 200: OfflineRequest, ...problemResponses },
      },
    },
    async (request) =>
      confirmOfflineReceipt(
        offline,
        request.params.id,
        actor(request),
        request.body?.note,
        commit(request, 'offline.receipt'),
      ),
  );
};
