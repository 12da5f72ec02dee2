/**
 * Every error leaves as an RFC 9457 problem detail (`application/problem+json`) with a stable `code` and
 * the request id. Framework errors (validation, bad JSON, too large) are translated to the gateway's own
 * codes so that clients never see Fastify internals; unexpected errors become INTERNAL and are logged.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { type ProblemDetail, problemTitle, problemType } from '../app/errors.js';
import { problemRegistry } from '../app/problem-registry.js';

const FRAMEWORK_CODES: Record<string, { code: string; status: number; detail?: string }> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { code: 'UNSUPPORTED_MEDIA_TYPE', status: 415 },
  FST_ERR_CTP_BODY_TOO_LARGE: { code: 'BODY_TOO_LARGE', status: 413 },
  FST_ERR_CTP_INVALID_JSON_BODY: { code: 'BODY_INVALID_JSON', status: 400 },
  FST_ERR_CTP_EMPTY_JSON_BODY: { code: 'BODY_INVALID_JSON', status: 400 },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { code: 'BODY_INVALID_JSON', status: 400 },
  FST_ERR_BAD_URL: {
    code: 'VALIDATION_FAILED',
    status: 400,
    detail: 'The URL is malformed (bad percent-encoding).',
  },
  FST_ERR_MAX_PARAM_LENGTH: { code: 'URI_TOO_LONG', status: 414, detail: 'A path parameter is too long.' },
  FST_ERR_ASYNC_CONSTRAINT: { code: 'VALIDATION_FAILED', status: 400 },
  FST_JWT_NO_AUTHORIZATION_IN_HEADER: {
    code: 'AUTH_TOKEN_MISSING',
    status: 401,
    detail:
      'Send `Authorization: Bearer <token>`; get a token from your platform operator (`govshare token`).',
  },
  FST_JWT_AUTHORIZATION_TOKEN_EXPIRED: { code: 'AUTH_TOKEN_EXPIRED', status: 401 },
  FST_JWT_AUTHORIZATION_TOKEN_INVALID: { code: 'AUTH_TOKEN_INVALID', status: 401 },
  FST_JWT_AUTHORIZATION_TOKEN_UNTRUSTED: { code: 'AUTH_TOKEN_INVALID', status: 401 },
  FST_JWT_BAD_REQUEST: {
    code: 'AUTH_TOKEN_INVALID',
    status: 401,
    detail: 'The Authorization header must be `Bearer <token>`.',
  },
  FAST_JWT_MISSING_SIGNATURE: { code: 'AUTH_TOKEN_INVALID', status: 401 },
};

/**
 * ioredis reports an unreachable server in several ways, and Redis itself refuses writes while a Cluster
 * or Sentinel failover is under way (a demoted master without replicas answers NOREPLICAS); all of them
 * mean "try again later".
 */
function isInfrastructureError(error: Error & { code?: string }): boolean {
  return (
    error.name === 'MaxRetriesPerRequestError' ||
    error.name === 'ClusterAllFailedError' ||
    /Connection is closed|enableOfflineQueue|ECONNREFUSED|ECONNRESET|Stream isn't writeable|CLUSTERDOWN|LOADING|READONLY|NOREPLICAS|MASTERDOWN|TRYAGAIN/.test(
      error.message,
    )
  );
}

export function toProblem(
  error: FastifyError & { retryAfterSeconds?: number },
  request: FastifyRequest,
): ProblemDetail {
  let code = error.code;
  let status = error.statusCode ?? 500;
  let detail = error.message;
  let errors: ProblemDetail['errors'];

  if (error.validation) {
    code = 'VALIDATION_FAILED';
    status = 400;
    errors = error.validation.map((v) => ({
      field: `${error.validationContext ?? 'body'}${v.instancePath || ''}${
        v.keyword === 'required' ? `/${(v.params as { missingProperty?: string }).missingProperty}` : ''
      }`,
      message: v.message ?? 'is invalid',
    }));
    detail = `Invalid request: ${errors.map((e) => `${e.field} ${e.message}`).join('; ')}`;
  } else if (code && FRAMEWORK_CODES[code]) {
    const mapped = FRAMEWORK_CODES[code]!;
    code = mapped.code;
    status = mapped.status;
    detail = mapped.detail ?? detail;
  } else if (code?.startsWith('FST_JWT') || code?.startsWith('FAST_JWT')) {
    code = 'AUTH_TOKEN_INVALID';
    status = 401;
  } else if (isInfrastructureError(error)) {
    code = 'SERVICE_UNAVAILABLE';
    status = 503;
    detail = 'A platform dependency is temporarily unavailable; retry shortly.';
  } else if (code && problemRegistry.has(code)) {
    // One of ours (including provider errors, which keep their 502/503/504): trusted as is.
    status = problemRegistry.get(code)!.status;
  } else if (!code || code.startsWith('FST_') || status >= 500 || status < 400) {
    // Anything we do not know is our fault: say so without leaking internals.
    code = status >= 400 && status < 500 ? 'VALIDATION_FAILED' : 'INTERNAL';
    if (code === 'INTERNAL') {
      status = 500;
      detail = 'An unexpected error occurred; it has been logged with the request id.';
    }
  }

  const problem: ProblemDetail = {
    type: problemType(code),
    title: problemTitle(code),
    status,
    detail,
    code,
    requestId: String(request.id),
    instance: request.url.split('?')[0],
  };
  if (errors) problem.errors = errors;
  if (error.retryAfterSeconds !== undefined) problem.retryAfterSeconds = error.retryAfterSeconds;
  else if (status === 503) problem.retryAfterSeconds = 2;
  return problem;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The problem code answered, for metrics and logs. */
    problemCode?: string;
  }
}

/** Status, content type, Retry-After and the code for metrics and logs; the body is the caller's to send. */
export function prepareProblem(reply: FastifyReply, problem: ProblemDetail): FastifyReply {
  reply.request.problemCode = problem.code;
  if (problem.retryAfterSeconds !== undefined) reply.header('retry-after', String(problem.retryAfterSeconds));
  return reply.code(problem.status).type('application/problem+json');
}

export function sendProblem(reply: FastifyReply, problem: ProblemDetail): FastifyReply {
  return prepareProblem(reply, problem).send(problem);
}

async function problemDetails(app: FastifyInstance) {
  app.setErrorHandler(function handleError(error: FastifyError, request, reply) {
    const problem = toProblem(error, request);
    if (problem.status >= 500) {
      request.log.error({ err: error, code: problem.code }, 'request failed');
    } else {
      request.log.info({ code: problem.code, status: problem.status }, 'request refused');
    }
    return sendProblem(reply, problem);
  });

  app.setNotFoundHandler(function handleNotFound(request, reply) {
    return sendProblem(reply, {
      type: problemType('NOT_FOUND'),
      title: problemTitle('NOT_FOUND'),
      status: 404,
      detail: `No route ${request.method} ${request.url.split('?')[0]}; see /docs for the API.`,
      code: 'NOT_FOUND',
      requestId: String(request.id),
    });
  });
}

export default fp(problemDetails, { name: 'govshare-problem-details', fastify: '5.x' });
