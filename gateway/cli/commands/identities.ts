import { checkBundleTarget, writeCertificateBundle } from '../../../certs/issue.js';
import { loadPlatform } from '../../../certs/platform.js';
import * as registry from '../../../certs/registry.js';
import { REVOCATION_REASONS, type RevocationReason } from '../../../certs/schema.js';
import { CertsStore } from '../../../certs/store.js';
import { issueTlsServerCertificate } from '../../../certs/tls.js';
import { createRedisClient, type RedisClient } from '../../../platform/redis.js';
import type { GovshareConfig } from '../../app/config.js';
import { cliAudit } from '../cli-audit.js';
import { CONFIG_FLAGS, type Command, configFrom, parseFlags, required, UsageError } from '../command.js';

/** Runs `fn` with a Redis connection that is closed afterwards, whatever happens. */
export async function withRedis<T>(
  config: GovshareConfig,
  fn: (redis: RedisClient) => Promise<T>,
): Promise<T> {
  const redis = createRedisClient(config.GOVSHARE_REDIS_URL, { connectionName: 'govshare-cli' });
  try {
    return await fn(redis);
  } finally {
    await redis.quit().catch(() => redis.disconnect());
  }
}

function storeFor(config: GovshareConfig, redis: RedisClient) {
  return new CertsStore(redis, config.GOVSHARE_REDIS_PREFIX);
}

export const deptAddCommand: Command = {
  name: 'dept add',
  summary: 'Register a department by its unified social credit code (check character verified)',
  usage: 'dept add --code USCC --name NAME [--allow-invalid-check] [--home-platform PEER_PLATFORM_ID]',
  async run(argv, io) {
    const { values } = parseFlags(argv, {
      ...CONFIG_FLAGS,
      code: { type: 'string' },
      name: { type: 'string' },
      'allow-invalid-check': { type: 'boolean' },
      'home-platform': { type: 'string' },
    });
    const config = configFrom(values, io);
    const home = values['home-platform'];
    if (home !== undefined && !/^[a-z0-9][a-z0-9-]{1,62}$/.test(home))
      throw new UsageError('--home-platform must be a peer platform id (lowercase letters, digits and -)');
    const input = {
      code: required(values, 'code'),
      name: required(values, 'name'),
      allowInvalidCheck: values['allow-invalid-check'] === true,
      ...(home ? { homePlatform: home } : {}),
    };
    await withRedis(config, async (redis) => {
      const department = await registry.addDepartment(storeFor(config, redis), input, new Date());
      await cliAudit(config, redis, 'department.add', {
        dept: department.code,
        usccCheck: department.usccCheck,
      });
      io.out(
        `registered department ${department.code} ${department.name}${department.usccCheck === 'overridden' ? ' (check character overridden by operator)' : ''}`,
      );
    });
    return 0;
  },
};

export const deptListCommand: Command = {
  name: 'dept list',
  summary: 'List registered departments',
  usage: 'dept list',
  async run(argv, io) {
    const { values } = parseFlags(argv, CONFIG_FLAGS);
    const config = configFrom(values, io);
    await withRedis(config, async (redis) => {
      for (const d of await storeFor(config, redis).listDepartments()) io.out(`${d.code}  ${d.name}`);
    });
    return 0;
  },
};

export const systemAddCommand: Command = {
  name: 'system add',
  summary: 'Register a system (业务系统) of a department',
  usage: 'system add --dept USCC --id SYSTEM_ID --name NAME',
  async run(argv, io) {
    const { values } = parseFlags(argv, {
      ...CONFIG_FLAGS,
      dept: { type: 'string' },
      id: { type: 'string' },
      name: { type: 'string' },
    });
    const config = configFrom(values, io);
    const input = {
      deptCode: required(values, 'dept'),
      systemId: required(values, 'id'),
      name: required(values, 'name'),
    };
    await withRedis(config, async (redis) => {
      const system = await registry.addSystem(storeFor(config, redis), input, new Date());
      await cliAudit(config, redis, 'system.add', { dept: system.deptCode, system: system.systemId });
      io.out(`registered system ${system.systemId} of ${system.deptCode}`);
    });
    return 0;
  },
};

/** `--days N` of the certificate commands: a whole number, or undefined for the default validity. */
function daysFlag(value: string | undefined): number | undefined {
  const days = value === undefined ? undefined : Number(value);
  if (days !== undefined && !Number.isInteger(days)) throw new UsageError('--days must be a whole number');
  return days;
}

export const certIssueCommand: Command = {
  name: 'cert issue',
  summary: 'Issue a certificate for a system; writes key.pem (0600), cert.pem, ca.pem; prints the serial',
  usage: 'cert issue --dept USCC --system SYSTEM_ID --out DIR [--days N] [--force]',
  async run(argv, io) {
    const { values } = parseFlags(argv, {
      ...CONFIG_FLAGS,
      dept: { type: 'string' },
      system: { type: 'string' },
      out: { type: 'string' },
      days: { type: 'string' },
      force: { type: 'boolean' },
    });
    const config = configFrom(values, io);
    const out = required(values, 'out');
    const days = daysFlag(values.days);
    const platform = loadPlatform(config.GOVSHARE_DATA_DIR);
    checkBundleTarget(out, { force: values.force === true });
    await withRedis(config, async (redis) => {
      const issued = await registry.issueCertificate(
        platform,
        storeFor(config, redis),
        {
          deptCode: required(values, 'dept'),
          systemId: required(values, 'system'),
          ...(days === undefined ? {} : { days }),
        },
        new Date(),
      );
      await writeCertificateBundle(
        out,
        { ...issued, keyPem: issued.keyPem! },
        { force: values.force === true },
      );
      await cliAudit(config, redis, 'certificate.issue', {
        serial: issued.serial,
        dept: values.dept,
        system: values.system,
      });
      io.err(
        `wrote ${out}/key.pem (0600), ${out}/cert.pem, ${out}/ca.pem; valid until ${issued.notAfter.toISOString()}`,
      );
      io.out(issued.serial);
    });
    return 0;
  },
};

export const certRevokeCommand: Command = {
  name: 'cert revoke',
  summary: 'Revoke a certificate (every gateway refuses it within 2 s; listed in the next CRL)',
  usage: `cert revoke --serial HEX --reason ${REVOCATION_REASONS.join('|')}`,
  async run(argv, io) {
    const { values } = parseFlags(argv, {
      ...CONFIG_FLAGS,
      serial: { type: 'string' },
      reason: { type: 'string' },
    });
    const config = configFrom(values, io);
    const reason = required(values, 'reason');
    if (!(REVOCATION_REASONS as readonly string[]).includes(reason)) {
      throw new UsageError(`--reason must be one of ${REVOCATION_REASONS.join(', ')}`);
    }
    await withRedis(config, async (redis) => {
      const record = await registry.revokeCertificate(
        storeFor(config, redis),
        required(values, 'serial').toLowerCase(),
        reason as RevocationReason,
        new Date(),
      );
      await cliAudit(config, redis, 'certificate.revoke', { serial: record.serial, reason });
      io.out(`revoked ${record.serial} (${reason}) of ${record.deptCode}/${record.systemId}`);
    });
    return 0;
  },
};

export const certListCommand: Command = {
  name: 'cert list',
  summary: 'List certificates, optionally of one department',
  usage: 'cert list [--dept USCC]',
  async run(argv, io) {
    const { values } = parseFlags(argv, { ...CONFIG_FLAGS, dept: { type: 'string' } });
    const config = configFrom(values, io);
    await withRedis(config, async (redis) => {
      const list = await registry.listCertificates(storeFor(config, redis), {
        ...(values.dept ? { deptCode: values.dept } : {}),
        now: new Date(),
      });
      io.out('serial                            status   department          system              not after');
      for (const c of list) {
        io.out(
          `${c.serial.padEnd(34)}${c.effectiveStatus.padEnd(9)}${c.deptCode.padEnd(20)}${c.systemId.padEnd(20)}${c.notAfter}`,
        );
      }
    });
    return 0;
  },
};

export const certIssueTlsCommand: Command = {
  name: 'cert issue-tls',
  summary:
    'Issue a TLS server certificate from the (intl) platform CA for serve --tls-cert or a front-end processor; writes key.pem (0600), cert.pem, ca.pem',
  usage: 'cert issue-tls --hosts NAME[,NAME...] --out DIR [--days N] [--force]',
  async run(argv, io) {
    const { values } = parseFlags(argv, {
      ...CONFIG_FLAGS,
      hosts: { type: 'string' },
      out: { type: 'string' },
      days: { type: 'string' },
      force: { type: 'boolean' },
    });
    const config = configFrom(values, io);
    const out = required(values, 'out');
    const days = daysFlag(values.days);
    const hosts = required(values, 'hosts')
      .split(',')
      .map((host) => host.trim())
      .filter(Boolean);
    checkBundleTarget(out, { force: values.force === true });
    const issued = await issueTlsServerCertificate(loadPlatform(config.GOVSHARE_DATA_DIR), {
      hosts,
      ...(days === undefined ? {} : { days }),
    });
    const bundle = { ...issued, notBefore: new Date(), notAfter: new Date(), fingerprint256: '' };
    await writeCertificateBundle(out, bundle, { force: values.force === true });
    io.err(`wrote ${out}/key.pem (0600), ${out}/cert.pem, ${out}/ca.pem for ${hosts.join(', ')}`);
    io.out(issued.serial);
    return 0;
  },
};
