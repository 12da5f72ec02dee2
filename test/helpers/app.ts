import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { initPlatform } from '../../certs/platform.js';
import type { Signer } from '../../certs/signer.js';
import { type GovshareConfig, loadConfig } from '../../gateway/app/config.js';
import { createContext, type GatewayContext } from '../../gateway/app/context.js';
import { type BuildAppOptions, buildApp } from '../../gateway/app.js';
import type { Person } from '../../gateway/auth/people.js';
import { issueToken } from '../../gateway/auth/tokens.js';
import { useRedis } from './redis.js';
import { atProcessEnd, type Scope } from './scope.js';

let platformDir: Promise<string> | undefined;

/** One initialised platform data dir per test file (RSA key generation is the slow part). */
export function usePlatformDir(): Promise<string> {
  if (!platformDir) {
    platformDir = (async () => {
      const dir = mkdtempSync(join(tmpdir(), 'govshare-platform-'));
      await initPlatform(dir);
      await atProcessEnd(() => rmSync(dir, { recursive: true, force: true }));
      return dir;
    })();
  }
  return platformDir;
}

export interface TestApp {
  app: FastifyInstance;
  context: GatewayContext;
  config: GovshareConfig;
  redisUrl: string;
  token(person: Person): string;
  auth(person: Person): { authorization: string };
}

/** A ready gateway on a real Redis with its own key prefix, torn down with the test. */
export async function buildTestApp(
  t: Scope,
  options: {
    env?: Record<string, string>;
    now?: () => Date;
    logger?: boolean | Record<string, unknown>;
    extraRoutes?: BuildAppOptions['extraRoutes'];
    workflow?: BuildAppOptions['workflow'];
    /** A second gateway instance on the same Redis and key prefix as this one. */
    sameRedisAs?: TestApp;
    /** Connect with this URL (e.g. another user) instead of the test's shared client. */
    redisUrl?: string;
    /** Key custody of the platform signing key in place of the data dir's file key. */
    platformSigner?: Signer;
  } = {},
): Promise<TestApp> {
  const dataDir = await usePlatformDir();
  const shared = await useRedis(t);
  const server = shared.server;
  const prefix = options.sameRedisAs?.config.GOVSHARE_REDIS_PREFIX ?? shared.prefix;
  const redis = options.redisUrl ? undefined : shared.redis;
  const instance = `test-${prefix.slice(3, 11)}${options.sameRedisAs ? '-b' : ''}`;
  const config = loadConfig({
    GOVSHARE_REDIS_URL: options.redisUrl ?? server.url,
    GOVSHARE_REDIS_PREFIX: prefix,
    GOVSHARE_DATA_DIR: dataDir,
    GOVSHARE_LOG_LEVEL: 'silent',
    // Webhook receivers of the tests listen on 127.0.0.1.
    GOVSHARE_WEBHOOK_ALLOW_LOOPBACK: 'true',
    GOVSHARE_INSTANCE_ID: instance,
    ...options.env,
  });
  const context = await createContext(config, {
    ...(redis ? { redis } : {}),
    ...(options.now ? { now: options.now } : {}),
    ...(options.platformSigner ? { platformSigner: options.platformSigner } : {}),
  });
  const app = await buildApp({
    context,
    logger: options.logger ?? false,
    extraRoutes: options.extraRoutes ?? [],
    ...(options.workflow ? { workflow: options.workflow } : {}),
  });
  await app.ready();
  t.teardown(async () => {
    await app.close();
    await context.close();
  });
  const token = (person: Person) =>
    issueToken(
      {
        issuer: config.GOVSHARE_JWT_ISSUER,
        audience: config.GOVSHARE_JWT_AUDIENCE,
        privateKeyPem: context.platform.tokenPrivateKeyPem,
      },
      person,
      3600,
    );
  return {
    app,
    context,
    config,
    redisUrl: server.url,
    token,
    auth: (p) => ({ authorization: `Bearer ${token(p)}` }),
  };
}
