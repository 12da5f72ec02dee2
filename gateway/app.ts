/**
 * Builds the gateway: plugins in a visible order (external → app → routes). `server.ts` only listens.
 * Tests build the app with their own context (real Redis, their own key prefix) and use `app.inject`.
 */
import { randomUUID } from 'node:crypto';
import fastifyCookie from '@fastify/cookie';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyError, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { createAccounts } from './app/accounts.js';
import type { GatewayContext } from './app/context.js';
import { createExchange, createOffline } from './app/exchange.js';
import { createQuality } from './app/quality.js';
import { createWorkflow, type Workflow, type WorkflowOptions, workflowSettings } from './app/workflow.js';
import { dataPathDeps } from './data-path/deps.js';
import type { DataPathDeps } from './data-path/serve.js';
import { applicationRoutes } from './routes/applications.js';
import { caseRoutes } from './routes/cases.js';
import { exchangeRoutes } from './routes/exchange.js';
import { exchangeOverviewRoutes } from './routes/exchange-overview.js';
import { federationRoutes } from './routes/federation.js';
import { objectionRoutes } from './routes/objections.js';
import { offlineRoutes } from './routes/offline.js';
import { qualityRoutes } from './routes/quality.js';
import { sessionRoutes } from './routes/session.js';
import { oidcSessionRoutes } from './routes/session-oidc.js';
import { statsRoutes } from './routes/stats.js';
import { webhookRoutes } from './routes/webhooks.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** The application workflow, its queues and notifications (see workflow.ts). */
    workflow: Workflow;
  }
}

import { PROFILE_ALGORITHMS } from '../certs/httpsig/index.js';
import { BoundedSet } from '../platform/bounded-set.js';
import { Problem } from './app/schemas.js';
import { tlsServerOptions } from './app/tls.js';
import { VERSION } from './app/version.js';
import adminAudit from './plugins/admin-audit.js';
import { consoleRoutes } from './plugins/console.js';
import metricsPlugin from './plugins/metrics.js';
import openapi from './plugins/openapi.js';
import peopleAuth from './plugins/people-auth.js';
import problemDetails, { sendProblem, toProblem } from './plugins/problem-details.js';
import signedCalls from './plugins/signed-calls.js';
import { auditRoutes } from './routes/audit.js';
import { catalogRoutes } from './routes/catalog.js';
import { dataRoutes } from './routes/data.js';
import { feedbackRoutes } from './routes/feedback.js';
import { grantRoutes } from './routes/grants.js';
import { healthRoutes } from './routes/health.js';
import { identityRoutes } from './routes/identities.js';
import { itemSourceRoutes } from './routes/item-sources.js';
import { transparencyRoutes } from './routes/transparency.js';
import { useTermsRoutes } from './routes/use-terms.js';

export interface BuildAppOptions {
  context: GatewayContext;
  /** pino options or false; tests pass false or a stream. */
  logger?: boolean | Record<string, unknown>;
  /** Overrides of the workflow's calendar, limits, webhook retry timings (tests). */
  workflow?: WorkflowOptions;
  /** Extra route plugins registered after the built-in ones (tests of route plugins under construction). */
  extraRoutes?: ((app: FastifyInstance, context: GatewayContext) => Promise<void>)[];
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{8,128}$/;

/**
 * What a request looks like in the logs: method, path and the names (never the values) of query
 * parameters — a lookup's query carries ID numbers — and no headers at all (tokens, signatures).
 */
export function requestLogView(req: { method?: string; url?: string; ip?: string; id?: unknown }) {
  const [path, query] = (req.url ?? '').split('?', 2);
  const names = query ? [...new URLSearchParams(query).keys()].map((k) => k.slice(0, 64)) : [];
  return { method: req.method, path, ...(names.length ? { queryNames: names } : {}), remoteAddress: req.ip };
}

export async function buildApp({
  context,
  logger,
  workflow: workflowOptions = {},
  extraRoutes = [],
}: BuildAppOptions): Promise<FastifyInstance> {
  const clientIds = new BoundedSet(100_000);
  // HTTPS when GOVSHARE_TLS_CERT is set (app/tls.ts); the server type is the same to every plugin.
  const https = tlsServerOptions(context.config, context.platform.profile);
  const app = Fastify({
    // Typed as the HTTP server: handlers and plugins see the same request/reply types either way.
    ...((https ? { https } : {}) as object),
    logger:
      logger === undefined
        ? { level: context.config.GOVSHARE_LOG_LEVEL, serializers: { req: requestLogView } }
        : logger === false
          ? false
          : { serializers: { req: requestLogView }, ...(logger === true ? {} : logger) },
    bodyLimit: context.config.GOVSHARE_BODY_LIMIT,
    // An incoming X-Request-Id is kept only when it looks like an id, so logs cannot be polluted, and
    // only when no request of this process is using it and the audit writer holds no record under it:
    // the audit trail pairs a request with its records by id, and a reused id would let one request's
    // record stand for another's (which then went unrecorded).
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      if (typeof given !== 'string' || !REQUEST_ID.test(given)) return randomUUID();
      if (clientIds.has(given) || context.audit.holdsRecordFor(given)) return randomUUID();
      clientIds.add(given);
      return given;
    },
    requestIdHeader: false,
    // No automatic HEAD twin of each GET: it would run the GET's handler, so a HEAD on a data route or a
    // job file would consume quota and leave a record of rows or bytes that were never sent.
    exposeHeadRoutes: false,
    return503OnClosing: true,
    routerOptions: { maxParamLength: 200 },
    // Errors the router raises before any hook (bad percent-encoding, overlong parameters) get problem details too.
    frameworkErrors: (error, request, reply) => sendProblem(reply, toProblem(error as FastifyError, request)),
    ajv: {
      customOptions: { removeAdditional: false, coerceTypes: 'array', useDefaults: true, allErrors: false },
    },
  }).withTypeProvider<TypeBoxTypeProvider>();

  app.addHook('onRequest', async function echoRequestId(request, reply) {
    reply.header('x-request-id', request.id);
  });
  // Callback hooks: they run on every request, so no promise each.
  app.addHook('onResponse', (request, _reply, done) => {
    clientIds.delete(String(request.id));
    done();
  });
  app.addHook('onRequestAbort', (request, done) => {
    clientIds.delete(String(request.id));
    done();
  });
  app.addSchema(Problem);
  // The API speaks JSON only; a text body is refused with 415 rather than half-parsed.
  app.removeContentTypeParser('text/plain');

  // external
  await app.register(problemDetails);
  await app.register(openapi, { version: VERSION });
  await app.register(fastifyCookie);
  // app
  const accounts = createAccounts(context);
  await app.register(peopleAuth, {
    sessions: accounts.sessions,
    issuer: context.config.GOVSHARE_JWT_ISSUER,
    audience: context.config.GOVSHARE_JWT_AUDIENCE,
    publicKeyPem: context.platform.tokenPublicKeyPem,
    ...(context.config.GOVSHARE_JWT_JWKS_URL ? { jwksUrl: context.config.GOVSHARE_JWT_JWKS_URL } : {}),
  });
  await app.register(adminAudit, { writer: context.audit });
  await app.register(metricsPlugin, {
    metrics: context.metrics,
    token: context.config.GOVSHARE_METRICS_TOKEN,
  });
  // routes
  await app.register(identityRoutes, { context });
  await app.register(sessionRoutes, { context, accounts });
  await app.register(oidcSessionRoutes, { context, accounts });
  await app.register(consoleRoutes);
  const workflow = createWorkflow(context, {
    log: app.log as unknown as Logger,
    ...(await workflowSettings(context.config)),
    ...workflowOptions,
  });
  app.decorate('workflow', workflow);
  app.addHook('onClose', async () => workflow.close());
  await app.register(healthRoutes, { context, warnings: () => [workflow.calendarWarning()] });
  await app.register(catalogRoutes, { context, hooks: workflow.catalogHooks });
  await app.register(itemSourceRoutes, { context });
  await app.register(useTermsRoutes, { context });
  await app.register(applicationRoutes, { context, workflow });
  await app.register(objectionRoutes, { context, workflow });
  await app.register(caseRoutes, { workflow });
  await app.register(webhookRoutes, { context, workflow });
  await app.register(statsRoutes, { context, workflow });
  const quality = createQuality(context, workflow);
  app.addHook('onClose', async () => quality.close());
  await app.register(qualityRoutes, { context, quality });
  await app.register(grantRoutes, { context, workflow });
  await app.register(feedbackRoutes, { context });
  const exchange = createExchange(context);
  context.metrics.watchCalendar(
    () => workflow.calendar.tableEndsWithin(context.now(), Number.POSITIVE_INFINITY)?.daysLeft ?? 0,
  );
  context.metrics.watchQueues([
    workflow.queues.deadlines,
    workflow.queues.webhooks,
    workflow.queues.availability,
    quality.queue,
    exchange.queue.queue,
  ]);
  app.addHook('onClose', async () => exchange.queue.close());
  await app.register(auditRoutes, { context });
  await app.register(signedCalls, {
    keys: context.callerKeys,
    peers: context.peers,
    redis: context.dataRedis,
    prefix: context.prefix,
    audit: context.audit,
    now: context.now,
    maxSkewSeconds: context.config.GOVSHARE_SIG_WINDOW_SECONDS,
    allowedAlgorithms: PROFILE_ALGORITHMS[context.platform.profile],
    observe: (seconds) => context.metrics.steps.observe({ step: 'signature' }, seconds),
    ...(context.config.GOVSHARE_PUBLIC_ORIGIN ? { publicOrigin: context.config.GOVSHARE_PUBLIC_ORIGIN } : {}),
  });
  // Statistics count allowed and refused calls (not infrastructure errors), with their audit records.
  const callTally: DataPathDeps['callTally'] = (call) => {
    if (call.decision === 'error') return undefined;
    const [key, field, by] = workflow.stats.calls.callCommand(
      { ...call, decision: call.decision },
      context.now(),
    );
    return { key, field, by };
  };
  await app.register(dataRoutes, {
    deps: dataPathDeps(context, callTally),
    batchMaxKeys: context.config.GOVSHARE_BATCH_MAX_KEYS,
  });
  await app.register(federationRoutes, {
    context,
    deps: dataPathDeps(context, callTally),
    batchMaxKeys: context.config.GOVSHARE_BATCH_MAX_KEYS,
    workflow,
  });
  await app.register(exchangeRoutes, { deps: exchange.deps, audit: context.audit });
  await app.register(transparencyRoutes, { context });
  await app.register(exchangeOverviewRoutes, { context, deps: exchange.deps });
  await app.register(offlineRoutes, { offline: createOffline(context, exchange, workflow) });
  for (const routes of extraRoutes) await app.register(async (scope) => routes(scope, context));

  return app;
}
