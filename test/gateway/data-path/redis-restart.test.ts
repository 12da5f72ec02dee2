/**
 * Redis restarted under load: no 200 leaves without its audit record, every answer is 200 or 503 (never an
 * identity or policy refusal), and after recovery the audit chain verifies and the count of allowed data
 * records equals the count of 200 responses exactly.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { verifyAudit } from '../../../audit/verify.js';
import { sampleKeys } from '../../../connectors/simulator/datasets.js';
import { startLocalRedis } from '../../../scripts/lib/local-redis.js';
import { buildTestApp } from '../../helpers/app.js';
import { buildWorld, enc, grantPopulation, signedInject } from '../../helpers/world.js';

t.test('Redis restarted during load: nothing served without its audit record', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'govshare-restart-'));
  let redis = await startLocalRedis({ dir });
  t.teardown(() => redis.stop());
  const { app, context, auth } = await buildTestApp(t, { redisUrl: redis.url });
  const world = await buildWorld(t, context);
  const { amr } = world.systems;
  await grantPopulation({ app, auth }, world, { items: ['idNumber', 'gender'] });
  const keys = sampleKeys('residents', 50);
  const statuses = new Map<number, number>();
  let stop = false;
  const worker = async (n: number) => {
    for (let i = 0; !stop; i++) {
      const res = await signedInject(app, amr, {
        method: 'GET',
        path: `/v1/data/${enc(world.codes.population)}?idNumber=${keys[(n * 7 + i) % keys.length]}`,
      });
      statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
      if (res.statusCode === 503) await new Promise((r) => setTimeout(r, 20));
    }
  };
  const load = Promise.all([0, 1, 2, 3].map(worker));
  await new Promise((r) => setTimeout(r, 800));
  const port = redis.port;
  await redis.stop();
  await new Promise((r) => setTimeout(r, 500));
  redis = await startLocalRedis({ dir, port });
  await new Promise((r) => setTimeout(r, 1500));
  stop = true;
  await load;

  const answered = Object.fromEntries(statuses);
  t.ok((statuses.get(200) ?? 0) > 20, `load was served: ${JSON.stringify(answered)}`);
  t.ok((statuses.get(503) ?? 0) > 0, 'the outage answered 503');
  t.same(
    [...statuses.keys()].filter((s) => s !== 200 && s !== 503),
    [],
    'nothing but 200 and 503: no identity or policy refusals',
  );

  const report = await verifyAudit(context.redis, context.prefix, {
    publicKey: context.platform.signingCertX509.publicKey,
  });
  t.ok(
    report.ok,
    `the audit chain verifies after recovery: ${JSON.stringify(report.instances.map((i) => i.firstBroken ?? 'intact'))}`,
  );
  // Allowed data records in the gateway's stream, less those a later record says were not delivered
  // (an append whose reply was lost during the outage; see retractLater in data-path/serve.ts).
  const stream = `${context.prefix}{audit:${context.audit.instance}}:stream`;
  const countAllowed = async () => {
    const allowed = new Set<string>();
    const retracted = new Set<string>();
    for (let cursor = '-'; ; ) {
      const entries = (await context.redis.xrange(stream, cursor, '+', 'COUNT', 1000)) as [
        string,
        string[],
      ][];
      const fresh = cursor === '-' ? entries : entries.slice(1);
      for (const [, fields] of fresh) {
        const record = JSON.parse(fields[fields.indexOf('rec') + 1]!) as {
          action: string;
          decision: string;
          requestId: string;
          detail?: { retracts?: string };
        };
        if (record.action === 'data.lookup' && record.decision === 'allow') allowed.add(record.requestId);
        if (record.action === 'data.undelivered' && record.detail?.retracts)
          retracted.add(record.detail.retracts);
      }
      if (entries.length < 1000) break;
      cursor = entries[entries.length - 1]![0];
    }
    for (const id of retracted) allowed.delete(id);
    return allowed.size;
  };
  let allowed = await countAllowed();
  for (let i = 0; i < 40 && allowed !== statuses.get(200); i++) {
    await new Promise((r) => setTimeout(r, 100));
    allowed = await countAllowed();
  }
  t.equal(allowed, statuses.get(200), 'allowed audit records (less retractions) = 200 responses, exactly');
});
