/**
 * Forwarded applications as routes (province ↔ city cascade). On the upper platform: the application a
 * lower platform forwards (FORWARDED_APPLICATIONS_PATH) and its withdrawal when the lower platform's
 * consumer withdraws it there (FORWARDED_WITHDRAWALS_PATH), both signed by the peer platform under an
 * agreement in force. On the lower platform: the upper platform's decisions, as its signed webhooks
 * (APPLICATION_EVENTS_PATH), applied once per transition.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { parseAcceptSignature, signResponse, verifyRequestSignature } from '../../certs/httpsig/index.js';
import {
  APPLICATION_EVENTS_PATH,
  FORWARDED_APPLICATIONS_PATH,
  FORWARDED_EVENT_TYPES,
  FORWARDED_WITHDRAWALS_PATH,
  ForwardedApplication,
  ForwardedApplications,
  ForwardedWithdrawal,
  WITHDRAWN_BEFORE_TAKEN,
} from '../../federation/applications.js';
import { federationErrors } from '../../federation/errors.js';
import { checkOriginDepartment, FEDERATION_SYSTEM_ID } from '../../federation/origin.js';
import type { PeerLink } from '../../federation/peers.js';
import { WEBHOOK_SIGNED_COMPONENTS } from '../../notifications/send.js';
import { APPLICATION_NOT_FOUND } from '../../policies/applications/errors.js';
import type { Application } from '../../policies/applications/schema.js';
import type { PeerOutcome } from '../../policies/applications/service.js';
import type { GatewayContext } from '../app/context.js';
import { problemResponses } from '../app/schemas.js';
import type { Workflow } from '../app/workflow.js';
import { callerActor } from '../data-path/caller.js';
import { targetUri } from '../plugins/signed-calls.js';
import { ForwardedHeaders } from './federation-headers.js';

export const federationApplicationRoutes: FastifyPluginAsyncTypebox<{
  context: GatewayContext;
  workflow: Workflow;
}> = async (app, { context, workflow }) => {
  const forwarded = new ForwardedApplications(context.redis, context.prefix);

  app.post(
    FORWARDED_APPLICATIONS_PATH,
    {
      config: { access: 'system', signer: 'peer-platform' },
      schema: {
        tags: ['federation'],
        description:
          "An application a federated (lower) platform forwards after its own bureau's check, for the original department and system its signed origin headers name. " +
          "It starts at this platform's bureau with this platform's clocks; its decisions go back to the lower platform as signed webhooks. " +
          'Forwarding the same application (peerApplicationId) again answers the one recorded. Signed as the forwarded data routes are; the answer is signed when asked (Accept-Signature).',
        headers: ForwardedHeaders,
        body: ForwardedApplication,
        response: {
          201: Type.Object({ id: Type.String(), state: Type.String(), correlationId: Type.String() }),
          ...problemResponses,
        },
      },
    },
    async (request, reply) => {
      const caller = request.caller!;
      const federation = caller.federation!;
      const { body } = request;
      const link = (await context.peers.links()).get(federation.agreementId);
      if (!link?.local.offers.includes(body.resourceCode)) {
        throw new federationErrors.FEDERATION_RESOURCE_NOT_OFFERED(
          `agreement ${federation.agreementId} does not offer ${body.resourceCode} to ${federation.peerPlatformId}`,
        );
      }
      const peer = federation.peerPlatformId;
      // Before anything is recorded or any endpoint registered for the department it names.
      const origin = await context.certs.getDepartment(federation.originDept);
      checkOriginDepartment(origin, federation.originDept, peer);
      const known = await forwarded.get(peer, body.peerApplicationId);
      if (known === WITHDRAWN_BEFORE_TAKEN) throw withdrawnBeforeTaken(peer, body.peerApplicationId);
      let application = known ? (await workflow.applications.store.read(known))?.app : undefined;
      if (!application) {
        // Where the decisions go: the lower platform's gateway, for the department it filed for.
        await workflow.notifications.ensureEndpoint(
          federation.originDept,
          {
            url: `${link.peer.gatewayUrl}${APPLICATION_EVENTS_PATH}`,
            events: [...FORWARDED_EVENT_TYPES],
            description: `${peer}: applications it forwarded`,
          },
          { role: 'system', name: `federation agreement ${federation.agreementId}` },
        );
        const { peerApplicationId, ...filed } = body;
        application = await workflow.applications.receive({
          peerPlatformId: peer,
          agreementId: federation.agreementId,
          correlationId: federation.correlationId,
          peerApplicationId,
          deptCode: federation.originDept,
          systemId: federation.originSystem,
          official: caller.userId ?? 'unknown',
          request: { ...filed, systemId: federation.originSystem },
        });
        if (!(await forwarded.set(peer, peerApplicationId, application.id))) {
          // The lower platform's withdrawal overtook this forwarding: withdrawn here at once.
          const taken = application;
          await workflow.applications.withdrawByPeer(
            taken.id,
            {
              peerPlatformId: peer,
              peerApplicationId,
              official: caller.userId ?? 'unknown',
              reason: 'withdrawn on the lower platform before this platform took it',
            },
            () =>
              request.auditBefore(
                'application.peer-withdraw',
                withdrawalDetail(taken, federation, peerApplicationId, { overtaken: true }),
                { actor: callerActor(caller) },
              ),
          );
          throw withdrawnBeforeTaken(peer, peerApplicationId);
        }
      }
      await request.auditAdmin(
        'application.submit',
        {
          application: application.id,
          resource: application.resourceCode,
          system: application.systemId,
          path: application.path,
          state: application.state,
          ...(known ? { repeated: true } : {}),
          federation: {
            correlationId: federation.correlationId,
            peer,
            peerApplicationId: body.peerApplicationId,
            agreementId: federation.agreementId,
            originDept: federation.originDept,
            originSystem: federation.originSystem,
          },
        },
        { actor: callerActor(caller) },
      );
      const payload = JSON.stringify({
        id: application.id,
        state: application.state,
        correlationId: federation.correlationId,
      });
      return sendSignedWhenAsked(request, reply, 201, payload);
    },
  );

  /** The answer to a peer platform, signed when it asks (Accept-Signature): the exact bytes signed are sent. */
  async function sendSignedWhenAsked(
    request: FastifyRequest,
    reply: FastifyReply,
    status: number,
    payload: string,
  ): Promise<FastifyReply> {
    const caller = request.caller!;
    reply.code(status).header('content-type', 'application/json; charset=utf-8');
    const asked = request.headers['accept-signature'];
    const requested = asked ? parseAcceptSignature(asked)[0] : undefined;
    if (requested) {
      const signed = await signResponse({
        status,
        headers: { 'content-type': 'application/json; charset=utf-8' },
        body: payload,
        request: { method: request.method, url: caller.targetUri, headers: request.headers },
        requestLabel: caller.signature.label,
        keyId: context.platform.signingCertX509.serialNumber.toLowerCase(),
        signer: context.platform.platformSigner,
        label: requested.label,
        ...(typeof requested.params.nonce === 'string' ? { nonce: requested.params.nonce } : {}),
      });
      for (const [name, value] of Object.entries(signed)) reply.header(name, value);
    }
    // The exact bytes signed, not a re-serialization of them.
    return reply.send(payload as never);
  }

  app.post(
    FORWARDED_WITHDRAWALS_PATH,
    {
      config: { access: 'system', signer: 'peer-platform' },
      schema: {
        tags: ['federation'],
        description:
          "The lower platform's consumer withdrew an application the lower platform forwarded here (peerApplicationId, its id there): it ends as withdrawn here as a local withdrawal does (its clock cancelled, whoever was waiting told), audited before it changes. " +
          'A peer withdraws only applications it forwarded. Withdrawing again answers the recorded outcome; an application already decided here answers 409 APPLICATION_ALREADY_DECIDED and stays as decided, except that a grant it made is revoked. ' +
          'One not taken here yet answers 404 and will not be taken afterwards. Signed as the forwarded-applications route is; the answer is signed when asked.',
        headers: ForwardedHeaders,
        body: ForwardedWithdrawal,
        response: {
          200: Type.Object({
            id: Type.String(),
            state: Type.String(),
            applied: Type.Boolean({ description: 'false: it was withdrawn here already' }),
            correlationId: Type.String(),
          }),
          ...problemResponses,
        },
      },
    },
    async (request, reply) => {
      const caller = request.caller!;
      const federation = caller.federation!;
      const peer = federation.peerPlatformId;
      const { peerApplicationId, reason } = request.body;
      const actor = { actor: callerActor(caller) };
      let id = await forwarded.get(peer, peerApplicationId);
      if (id === undefined) {
        // Not taken here (or its forwarding is still under way): marked first, so it is never taken later.
        await request.auditBefore(
          'application.peer-withdraw',
          {
            taken: false,
            reason,
            federation: { correlationId: federation.correlationId, peer, peerApplicationId },
          },
          actor,
        );
        id = await forwarded.markWithdrawnBeforeTaken(peer, peerApplicationId);
      }
      const application =
        id && id !== WITHDRAWN_BEFORE_TAKEN ? (await workflow.applications.store.read(id))?.app : undefined;
      if (!application || application.consumerDept !== federation.originDept) {
        throw new APPLICATION_NOT_FOUND(
          `${peer} forwarded no application ${peerApplicationId} for department ${federation.originDept} here; none will be taken under that id`,
        );
      }
      const result = await workflow.applications.withdrawByPeer(
        application.id,
        { peerPlatformId: peer, peerApplicationId, official: caller.userId ?? 'unknown', reason },
        (app) =>
          request.auditBefore(
            'application.peer-withdraw',
            withdrawalDetail(app, federation, peerApplicationId, { reason }),
            actor,
          ),
      );
      if (!result.applied) {
        await request.auditAdmin(
          'application.peer-withdraw',
          withdrawalDetail(result.application, federation, peerApplicationId, { repeated: true }),
          actor,
        );
      }
      const payload = JSON.stringify({
        id: result.application.id,
        state: result.application.state,
        applied: result.applied,
        correlationId: federation.correlationId,
      });
      return sendSignedWhenAsked(request, reply, 200, payload);
    },
  );

  app.post(
    APPLICATION_EVENTS_PATH,
    {
      config: { access: 'public' },
      schema: {
        tags: ['federation'],
        description:
          "A decision of the upper platform on an application this platform forwarded, as its signed webhook (RFC 9421 over @method, @target-uri, content-type, content-digest, idempotency-key and x-govshare-event, by the upper platform's signing key the agreement names). " +
          'Applied once per application and transition: a repeated delivery answers 200 and changes nothing. Its authorization makes the grant here with the terms it granted; its refusal refuses the application here with its reason.',
        body: Type.Object({
          id: Type.String({ minLength: 1, maxLength: 200 }),
          type: Type.String({ maxLength: 64 }),
          at: Type.String({ maxLength: 64 }),
          data: Type.Record(Type.String(), Type.Unknown()),
        }),
        response: {
          200: Type.Object({
            applied: Type.Boolean(),
            application: Type.Optional(Type.String()),
            state: Type.Optional(Type.String()),
          }),
          ...problemResponses,
        },
      },
    },
    async (request) => {
      let link: PeerLink | undefined;
      await verifyRequestSignature(
        {
          method: request.method,
          url: targetUri(request, context.config.GOVSHARE_PUBLIC_ORIGIN || undefined),
          headers: request.headers,
          ...(request.rawBody ? { body: request.rawBody } : {}),
        },
        {
          resolveKey: async (keyid) => {
            link = await context.peers.resolveByKey(keyid);
            return { key: link.peerKey };
          },
          checkNonce: async (keyid, nonce) =>
            (await context.redis.set(
              `${context.prefix}nonce:${keyid}:${nonce}`,
              '1',
              'EX',
              context.config.GOVSHARE_SIG_WINDOW_SECONDS * 2 + 2,
              'NX',
            )) === 'OK',
          now: () => context.now().getTime(),
          maxSkewSeconds: context.config.GOVSHARE_SIG_WINDOW_SECONDS,
          requiredComponents: () => [...WEBHOOK_SIGNED_COMPONENTS],
        },
      );
      const peer = link!.peer.platformId;
      const event = readPeerEvent(request.body, request.headers['idempotency-key']);
      if (!event) {
        await request.auditAdmin('application.peer-event', { peer, event: request.body.type, ignored: true });
        return { applied: false };
      }
      const outcome = await workflow.applications.applyPeerOutcome(event.applicationId, {
        peerPlatformId: peer,
        peerApplicationId: event.peerApplicationId,
        transition: event.transition,
        ...(event.reason ? { reason: event.reason } : {}),
        ...(event.terms ? { terms: event.terms } : {}),
      });
      const { application } = outcome;
      await request.auditAdmin(
        outcome.applied ? `application.peer-${event.transition}` : 'application.peer-event',
        {
          application: application.id,
          state: application.state,
          applied: outcome.applied,
          event: { id: request.body.id, type: request.body.type },
          ...(outcome.grant ? { grant: outcome.grant.id, items: outcome.grant.items } : {}),
          ...(event.reason ? { reason: event.reason } : {}),
          federation: {
            correlationId: application.federation?.correlationId,
            peer,
            peerApplicationId: event.peerApplicationId,
            agreementId: link!.agreementId,
          },
        },
        { actor: { deptCode: link!.peer.operator, systemId: FEDERATION_SYSTEM_ID } },
      );
      return { applied: outcome.applied, application: application.id, state: application.state };
    },
  );
};

function withdrawnBeforeTaken(peer: string, peerApplicationId: string) {
  return new federationErrors.FEDERATION_APPLICATION_WITHDRAWN(
    `${peer} withdrew application ${peerApplicationId} before this platform took it: it is not taken`,
  );
}

/** The audit detail of a peer's withdrawal, under the correlation id both platforms use. */
function withdrawalDetail(
  app: Application,
  federation: { correlationId: string; peerPlatformId: string; agreementId: string },
  peerApplicationId: string,
  extra: Record<string, unknown>,
): Record<string, unknown> {
  return {
    application: app.id,
    resource: app.resourceCode,
    state: app.state,
    ...(app.state === 'granted' && app.grantId ? { grant: app.grantId } : {}),
    ...extra,
    federation: {
      correlationId: federation.correlationId,
      peer: federation.peerPlatformId,
      peerApplicationId,
      agreementId: federation.agreementId,
    },
  };
}

const APPLICATION_ID = /^APP-[0-9]{8}-[0-9]{6,}$/;
const TERMS_ITEM = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;

interface PeerEvent {
  /** This platform's application. */
  applicationId: string;
  peerApplicationId: string;
  transition: PeerOutcome['transition'];
  reason?: string;
  terms?: NonNullable<PeerOutcome['terms']>;
}

const TRANSITION_OF: Record<string, PeerOutcome['transition'] | undefined> = {
  'application.received': 'received',
  'application.granted': 'grant',
  'application.authorized': 'authorize',
  'application.refused': 'refuse',
  'application.closed': 'close',
};

/**
 * What a peer's application event asks of this platform; undefined for an event that changes nothing here
 * (a clock reminder of the upper platform). A malformed one is FEDERATION_WEBHOOK_INVALID.
 */
function readPeerEvent(
  body: { id: string; type: string; data: Record<string, unknown> },
  idempotencyKey: unknown,
): PeerEvent | undefined {
  if (idempotencyKey !== body.id) {
    throw new federationErrors.FEDERATION_WEBHOOK_INVALID('the idempotency-key header must be the event id');
  }
  const { data } = body;
  const transition =
    body.type === 'application.checked'
      ? data.outcome === 'accept'
        ? 'accept'
        : data.outcome === 'reject'
          ? 'reject'
          : undefined
      : TRANSITION_OF[body.type];
  if (!transition) return undefined;
  const federation = data.federation as { peerApplicationId?: unknown } | undefined;
  const applicationId = federation?.peerApplicationId;
  const peerApplicationId = data.applicationId;
  if (
    typeof applicationId !== 'string' ||
    !APPLICATION_ID.test(applicationId) ||
    typeof peerApplicationId !== 'string' ||
    !APPLICATION_ID.test(peerApplicationId)
  ) {
    throw new federationErrors.FEDERATION_WEBHOOK_INVALID(
      `event ${body.type} names no application of this platform (data.federation.peerApplicationId) and of the peer (data.applicationId)`,
    );
  }
  const reason = typeof data.reason === 'string' ? data.reason.slice(0, 2000) : undefined;
  let terms: PeerEvent['terms'];
  if (transition === 'authorize' || transition === 'grant') {
    const items = data.items;
    if (
      !Array.isArray(items) ||
      items.length === 0 ||
      !items.every((i) => typeof i === 'string' && TERMS_ITEM.test(i))
    ) {
      throw new federationErrors.FEDERATION_WEBHOOK_INVALID(`event ${body.type} carries no granted items`);
    }
    terms = {
      items: items as string[],
      ...(Array.isArray(data.modes) && data.modes.every((m) => typeof m === 'string')
        ? { modes: data.modes as NonNullable<PeerEvent['terms']>['modes'] }
        : {}),
      ...(typeof data.validFrom === 'string' ? { validFrom: data.validFrom } : {}),
      ...(typeof data.validTo === 'string' ? { validTo: data.validTo } : {}),
    };
  }
  return {
    applicationId,
    peerApplicationId,
    transition,
    ...(reason ? { reason } : {}),
    ...(terms ? { terms } : {}),
  };
}
