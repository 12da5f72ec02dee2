import t from 'tap';
import {
  bureauActor,
  CIVIL_AFFAIRS,
  civilAdmin,
  ENTERPRISE,
  enterpriseApplication,
  hrAdmin,
  insuranceApplication,
  MARKET_REGULATION,
} from '../../policies/applications/fixtures.js';
import { buildWorkflowApp } from '../jobs/workflow-app.js';

t.test('GET /v1/stats as JSON and CSV, per role', async (t) => {
  const gw = await buildWorkflowApp(t);
  await gw.workflow.applications.submit(civilAdmin, enterpriseApplication());
  const pending = await gw.workflow.applications.submit(civilAdmin, insuranceApplication());
  await gw.workflow.applications.check(bureauActor, pending.id, { outcome: 'accept' });
  await gw.workflow.stats.calls.record(
    {
      consumerDept: CIVIL_AFFAIRS,
      providerDept: MARKET_REGULATION,
      resource: ENTERPRISE,
      decision: 'deny',
      reasonCode: 'QUOTA_EXCEEDED',
    },
    gw.clock.now(),
  );

  const json = await gw.app.inject({
    url: '/v1/stats?from=2026-03-01&to=2026-03-31',
    headers: gw.as(bureauActor),
  });
  t.equal(json.statusCode, 200, json.body);
  t.match(json.json(), {
    from: '2026-03-01',
    to: '2026-03-31',
    overall: {
      applications: { received: 2, decided: 1, granted: 1 },
      calls: { denied: 1, deniedByReason: { QUOTA_EXCEEDED: 1 } },
    },
  });

  const csv = await gw.app.inject({
    url: '/v1/stats?from=2026-03-01&to=2026-03-31&format=csv',
    headers: gw.as(bureauActor),
  });
  t.equal(csv.statusCode, 200);
  t.match(csv.headers['content-type'], /^text\/csv/);
  t.match(csv.headers['content-disposition'], /govshare-stats-2026-03-01-2026-03-31\.csv/);
  const lines = csv.body.trimEnd().split('\r\n');
  t.match(lines[0], /^from,to,scope,dept,/);
  t.match(lines.at(-1), /^2026-03-01,2026-03-31,overall,,2,1,1,/);

  const own = await gw.app.inject({
    url: '/v1/stats?from=2026-03-01&to=2026-03-31',
    headers: gw.as(hrAdmin),
  });
  t.same(
    own.json().departments.map((d: { dept: string }) => d.dept),
    [hrAdmin.dept],
  );
  t.equal(own.json().overall, undefined);
  t.equal(own.json().departments[0].applications.received, 1);

  const doc = (await gw.app.inject({ url: '/docs/json' })).json();
  for (const path of [
    '/v1/stats',
    '/v1/applications',
    '/v1/applications/{id}/authorize',
    '/v1/webhooks/deliveries',
  ]) {
    t.ok(doc.paths[path], `the OpenAPI document covers ${path}`);
  }
  t.ok(doc.paths['/v1/stats'].get.responses['200'].content['text/csv'], 'and says CSV is offered');

  const bad = await gw.app.inject({
    url: '/v1/stats?from=2026-03-31&to=2026-03-01',
    headers: gw.as(bureauActor),
  });
  t.equal(bad.statusCode, 422);
  t.equal(bad.json().code, 'STATS_PERIOD_INVALID');
  const malformed = await gw.app.inject({
    url: '/v1/stats?from=March&to=2026-03-01',
    headers: gw.as(bureauActor),
  });
  t.equal(malformed.statusCode, 400);
});
