/**
 * Everything the data-path benchmark runs against: a private redis-server, the front-end processor
 * simulator, the platform set up in Redis, the gateway (`govshare serve`) and the bare proxy, each a
 * child process, all on loopback. `stop()` ends them in reverse order and removes the temporary files.
 */

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CryptoProfile } from '../../certs/crypto-profile.js';
import { createRedisClient, type RedisClient } from '../../platform/redis.js';
import { type LocalRedis, startLocalRedis } from '../../scripts/lib/local-redis.js';
import { type Child, startChild } from './children.js';
import { type BenchPlatform, setUpPlatform } from './platform-setup.js';

/**
 * The gateway runs as the Docker image runs it (Dockerfile, `NODE_OPTIONS`): V8's young generation may grow
 * to 32 MB a semi-space. With the default the gateway scavenged every ~20 ms at 1,600 req/s, promoted
 * requests still in flight and ran a full GC every 3-4 s; with it, none in a 15 s paced window
 * (bench/README.md, session of 8 December, later). Flags given with --gateway-flags come after, and win.
 */
export const GATEWAY_NODE_FLAGS = ['--max-semi-space-size=32'];

export interface StackOptions {
  prefix: string;
  /** GOVSHARE_INSTANCE_ID of the gateway: its audit stream is named after it. */
  instance: string;
  /** Keep-alive connections to the simulator, for the gateway's connector and the bare proxy alike. */
  poolConnections: number;
  /** Extra node flags for the gateway, e.g. --cpu-prof. */
  gatewayNodeFlags?: string[];
  /** Append the gateway's output to this file. */
  gatewayLog?: string;
  /** Extra environment of the gateway(s), e.g. GOVSHARE_PUBLIC_ORIGIN, GOVSHARE_BATCH_MAX_KEYS. */
  gatewayEnv?: Record<string, string>;
  /** Redis AOF fsync policy (the audit stream's durability). @defaultValue 'everysec' */
  appendfsync?: 'always' | 'everysec';
  /** The platform's crypto profile. @defaultValue 'intl' */
  crypto?: CryptoProfile;
}

export interface Stack {
  redis: LocalRedis;
  client: RedisClient;
  simulator: Child;
  gateway: Child;
  proxy: Child;
  platform: BenchPlatform;
  /** Starts one more `govshare serve` on the same Redis, prefix and data dir; stopped with the stack. */
  addGateway(instance: string): Promise<Child>;
  stop(): Promise<void>;
}

const cli = fileURLToPath(new URL('../../gateway/cli/bin.js', import.meta.url));
const bareProxy = fileURLToPath(new URL('./bare-proxy.js', import.meta.url));

export async function startStack(options: StackOptions): Promise<Stack> {
  const work = mkdtempSync(join(tmpdir(), 'govshare-bench-'));
  const redis = await startLocalRedis({ appendfsync: options.appendfsync ?? 'everysec' });
  const client = createRedisClient(redis.url);
  const children: Child[] = [];
  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      for (const child of [...children].reverse()) await child.stop();
      await client.quit().catch(() => client.disconnect());
      await redis.stop();
      rmSync(work, { recursive: true, force: true });
    })());
  try {
    const simulator = await startChild({
      name: 'simulator',
      script: cli,
      args: ['simulator', '--port', '0'],
      ready: /simulator listening on (http:\/\/\S+)/,
    });
    children.push(simulator);
    const dataDir = join(work, 'platform');
    const platform = await setUpPlatform(client, options.prefix, dataDir, simulator.url, options.crypto);
    const startGateway = (instance: string, log?: string) =>
      startChild({
        name: `gateway ${instance}`,
        script: cli,
        args: ['serve'],
        nodeFlags: [...GATEWAY_NODE_FLAGS, ...(options.gatewayNodeFlags ?? [])],
        ...(log ? { logFile: log } : {}),
        env: {
          GOVSHARE_REDIS_URL: redis.url,
          GOVSHARE_REDIS_PREFIX: options.prefix,
          GOVSHARE_HOST: '127.0.0.1',
          GOVSHARE_PORT: '0',
          GOVSHARE_DATA_DIR: dataDir,
          // warn, not the default info: one log line per request would measure pino and the pipe instead.
          GOVSHARE_LOG_LEVEL: 'warn',
          GOVSHARE_INSTANCE_ID: instance,
          GOVSHARE_CONNECTOR_CONNECTIONS: String(options.poolConnections),
          ...options.gatewayEnv,
        },
        ready: /govshare listening on (http:\/\/\S+?) /,
      });
    const gateway = await startGateway(options.instance, options.gatewayLog);
    children.push(gateway);
    const proxy = await startChild({
      name: 'bare-proxy',
      script: bareProxy,
      args: ['--upstream', simulator.url, '--connections', String(options.poolConnections)],
      ready: /bare proxy listening on (http:\/\/\S+)/,
    });
    children.push(proxy);
    const addGateway = async (instance: string) => {
      const added = await startGateway(instance);
      children.push(added);
      return added;
    };
    return { redis, client, simulator, gateway, proxy, platform, addGateway, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
