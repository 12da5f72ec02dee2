/**
 * Operator commands change the platform as much as the HTTP API does, so they are audited too: each CLI
 * process appends to the chain of an instance named after the host (`cli-<hostname>`), resuming its head.
 */
import { hostname, userInfo } from 'node:os';
import { AuditWriter } from '../../audit/writer.js';
import { loadPlatform } from '../../certs/platform.js';
import type { RedisClient } from '../../platform/redis.js';
import type { GovshareConfig } from '../app/config.js';

export async function cliAudit(
  config: GovshareConfig,
  redis: RedisClient,
  action: string,
  detail: Record<string, unknown>,
): Promise<void> {
  const platform = loadPlatform(config.GOVSHARE_DATA_DIR);
  const instance = `cli-${hostname()}`.replace(/[^A-Za-z0-9._-]/g, '-').slice(0, 64);
  const writer = new AuditWriter(redis, config.GOVSHARE_REDIS_PREFIX, instance, {
    signer: {
      certificate: platform.signingCertX509,
      signer: platform.platformSigner,
    },
  });
  const time = new Date().toISOString();
  await writer.append({
    time,
    requestId: `cli-${process.pid}-${Date.now()}`,
    instance,
    kind: 'admin',
    actor: { person: `os:${userInfo().username}`, role: 'operator' },
    action,
    decision: 'allow',
    status: 200,
    latencyMs: 0,
    detail,
  });
  await writer.close();
}
