import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { archiveExpired, verifyArchive } from '../../../audit/archive.js';
import { searchAudit } from '../../../audit/search.js';
import { migrate } from '../../../audit/store/migrations.js';
import { AuditStore } from '../../../audit/store/store.js';
import { type InstanceVerification, verifyAudit } from '../../../audit/verify.js';
import { loadPlatform, signerKeys } from '../../../certs/platform.js';
import { auditArchiveDir, type GovshareConfig } from '../../app/config.js';
import { readTsaTrustAnchors } from '../../app/timestamps.js';
import { type CliIo, CONFIG_FLAGS, type Command, configFrom, parseFlags } from '../command.js';
import { withRedis } from './identities.js';

/** Runs `fn` with the configured audit store (undefined when GOVSHARE_AUDIT_STORE_URL is empty). */
export async function withAuditStore<T>(
  config: GovshareConfig,
  fn: (store: AuditStore | undefined) => Promise<T>,
): Promise<T> {
  const store = config.GOVSHARE_AUDIT_STORE_URL
    ? AuditStore.open(config.GOVSHARE_AUDIT_STORE_URL)
    : undefined;
  try {
    return await fn(store);
  } finally {
    await store?.close();
  }
}

/** Applies the audit store's migrations; prints what it did. Shared by `migrate` and `init`. */
export async function migrateAuditStore(config: GovshareConfig, io: CliIo): Promise<void> {
  await withAuditStore(config, async (store) => {
    if (!store) {
      io.out('no audit store configured (GOVSHARE_AUDIT_STORE_URL): the trail stays in Redis only');
      return;
    }
    const result = await migrate(store.pool);
    for (const migration of result.applied)
      io.out(`applied migration ${migration.version}: ${migration.name}`);
    io.out(`audit store schema at version ${result.version}`);
  });
}

export const migrateCommand: Command = {
  name: 'migrate',
  summary: 'Apply the PostgreSQL audit store schema migrations this version has and the database lacks',
  usage: 'migrate [--audit-store-url postgres://…]',
  async run(argv, io) {
    const { values } = parseFlags(argv, CONFIG_FLAGS);
    await migrateAuditStore(configFrom(values, io), io);
    return 0;
  },
};

export const auditVerifyCommand: Command = {
  name: 'audit verify',
  summary:
    "Walk every instance's audit hash chain, signed checkpoints, their tree heads and timestamps (or archive segments); report the first broken link",
  usage:
    'audit verify [--instance ID] [--tsa-ca tsa-ca.pem (default GOVSHARE_AUDIT_TSA_CA)] | audit verify --archive DIR [--ca ca.pem]',
  async run(argv, io) {
    const { values } = parseFlags(argv, {
      ...CONFIG_FLAGS,
      instance: { type: 'string' },
      'tsa-ca': { type: 'string' },
      archive: { type: 'string' },
      ca: { type: 'string' },
    });
    if (values.archive) return verifyArchiveDir(values.archive, values.ca, () => configFrom(values, io), io);
    const config = configFrom(values, io);
    const platform = loadPlatform(config.GOVSHARE_DATA_DIR);
    const tsaTrustAnchorsPem = values['tsa-ca']
      ? readTsaTrustAnchors({ ...config, GOVSHARE_AUDIT_TSA_CA: values['tsa-ca'] })
      : readTsaTrustAnchors(config);
    return withRedis(config, (redis) =>
      withAuditStore(config, async (store) => {
        const result = await verifyAudit(redis, config.GOVSHARE_REDIS_PREFIX, {
          publicKey: platform.signingCertX509.publicKey,
          signerKeys: signerKeys(platform),
          ...(values.instance ? { instance: values.instance } : {}),
          ...(store ? { store } : {}),
          ...(tsaTrustAnchorsPem ? { tsaTrustAnchorsPem } : {}),
        });
        for (const instance of result.instances) {
          const broken = instance.firstBroken;
          const tail =
            instance.unsignedTail > 0 ? ` (${instance.unsignedTail} after the last checkpoint)` : '';
          io.out(
            `${instance.instance}: ${instance.records} records, ${instance.checkpoints} signed checkpoints (${describeCheckpoints(instance)}) — ${
              broken
                ? `BROKEN at seq ${broken.seq} (${broken.id}): ${broken.reason}${broken.detail ? ` — ${broken.detail}` : ''}`
                : `intact${tail}`
            }`,
          );
        }
        io.out(
          `${result.ok ? 'OK' : 'FAILED'}: verified at ${Math.round(result.recordsPerSecond)} records/s`,
        );
        return result.ok ? 0 : 3;
      }),
    );
  },
};

/** What the checkpoints prove beyond their signatures: tree heads and trusted time. */
export function describeCheckpoints(instance: InstanceVerification): string {
  const { verified, unchecked, absent } = instance.timestamps;
  const parts = [`${instance.treeHeads} tree heads matched`];
  if (instance.hashAlg === 'sm3') parts[0] = `${instance.treeHeads} SM3 tree heads matched (SM3 chain)`;
  if (verified > 0) parts.push(`${verified} timestamped`);
  if (unchecked > 0) parts.push(`${unchecked} with a timestamp not checked (no TSA CA given)`);
  if (absent > 0) parts.push(`${absent} signed only, no timestamp`);
  return parts.join(', ');
}

export const auditSearchCommand: Command = {
  name: 'audit search',
  summary: 'Search the audit trail (as an auditor on the platform host); prints JSON lines',
  usage:
    'audit search [--subject ID_NUMBER] [--dept USCC] [--provider USCC] [--system ID] [--resource CODE] [--request-id ID] [--decision allow|deny|error] [--from ISO] [--to ISO] [--limit N] [--cursor C]',
  async run(argv, io) {
    const { values } = parseFlags(argv, {
      ...CONFIG_FLAGS,
      subject: { type: 'string' },
      dept: { type: 'string' },
      provider: { type: 'string' },
      system: { type: 'string' },
      resource: { type: 'string' },
      'request-id': { type: 'string' },
      decision: { type: 'string' },
      from: { type: 'string' },
      to: { type: 'string' },
      limit: { type: 'string' },
      cursor: { type: 'string' },
    });
    const config = configFrom(values, io);
    const platform = loadPlatform(config.GOVSHARE_DATA_DIR);
    return withRedis(config, (redis) =>
      withAuditStore(config, async (store) => {
        const page = await searchAudit(
          redis,
          config.GOVSHARE_REDIS_PREFIX,
          platform.subjectHmacKey,
          {
            ...(values.subject ? { subject: values.subject } : {}),
            ...(values.dept ? { deptCode: values.dept } : {}),
            ...(values.provider ? { providerDept: values.provider } : {}),
            ...(values.system ? { systemId: values.system } : {}),
            ...(values.resource ? { resource: values.resource } : {}),
            ...(values['request-id'] ? { requestId: values['request-id'] } : {}),
            ...(values.decision ? { decision: values.decision as 'allow' } : {}),
            ...(values.from ? { from: values.from } : {}),
            ...(values.to ? { to: values.to } : {}),
            ...(values.cursor ? { cursor: values.cursor } : {}),
            limit: values.limit ? Number(values.limit) : 20,
          },
          store,
        );
        for (const record of page.records) io.out(JSON.stringify(record));
        // A page may end early (or empty) at its scan bound while more matches remain: say how to go on.
        if (page.nextCursor) io.err(`more records may follow: repeat with --cursor ${page.nextCursor}`);
        return 0;
      }),
    );
  },
};

/** Offline: needs only the segments and the platform CA (`--ca`, else the CA of the data directory). */
async function verifyArchiveDir(
  dir: string,
  caFile: string | undefined,
  config: () => GovshareConfig,
  io: CliIo,
): Promise<number> {
  const ca = new X509Certificate(
    caFile ? readFileSync(caFile) : loadPlatform(config().GOVSHARE_DATA_DIR).caCertPem,
  );
  const result = await verifyArchive(dir, ca);
  if (result.segments.length === 0) io.out(`no archive manifests (audit-YYYY-MM.manifest.json) in ${dir}`);
  for (const segment of result.segments) {
    io.out(
      `${segment.month ?? segment.manifest}: ${segment.records} records — ${
        segment.problems.length === 0
          ? 'intact, signed by the platform'
          : `BROKEN: ${segment.problems.join('; ')}`
      }`,
    );
  }
  io.out(result.ok ? 'OK' : 'FAILED');
  return result.ok ? 0 : 3;
}

export const auditArchiveCommand: Command = {
  name: 'audit archive',
  summary:
    'Archive the audit store months past GOVSHARE_AUDIT_RETENTION_DAYS to signed segments, then drop them (the worker does this every 6 h)',
  usage: 'audit archive [--audit-store-url postgres://…]',
  async run(argv, io) {
    const { values } = parseFlags(argv, CONFIG_FLAGS);
    const config = configFrom(values, io);
    const platform = loadPlatform(config.GOVSHARE_DATA_DIR);
    return withAuditStore(config, async (store) => {
      if (!store) {
        io.err('no audit store configured (GOVSHARE_AUDIT_STORE_URL): nothing to archive');
        return 2;
      }
      const dir = auditArchiveDir(config);
      const months = await archiveExpired(store, {
        dir,
        retentionDays: config.GOVSHARE_AUDIT_RETENTION_DAYS,
        signer: {
          certificate: platform.signingCertX509,
          signer: platform.platformSigner,
        },
      });
      for (const month of months)
        io.out(`archived ${month.month}: ${month.records} records → ${dir}/${month.segment}`);
      io.out(
        months.length === 0
          ? `nothing older than ${config.GOVSHARE_AUDIT_RETENTION_DAYS} days to archive`
          : `archived ${months.length} month(s)`,
      );
      return 0;
    });
  },
};
