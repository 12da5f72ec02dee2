import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import t, { type Test } from 'tap';
import { AuditShipper } from '../../../audit/shipper.js';
import { migrate } from '../../../audit/store/migrations.js';
import { subjectHash } from '../../../audit/subject.js';
import * as registry from '../../../certs/registry.js';
import { sampleKeys } from '../../../connectors/simulator/datasets.js';
import { buildTestApp, type TestApp } from '../../helpers/app.js';
import { cli } from '../../helpers/cli.js';
import { usePostgres } from '../../helpers/postgres.js';
import { useRedis } from '../../helpers/redis.js';
import {
  buildWorld,
  enc,
  grantPopulation,
  type SystemIdentity,
  signedInject,
  type World,
} from '../../helpers/world.js';

const bureau = { sub: 'bureau-1', role: 'bureau' } as const;
const auditor = { sub: 'auditor-1', role: 'auditor' } as const;
const PORTAL_DEPT = { code: '91350100M000100Y43', name: '市政务服务和大数据管理局' };
const DAY_MS = 86_400_000;
const [idNumber, otherPerson] = sampleKeys('residents', 2) as [string, string];

/** A clock the test moves: the gateway's `now`, and the `created` time the callers sign with. */
function movableClock() {
  let offsetMs = 0;
  return {
    now: () => new Date(Date.now() + offsetMs),
    set(days: number) {
      offsetMs = days * DAY_MS;
    },
  };
}

async function registerPortal(testApp: TestApp): Promise<SystemIdentity> {
  const { certs, platform } = testApp.context;
  const now = new Date();
  await registry.addDepartment(certs, PORTAL_DEPT, now);
  await registry.addSystem(
    certs,
    { deptCode: PORTAL_DEPT.code, systemId: 'citizen-portal', name: '一网通办' },
    now,
  );
  const issued = await registry.issueCertificate(
    platform,
    certs,
    { deptCode: PORTAL_DEPT.code, systemId: 'citizen-portal' },
    now,
  );
  return {
    deptCode: PORTAL_DEPT.code,
    systemId: 'citizen-portal',
    serial: issued.serial,
    keyPem: issued.keyPem!,
    certPem: issued.certPem,
  };
}

function setRole(testApp: TestApp, system: SystemIdentity, role: string, person: object = bureau) {
  return testApp.app.inject({
    method: 'PUT',
    url: `/v1/departments/${system.deptCode}/systems/${system.systemId}/role`,
    headers: testApp.auth(person as never),
    payload: { role },
  });
}

function askUses(
  testApp: TestApp,
  system: SystemIdentity,
  clock: { now: () => Date },
  options: { subject?: string | undefined; query?: string; components?: string[] } = {},
) {
  const subject = 'subject' in options ? options.subject : idNumber;
  return signedInject(testApp.app, system, {
    method: 'GET',
    path: `/v1/transparency/uses${options.query ?? ''}`,
    purpose: 'citizen-transparency',
    headers: {
      'x-user-id': 'portal-session-7f3a',
      ...(subject === undefined ? {} : { 'x-subject-id': subject }),
    },
    sign: {
      created: Math.floor(clock.now().getTime() / 1000),
      ...(options.components ? { components: options.components } : {}),
    },
  });
}

function lookup(testApp: TestApp, world: World, system: SystemIdentity, person: string, extra = {}) {
  return signedInject(testApp.app, system, {
    method: 'GET',
    path: `/v1/data/${enc(world.codes.population)}?idNumber=${person}`,
    headers: { 'x-user-id': 'officer.li', ...extra },
  });
}

/** Every value under the test's Redis prefix, as text. */
async function redisText(testApp: TestApp): Promise<string> {
  const redis = testApp.context.redis;
  const keys = await redis.keys(`${testApp.config.GOVSHARE_REDIS_PREFIX}*`);
  const parts: string[] = [];
  for (const key of keys) {
    const type = await redis.type(key);
    if (type === 'string') parts.push(String(await redis.get(key)));
    else if (type === 'hash') parts.push(JSON.stringify(await redis.hgetall(key)));
    else if (type === 'set') parts.push(JSON.stringify(await redis.smembers(key)));
    else if (type === 'zset') parts.push(JSON.stringify(await redis.zrange(key, 0, -1)));
    else if (type === 'list') parts.push(JSON.stringify(await redis.lrange(key, 0, -1)));
    else if (type === 'stream') parts.push(JSON.stringify(await redis.xrange(key, '-', '+')));
    parts.push(key);
  }
  return parts.join('\n');
}

/** Every row of every table in the database, as text. */
async function postgresText(pool: import('pg').Pool): Promise<string> {
  const { rows: tables } = await pool.query<{ name: string }>(
    "SELECT quote_ident(table_name) AS name FROM information_schema.tables WHERE table_schema = 'public'",
  );
  const parts: string[] = [];
  for (const { name } of tables) {
    const { rows } = await pool.query(`SELECT t::text AS row FROM ${name} t`);
    parts.push(...rows.map((r) => String(r.row)));
  }
  return parts.join('\n');
}

function logCapture() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      done();
    },
  });
  return { lines, logger: { level: 'debug', stream } };
}

async function setup(t: Test) {
  const db = await usePostgres(t);
  const clock = movableClock();
  const logs = logCapture();
  const testApp = await buildTestApp(t, {
    now: clock.now,
    logger: logs.logger,
    env: { GOVSHARE_AUDIT_STORE_URL: db.url, GOVSHARE_TRANSPARENCY_DELAY_DAYS: '90' },
  });
  await migrate(testApp.context.auditStore!.pool);
  const world = await buildWorld(t, testApp.context);
  const portal = await registerPortal(testApp);
  const shipper = new AuditShipper(
    testApp.context.dataRedis,
    testApp.config.GOVSHARE_REDIS_PREFIX,
    testApp.context.auditStore!,
  );
  return { db, clock, logs, testApp, world, portal, shipper };
}

t.test(
  'a portal sees who used a record; investigation calls only after the delay; every query audited',
  async (t) => {
    const { db, clock, logs, testApp, world, portal, shipper } = await setup(t);
    const { amr, hrss } = world.systems;

    const refused = await askUses(testApp, portal, clock);
    t.equal(refused.statusCode, 403, 'not a portal until the bureau says so');
    t.equal(refused.json().code, 'TRANSPARENCY_PORTAL_ONLY');
    t.equal(
      (await setRole(testApp, portal, 'portal', { sub: 'sa', role: 'security-admin' })).statusCode,
      403,
    );
    const bad = await setRole(testApp, portal, 'superuser');
    t.equal(bad.statusCode, 400, 'an unknown role is a validation problem');
    const made = await setRole(testApp, portal, 'portal');
    t.equal(made.statusCode, 200, made.body);
    t.match(made.json(), { deptCode: PORTAL_DEPT.code, systemId: 'citizen-portal', role: 'portal' });

    await grantPopulation(testApp, world);
    const investigation = await grantPopulation(testApp, world, {
      deptCode: hrss.deptCode,
      systemId: hrss.systemId,
      purposes: ['fraud-investigation'],
      investigation: true,
    });
    t.equal(investigation.investigation, true, 'the grant carries the flag');

    // Shipped to PostgreSQL: an ordinary use, a refused one, one under the investigation grant, and a
    // use of another person's record.
    t.equal((await lookup(testApp, world, amr, idNumber, { 'x-case-id': 'SCJG-2026-0815' })).statusCode, 200);
    const wrongPurpose = await signedInject(testApp.app, amr, {
      method: 'GET',
      path: `/v1/data/${enc(world.codes.population)}?idNumber=${idNumber}`,
      purpose: 'tax-collection',
      headers: { 'x-user-id': 'officer.li' },
    });
    t.equal(wrongPurpose.statusCode, 403);
    const hidden1 = await signedInject(testApp.app, hrss, {
      method: 'GET',
      path: `/v1/data/${enc(world.codes.population)}?idNumber=${idNumber}`,
      purpose: 'fraud-investigation',
      headers: { 'x-user-id': 'inspector.zhao', 'x-case-id': 'JC-2026-0042' },
    });
    t.equal(hidden1.statusCode, 200, hidden1.body);
    t.equal((await lookup(testApp, world, amr, otherPerson)).statusCode, 200);
    const shipped = await shipper.shipAll();
    t.ok(shipped, 'shipped');
    // Left in the stream's unshipped tail: another investigation call.
    const hidden2 = await signedInject(testApp.app, hrss, {
      method: 'GET',
      path: `/v1/data/${enc(world.codes.population)}?idNumber=${idNumber}`,
      purpose: 'fraud-investigation',
      headers: { 'x-user-id': 'inspector.zhao' },
    });
    t.equal(hidden2.statusCode, 200);

    const now = await askUses(testApp, portal, clock);
    t.equal(now.statusCode, 200, now.body);
    t.equal(now.headers['cache-control'], 'no-store');
    const early = now.json();
    t.equal(early.uses.length, 2, 'the investigation calls are withheld');
    t.notOk(early.nextCursor);
    t.match(early.uses[1], {
      department: { code: amr.deptCode, name: '武汉市市场监督管理局' },
      systemId: 'registration',
      resource: world.codes.population,
      provider: { code: world.systems.psb.deptCode, name: '武汉市公安局' },
      purpose: 'market-supervision',
      caseId: 'SCJG-2026-0815',
      decision: 'allow',
    });
    t.match(early.uses[0], { decision: 'deny', reasonCode: 'PURPOSE_MISMATCH', purpose: 'tax-collection' });
    t.notOk(
      early.uses.some((u: { department: { code: string } }) => u.department.code === hrss.deptCode),
      'nothing of the investigating department',
    );
    t.notOk(JSON.stringify(early).includes('officer.li'), 'officials are not named to the citizen');

    clock.set(89);
    t.equal((await askUses(testApp, portal, clock)).json().uses.length, 2, 'still withheld after 89 days');
    clock.set(91);
    const late = (await askUses(testApp, portal, clock)).json();
    t.equal(late.uses.length, 4, 'shown once 90 days have passed (from the store and from the stream tail)');
    const delayed = late.uses.filter((u: { delayed?: boolean }) => u.delayed);
    t.equal(delayed.length, 2);
    t.match(delayed[1], {
      department: { code: hrss.deptCode, name: '武汉市人力资源和社会保障局' },
      systemId: hrss.systemId,
      purpose: 'fraud-investigation',
      caseId: 'JC-2026-0042',
      decision: 'allow',
    });

    // Keyset pages of one: the same uses, in the same order, each once.
    const paged: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const res = await askUses(testApp, portal, clock, {
        query: `?limit=1${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
      });
      t.equal(res.statusCode, 200, res.body);
      const page = res.json();
      paged.push(...page.uses.map((u: { requestId: string }) => u.requestId));
      cursor = page.nextCursor;
      pages++;
    } while (cursor && pages < 10);
    t.same(
      paged,
      late.uses.map((u: { requestId: string }) => u.requestId),
      'pages add up to the whole list',
    );
    const badCursor = await askUses(testApp, portal, clock, { query: '?cursor=bm9wZQ' });
    t.equal(badCursor.statusCode, 400);
    t.equal(badCursor.json().code, 'AUDIT_QUERY_INVALID');

    // A system that is no portal is refused, and its attempt is audited under the hash.
    clock.set(0);
    const notPortal = await askUses(testApp, amr, clock);
    t.equal(notPortal.statusCode, 403);
    t.equal(notPortal.json().code, 'TRANSPARENCY_PORTAL_ONLY');
    // The bureau can take the role away again.
    t.match((await setRole(testApp, portal, 'standard')).json(), { systemId: 'citizen-portal' });
    t.notOk((await setRole(testApp, portal, 'standard')).json().role);
    t.equal((await askUses(testApp, portal, clock)).statusCode, 403, 'refused once the role is gone');
    await setRole(testApp, portal, 'portal');

    // The queries' own records: in the trail under the person's hash, never the number.
    const hash = subjectHash(testApp.context.platform.subjectHmacKey, idNumber);
    const search = await testApp.app.inject({
      method: 'GET',
      url: `/v1/audit?subject=${idNumber}&limit=100`,
      headers: testApp.auth(auditor),
    });
    const records = search.json().records as {
      action: string;
      decision: string;
      actor: { systemId?: string; userId?: string };
      subjects?: string[];
      reasonCode?: string;
      responseDigest?: string;
    }[];
    const own = records.filter((r) => r.action === 'transparency.uses');
    t.ok(own.length >= 6, `the portal's queries are audited (${own.length})`);
    t.ok(
      own.every((r) => r.subjects?.includes(hash)),
      'each under the hash of the person asked for',
    );
    t.ok(
      own.some(
        (r) =>
          r.decision === 'allow' &&
          r.actor.systemId === 'citizen-portal' &&
          r.actor.userId === 'portal-session-7f3a' &&
          r.responseDigest,
      ),
    );
    t.ok(
      own.some((r) => r.decision === 'deny' && r.actor.systemId === 'registration'),
      'the refusal too',
    );
    t.notOk(
      records.some((r) => r.action === 'request.served' || r.action === 'request.refused'),
      'one record per query: no catch-all record beside it',
    );
    // The portal's lookups are not data uses of the person's record.
    const after = (await askUses(testApp, portal, clock)).json();
    t.equal(after.uses.length, 2);

    await shipper.shipAll();
    t.notOk((await redisText(testApp)).includes(idNumber), 'no clear ID number anywhere in Redis');
    t.notOk((await postgresText(db.pool)).includes(idNumber), 'nor in PostgreSQL');
    t.ok((await postgresText(db.pool)).includes(hash), 'where its hash is');
    t.ok(logs.lines.length > 20, 'logs were captured');
    t.notOk(
      logs.lines.some((line) => line.includes(idNumber) || line.includes(idNumber.slice(6, 14))),
      'nor in the logs',
    );
  },
);

t.test('a bad or unsigned x-subject-id is a 400 or 401 problem that never repeats it', async (t) => {
  const { clock, testApp, portal } = await setup(t);
  await setRole(testApp, portal, 'portal');
  const wrongCheck = `${idNumber.slice(0, 17)}${idNumber[17] === '0' ? '1' : '0'}`;
  const cases: [string, string | undefined, RegExp][] = [
    ['missing', undefined, /send the resident ID number/],
    ['too short', '4201061990', /must be 18 characters/],
    ['a wrong check character', wrongCheck, /character 18 is wrong/],
    ['letters', 'ABCDEFGHIJKLMNOPQR', /character 1 is wrong/],
    ['a date that does not exist', '420106199002300012', /character 7 is wrong/],
  ];
  for (const [what, subject, message] of cases) {
    const res = await askUses(testApp, portal, clock, { subject });
    t.equal(res.statusCode, 400, what);
    t.equal(res.headers['content-type'], 'application/problem+json; charset=utf-8', what);
    t.match(res.json(), { code: 'TRANSPARENCY_SUBJECT_INVALID', detail: message }, what);
    if (subject) t.notOk(res.body.includes(subject.slice(0, 10)), `${what}: not echoed`);
  }
  const unsigned = await askUses(testApp, portal, clock, {
    components: ['@method', '@target-uri', 'x-purpose', 'x-user-id'],
  });
  t.equal(unsigned.statusCode, 401, 'x-subject-id must be covered by the signature');
  t.match(unsigned.json(), { code: 'SIG_COMPONENT_MISSING', detail: /x-subject-id/ });
  const inUrl = await askUses(testApp, portal, clock, { query: `?subject=${idNumber}` });
  t.equal(inUrl.statusCode, 400, 'no ID number in the URL');
  t.notOk(inUrl.body.includes(idNumber));
});

t.test('the query is not answered when its audit record cannot be written (503)', async (t) => {
  const { server } = await useRedis(t);
  const admin = await useRedis(t);
  await admin.redis.call('ACL', 'SETUSER', 'noaudit-t', 'on', '>noaudit-pw', '~*', '&*', '+@all', '-xadd');
  const clock = movableClock();
  const a = await buildTestApp(t, { now: clock.now });
  const world = await buildWorld(t, a.context);
  const portal = await registerPortal(a);
  await setRole(a, portal, 'portal');
  await grantPopulation(a, world);
  t.equal((await lookup(a, world, world.systems.amr, idNumber)).statusCode, 200);
  t.equal((await askUses(a, portal, clock)).json().uses.length, 1);
  const crippled = await buildTestApp(t, {
    sameRedisAs: a,
    now: clock.now,
    redisUrl: server.url.replace('redis://', 'redis://noaudit-t:noaudit-pw@'),
  });
  const res = await askUses(crippled, portal, clock);
  t.equal(res.statusCode, 503);
  t.equal(res.json().code, 'SERVICE_UNAVAILABLE');
  t.notOk(res.body.includes('registration'), 'nothing released');
  t.notOk(res.body.includes(world.systems.amr.deptCode), 'nothing released');
});

t.test('govshare call --subject-id sends the ID number in the signed header, not the URL', async (t) => {
  const testApp = await buildTestApp(t);
  const world = await buildWorld(t, testApp.context);
  const portal = await registerPortal(testApp);
  await setRole(testApp, portal, 'portal');
  await grantPopulation(testApp, world);
  t.equal((await lookup(testApp, world, world.systems.amr, idNumber)).statusCode, 200);
  const address = await testApp.app.listen({ host: '127.0.0.1', port: 0 });
  const dir = mkdtempSync(join(tmpdir(), 'govshare-portal-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'key.pem'), portal.keyPem, { mode: 0o600 });
  writeFileSync(join(dir, 'cert.pem'), portal.certPem);
  writeFileSync(join(dir, 'ca.pem'), testApp.context.platform.caCertPem);
  const flags = [
    '--key',
    join(dir, 'key.pem'),
    '--cert',
    join(dir, 'cert.pem'),
    '--purpose',
    'citizen-transparency',
  ];
  const res = await cli(
    [
      'call',
      'GET',
      `${address}/v1/transparency/uses`,
      ...flags,
      '--user-id',
      'portal-1',
      '--subject-id',
      idNumber,
    ],
    {},
  );
  t.equal(res.code, 0, res.err.join(' '));
  t.match(res.err.join('\n'), /HTTP 200/);
  t.match(res.err.join('\n'), /response signature: verified/, 'signed by the platform, as asked');
  t.match(JSON.parse(res.out.join('\n')), {
    uses: [
      { department: { code: world.systems.amr.deptCode, name: '武汉市市场监督管理局' }, decision: 'allow' },
    ],
  });
  const without = await cli(['call', 'GET', `${address}/v1/transparency/uses`, ...flags], {});
  t.equal(without.code, 1);
  t.match(without.out.join('\n'), /TRANSPARENCY_SUBJECT_INVALID/);
});
