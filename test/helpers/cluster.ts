import type { Test } from 'tap';
import { type LocalRedis, redisCli, startLocalRedis } from '../../scripts/lib/local-redis.js';

/** A three-master Redis Cluster on loopback ports, stopped with the test. Returns its redis+cluster URL. */
export async function startLocalCluster(t: Test): Promise<{ url: string; servers: LocalRedis[] }> {
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
  for (let i = 0; i < 200; i++) {
    if (redisCli(['-p', String(servers[0]!.port), 'cluster', 'info']).includes('cluster_state:ok')) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  return { url: `redis+cluster://${addresses.join(',')}`, servers };
}
