/**
 * A Redis Sentinel setup on loopback ports for tests: a master, one replica and one sentinel watching
 * them (quorum 1), stopped with the test. Returns its redis+sentinel URL and a manual failover.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Test } from 'tap';
import { type LocalRedis, startLocalRedis } from '../../scripts/lib/local-redis.js';
import { findFreePort, requireBinary } from '../../scripts/lib/local-tools.js';
import { waitFor } from './processes.js';

export interface LocalSentinel {
  /** `redis+sentinel://127.0.0.1:<sentinel port>/<master name>` */
  url: string;
  masterName: string;
  sentinelPort: number;
  /** The servers by port: the master and the replica (which is which changes on failover). */
  servers: Map<number, LocalRedis>;
  /** The port of the master as the sentinel names it now. */
  masterPort(): number;
  /**
   * SENTINEL FAILOVER once the replica has every write of the master; resolves with the new master's
   * port once the sentinel names it and it answers as a master.
   */
  failover(timeoutMs?: number): Promise<number>;
}

const cli = (port: number, ...args: string[]) =>
  execFileSync(requireBinary('redis-cli', 'redis-tools'), ['-p', String(port), ...args], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  }).trim();

const answers = (port: number, ...args: string[]) => {
  try {
    return cli(port, ...args);
  } catch {
    return '';
  }
};

export async function startLocalSentinel(t: Test, masterName = 'govshare'): Promise<LocalSentinel> {
  // The master refuses writes once no replica is in sync, as it should in production: when Sentinel
  // promotes the replica, nothing written to the demoted master can be acknowledged and then lost. It
  // syncs a new replica at once instead of waiting 5 s for more to arrive.
  const master = await startLocalRedis({
    extraArgs: [
      ...['--min-replicas-to-write', '1', '--min-replicas-max-lag', '5'],
      ...['--repl-diskless-sync-delay', '0'],
    ],
  });
  t.teardown(() => master.stop());
  const replica = await startLocalRedis({ extraArgs: ['--replicaof', '127.0.0.1', String(master.port)] });
  t.teardown(() => replica.stop());
  const linked = await waitFor(
    async () => answers(replica.port, 'info', 'replication').includes('master_link_status:up'),
    (up) => up,
    { timeoutMs: 10_000 },
  );
  if (!linked) throw new Error(`the replica on ${replica.port} did not sync with the master`);

  const dir = mkdtempSync(join(tmpdir(), 'govshare-sentinel-'));
  const sentinelPort = await findFreePort();
  // Sentinel rewrites its configuration file as it learns: it has to be a file of its own.
  const conf = join(dir, 'sentinel.conf');
  writeFileSync(
    conf,
    [
      `port ${sentinelPort}`,
      'bind 127.0.0.1',
      `dir ${dir}`,
      `logfile ${join(dir, 'sentinel.log')}`,
      `sentinel monitor ${masterName} 127.0.0.1 ${master.port} 1`,
      `sentinel down-after-milliseconds ${masterName} 2000`,
      `sentinel failover-timeout ${masterName} 10000`,
      '',
    ].join('\n'),
  );
  const child = spawn(requireBinary('redis-server', 'redis-server'), [conf, '--sentinel'], {
    stdio: 'ignore',
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  t.teardown(async () => {
    child.kill('SIGTERM');
    await exited;
    rmSync(dir, { recursive: true, force: true });
  });
  // Ready once it names the master and has found the replica through it.
  const replicas = await waitFor(
    async () => answers(sentinelPort, 'sentinel', 'replicas', masterName),
    (list) => list.includes(String(replica.port)),
    { timeoutMs: 15_000, intervalMs: 100 },
  );
  if (!replicas.includes(String(replica.port)))
    throw new Error(
      `sentinel on ${sentinelPort} did not find the replica (log: ${join(dir, 'sentinel.log')})`,
    );

  const servers = new Map([
    [master.port, master],
    [replica.port, replica],
  ]);
  const masterPort = () =>
    Number(answers(sentinelPort, 'sentinel', 'get-master-addr-by-name', masterName).split('\n')[1]);
  return {
    url: `redis+sentinel://127.0.0.1:${sentinelPort}/${masterName}`,
    masterName,
    sentinelPort,
    servers,
    masterPort,
    async failover(timeoutMs = 20_000) {
      const before = masterPort();
      // No write may be lost: wait until the replica has acknowledged everything written so far.
      if (cli(before, 'wait', '1', '5000') !== '1')
        throw new Error('the replica did not catch up with the master');
      cli(sentinelPort, 'sentinel', 'failover', masterName);
      const after = await waitFor(
        async () => {
          const port = masterPort();
          return port !== before && answers(port, 'role').startsWith('master') ? port : 0;
        },
        (port) => port !== 0,
        { timeoutMs, intervalMs: 100 },
      );
      if (!after) throw new Error(`the sentinel did not fail over from ${before} within ${timeoutMs} ms`);
      return after;
    },
  };
}
