/**
 * Disputes between departments ([HB-S] 25; [HC-R] 28), rectification orders ([HB-S] 31; [HC-R] 44),
 * catalog change events ([HC-R] 13) and joint verifications of inconsistent data ([HB-S] 17) over HTTP. Each runs on a working-day clock (policies/cases); every
 * action is audited, every party notified by webhook.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { AuditRecord } from '../../audit/record.js';
import {
  CASE_ID_PATTERN,
  Case,
  CaseKind,
  CaseState,
  CaseText,
  CatalogChangeRequest,
  CloseChangeRequest,
  DisputeRequest,
  JointAnswerRequest,
  JointDecisionRequest,
  JointVerificationRequest,
  RectificationRequest,
  ReviewRequest,
} from '../../policies/cases/schema.js';
import { problemResponses } from '../app/schemas.js';
import type { Workflow } from '../app/workflow.js';
import { actorOf } from '../auth/people.js';
import { personOf } from '../plugins/people-auth.js';

const IdParams = Type.Object({ id: Type.String({ pattern: CASE_ID_PATTERN }) });
const one = { 200: Case, ...problemResponses };
const created = { 201: Case, ...problemResponses };

export const caseRoutes: FastifyPluginAsyncTypebox<{ workflow: Workflow }> = async (app, { workflow }) => {
  const { cases } = workflow;
  const audit = (
    request: {
      auditAdmin(a: string, d: Record<string, unknown>, e?: Partial<AuditRecord>): Promise<void>;
    },
    c: Case,
    action: string,
    extra = {},
    record: Partial<AuditRecord> = {},
  ) =>
    request.auditAdmin(
      `case.${action}`,
      { case: c.id, kind: c.kind, state: c.state, dept: c.dept, ...extra },
      record,
    );

  app.post(
    '/v1/disputes',
    {
      config: { access: ['dept-admin'] },
      schema: {
        tags: ['cases'],
        description: 'Open a dispute with another department; the bureau decides it on a working-day clock.',
        body: DisputeRequest,
        response: created,
      },
    },
    async (request, reply) => {
      const c = await cases.openDispute(actorOf(personOf(request)), request.body);
      await audit(request, c, 'open');
      return reply.code(201).send(c);
    },
  );

  app.post(
    '/v1/disputes/:id/decision',
    {
      config: { access: ['bureau'] },
      schema: {
        tags: ['cases'],
        description: 'The bureau decides the dispute; both departments are told.',
        params: IdParams,
        body: CaseText,
        response: one,
      },
    },
    async (request) => {
      const c = await cases.decide(actorOf(personOf(request)), request.params.id, request.body.text);
      await audit(request, c, 'decide', { withinLimit: c.decision?.withinLimit });
      return c;
    },
  );

  app.post(
    '/v1/disputes/:id/withdraw',
    {
      config: { access: ['dept-admin'] },
      schema: {
        tags: ['cases'],
        description: 'The opener withdraws its dispute.',
        params: IdParams,
        body: CaseText,
        response: one,
      },
    },
    async (request) => {
      const c = await cases.withdraw(actorOf(personOf(request)), request.params.id, request.body.text);
      await audit(request, c, 'withdraw');
      return c;
    },
  );

  app.post(
    '/v1/rectifications',
    {
      config: { access: ['bureau'] },
      schema: {
        tags: ['cases'],
        description:
          'Order a department to rectify a violation within a time limit (15 working days unless given).',
        body: RectificationRequest,
        response: created,
      },
    },
    async (request, reply) => {
      const c = await cases.orderRectification(actorOf(personOf(request)), request.body);
      await audit(request, c, 'open', { dueDate: c.deadline.dueDate });
      return reply.code(201).send(c);
    },
  );

  app.post(
    '/v1/rectifications/:id/report',
    {
      config: { access: ['dept-admin'] },
      schema: {
        tags: ['cases'],
        description: 'The department’s closure report; the bureau reviews it.',
        params: IdParams,
        body: CaseText,
        response: one,
      },
    },
    async (request) => {
      const c = await cases.report(actorOf(personOf(request)), request.params.id, request.body.text);
      await audit(request, c, 'report', { withinLimit: c.report?.withinLimit });
      return c;
    },
  );

  app.post(
    '/v1/rectifications/:id/review',
    {
      config: { access: ['bureau'] },
      schema: {
        tags: ['cases'],
        description: 'The bureau accepts the closure report (closed) or returns it (open again).',
        params: IdParams,
        body: ReviewRequest,
        response: one,
      },
    },
    async (request) => {
      const { outcome, reason } = request.body;
      const c = await cases.review(actorOf(personOf(request)), request.params.id, outcome, reason);
      await audit(request, c, outcome === 'accept' ? 'accept' : 'return', { reason });
      return c;
    },
  );

  app.post(
    '/v1/catalog-changes',
    {
      config: { access: ['bureau', 'dept-admin'] },
      schema: {
        tags: ['cases'],
        description:
          'Record that a law was amended or a department’s duties changed: its catalog is due for update within 15 working days ([HC-R] 13).',
        body: CatalogChangeRequest,
        response: created,
      },
    },
    async (request, reply) => {
      const c = await cases.recordCatalogChange(actorOf(personOf(request)), request.body);
      await audit(request, c, 'open', { event: c.event, dueDate: c.deadline.dueDate });
      return reply.code(201).send(c);
    },
  );

  app.post(
    '/v1/catalog-changes/:id/close',
    {
      config: { access: ['bureau', 'dept-admin'] },
      schema: {
        tags: ['cases'],
        description:
          'Close the event with a resource of the department whose catalog version was published after it.',
        params: IdParams,
        body: CloseChangeRequest,
        response: one,
      },
    },
    async (request) => {
      const c = await cases.closeCatalogChange(
        actorOf(personOf(request)),
        request.params.id,
        request.body.resourceCode,
      );
      await audit(request, c, 'close', {
        resource: request.body.resourceCode,
        withinLimit: c.report?.withinLimit,
      });
      return c;
    },
  );

  app.post(
    '/v1/joint-verifications',
    {
      config: { access: ['bureau', 'dept-admin'] },
      schema: {
        tags: ['cases'],
        description:
          'Open a joint verification of one record on which two departments’ resources disagree ([HB-S] 17): the bureau or one of the two departments. The key is hashed and the values fingerprinted at once. 200 with the case already open for the same resources, item and record.',
        body: JointVerificationRequest,
        response: { 200: Case, ...created },
      },
    },
    async (request, reply) => {
      const opened = await cases.joint.open(actorOf(personOf(request)), request.body);
      const c = opened.case;
      const v = c.verification!;
      await audit(
        request,
        c,
        opened.deduplicated ? 'open-deduplicated' : 'open',
        { fromDept: c.fromDept, semanticId: v.semanticId, finding: v.finding },
        { subjects: [v.recordKeyHash] },
      );
      return reply.code(opened.deduplicated ? 200 : 201).send(c);
    },
  );

  app.post(
    '/v1/joint-verifications/:id/answer',
    {
      config: { access: ['dept-admin'] },
      schema: {
        tags: ['cases'],
        description:
          'One of the two departments answers: confirm its value with evidence, or concede. When both have answered the case is settled (one confirms, the other concedes) or referred to the bureau.',
        params: IdParams,
        body: JointAnswerRequest,
        response: one,
      },
    },
    async (request) => {
      const c = await cases.joint.answer(actorOf(personOf(request)), request.params.id, request.body);
      await audit(
        request,
        c,
        'answer',
        { position: request.body.position, outcome: c.verification?.outcome },
        { subjects: [c.verification!.recordKeyHash] },
      );
      return c;
    },
  );

  app.post(
    '/v1/joint-verifications/:id/decision',
    {
      config: { access: ['bureau'] },
      schema: {
        tags: ['cases'],
        description:
          'The bureau decides a referred joint verification: the resource whose value is correct. The other department receives a rectification order to correct its value; both are told.',
        params: IdParams,
        body: JointDecisionRequest,
        response: one,
      },
    },
    async (request) => {
      const c = await cases.joint.decide(actorOf(personOf(request)), request.params.id, request.body);
      await audit(
        request,
        c,
        'decide',
        { withinLimit: c.decision?.withinLimit, outcome: c.verification?.outcome },
        { subjects: [c.verification!.recordKeyHash] },
      );
      return c;
    },
  );

  app.get(
    '/v1/cases',
    {
      config: { access: ['bureau', 'auditor', 'dept-admin'] },
      schema: {
        tags: ['cases'],
        description:
          'Disputes, rectification orders, catalog change events and joint verifications, newest first: a department sees those it is party to.',
        querystring: Type.Object(
          { kind: Type.Optional(CaseKind), state: Type.Optional(CaseState) },
          { additionalProperties: false },
        ),
        response: { 200: Type.Object({ cases: Type.Array(Case) }), ...problemResponses },
      },
    },
    async (request) => ({ cases: await cases.list(actorOf(personOf(request)), request.query) }),
  );

  app.get(
    '/v1/cases/:id',
    {
      config: { access: ['bureau', 'auditor', 'dept-admin'] },
      schema: { tags: ['cases'], params: IdParams, response: one },
    },
    async (request) => cases.get(actorOf(personOf(request)), request.params.id),
  );
};
