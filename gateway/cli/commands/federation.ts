/**
 * `govshare federation offer|accept|list|revoke`: the bureau of one platform offers an agreement (a file
 * signed by its platform signing key), the other bureau checks the offerer's CA fingerprint out of band
 * and countersigns it (`accept`, which stores it as active there), and the offerer stores the
 * countersigned file (`accept` again, which verifies both signatures). `revoke` stops traffic on every
 * instance of this platform within about a second.
 */
import { randomUUID, X509Certificate } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import pg from 'pg';
import { loadPlatform } from '../../../certs/platform.js';
import { CertsStore } from '../../../certs/store.js';
import {
  type AgreementTerms,
  acceptAgreement,
  localParty,
  offerAgreement,
  openAgreement,
  otherSide,
  type SignedAgreement,
} from '../../../federation/agreement.js';
import { PostgresReturnTable } from '../../../federation/data-return.js';
import {
  checkSubscription,
  type ReturnSubscription,
  ReturnSubscriptions,
} from '../../../federation/return-schedule.js';
import { storeAgreement } from '../../../federation/service.js';
import { AgreementStore } from '../../../federation/store.js';
import { createContext } from '../../app/context.js';
import { runDataReturn } from '../../app/data-return.js';
import { dataReturnQueue, scheduleDataReturn, syncDataReturnSchedules } from '../../jobs/data-return.js';
import { cliAudit } from '../cli-audit.js';
import { CONFIG_FLAGS, type Command, configFrom, parseFlags, required, UsageError } from '../command.js';
import { withRedis } from './identities.js';

function codes(value: unknown): string[] {
  if (value === undefined || value === '') return [];
  return String(value)
    .split(',')
    .map((code) => code.trim())
    .filter(Boolean);
}

function readJson(file: string): unknown {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new UsageError(`cannot read ${file} as JSON: ${(err as Error).message}`);
  }
}

export const federationOfferCommand: Command = {
  name: 'federation offer',
  summary: 'Offer a federation agreement to another platform: writes the terms signed by this platform',
  usage:
    'federation offer --platform-id ID --name NAME --operator USCC --gateway-url URL --offers CODES ' +
    '--peer-platform-id ID --peer-name NAME --peer-operator USCC --peer-gateway-url URL --peer-ca FILE ' +
    '--peer-signing-cert FILE --peer-offers CODES [--valid-days 365] [--id ID] --out FILE',
  async run(argv, io) {
    const { values } = parseFlags(argv, {
      ...CONFIG_FLAGS,
      id: { type: 'string' },
      'platform-id': { type: 'string' },
      name: { type: 'string' },
      operator: { type: 'string' },
      'gateway-url': { type: 'string' },
      offers: { type: 'string' },
      'peer-platform-id': { type: 'string' },
      'peer-name': { type: 'string' },
      'peer-operator': { type: 'string' },
      'peer-gateway-url': { type: 'string' },
      'peer-ca': { type: 'string' },
      'peer-signing-cert': { type: 'string' },
      'peer-offers': { type: 'string' },
      'valid-days': { type: 'string' },
      out: { type: 'string' },
    });
    const config = configFrom(values, io);
    const out = required(values, 'out');
    const days = Number(values['valid-days'] ?? 365);
    if (!Number.isInteger(days) || days < 1 || days > 3650)
      throw new UsageError('--valid-days must be a whole number from 1 to 3650');
    const platform = loadPlatform(config.GOVSHARE_DATA_DIR);
    const now = new Date();
    const terms: AgreementTerms = {
      version: 1,
      id: typeof values.id === 'string' ? values.id : randomUUID(),
      offerer: localParty(platform, {
        platformId: required(values, 'platform-id'),
        name: required(values, 'name'),
        operator: required(values, 'operator'),
        gatewayUrl: required(values, 'gateway-url'),
        offers: codes(values.offers),
      }),
      accepter: {
        platformId: required(values, 'peer-platform-id'),
        name: required(values, 'peer-name'),
        operator: required(values, 'peer-operator'),
        gatewayUrl: required(values, 'peer-gateway-url'),
        caCertPem: readFileSync(required(values, 'peer-ca'), 'utf8'),
        signingCertPem: readFileSync(required(values, 'peer-signing-cert'), 'utf8'),
        offers: codes(values['peer-offers']),
      },
      validFrom: now.toISOString(),
      validTo: new Date(now.getTime() + days * 86_400_000).toISOString(),
    };
    const document = await offerAgreement(platform, terms);
    await withRedis(config, async (redis) => {
      await storeAgreement(
        platform,
        new AgreementStore(redis, config.GOVSHARE_REDIS_PREFIX),
        new CertsStore(redis, config.GOVSHARE_REDIS_PREFIX),
        document,
        now,
      );
      await cliAudit(config, redis, 'federation.offer', {
        agreement: terms.id,
        peer: terms.accepter.platformId,
      });
    });
    writeFileSync(out, `${JSON.stringify(document, null, 2)}\n`, { mode: 0o644 });
    io.out(
      `wrote ${out}: agreement ${terms.id} offered to ${terms.accepter.platformId}, valid until ${terms.validTo}`,
    );
    io.out(
      `this platform's CA SHA-256 fingerprint (tell the peer bureau out of band): ${platform.caCertX509.fingerprint256}`,
    );
    return 0;
  },
};

export const federationAcceptCommand: Command = {
  name: 'federation accept',
  summary:
    'Countersign an agreement offered to this platform (checking the offerer CA fingerprint), or store the countersigned copy of our own offer',
  usage: 'federation accept FILE [--peer-ca-fingerprint SHA256] [--out FILE]',
  async run(argv, io) {
    const { values, positionals } = parseFlags(argv, {
      ...CONFIG_FLAGS,
      'peer-ca-fingerprint': { type: 'string' },
      out: { type: 'string' },
    });
    const file = positionals[0];
    if (!file) throw new UsageError('name the agreement file');
    const config = configFrom(values, io);
    const platform = loadPlatform(config.GOVSHARE_DATA_DIR);
    const now = new Date();
    const given = readJson(file) as SignedAgreement;
    const offered = openAgreement(given, now, { requireBoth: false });
    let document = given;
    if (!offered.countersigned) {
      const fingerprint = required(values, 'peer-ca-fingerprint');
      const actual = new X509Certificate(offered.terms.offerer.caCertPem).fingerprint256;
      if (fingerprint.replaceAll(':', '').toUpperCase() !== actual.replaceAll(':', '')) {
        throw new UsageError(
          `the offerer's CA fingerprint is ${actual}, not ${fingerprint}: do not accept this file`,
        );
      }
      document = await acceptAgreement(platform, given, now);
    }
    const result = await withRedis(config, async (redis) => {
      const stored = await storeAgreement(
        platform,
        new AgreementStore(redis, config.GOVSHARE_REDIS_PREFIX),
        new CertsStore(redis, config.GOVSHARE_REDIS_PREFIX),
        document,
        now,
      );
      await cliAudit(config, redis, 'federation.accept', {
        agreement: stored.record.id,
        peer: stored.record.peerPlatformId,
        digest: stored.opened.digest,
      });
      return stored;
    });
    if (values.out) writeFileSync(values.out, `${JSON.stringify(document, null, 2)}\n`, { mode: 0o644 });
    const terms = result.opened.terms;
    io.out(
      `agreement ${terms.id} with ${terms[otherSide(result.record.side)].platformId} is ${result.record.status} on this platform (terms SHA-256 ${result.opened.digest})`,
    );
    for (const line of result.registered) io.out(`registered ${line}`);
    if (values.out) io.out(`wrote ${values.out}: return it to the offering bureau`);
    return 0;
  },
};

export const federationListCommand: Command = {
  name: 'federation list',
  summary: 'List the federation agreements this platform holds',
  usage: 'federation list',
  async run(argv, io) {
    const { values } = parseFlags(argv, CONFIG_FLAGS);
    const config = configFrom(values, io);
    await withRedis(config, async (redis) => {
      for (const record of await new AgreementStore(redis, config.GOVSHARE_REDIS_PREFIX).list()) {
        const terms = JSON.parse(record.document.terms) as AgreementTerms;
        const peer = terms[otherSide(record.side)];
        io.out(
          `${record.id}  ${record.status}  ${record.side} with ${peer.platformId} (${peer.gatewayUrl})  ` +
            `offers ${terms[record.side].offers.join(',') || '-'} / receives ${peer.offers.join(',') || '-'}  until ${record.validTo}`,
        );
      }
    });
    return 0;
  },
};

export const federationRevokeCommand: Command = {
  name: 'federation revoke',
  summary:
    'Revoke a federation agreement: every gateway instance stops forwarding and accepting within a second',
  usage: 'federation revoke --id ID --reason TEXT',
  async run(argv, io) {
    const { values } = parseFlags(argv, {
      ...CONFIG_FLAGS,
      id: { type: 'string' },
      reason: { type: 'string' },
    });
    const config = configFrom(values, io);
    const id = required(values, 'id');
    const reason = required(values, 'reason');
    await withRedis(config, async (redis) => {
      await new AgreementStore(redis, config.GOVSHARE_REDIS_PREFIX).revoke(id, new Date(), reason);
      await cliAudit(config, redis, 'federation.revoke', { agreement: id, reason: reason.slice(0, 200) });
    });
    io.out(`revoked agreement ${id}`);
    return 0;
  },
};

export const federationReturnCommand: Command = {
  name: 'federation return',
  summary:
    "Run a data return (回流) job once: pull an upper platform's changes since the last run into a front-end PostgreSQL table (schedule it with cron or a timer)",
  usage:
    'federation return --peer PLATFORM_ID --resource CODE --items a,b,c --key ITEM --table NAME --database-url URL --purpose P [--page-size 500]',
  async run(argv, io) {
    const { values } = parseFlags(argv, {
      ...CONFIG_FLAGS,
      peer: { type: 'string' },
      resource: { type: 'string' },
      items: { type: 'string' },
      key: { type: 'string' },
      table: { type: 'string' },
      'database-url': { type: 'string' },
      purpose: { type: 'string' },
      'page-size': { type: 'string' },
    });
    const pageSize = Number(values['page-size'] ?? 500);
    if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > 5000)
      throw new UsageError('--page-size must be a whole number from 1 to 5000');
    // Its own audit chain: never the chain of a gateway running beside it.
    const config = configFrom(values, io, { GOVSHARE_INSTANCE_ID: `return-${process.pid}` });
    let table: PostgresReturnTable;
    const pool = new pg.Pool({ connectionString: required(values, 'database-url'), max: 2 });
    try {
      try {
        table = new PostgresReturnTable(
          pool,
          required(values, 'table'),
          codes(values.items),
          required(values, 'key'),
        );
      } catch (err) {
        throw new UsageError((err as Error).message);
      }
      await table.ensure();
      const context = await createContext(config);
      try {
        const run = await runDataReturn(context, {
          peer: required(values, 'peer'),
          code: required(values, 'resource'),
          sink: table,
          purpose: required(values, 'purpose'),
          pageSize,
        });
        io.out(
          `returned ${run.rows} rows in ${run.pages} page(s) since ${run.since ?? 'the beginning'}; watermark ${run.watermark ?? 'unchanged'} (correlation ${run.correlationId})`,
        );
      } finally {
        await context.close();
      }
    } finally {
      await pool.end();
    }
    return 0;
  },
};

const EVERY = /^(\d{1,6})(s|m|h|d)$/;

/** `30s`, `15m`, `1h`, `1d` → milliseconds. */
function everyMs(value: string): number {
  const match = EVERY.exec(value);
  if (!match) throw new UsageError(`--every must look like 30s, 15m, 1h or 1d (got "${value}")`);
  return (
    Number(match[1]) * { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[match[2] as 's' | 'm' | 'h' | 'd']
  );
}

export const federationReturnScheduleCommand: Command = {
  name: 'federation return-schedule',
  summary:
    "Schedule a data return (回流) job in the worker: pull an upper platform's changes every interval or on a cron pattern (China Standard Time) into GOVSHARE_RETURN_DATABASE_URL, each run from the last run's watermark",
  usage:
    'federation return-schedule --id ID --peer PLATFORM_ID --resource CODE --items a,b,c --key ITEM --table NAME --purpose P (--every 15m | --cron "0 2 * * *") [--page-size 500]\n' +
    '  federation return-schedule --remove ID | --list',
  async run(argv, io) {
    const { values } = parseFlags(argv, {
      ...CONFIG_FLAGS,
      id: { type: 'string' },
      peer: { type: 'string' },
      resource: { type: 'string' },
      items: { type: 'string' },
      key: { type: 'string' },
      table: { type: 'string' },
      purpose: { type: 'string' },
      every: { type: 'string' },
      cron: { type: 'string' },
      'page-size': { type: 'string' },
      remove: { type: 'string' },
      list: { type: 'boolean' },
    });
    const config = configFrom(values, io);
    return withRedis(config, async (redis) => {
      const subscriptions = new ReturnSubscriptions(redis, config.GOVSHARE_REDIS_PREFIX);
      const queue = dataReturnQueue(redis, config.GOVSHARE_REDIS_PREFIX);
      try {
        if (values.list) {
          for (const s of await subscriptions.list()) {
            io.out(
              `${s.id}\t${s.peer}/${s.code}\t→ ${s.table}\t${s.cron ? `cron ${s.cron}` : `every ${s.everyMs} ms`}`,
            );
          }
          return 0;
        }
        if (values.remove !== undefined) {
          const removed = await subscriptions.remove(String(values.remove));
          await syncDataReturnSchedules(queue, await subscriptions.list());
          await cliAudit(config, redis, 'federation.return.unschedule', {
            subscription: values.remove,
            removed,
          });
          io.out(removed ? `removed ${values.remove}` : `no data return subscription ${values.remove}`);
          return removed ? 0 : 1;
        }
        const pageSize = values['page-size'] === undefined ? undefined : Number(values['page-size']);
        let subscription: ReturnSubscription;
        try {
          subscription = checkSubscription({
            id: required(values, 'id'),
            peer: required(values, 'peer'),
            code: required(values, 'resource'),
            items: codes(values.items),
            key: required(values, 'key'),
            table: required(values, 'table'),
            purpose: required(values, 'purpose'),
            ...(pageSize === undefined ? {} : { pageSize }),
            ...(values.every === undefined ? {} : { everyMs: everyMs(String(values.every)) }),
            ...(values.cron === undefined ? {} : { cron: String(values.cron) }),
          });
        } catch (err) {
          if (err instanceof UsageError) throw err;
          throw new UsageError((err as Error).message);
        }
        await subscriptions.put(subscription);
        await scheduleDataReturn(queue, subscription);
        await cliAudit(config, redis, 'federation.return.schedule', { subscription });
        io.out(
          `scheduled ${subscription.id}: ${subscription.peer}/${subscription.code} into ${subscription.table} ${subscription.cron ? `on cron ${subscription.cron}` : `every ${values.every}`} (run by \`govshare worker\` with GOVSHARE_RETURN_DATABASE_URL)`,
        );
        return 0;
      } finally {
        await queue.close();
      }
    });
  },
};
