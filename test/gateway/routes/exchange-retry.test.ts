/**
 * Retrying a failed bulk job (POST /v1/exchange/department-jobs/{id}/retry, and `govshare exchange
 * retry`): the job really failed (the provider kept answering 500 through the real runner, as on a
 * worker's last attempt), only its consumer department's administrator or the bureau may retry it, once,
 * the retry is decided again and runs to completion, and it is audited with the person who asked.
 */
import t from 'tap';
import { failExportJob, runExportJob } from '../../../exchange/runner.js';
import { ExchangeStore } from '../../../exchange/store.js';
import { createExchange } from '../../../gateway/app/exchange.js';
import { buildTestApp } from '../../helpers/app.js';
import { auditRecordsOf } from '../../helpers/audit.js';
import { cli } from '../../helpers/cli.js';
import { buildWorld, grantPopulation, signedInject } from '../../helpers/world.js';

t.test('a failed job is retried once, by its department or the bureau, and audited', async (t) => {
  const gw = await buildTestApp(t);
  const world = await buildWorld(t, gw.context);
  const { amr, psb } = world.systems;
  await grantPopulation(gw, world, { modes: ['api', 'bulk'] });
  const exchange = createExchange(gw.context);
  t.teardown(() => exchange.queue.close());
  const store = new ExchangeStore(gw.context.redis, gw.context.prefix);

  /** Submits a job as the market regulator's system and makes it fail for real. */
  const failedJob = async () => {
    const submitted = await signedInject(gw.app, amr, {
      method: 'POST',
      path: '/v1/exchange/jobs',
      body: { resource: world.codes.population, kind: 'full', format: 'jsonl' },
    });
    t.equal(submitted.statusCode, 202, submitted.body);
    const id = submitted.json().id as string;
    world.simulator.setFault({ kind: 'status', status: 500 });
    const error = await runExportJob(exchange.deps, id, { token: `run-${id}` }).catch((e) => e);
    t.ok(error instanceof Error, `the run stops: ${error.message}`);
    await failExportJob(exchange.deps, id, `run-${id}`, error, true);
    world.simulator.setFault(undefined);
    t.equal((await store.get(id))?.state, 'failed');
    return id;
  };
  const retry = (id: string, person: Parameters<typeof gw.auth>[0]) =>
    gw.app.inject({
      method: 'POST',
      url: `/v1/exchange/department-jobs/${id}/retry`,
      headers: gw.auth(person),
    });
  const liNa = { sub: 'li.na', role: 'dept-admin', dept: amr.deptCode } as const;

  const failed = await failedJob();
  const other = await retry(failed, { sub: 'wu.gang', role: 'dept-admin', dept: psb.deptCode });
  t.equal(other.statusCode, 404);
  t.equal(other.json().code, 'EXCHANGE_JOB_NOT_FOUND', "another department's job does not exist for it");
  t.equal((await retry(failed, { sub: 'sun.li', role: 'auditor' })).json().code, 'ROLE_FORBIDDEN');

  const res = await retry(failed, liNa);
  t.equal(res.statusCode, 202, res.body);
  const again = res.json();
  t.not(again.id, failed, 'a new job');
  t.equal(again.retryOf, failed);
  t.equal(again.state, 'queued');
  t.equal((await store.get(failed))?.retriedBy, again.id, 'the failed job names its retry');
  const twice = await retry(failed, liNa);
  t.equal(twice.statusCode, 409);
  t.equal(twice.json().code, 'EXCHANGE_JOB_NOT_FAILED', 'retried once only');
  t.equal(
    (await retry(again.id, liNa)).json().code,
    'EXCHANGE_JOB_NOT_FAILED',
    'a queued job is not retried',
  );

  const done = await runExportJob(exchange.deps, again.id, { token: 'run-retry' });
  t.equal(done.state, 'completed', 'the retry runs to completion');
  t.ok(done.progress.rows > 0, `${done.progress.rows} rows`);

  // The bureau may retry any department's failed job; the CLI does it through the API.
  const second = await failedJob();
  const origin = await gw.app.listen({ host: '127.0.0.1', port: 0 });
  const byCli = await cli(
    [
      'exchange',
      'retry',
      second,
      '--gateway',
      origin,
      '--token',
      gw.token({ sub: 'zhao.lei', role: 'bureau' }),
    ],
    {},
  );
  t.equal(byCli.code, 0, byCli.err.join('\n'));
  t.match(byCli.out.join('\n'), new RegExp(`job ${second} retried as \\S+ \\(queued\\)`));
  const refused = await cli(
    ['exchange', 'retry', second, '--gateway', origin, '--token', gw.token(liNa)],
    {},
  );
  t.equal(refused.code, 1);
  t.match(refused.err.join('\n'), /EXCHANGE_JOB_NOT_FAILED/);

  const records = await auditRecordsOf(gw.context.redis, gw.context.prefix, gw.context.audit.instance);
  const retries = records.filter((r) => r.action === 'exchange.retry');
  t.same(
    retries.map((r) => r.actor.person),
    ['li.na', 'zhao.lei'],
    'each retry is attributed to the person who asked',
  );
  t.ok(
    records.some(
      (r) =>
        r.action === 'exchange.submit' &&
        (r as { detail?: Record<string, unknown> }).detail?.jobId === again.id &&
        (r as { detail?: Record<string, unknown> }).detail?.retryOf === failed,
    ),
    'and the new job is recorded before it runs',
  );
});
