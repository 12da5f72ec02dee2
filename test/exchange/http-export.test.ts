/**
 * Issue 5's bulk exchange through the HTTP API: 100,000 rows from a real PostgreSQL front-end database,
 * exported by a real worker, downloaded (also by Range), decrypted by the consumer and compared with
 * the source after the grant's projection and masking; another system sees neither the job nor the file.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import t from 'tap';
import { createDecryptStream } from '../../certs/envelope.js';
import { createExchange } from '../../gateway/app/exchange.js';
import { startExchangeWorker } from '../../gateway/jobs/exchange.js';
import { createRedisClient } from '../../platform/redis.js';
import { frontEndDatabaseResidents } from '../../scripts/lib/demo-catalog.js';
import { buildTestApp } from '../helpers/app.js';
import { usePostgres } from '../helpers/postgres.js';
import { buildWorld, signedInject } from '../helpers/world.js';

const ROWS = Number(process.env.GOVSHARE_EXPORT_TEST_ROWS ?? 100_000);

t.test(
  `a full export of ${ROWS} rows from PostgreSQL, downloaded and decrypted by the consumer`,
  async (t) => {
    const db = await usePostgres(t);
    await db.pool.query(
      `CREATE TABLE residents ("idNumber" text PRIMARY KEY, "name" text, "phone" text, "divisionCode" text, "updatedAt" timestamptz)`,
    );
    // Deterministic rows with unique 18-character keys (the export does not re-check them), a name, a phone, a division.
    await db.pool.query(
      `INSERT INTO residents
     SELECT '42' || lpad(i::text, 16, '0'),
            (ARRAY['张伟','王芳','李娜','刘洋'])[1 + i % 4] || i::text,
            '138' || lpad(i::text, 8, '0'),
            (ARRAY['420102','420103','420104'])[1 + i % 3],
            timestamptz '2026-11-01 00:00:00+08' + (i || ' seconds')::interval
     FROM generate_series(1, $1) AS i`,
      [ROWS],
    );
    const dir = mkdtempSync(join(tmpdir(), 'govshare-export-'));
    const sourcesFile = join(dir, 'sql-sources.json');
    writeFileSync(
      sourcesFile,
      JSON.stringify({
        sources: {
          fep: {
            dialect: 'postgres',
            host: db.connection.host,
            port: db.connection.port,
            database: db.connection.database,
            user: db.connection.user,
            passwordEnv: 'GOVSHARE_TEST_PG_PASSWORD',
          },
        },
      }),
    );
    process.env.GOVSHARE_TEST_PG_PASSWORD = db.connection.password;
    const { app, context, auth } = await buildTestApp(t, {
      env: {
        GOVSHARE_SQL_SOURCES_FILE: sourcesFile,
        GOVSHARE_EXCHANGE_DIR: join(dir, 'exchange'),
        GOVSHARE_EXCHANGE_PAGE_SIZE: '2000',
      },
    });
    const world = await buildWorld(t, context);
    const { psb, amr } = world.systems;
    const entry = frontEndDatabaseResidents({
      code: '101001/000002',
      name: '人口基础信息（前置库）',
      summary: '前置库中的人口基础信息，用于批量交换。',
      table: 'residents',
      items: ['idNumber', 'name', 'phone', 'divisionCode', 'updatedAt'],
      providerCode: psb.deptCode,
    });
    await context.catalog.importEntry({ role: 'system', name: 'test' }, entry);
    const grant = await app.inject({
      method: 'POST',
      url: '/v1/grants',
      headers: auth({ sub: 'b', role: 'bureau' }),
      payload: {
        deptCode: amr.deptCode,
        systemId: amr.systemId,
        resourceCode: entry.code,
        items: ['idNumber', 'name', 'divisionCode'],
        purposes: ['market-supervision'],
        modes: ['bulk'],
        validTo: new Date(Date.now() + 86400_000).toISOString(),
        basis: '《政务信息资源共享管理办法》第二十一条',
      },
    });
    t.equal(grant.statusCode, 201, grant.body);

    const connection = createRedisClient(context.config.GOVSHARE_REDIS_URL, { maxRetriesPerRequest: null });
    const exchange = createExchange(context);
    const worker = await startExchangeWorker(exchange.deps, {
      connection,
      queue: exchange.queue,
      concurrency: 1,
    });
    t.teardown(async () => {
      await worker.close();
      await exchange.queue.close();
      await connection.quit();
    });

    const notBulk = await signedInject(app, amr, {
      method: 'POST',
      path: '/v1/exchange/jobs',
      body: { resource: world.codes.population, kind: 'full', format: 'jsonl' },
    });
    t.equal(notBulk.statusCode, 403, 'no grant for bulk on another resource');

    const submitted = await signedInject(app, amr, {
      method: 'POST',
      path: '/v1/exchange/jobs',
      body: { resource: entry.code, kind: 'full', format: 'jsonl' },
    });
    t.equal(submitted.statusCode, 202, submitted.body);
    const id = submitted.json().id as string;
    let job = submitted.json();
    const started = Date.now();
    while (job.state !== 'completed' && job.state !== 'failed' && Date.now() - started < 120_000) {
      await new Promise((r) => setTimeout(r, 200));
      job = (await signedInject(app, amr, { method: 'GET', path: `/v1/exchange/jobs/${id}` })).json();
    }
    t.equal(job.state, 'completed', JSON.stringify(job.error ?? {}));
    t.equal(job.manifest.manifest.rows, ROWS, 'the manifest counts every row');
    t.same(job.manifest.manifest.items, ['idNumber', 'name', 'divisionCode']);

    const other = await signedInject(app, psb, { method: 'GET', path: `/v1/exchange/jobs/${id}` });
    t.equal(other.statusCode, 404, 'another system does not see the job');
    const otherFile = await signedInject(app, psb, { method: 'GET', path: `/v1/exchange/jobs/${id}/file` });
    t.equal(otherFile.statusCode, 404, 'nor its file');

    const file = await signedInject(app, amr, { method: 'GET', path: `/v1/exchange/jobs/${id}/file` });
    t.equal(file.statusCode, 200);
    t.equal(file.rawPayload.length, job.manifest.manifest.file!.bytes);
    const tail = await signedInject(app, amr, {
      method: 'GET',
      path: `/v1/exchange/jobs/${id}/file`,
      headers: { range: 'bytes=100-' },
    });
    t.equal(tail.statusCode, 206, 'Range resumes a download');
    t.same(tail.rawPayload, file.rawPayload.subarray(100));

    // The consumer decrypts with its own key and finds the source rows after projection and masking.
    const decrypt = createDecryptStream({ privateKey: amr.keyPem });
    const parts: Buffer[] = [];
    decrypt.on('data', (c: Buffer) => parts.push(c));
    await new Promise<void>((resolve, reject) => {
      decrypt.on('end', resolve).on('error', reject);
      decrypt.end(file.rawPayload);
    });
    const lines = gunzipSync(Buffer.concat(parts)).toString('utf8').trim().split('\n');
    t.equal(lines.length, ROWS);
    const source = new Map(
      (await db.pool.query('SELECT "idNumber", "name", "divisionCode" FROM residents')).rows.map((r) => [
        `${r.idNumber.slice(0, 6)}********${r.idNumber.slice(14)}|${r.divisionCode}|${[...r.name][0]}`,
        r,
      ]),
    );
    let matched = 0;
    for (const line of lines) {
      const row = JSON.parse(line) as { idNumber: string; name: string; divisionCode: string };
      if (Object.keys(row).join() !== 'idNumber,name,divisionCode') break;
      if (!/^\*+$/u.test([...row.name].slice(1).join(''))) break;
      if (source.has(`${row.idNumber}|${row.divisionCode}|${[...row.name][0]}`)) matched++;
    }
    t.equal(matched, ROWS, 'every row matches a source row, projected to the granted items and masked');
    t.notOk(
      readFileSync(join(dir, 'exchange', id, 'data.jsonl.gz.enc')).includes(Buffer.from('0000000000')),
      'the file at rest is encrypted',
    );

    // The same export in parts of 40 000 rows (a worker of that setting): each part has its own route.
    await worker.close();
    const partConnection = createRedisClient(context.config.GOVSHARE_REDIS_URL, {
      maxRetriesPerRequest: null,
    });
    const partWorker = await startExchangeWorker(
      { ...exchange.deps, settings: { ...exchange.deps.settings, partRows: Math.ceil(ROWS / 2.5) } },
      { connection: partConnection, queue: exchange.queue, concurrency: 2 },
    );
    t.teardown(async () => {
      await partWorker.close();
      await partConnection.quit();
    });
    const inParts = await signedInject(app, amr, {
      method: 'POST',
      path: '/v1/exchange/jobs',
      body: { resource: entry.code, kind: 'full', format: 'jsonl' },
    });
    const partsId = inParts.json().id as string;
    let parted = inParts.json();
    while (parted.state !== 'completed' && parted.state !== 'failed' && Date.now() - started < 240_000) {
      await new Promise((r) => setTimeout(r, 200));
      parted = (await signedInject(app, amr, { method: 'GET', path: `/v1/exchange/jobs/${partsId}` })).json();
    }
    t.equal(parted.state, 'completed', JSON.stringify(parted.error ?? {}));
    t.equal(parted.parts, 3);
    const listed = parted.manifest.manifest.parts as { index: number; bytes: number; sha256: string }[];
    t.equal(listed.length, 3);
    const whole = await signedInject(app, amr, { method: 'GET', path: `/v1/exchange/jobs/${partsId}/file` });
    t.equal(whole.statusCode, 404);
    t.equal(whole.json().code, 'EXCHANGE_PART_NOT_FOUND', 'a job in parts has no one file');
    const beyond = await signedInject(app, amr, {
      method: 'GET',
      path: `/v1/exchange/jobs/${partsId}/parts/3/file`,
    });
    t.equal(beyond.json().code, 'EXCHANGE_PART_NOT_FOUND', 'nor a fourth part');
    const onePart = await signedInject(app, amr, {
      method: 'GET',
      path: `/v1/exchange/jobs/${id}/parts/0/file`,
    });
    t.equal(onePart.json().code, 'EXCHANGE_PART_NOT_FOUND', 'a job of one file has no parts');
    const othersPart = await signedInject(app, psb, {
      method: 'GET',
      path: `/v1/exchange/jobs/${partsId}/parts/0/file`,
    });
    t.equal(othersPart.json().code, 'EXCHANGE_JOB_NOT_FOUND', 'another system gets no part');
    const joined: Buffer[] = [];
    for (const part of listed) {
      const got = await signedInject(app, amr, {
        method: 'GET',
        path: `/v1/exchange/jobs/${partsId}/parts/${part.index}/file`,
      });
      t.equal(got.statusCode, 200);
      t.equal(got.rawPayload.length, part.bytes);
      t.equal(got.headers['x-content-sha256'], part.sha256);
      const plain: Buffer[] = [];
      const partDecrypt = createDecryptStream({ privateKey: amr.keyPem });
      partDecrypt.on('data', (c: Buffer) => plain.push(c));
      await new Promise<void>((resolve, reject) => {
        partDecrypt.on('end', resolve).on('error', reject);
        partDecrypt.end(got.rawPayload);
      });
      joined.push(gunzipSync(Buffer.concat(plain)));
      if (part.index === 1) {
        const cut = await signedInject(app, amr, {
          method: 'GET',
          path: `/v1/exchange/jobs/${partsId}/parts/1/file`,
          headers: { range: 'bytes=50-' },
        });
        t.equal(cut.statusCode, 206, 'Range resumes a part');
        t.same(cut.rawPayload, got.rawPayload.subarray(50));
      }
    }
    t.same(
      Buffer.concat(joined).toString('utf8').trim().split('\n'),
      lines,
      'the decrypted parts in order are the one-file export',
    );
  },
);
