import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import t from 'tap';
import { HttpConnectorFactory } from '../../../connectors/http-connector.js';
import { ConnectorRegistry } from '../../../connectors/registry.js';
import { runAvailabilityProbes } from '../../../gateway/jobs/availability.js';
import { enterpriseEntry } from '../../catalog/fixtures.js';
import {
  bureauActor,
  MARKET_REGULATION,
  marketAdmin,
  PUBLIC_SECURITY,
} from '../../policies/applications/fixtures.js';
import { buildWorkflowApp, eventually } from './workflow-app.js';

/** A provider front-end processor that answers /health with `status()`. */
async function provider(t: Parameters<typeof buildWorkflowApp>[0], status: () => number) {
  const server = createServer((req, res) => {
    res.statusCode = req.url?.endsWith('/health') ? status() : 404;
    res.end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/enterprise`;
}

t.test('probes of mounted services feed the availability statistics', async (t) => {
  let healthy = true;
  const endpoint = await provider(t, () => (healthy ? 200 : 503));
  const connectors = new ConnectorRegistry({ http: new HttpConnectorFactory({ defaultTimeoutMs: 1000 }) });
  t.teardown(() => connectors.close());
  const gw = await buildWorkflowApp(t, { workflow: { connectors, probeEveryMs: 60_000 } });
  // Mount the simulator-like provider on the enterprise resource (the other fixtures point nowhere).
  const entry = { ...enterpriseEntry(), service: { connector: 'http' as const, endpoint, timeoutMs: 1000 } };
  await gw.context.catalog.proposeChange(marketAdmin, entry.code, entry);
  await gw.context.catalog.submit(marketAdmin, entry.code);
  await gw.context.catalog.approve(bureauActor, entry.code);
  await gw.context.catalog.suspend(bureauActor, '101001/1', {
    reason: '维护',
    effectiveFrom: '2026-03-02',
  });

  const deps = {
    catalog: gw.context.catalog,
    connectors,
    probes: gw.workflow.stats.probes,
    now: gw.clock.now,
  };
  const first = await runAvailabilityProbes(deps);
  const enterprise = first.find((r) => r.resource === entry.code);
  t.match(enterprise, { providerDept: MARKET_REGULATION, ok: true });
  t.notOk(
    first.some((r) => r.resource === '101001/1'),
    'a suspended resource is not probed',
  );
  t.match(
    first.find((r) => r.providerDept === PUBLIC_SECURITY),
    { ok: false, detail: /not configured/ },
    'an unconfigured connector counts as down',
  );
  healthy = false;
  const second = await runAvailabilityProbes(deps);
  t.match(
    second.find((r) => r.resource === entry.code),
    { ok: false, detail: /503/ },
  );

  // The scheduled job runs the same probes on a real worker.
  await gw.workflow.startWorkers({ deadlines: false, webhooks: false });
  const probes = await eventually(async () => {
    const [count] = (await gw.workflow.stats.probes.read('2026-03-02', '2026-03-02')).filter(
      (p) => p.resource === entry.code,
    );
    return count && count.ok + count.fail >= 3 ? count : undefined;
  }, 'the scheduled probe');
  t.equal(probes.ok, 1);
  const stats = await gw.workflow.stats.compute({
    from: '2026-03-02',
    to: '2026-03-02',
    dept: MARKET_REGULATION,
  });
  t.equal(stats.departments[0]?.availability.probes, probes.ok + probes.fail);
  t.equal(stats.departments[0]?.availability.ok, 1);
  const latest = await gw.workflow.stats.probes.latest();
  t.ok(
    latest.some((p) => p.resource === entry.code && p.ok === false),
    'the latest result per resource',
  );
});

t.test('an outage (failed probes in a row) is escalated to the bureau and the provider once', async (t) => {
  let healthy = false;
  const endpoint = await provider(t, () => (healthy ? 200 : 503));
  const connectors = new ConnectorRegistry({ http: new HttpConnectorFactory({ defaultTimeoutMs: 1000 }) });
  t.teardown(() => connectors.close());
  const gw = await buildWorkflowApp(t, { workflow: { connectors } });
  const entry = { ...enterpriseEntry(), service: { connector: 'http' as const, endpoint, timeoutMs: 1000 } };
  await gw.context.catalog.proposeChange(marketAdmin, entry.code, entry);
  await gw.context.catalog.submit(marketAdmin, entry.code);
  await gw.context.catalog.approve(bureauActor, entry.code);
  const deps = {
    catalog: gw.context.catalog,
    connectors,
    probes: gw.workflow.stats.probes,
    now: gw.clock.now,
    outageAfter: 2,
    announce: gw.workflow.announce,
  };
  const outages = async (actor: typeof bureauActor) => {
    const res = await gw.app.inject({
      method: 'GET',
      url: '/v1/inbox?type=provider.outage',
      headers: gw.as(actor),
    });
    return (res.json().events as { data: Record<string, unknown> }[]).filter(
      (e) => e.data.resourceCode === entry.code,
    );
  };
  await runAvailabilityProbes(deps);
  t.same(await outages(bureauActor), [], 'one failed probe is not an outage yet');
  await runAvailabilityProbes(deps);
  t.match(await outages(bureauActor), [
    { data: { providerDept: MARKET_REGULATION, resourceCode: entry.code, failures: 2, detail: /503/ } },
  ]);
  t.equal((await outages(marketAdmin)).length, 1, 'the provider is told too');
  await runAvailabilityProbes(deps);
  t.equal((await outages(bureauActor)).length, 1, 'escalated once per outage, not at every probe');
  healthy = true;
  await runAvailabilityProbes(deps);
  healthy = false;
  await runAvailabilityProbes(deps);
  await runAvailabilityProbes(deps);
  t.equal((await outages(bureauActor)).length, 2, 'a new outage after a recovery is escalated again');
});
