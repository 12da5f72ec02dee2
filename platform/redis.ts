/**
 * One place that turns GOVSHARE_REDIS_URL into an ioredis client.
 *
 * - `redis://[user:pass@]host:port[/db]` and `rediss://…` — a standalone server (TLS with rediss).
 * - `redis+sentinel://[user:pass@]host1:port1,host2:port2/masterName[?db=N]` — through Sentinel.
 * - `redis+cluster://[user:pass@]host1:port1,host2:port2` — a Redis Cluster (seed nodes).
 */
import { Cluster, type Command, Redis, type RedisOptions } from 'ioredis';

export type RedisClient = Redis | Cluster;

export interface RedisEndpoint {
  kind: 'standalone' | 'sentinel' | 'cluster';
  nodes: { host: string; port: number }[];
  username?: string;
  password?: string;
  db?: number;
  tls: boolean;
  sentinelMaster?: string;
}

export function parseRedisUrl(url: string): RedisEndpoint {
  const match =
    /^(redis|rediss|redis\+sentinel|redis\+cluster):\/\/(?:([^:@/]*)(?::([^@/]*))?@)?([^/?#]+)(\/[^?#]*)?(\?[^#]*)?$/.exec(
      url,
    );
  if (!match) {
    throw new Error(
      `not a Redis URL: expected redis://host:port, rediss://host:port, redis+sentinel://h1:p1,h2:p2/master or redis+cluster://h1:p1,h2:p2`,
    );
  }
  const [, scheme, user, pass, hostList, path, query] = match;
  const nodes = hostList!.split(',').map((hp) => {
    const m = /^(\[[^\]]+\]|[^:]+)(?::(\d{1,5}))?$/.exec(hp);
    if (!m) throw new Error(`bad host "${hp}" in Redis URL`);
    const port = Number(m[2] ?? (scheme === 'redis+sentinel' ? 26379 : 6379));
    if (port < 1 || port > 65535) throw new Error(`bad port in "${hp}"`);
    return { host: m[1]!.replace(/^\[|\]$/g, ''), port };
  });
  const params = new URLSearchParams(query?.slice(1) ?? '');
  const endpoint: RedisEndpoint = {
    kind: scheme === 'redis+sentinel' ? 'sentinel' : scheme === 'redis+cluster' ? 'cluster' : 'standalone',
    nodes,
    tls: scheme === 'rediss' || params.get('tls') === 'true',
  };
  if (user) endpoint.username = decodeURIComponent(user);
  if (pass) endpoint.password = decodeURIComponent(pass);
  const pathPart = (path ?? '').replace(/^\//, '');
  if (endpoint.kind === 'sentinel') {
    if (!pathPart) throw new Error('a redis+sentinel URL needs the master name as its path');
    endpoint.sentinelMaster = decodeURIComponent(pathPart);
    if (params.has('db')) endpoint.db = Number(params.get('db'));
  } else if (endpoint.kind === 'standalone') {
    if (nodes.length !== 1)
      throw new Error('a redis:// URL names exactly one host; use redis+cluster:// for several');
    if (pathPart) endpoint.db = Number(pathPart);
  }
  if (endpoint.db !== undefined && !(Number.isInteger(endpoint.db) && endpoint.db >= 0)) {
    throw new Error('the Redis database must be a non-negative integer');
  }
  return endpoint;
}

export interface RedisClientOptions {
  /** Needed by BullMQ workers (blocking commands must not time out). */
  maxRetriesPerRequest?: number | null;
  /** Fail commands at once while disconnected instead of queueing them (the gateway fails closed). */
  enableOfflineQueue?: boolean;
  connectionName?: string;
  /**
   * Send the commands issued during one turn of the event loop in one socket write (standalone and
   * Sentinel; ignored for a Cluster). For a connection that carries a few commands for each of many
   * concurrent requests: see `CoalescingRedis`.
   */
  coalesceWrites?: boolean;
}

export function createRedisClient(url: string, options: RedisClientOptions = {}): RedisClient {
  const client = connect(url, options);
  // Connection errors surface where they matter (a failed command answers 503, /ready reports it);
  // without a listener ioredis would print every reconnect attempt to stderr.
  client.on('error', () => undefined);
  return client;
}

function connect(url: string, options: RedisClientOptions): RedisClient {
  const endpoint = parseRedisUrl(url);
  const common: RedisOptions = {
    username: endpoint.username,
    password: endpoint.password,
    maxRetriesPerRequest: options.maxRetriesPerRequest === undefined ? 2 : options.maxRetriesPerRequest,
    enableOfflineQueue: options.enableOfflineQueue ?? true,
    connectionName: options.connectionName,
    ...(endpoint.tls ? { tls: {} } : {}),
  };
  if (endpoint.kind === 'cluster') {
    return new Cluster(endpoint.nodes, {
      redisOptions: common,
      enableOfflineQueue: common.enableOfflineQueue,
    });
  }
  if (endpoint.kind === 'sentinel') {
    const sentinel: RedisOptions = {
      ...common,
      sentinels: endpoint.nodes,
      name: endpoint.sentinelMaster,
      db: endpoint.db,
      // Reconnect as soon as a sentinel announces +switch-master. Without it the client stays on the
      // demoted master, which Sentinel reconfigures only seconds later: writes acknowledged there in
      // the meantime (audit records, quota counts, nonces) are wiped when it resyncs as a replica.
      failoverDetector: true,
    };
    return closingFailoverDetector(
      options.coalesceWrites ? new CoalescingRedis(sentinel) : new Redis(sentinel),
    );
  }
  const node = endpoint.nodes[0]!;
  const standalone = { ...common, host: node.host, port: node.port, db: endpoint.db ?? 0 };
  return options.coalesceWrites ? new CoalescingRedis(standalone) : new Redis(standalone);
}

/**
 * A client that corks its socket at the first command of an event-loop turn and uncorks it in that
 * turn's check phase (`setImmediate`), so the commands of every request handled in one turn leave in one
 * `writev` and Redis reads them, and answers them, in one go.
 *
 * Without it each command is a write syscall of its own: on the gateway's data path (a nonce, a quota
 * count and an audit append per request) those writes were ~8% of the gateway's CPU profile at 50
 * connections, and coalescing them saved ~6% of its CPU per response (bench/README.md, session 5).
 * ioredis's `enableAutoPipelining` batches the same way but builds a `Pipeline` per batch, whose objects
 * outlive young-generation GCs (see gateway/app/context.ts); corking keeps ioredis's ordinary one-command
 * path. A command waits at most until the end of the current turn.
 */
export class CoalescingRedis extends Redis {
  private corked: Redis['stream'] | undefined;

  override sendCommand(command: Command, stream?: Parameters<Redis['sendCommand']>[1]): unknown {
    const socket = this.stream;
    if (this.corked === undefined && stream === undefined && this.status === 'ready' && socket) {
      socket.cork();
      this.corked = socket;
      setImmediate(() => {
        this.corked = undefined;
        socket.uncork();
      });
    }
    return super.sendCommand(command, stream);
  }
}

interface SentinelInternals {
  connector?: { failoverDetector?: { cleanup(): void } | null };
}

/**
 * ioredis 5 (redis/ioredis#1362): `quit()` leaves the failover detector's sentinel subscriptions
 * connected, so a process that quits its clients never exits. Close them once the client has ended —
 * on this client and on its duplicates (subscribers, BullMQ's blocking connections).
 */
function closingFailoverDetector(client: Redis): Redis {
  client.on('end', () => (client as unknown as SentinelInternals).connector?.failoverDetector?.cleanup());
  const duplicate = client.duplicate.bind(client);
  client.duplicate = (override) => closingFailoverDetector(duplicate(override));
  return client;
}

/** A connection for subscribing: pub/sub needs a connection of its own. */
/** Every key matching the glob `pattern`, from each master of a Cluster or the one server (SCAN). */
export async function scanKeys(redis: RedisClient, pattern: string): Promise<string[]> {
  const nodes = redis instanceof Cluster ? redis.nodes('master') : [redis];
  const keys: string[] = [];
  for (const node of nodes) {
    let cursor = '0';
    do {
      const [next, found] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      cursor = next;
      keys.push(...found);
    } while (cursor !== '0');
  }
  return keys;
}

/** `text` with the glob characters of Redis MATCH patterns escaped. */
export function globLiteral(text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&');
}

export function duplicateForSubscribe(client: RedisClient): RedisClient {
  return client.duplicate();
}
