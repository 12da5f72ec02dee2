import { Cluster } from 'ioredis';
import t, { type Test } from 'tap';
import { searchAudit } from '../../audit/search.js';
import { verifyAudit } from '../../audit/verify.js';
import { AuditWriter } from '../../audit/writer.js';
import { type LocalRedis, redisCli, startLocalRedis } from '../../scripts/lib/local-redis.js';
import { BASE_TIME, makeRecord, makeSigner, SUBJECT_SECRET } from './fixtures.js';

/** A three-master Redis Cluster on loopback: the scripts must keep to one slot, the indexes spread. */
async function startCluster(t: Test): Promise<Cluster> {
  const servers: LocalRedis[] = [];
  t.teardown(async () => {
    for (const server of servers) await server.stop();
  });
  for (let i = 0; i < 3; i++) {
    servers.push(
      await startLocalRedis({
        extraArgs: ['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf'],
      }),
    );
  }
  const addresses = servers.map((s) => `127.0.0.1:${s.port}`);
  redisCli(['--cluster', 'create', ...addresses, '--cluster-replicas', '0', '--cluster-yes']);
  for (let i = 0; i < 100; i++) {
    if (redisCli(['-p', String(servers[0]!.port), 'cluster', 'info']).includes('cluster_state:ok')) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  const cluster = new Cluster(servers.map((s) => ({ host: '127.0.0.1', port: s.port })));
  t.teardown(() => cluster.quit().then(() => undefined));
  return cluster;
}

t.test('write, verify, search and rebuild on a Redis Cluster', async (t) => {
  const redis = await startCluster(t);
  const signer = makeSigner();
  const now = () => BASE_TIME + 86_400_000;
  for (const instance of ['gw-a', 'gw-b']) {
    const writer = new AuditWriter(redis, 'gs:', instance, { signer, now });
    await Promise.all(
      Array.from({ length: 150 }, (_, i) =>
        writer.append(
          makeRecord(instance, {
            actor: { deptCode: `D${i % 3}` },
            ...(i % 5 ? {} : { decision: 'deny', reasonCode: 'GRANT_MISSING', status: 403 }),
          }),
        ),
      ),
    );
    await writer.close();
  }
  const report = await verifyAudit(redis, 'gs:', { publicKey: signer.certificate.publicKey });
  t.ok(report.ok);
  t.same(
    report.instances.map((i) => i.records),
    [150, 150],
  );
  // i % 3 === 1 and i % 5 === 0 for i < 150: 10 per instance.
  const query = { deptCode: 'D1', decision: 'deny', limit: 500 } as const;
  t.equal((await searchAudit(redis, 'gs:', SUBJECT_SECRET, query)).records.length, 20);
  t.equal((await searchAudit(redis, 'gs:', SUBJECT_SECRET, { limit: 500 })).records.length, 300);
  t.equal((await searchAudit(redis, 'gs:', SUBJECT_SECRET, query)).records.length, 20);
});
