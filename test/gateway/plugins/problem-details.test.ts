/** How errors become problem details: the status and stable code each kind of failure is answered with. */
import type { FastifyError, FastifyRequest } from 'fastify';
import t from 'tap';
import { gatewayErrors } from '../../../gateway/app/errors.js';
import { toProblem } from '../../../gateway/plugins/problem-details.js';

const request = { id: 'req-1', url: '/v1/grants?x=1' } as unknown as FastifyRequest;

function named(name: string, message: string): FastifyError {
  const error = new Error(message) as FastifyError;
  error.name = name;
  return error;
}

function coded(code: string, message: string, statusCode?: number): FastifyError {
  return Object.assign(new Error(message), { code, ...(statusCode ? { statusCode } : {}) }) as FastifyError;
}

t.test(
  'infrastructure failures are 503 with Retry-After, whatever ioredis or Redis calls them',
  async (t) => {
    const cases: [string, FastifyError][] = [
      ['retries exhausted', named('MaxRetriesPerRequestError', 'Reached the max retries per request limit')],
      ['cluster unreachable', named('ClusterAllFailedError', 'Failed to refresh slots cache.')],
      ['connection closed', named('Error', 'Connection is closed.')],
      ['offline queue off', named('Error', "Stream isn't writeable and enableOfflineQueue options is false")],
      ['refused', named('Error', 'connect ECONNREFUSED 127.0.0.1:6379')],
      ['cluster down', named('ReplyError', 'CLUSTERDOWN The cluster is down')],
      ['loading', named('ReplyError', 'LOADING Redis is loading the dataset in memory')],
      ['replica', named('ReplyError', "READONLY You can't write against a read only replica.")],
      ['demoted master', named('ReplyError', 'NOREPLICAS Not enough good replicas to write.')],
      ['sentinel master down', named('ReplyError', 'MASTERDOWN Link with MASTER is down')],
      ['slot migrating', named('ReplyError', 'TRYAGAIN Multiple keys request during rehashing of slot')],
    ];
    for (const [name, error] of cases) {
      const problem = toProblem(error, request);
      t.match(problem, { status: 503, code: 'SERVICE_UNAVAILABLE', retryAfterSeconds: 2 }, name);
      t.notMatch(problem.detail, /6379|replica|slot/, `${name}: no internals in the detail`);
    }
  },
);

t.test('our own errors keep their code; unknown ones become INTERNAL without their message', async (t) => {
  t.match(toProblem(new gatewayErrors.RESOURCE_NOT_FOUND('no entry 1') as FastifyError, request), {
    status: 404,
    code: 'RESOURCE_NOT_FOUND',
    detail: 'no entry 1',
    requestId: 'req-1',
    instance: '/v1/grants',
  });
  const internal = toProblem(new Error('secret at /srv/keys/platform.key') as FastifyError, request);
  t.match(internal, { status: 500, code: 'INTERNAL' });
  t.notMatch(internal.detail, /secret|platform\.key/);
  t.match(toProblem(coded('FST_ERR_CTP_BODY_TOO_LARGE', 'too large', 413), request), {
    status: 413,
    code: 'BODY_TOO_LARGE',
  });
  t.match(toProblem(coded('FST_SOMETHING_NEW', 'framework detail', 400), request), {
    status: 400,
    code: 'VALIDATION_FAILED',
  });
});
