import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { AuditShipper } from '../../../audit/shipper.js';
import { AuditStore } from '../../../audit/store/store.js';
import { AuditWriter } from '../../../audit/writer.js';
import { loadPlatform } from '../../../certs/platform.js';
import { makeRecord, makeSigner } from '../../audit/fixtures.js';
import { cli } from '../../helpers/cli.js';
import { usePostgres } from '../../helpers/postgres.js';
import { useRedis } from '../../helpers/redis.js';

t.test(
  'govshare audit archive, then audit verify --archive offline and audit verify on what is left',
  async (t) => {
    const { server, redis, prefix } = await useRedis(t);
    const db = await usePostgres(t);
    const dataDir = mkdtempSync(join(tmpdir(), 'govshare-cli-archive-'));
    const env = {
      GOVSHARE_REDIS_URL: server.url,
      GOVSHARE_REDIS_PREFIX: prefix,
      GOVSHARE_DATA_DIR: dataDir,
      GOVSHARE_AUDIT_STORE_URL: db.url,
      GOVSHARE_AUDIT_RETENTION_DAYS: '180',
    };
    t.equal((await cli(['init'], env)).code, 0);
    const migrated = await cli(['migrate'], env);
    t.match(migrated.out.join('\n'), /audit store schema at version \d+/);
    const platform = loadPlatform(dataDir);
    // The fixtures' records are from March 2025: more than 180 days ago.
    const writer = new AuditWriter(redis, prefix, 'gw-1', {
      signer: { certificate: platform.signingCertX509, signer: platform.platformSigner },
      checkpointEvery: 5,
    });
    for (let i = 0; i < 12; i++) await writer.append(makeRecord('gw-1', { requestId: `r-${i}` }));
    await writer.close();
    await new AuditShipper(redis, prefix, new AuditStore(db.pool)).shipAll();

    const archived = await cli(['audit', 'archive'], env);
    t.equal(archived.code, 0, archived.err.join('\n'));
    t.match(archived.out.join('\n'), /archived 2025-03: 12 records/);
    const dir = join(dataDir, 'audit-archive');
    const offline = await cli(
      ['audit', 'verify', '--archive', dir, '--ca', join(dataDir, 'ca/ca-cert.pem')],
      {},
    );
    t.equal(offline.code, 0, offline.out.join('\n'));
    t.match(offline.out.join('\n'), /2025-03: 12 records — intact, signed by the platform\nOK/);
    const otherCa = join(dataDir, 'other-ca.pem');
    writeFileSync(otherCa, makeSigner('another CA').certificate.toString());
    const refused = await cli(['audit', 'verify', '--archive', dir, '--ca', otherCa], {});
    t.equal(refused.code, 3);
    t.match(refused.out.join('\n'), /BROKEN: the signing certificate was not issued by the given CA/);
    const rest = await cli(['audit', 'verify'], env);
    t.equal(rest.code, 0, rest.out.join('\n'));
    t.match((await cli(['audit', 'archive'], env)).out.join('\n'), /nothing older than 180 days to archive/);
  },
);

t.test('on a gm platform the shipped and archived SM3 chain verifies offline', async (t) => {
  const { server, redis, prefix } = await useRedis(t);
  const db = await usePostgres(t);
  const dataDir = mkdtempSync(join(tmpdir(), 'govshare-cli-archive-gm-'));
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
  const env = {
    GOVSHARE_REDIS_URL: server.url,
    GOVSHARE_REDIS_PREFIX: prefix,
    GOVSHARE_DATA_DIR: dataDir,
    GOVSHARE_AUDIT_STORE_URL: db.url,
    GOVSHARE_AUDIT_RETENTION_DAYS: '180',
  };
  t.equal((await cli(['init', '--crypto', 'gm'], env)).code, 0);
  t.equal((await cli(['migrate'], env)).code, 0);
  const platform = loadPlatform(dataDir);
  const writer = new AuditWriter(redis, prefix, 'gw-g', {
    signer: {
      certificate: platform.signingCertX509,
      signer: platform.platformSigner,
    },
    checkpointEvery: 5,
  });
  for (let i = 0; i < 12; i++) await writer.append(makeRecord('gw-g', { requestId: `g-${i}` }));
  await writer.close();
  await new AuditShipper(redis, prefix, new AuditStore(db.pool)).shipAll();
  const { rows } = await db.pool.query<{ rec: string }>(
    "SELECT rec FROM audit_records WHERE instance = 'gw-g'",
  );
  t.equal(rows.length, 12);
  t.ok(
    rows.every((row) => JSON.parse(row.rec).hashAlg === 'sm3'),
    'SM3 records shipped as chained',
  );

  const archived = await cli(['audit', 'archive'], env);
  t.equal(archived.code, 0, archived.err.join('\n'));
  const dir = join(dataDir, 'audit-archive');
  const ca = join(dataDir, 'ca/ca-cert.pem');
  const offline = await cli(['audit', 'verify', '--archive', dir, '--ca', ca], {});
  t.equal(offline.code, 0, offline.out.join('\n'));
  t.match(offline.out.join('\n'), /2025-03: 12 records — intact, signed by the platform\nOK/);
});
