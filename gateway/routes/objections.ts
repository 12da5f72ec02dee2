/**
 * Objections to shared records over HTTP (疑义与纠错, [HB-S] 23; [HC-R] 30; [XY] 21). A consumer
 * department's dept-admin reports a doubtful record of a resource it holds a grant on, and may withdraw
 * it; the provider's dept-admin answers within its working-day limit. A department sees the objections
 * it raised or must answer; the bureau sees all.
 *
 * The record's key value (usually an ID number) is returned only by GET /v1/objections/{id}; every
 * change and every such read is audited with the key as a subject hash, never in clear, and the key
 * never reaches the logs (it travels in bodies only, which are not logged).
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { subjectHash } from '../../audit/subject.js';
import { RESOURCE_CODE_PATTERN, USCC_PATTERN } from '../../catalog/schema.js';
import {
  OBJECTION_ID_PATTERN,
  Objection,
  ObjectionAnswer,
  ObjectionRequest,
  ObjectionState,
  RecheckDecision,
  WithdrawBody,
} from '../../policies/objections/schema.js';
import type { GatewayContext } from '../app/context.js';
import { problemResponses } from '../app/schemas.js';
import type { Workflow } from '../app/workflow.js';
import { actorOf } from '../auth/people.js';
import { personOf } from '../plugins/people-auth.js';

const IdParams = Type.Object({ id: Type.String({ pattern: OBJECTION_ID_PATTERN }) });
const ListQuery = Type.Object(
  {
    state: Type.Optional(ObjectionState),
    resource: Type.Optional(Type.String({ pattern: RESOURCE_CODE_PATTERN })),
    dept: Type.Optional(
      Type.String({ pattern: USCC_PATTERN, description: 'Raised or to be answered by this department' }),
    ),
    overdue: Type.Optional(Type.Boolean({ description: 'Only open objections past their deadline' })),
    page: Type.Integer({ minimum: 1, maximum: 100_000, default: 1 }),
    pageSize: Type.Integer({ minimum: 1, maximum: 500, default: 50 }),
  },
  { additionalProperties: false },
);
/** Listed objections leave out the key value: reading it is a disclosure, audited per objection. */
const ObjectionSummary = Type.Omit(Objection, ['key']);
const ObjectionPage = Type.Object({
  objections: Type.Array(ObjectionSummary),
  total: Type.Integer(),
  page: Type.Integer(),
  pageSize: Type.Integer(),
});
const readers = ['bureau', 'dept-admin'] as const;

export const objectionRoutes: FastifyPluginAsyncTypebox<{
  context: GatewayContext;
  workflow: Workflow;
}> = async (app, { context, workflow }) => {
  const { objections } = workflow;
  const secret = context.platform.subjectHmacKey;
  /** Audit fields of a record about an objection: its resource, grant and the key as a subject hash. */
  const about = (o: Objection) => ({
    resource: o.resourceCode,
    grantId: o.grantId,
    subjects: [subjectHash(secret, o.key)],
  });

  app.post(
    '/v1/objections',
    {
      config: { access: ['dept-admin'] },
      schema: {
        tags: ['objections'],
        description:
          'Report a doubtful record of a resource your department holds a grant on: the key value, the item, ' +
          'what is wrong and any evidence. The provider must answer within its working-day limit.',
        body: ObjectionRequest,
        response: { 201: Objection, ...problemResponses },
      },
    },
    async (request, reply) => {
      const raised = await objections.submit(actorOf(personOf(request)), request.body);
      await request.auditAdmin(
        'objection.submit',
        {
          objection: raised.id,
          item: raised.item,
          provider: raised.providerDept,
          dueDate: raised.deadline.dueDate,
          ...(raised.systemId ? { system: raised.systemId } : {}),
        },
        about(raised),
      );
      return reply.code(201).send(raised);
    },
  );

  app.get(
    '/v1/objections',
    {
      config: { access: readers },
      schema: {
        tags: ['objections'],
        description:
          'Search objections, newest first, without their key values. A dept-admin sees those its department raised or must answer.',
        querystring: ListQuery,
        response: { 200: ObjectionPage, ...problemResponses },
      },
    },
    async (request) => {
      const { resource, ...rest } = request.query;
      const page = await objections.list(actorOf(personOf(request)), {
        ...rest,
        ...(resource ? { resourceCode: resource } : {}),
      });
      return { ...page, objections: page.objections.map(({ key: _key, ...summary }) => summary) };
    },
  );

  app.get(
    '/v1/objections/:id',
    {
      config: { access: readers },
      schema: {
        tags: ['objections'],
        description: 'One objection with the key value of the record, its deadline, answer and history.',
        params: IdParams,
        response: { 200: Objection, ...problemResponses },
      },
    },
    async (request) => {
      const objection = await objections.get(actorOf(personOf(request)), request.params.id);
      await request.auditAdmin('objection.view', { objection: objection.id }, about(objection));
      return objection;
    },
  );

  app.post(
    '/v1/objections/:id/answer',
    {
      config: { access: ['dept-admin'] },
      schema: {
        tags: ['objections'],
        description:
          'The provider answers: corrected (confirmed and corrected at the source) or data-correct, with a reason ' +
          'the consumer is told.',
        params: IdParams,
        body: ObjectionAnswer,
        response: { 200: Objection, ...problemResponses },
      },
    },
    async (request) => {
      const answered = await objections.answer(actorOf(personOf(request)), request.params.id, request.body);
      await request.auditAdmin(
        'objection.answer',
        {
          objection: answered.id,
          outcome: request.body.outcome,
          reason: answered.answer?.reason,
          withinLimit: answered.answer?.withinLimit,
        },
        about(answered),
      );
      return answered;
    },
  );

  app.post(
    '/v1/objections/:id/recheck',
    {
      config: { access: ['bureau'] },
      schema: {
        tags: ['objections'],
        description:
          'The bureau’s recheck of an objection the platform received (`to: "platform"`, within 5 working days, [XY] 21): forward it to the provider, whose answer clock starts then, or dismiss it with a reason.',
        params: IdParams,
        body: RecheckDecision,
        response: { 200: Objection, ...problemResponses },
      },
    },
    async (request) => {
      const rechecked = await objections.recheck(actorOf(personOf(request)), request.params.id, request.body);
      await request.auditAdmin(
        'objection.recheck',
        {
          objection: rechecked.id,
          outcome: request.body.outcome,
          reason: request.body.reason,
          withinLimit: rechecked.recheck?.withinLimit,
        },
        about(rechecked),
      );
      return rechecked;
    },
  );

  app.post(
    '/v1/objections/:id/withdraw',
    {
      config: { access: ['dept-admin'] },
      schema: {
        tags: ['objections'],
        description: 'The consumer withdraws its open objection.',
        params: IdParams,
        body: WithdrawBody,
        response: { 200: Objection, ...problemResponses },
      },
    },
    async (request) => {
      const withdrawn = await objections.withdraw(
        actorOf(personOf(request)),
        request.params.id,
        request.body.reason,
      );
      await request.auditAdmin(
        'objection.withdraw',
        { objection: withdrawn.id, ...(request.body.reason ? { reason: request.body.reason } : {}) },
        about(withdrawn),
      );
      return withdrawn;
    },
  );
};
