import t from 'tap';
import { sampleKeys } from '../../connectors/simulator/datasets.js';
import { buildTestApp } from '../helpers/app.js';
import { buildWorld, enc, signedInject } from '../helpers/world.js';

t.test('GET /metrics reports requests, step latencies, circuits and the audit chain', async (t) => {
  const { app, context, auth } = await buildTestApp(t);
  const world = await buildWorld(t, context);
  await app.inject({
    method: 'POST',
    url: '/v1/grants',
    headers: auth({ sub: 'b', role: 'bureau' }),
    payload: {
      deptCode: world.systems.amr.deptCode,
      systemId: world.systems.amr.systemId,
      resourceCode: world.codes.population,
      items: ['idNumber'],
      purposes: ['market-supervision'],
      modes: ['api'],
      validTo: new Date(Date.now() + 86400_000).toISOString(),
      basis: '《政务信息资源共享管理办法》第二十一条',
    },
  });
  const path = `/v1/data/${enc(world.codes.population)}?idNumber=${sampleKeys('residents', 1)[0]}`;
  await signedInject(app, world.systems.amr, { method: 'GET', path });
  await signedInject(app, world.systems.amr, { method: 'GET', path, purpose: 'other' });
  await app.workflow.queues.availability.add('metrics-test', {}, { delay: 3_600_000 });
  const res = await app.inject({ method: 'GET', url: '/metrics' });
  t.equal(res.statusCode, 200, 'loopback clients may scrape');
  const text = res.body;
  t.match(text, /govshare_requests_total\{route="\/v1\/data\/:code",method="GET",status="200",code=""\} 1/);
  t.match(
    text,
    /govshare_requests_total\{route="\/v1\/data\/:code",method="GET",status="403",code="PURPOSE_MISMATCH"\} 1/,
  );
  for (const step of ['signature', 'policy', 'connector', 'audit']) {
    t.match(
      text,
      new RegExp(`govshare_step_duration_seconds_count\\{step="${step}"\\} [1-9]`),
      `${step} latency is measured`,
    );
  }
  t.match(text, /govshare_connector_circuit_state\{kind="http",endpoint="[^"]+residents"\} 0/);
  t.match(text, /govshare_audit_chain_length [1-9]/);
  t.match(
    text,
    /govshare_queue_jobs\{queue="availability",state="delayed"\} 1\n/,
    'a delayed job is counted',
  );
  for (const queue of ['deadlines', 'webhooks', 'quality', 'exchange']) {
    t.match(
      text,
      new RegExp(`govshare_queue_jobs\\{queue="${queue}",state="failed"\\} 0\n`),
      `${queue} depth`,
    );
  }
  t.match(text, /govshare_requests_total\{[^}]*code="PURPOSE_MISMATCH"\}/, 'refusals by reason code');
  const remote = await app.inject({ method: 'GET', url: '/metrics', remoteAddress: '10.1.2.3' });
  t.equal(remote.statusCode, 403, 'not for other addresses without a token');
});

t.test('with GOVSHARE_METRICS_TOKEN, /metrics needs the token', async (t) => {
  const { app } = await buildTestApp(t, { env: { GOVSHARE_METRICS_TOKEN: 'scrape-secret-123' } });
  t.equal((await app.inject({ method: 'GET', url: '/metrics' })).statusCode, 403);
  const ok = await app.inject({
    method: 'GET',
    url: '/metrics',
    headers: { authorization: 'Bearer scrape-secret-123' },
  });
  t.equal(ok.statusCode, 200);
});
