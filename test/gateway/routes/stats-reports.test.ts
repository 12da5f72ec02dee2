/**
 * The signed statistics reports over HTTP: the bureau publishes one on demand (audited, once per period,
 * told to every department once), every department reads and verifies it against the platform CA, a
 * tampered copy is refused; a dept-admin cannot trigger one; a month not yet ended is refused.
 */
import t from 'tap';
import { searchAudit } from '../../../audit/search.js';
import { verifyStatsReport } from '../../../policies/stats/report.js';
import {
  auditorActor,
  bureauActor,
  CIVIL_AFFAIRS,
  civilAdmin,
  enterpriseApplication,
  hrAdmin,
  MARKET_REGULATION,
  marketAdmin,
} from '../../policies/applications/fixtures.js';
import { buildWorkflowApp } from '../jobs/workflow-app.js';

t.test(
  'POST/GET /v1/stats/reports: published by the bureau, read and verified by every department',
  async (t) => {
    const gw = await buildWorkflowApp(t);
    gw.clock.set('2026-02-10T10:00:00+08:00');
    await gw.workflow.applications.submit(civilAdmin, enterpriseApplication());
    await gw.workflow.stats.calls.record(
      { consumerDept: CIVIL_AFFAIRS, providerDept: MARKET_REGULATION, resource: 'r', decision: 'allow' },
      gw.clock.now(),
    );
    gw.clock.set('2026-03-02T10:00:00+08:00');
    const departments = (await gw.context.certs.listDepartments()).map((d) => d.code);
    t.ok(departments.length >= 5);

    const byAdmin = await gw.app.inject({
      method: 'POST',
      url: '/v1/stats/reports',
      headers: gw.as(marketAdmin),
      payload: { period: '2026-02' },
    });
    t.equal(byAdmin.statusCode, 403, 'a dept-admin cannot trigger a report');
    t.same(await gw.workflow.reports.list(), [], 'and nothing was built');

    for (const [period, code] of [
      ['2026-03', 'STATS_REPORT_PERIOD_INVALID'],
      ['2026-13', 'FST_ERR_VALIDATION'],
    ] as const) {
      const res = await gw.app.inject({
        method: 'POST',
        url: '/v1/stats/reports',
        headers: gw.as(bureauActor),
        payload: { period },
      });
      t.equal(res.statusCode, code === 'STATS_REPORT_PERIOD_INVALID' ? 422 : 400, period);
      t.match(res.json(), { code: code === 'FST_ERR_VALIDATION' ? String : code });
    }

    const first = await gw.app.inject({
      method: 'POST',
      url: '/v1/stats/reports',
      headers: gw.as(bureauActor),
      payload: { period: '2026-02' },
    });
    t.equal(first.statusCode, 201, first.body);
    const signed = first.json();
    t.match(signed.report, {
      type: 'govshare.stats-report',
      period: '2026-02',
      statistics: {
        from: '2026-02-01',
        to: '2026-02-28',
        overall: { applications: { received: 1 }, calls: { allowed: 1 } },
      },
    });
    t.same(verifyStatsReport(signed, gw.context.platform.caCertPem, { at: new Date() }), {
      ok: true,
      period: '2026-02',
    });

    const again = await gw.app.inject({
      method: 'POST',
      url: '/v1/stats/reports',
      headers: gw.as(bureauActor),
      payload: { period: '2026-02' },
    });
    t.equal(again.statusCode, 200, 'a period already published is returned, not rebuilt');
    t.same(again.json(), signed);

    for (const actor of [civilAdmin, hrAdmin, auditorActor]) {
      const list = await gw.app.inject({ url: '/v1/stats/reports', headers: gw.as(actor) });
      t.equal(list.statusCode, 200);
      t.match(list.json().reports, [{ period: '2026-02', digest: /^[0-9a-f]{64}$/ }]);
      const one = await gw.app.inject({ url: '/v1/stats/reports/2026-02', headers: gw.as(actor) });
      t.equal(one.statusCode, 200);
      t.same(
        verifyStatsReport(one.json(), gw.context.platform.caCertPem, { at: new Date() }).ok,
        true,
        `${actor.name} verifies it`,
      );
    }
    const tampered = structuredClone(signed);
    tampered.report.statistics.overall.calls.allowed = 1000;
    t.match(verifyStatsReport(tampered, gw.context.platform.caCertPem, { at: new Date() }), { ok: false });

    const missing = await gw.app.inject({ url: '/v1/stats/reports/2025-11', headers: gw.as(hrAdmin) });
    t.equal(missing.statusCode, 404);
    t.equal(missing.json().code, 'STATS_REPORT_NOT_FOUND');
    const bad = await gw.app.inject({ url: '/v1/stats/reports/..%2Fx', headers: gw.as(hrAdmin) });
    t.equal(bad.statusCode, 400);

    // Every registered department was told once, though the bureau asked twice.
    for (const dept of departments) {
      const actor = { role: 'dept-admin' as const, name: `admin-${dept}`, dept };
      const inbox = await gw.app.inject({ url: '/v1/inbox?type=stats.report', headers: gw.as(actor) });
      t.match(inbox.json().events, [
        { type: 'stats.report', data: { period: '2026-02', href: '/v1/stats/reports/2026-02' } },
      ]);
      t.equal(inbox.json().events.length, 1, `${dept} told once`);
    }
    t.same(Object.keys(await gw.workflow.reports.deliveredTo('2026-02')).sort(), departments.sort());

    const trail = await searchAudit(gw.context.redis, gw.context.prefix, gw.context.platform.subjectHmacKey, {
      limit: 100,
    });
    const audited = trail.records.filter((r) => r.action === 'stats.report.publish');
    t.equal(audited.length, 2, 'each publication request is audited');
    t.match(
      audited.map((r) => r.detail).sort((a, b) => Number(b?.created) - Number(a?.created)),
      [
        { period: '2026-02', created: true, delivered: departments.length },
        { period: '2026-02', created: false, delivered: 0 },
      ],
    );
  },
);
