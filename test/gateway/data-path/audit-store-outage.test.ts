/**
 * The PostgreSQL audit store stopped under load: the gateway keeps serving into its stream, never a 200
 * without its record; past the high-water mark every answer is 503 AUDIT_BACKLOG; when the store is back,
 * the shipping loop catches up and every record is in the store exactly once, the chain verifying, and
 * the gateway serves again.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { auditKeys } from '../../../audit/keys.js';
import { AuditShipper } from '../../../audit/shipper.js';
import { migrate } from '../../../audit/store/migrations.js';
import { verifyAudit } from '../../../audit/verify.js';
import { sampleKeys } from '../../../connectors/simulator/datasets.js';
import { startShippingLoop } from '../../../gateway/jobs/audit-shipping.js';
import { startLocalPostgres } from '../../../scripts/lib/local-postgres.js';
import { buildTestApp } from '../../helpers/app.js';
import { buildWorld, enc, grantPopulation, signedInject } from '../../helpers/world.js';

const BACKLOG_MAX = 1000;

t.test('the audit store down under load: fail closed past the high-water mark, catch up after', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'govshare-store-outage-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  let postgres = await startLocalPostgres({ dir });
  t.teardown(() => postgres.stop());
  const { app, context, auth } = await buildTestApp(t, {
    env: { GOVSHARE_AUDIT_STORE_URL: postgres.url, GOVSHARE_AUDIT_BACKLOG_MAX: String(BACKLOG_MAX) },
  });
  const store = context.auditStore!;
  await migrate(store.pool);
  const world = await buildWorld(t, context);
  await grantPopulation({ app, auth }, world, { items: ['idNumber', 'gender'] });
  const shipping = startShippingLoop(new AuditShipper(context.redis, context.prefix, store), {
    intervalMs: 50,
    onError: () => undefined,
  });
  t.teardown(() => shipping.close());

  const keys = sampleKeys('residents', 50);
  const served: string[] = [];
  const statuses = new Map<string, number>();
  let sent = 0;
  /** `count` calls, 8 at a time; each 200's request id is kept. */
  const load = async (count: number) => {
    const worker = async () => {
      while (sent < count) {
        const i = sent++;
        const res = await signedInject(app, world.systems.amr, {
          method: 'GET',
          path: `/v1/data/${enc(world.codes.population)}?idNumber=${keys[i % keys.length]}`,
        });
        const label = res.statusCode === 200 ? '200' : `${res.statusCode} ${res.json().code}`;
        statuses.set(label, (statuses.get(label) ?? 0) + 1);
        if (res.statusCode === 200) served.push(res.json().meta.requestId);
      }
    };
    sent = 0;
    await Promise.all(Array.from({ length: 8 }, worker));
  };

  await load(100);
  t.same(Object.fromEntries(statuses), { '200': 100 }, 'served while the store is up');

  const port = postgres.port;
  await postgres.stop();
  statuses.clear();
  await load(BACKLOG_MAX + 300);
  const outage = Object.fromEntries(statuses);
  t.ok((statuses.get('200') ?? 0) > 0, `the gateway kept serving into its stream: ${JSON.stringify(outage)}`);
  t.ok((statuses.get('200') ?? 0) <= BACKLOG_MAX, 'but no more than the high-water mark allows');
  t.ok((statuses.get('503 AUDIT_BACKLOG') ?? 0) >= 300, 'past the mark: 503 AUDIT_BACKLOG');
  t.same(
    [...statuses.keys()].filter((s) => s !== '200' && s !== '503 AUDIT_BACKLOG'),
    [],
    'nothing but 200 and 503 AUDIT_BACKLOG',
  );

  postgres = await startLocalPostgres({ dir, port });
  const head = async () =>
    Number(await context.redis.hget(auditKeys(context.prefix).head(context.audit.instance), 'seq'));
  const caughtUp = async () => (await store.positions()).get(context.audit.instance)?.seq === (await head());
  for (let waited = 0; !(await caughtUp().catch(() => false)); waited += 200) {
    if (waited > 30_000) throw new Error('the shipper did not catch up within 30 s');
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  statuses.clear();
  await load(50);
  t.same(Object.fromEntries(statuses), { '200': 50 }, 'serving again once the shipper caught up');
  for (let waited = 0; !(await caughtUp()); waited += 100) {
    if (waited > 10_000) throw new Error('the last records were not shipped within 10 s');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }

  const { rows } = await store.pool.query<{ request_id: string; n: number }>(
    `SELECT request_id, count(*)::int AS n FROM audit_records
      WHERE instance = $1 AND action = 'data.lookup' AND decision = 'allow' GROUP BY request_id`,
    [context.audit.instance],
  );
  const stored = new Map(rows.map((row) => [row.request_id, row.n]));
  t.equal(served.length, 100 + (outage['200'] ?? 0) + 50);
  t.ok(
    served.every((id) => stored.get(id) === 1),
    'every 200 has its allow record in the store, exactly once',
  );
  t.equal(stored.size, served.length, 'and no allow record without its 200');
  const { rows: counted } = await store.pool.query<{ n: number; max: number }>(
    'SELECT count(*)::int AS n, max(seq)::int AS max FROM audit_records WHERE instance = $1',
    [context.audit.instance],
  );
  t.equal(counted[0]!.n, counted[0]!.max, 'the stored chain has no gap and no duplicate');
  const report = await verifyAudit(context.redis, context.prefix, {
    publicKey: context.platform.signingCertX509.publicKey,
    store,
  });
  t.ok(report.ok, `the chain verifies through the store and the stream: ${JSON.stringify(report.instances)}`);
});
