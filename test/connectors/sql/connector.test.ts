import t from 'tap';
import { rowValidator } from '../../../catalog/item-schema.js';
import type { ResourceEntry } from '../../../catalog/schema.js';
import { ConnectorRegistry, serviceShape } from '../../../connectors/registry.js';
import { SqlConnectorFactory } from '../../../connectors/sql/connector.js';
import type { Connector, Page, Row } from '../../../connectors/types.js';
import { populationEntry } from '../../catalog/fixtures.js';
import { usePostgres } from '../../helpers/postgres.js';
import { createPeople, PEOPLE_SHAPE, pad, sourcesFor } from './fixtures.js';

const service = { connector: 'sql', endpoint: 'frontdb', table: 'people', watermark: 'updatedAt' } as const;

function catchError(fn: () => unknown): Error {
  try {
    fn();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a throw');
}

async function readAll(connector: Connector, limit: number, since?: { watermark: string; value: string }) {
  const rows: Row[] = [];
  const pages: Page[] = [];
  let after: string | undefined;
  do {
    const page = await connector.page({ limit, after, since });
    pages.push(page);
    rows.push(...page.rows);
    after = page.next;
  } while (after);
  return { rows, pages };
}

t.test('lookup by key, with catalog-shaped values', async (t) => {
  const db = await usePostgres(t);
  await createPeople(db.pool, 50);
  const factory = new SqlConnectorFactory(sourcesFor(db));
  t.teardown(() => factory.close());
  const connector = factory.create(service, PEOPLE_SHAPE);
  t.equal(connector.kind, 'sql');
  t.equal(connector.endpoint, 'frontdb');

  const rows = await connector.lookup('idNumber', [pad(12), pad(3), 'nobody']);
  t.same(rows.map((r) => r.idNumber).sort(), [pad(12), pad(3)].sort(), 'rows of the keys it holds');
  const row = rows.find((r) => r.idNumber === pad(12))!;
  t.same(Object.keys(row), PEOPLE_SHAPE.items, 'only the items, in item order (not internalNote)');
  t.same(row, {
    idNumber: pad(12),
    name: '张12',
    birthDate: '1980-01-13',
    updatedAt: '2025-02-28T16:00:01.000001+00:00',
    score: 3,
    visits: 36,
  });
  t.same(await connector.lookup('idNumber', []), [], 'no values, no query');
  t.same(
    (await connector.lookup('name', ['张7'])).map((r) => r.idNumber),
    [pad(7)],
    'any item can be looked up',
  );

  const entry: ResourceEntry = {
    ...populationEntry(),
    items: [
      { name: 'idNumber', label: '号码', dataType: 'C', length: 18, key: true },
      { name: 'name', label: '姓名', dataType: 'C', required: true },
      { name: 'birthDate', label: '出生日期', dataType: 'D' },
      { name: 'updatedAt', label: '更新时间', dataType: 'T' },
      { name: 'score', label: '分', dataType: 'N' },
      { name: 'visits', label: '次', dataType: 'I' },
    ],
  };
  t.same(serviceShape(entry), PEOPLE_SHAPE, 'the shape comes from the entry: item names and key items');
  const validate = rowValidator(entry, 1);
  t.same(
    validate(row),
    { valid: true, errors: [] },
    'rows validate against the entry (date, date-time, numbers)',
  );
});

t.test('timestamp without time zone gets the source offset; bigint beyond 2^53 stays exact', async (t) => {
  const db = await usePostgres(t);
  await db.pool.query(
    `CREATE TABLE local_times ("id" int PRIMARY KEY, "at" timestamp, "big" bigint, "amount" numeric)`,
  );
  await db.pool.query(`INSERT INTO local_times VALUES (1, '2025-03-01 09:30:00.5', 9007199254740993, 12.34)`);
  const factory = new SqlConnectorFactory(sourcesFor(db, { localTimeOffset: '+08:00' }));
  t.teardown(() => factory.close());
  const connector = factory.create(
    { connector: 'sql', endpoint: 'frontdb', table: 'public.local_times' },
    { items: ['id', 'at', 'big', 'amount'], key: ['id'] },
  );
  t.same(await connector.lookup('id', ['1']), [
    { id: 1, at: '2025-03-01T09:30:00.5+08:00', big: '9007199254740993', amount: 12.34 },
  ]);
});

t.test('numeric values keep every digit; numeric keys beyond 2^53 page exactly', async (t) => {
  const db = await usePostgres(t);
  await db.pool.query(`CREATE TABLE ledger ("id" numeric(20) PRIMARY KEY, "amount" numeric)`);
  const ids = [
    '12345678901234567890',
    '12345678901234567891',
    '12345678901234567892',
    '12345678901234568000',
  ];
  const amounts = ['12.50', '0.1000000000000000055', '-0.00', '1e3'];
  for (let i = 0; i < ids.length; i++) {
    await db.pool.query('INSERT INTO ledger VALUES ($1, $2)', [ids[i], amounts[i]]);
  }
  await db.pool.query('INSERT INTO ledger VALUES (7, 3)');
  const factory = new SqlConnectorFactory(sourcesFor(db));
  t.teardown(() => factory.close());
  const connector = factory.create(
    { connector: 'sql', endpoint: 'frontdb', table: 'public.ledger' },
    { items: ['id', 'amount'], key: ['id'] },
  );
  for (const limit of [1, 2, 3, 10]) {
    const { rows } = await readAll(connector, limit);
    t.same(
      rows.map((r) => r.id),
      [7, ...ids],
      `pages of ${limit}: every key once, exact`,
    );
  }
  const { rows } = await readAll(connector, 10);
  t.same(
    rows.map((r) => r.amount),
    [3, 12.5, '0.1000000000000000055', 0, 1000],
    'a number where it is the same decimal, else the text',
  );
});

t.test('rows with a NULL key are never paged, at any page size, and are counted', async (t) => {
  const db = await usePostgres(t);
  await db.pool.query(`CREATE TABLE loose ("id" text, "v" int)`);
  await db.pool.query(
    `INSERT INTO loose SELECT CASE WHEN i % 7 = 0 THEN NULL ELSE lpad(i::text, 4, '0') END, i FROM generate_series(1, 50) i`,
  );
  const factory = new SqlConnectorFactory(sourcesFor(db));
  t.teardown(() => factory.close());
  const connector = factory.create(
    { connector: 'sql', endpoint: 'frontdb', table: 'public.loose' },
    { items: ['id', 'v'], key: ['id'] },
  );
  for (const limit of [1, 7, 10, 100]) {
    const { rows, pages } = await readAll(connector, limit);
    t.equal(rows.length, 43, `pages of ${limit}: the 43 keyed rows`);
    t.ok(
      rows.every((r) => r.id !== null),
      'none without a key',
    );
    t.equal(pages[0]?.total, undefined);
  }
  t.equal(await (connector as unknown as { missingKeys(): Promise<number> }).missingKeys(), 7);
});

t.test('keyset paging reads 25k rows exactly once, in key order, with the total', async (t) => {
  const db = await usePostgres(t);
  await createPeople(db.pool, 25_000);
  const factory = new SqlConnectorFactory(sourcesFor(db, { countTotal: true }));
  t.teardown(() => factory.close());
  const registry = new ConnectorRegistry({ sql: factory });
  const connector = registry.get(service, PEOPLE_SHAPE);
  t.equal(registry.get({ ...service }, { ...PEOPLE_SHAPE }), connector, 'one connector per definition');

  const { rows, pages } = await readAll(connector, 1000);
  t.equal(rows.length, 25_000);
  t.equal(pages.length, 25, 'no empty page at the end');
  const keys = rows.map((r) => r.idNumber as string);
  t.equal(new Set(keys).size, 25_000, 'no row twice');
  t.ok(
    keys.every((k, i) => i === 0 || keys[i - 1]! < k),
    'in key order',
  );
  t.ok(
    pages.every((p) => p.total === 25_000),
    'every page carries the total counted once at the start',
  );
  t.notOk(pages.at(-1)!.next, 'the last page has no next');

  const odd = await readAll(connector, 997);
  t.equal(odd.rows.length, 25_000, 'a limit that does not divide the count');
  t.same(
    odd.rows.map((r) => r.idNumber),
    keys,
  );
});

t.test('incremental read by watermark: ties across pages are neither skipped nor repeated', async (t) => {
  const db = await usePostgres(t);
  await createPeople(db.pool, 1000, 10);
  const factory = new SqlConnectorFactory(sourcesFor(db));
  t.teardown(() => factory.close());
  const connector = factory.create(service, PEOPLE_SHAPE);

  // Group g (rows g*10 … g*10+9) shares one timestamp; take the timestamp of group 20 from a row.
  const [marker] = await connector.lookup('idNumber', [pad(200)]);
  const since = { watermark: 'updatedAt', value: marker!.updatedAt as string };
  t.equal(since.value, '2025-02-28T16:00:20.00002+00:00', 'microseconds survive the round trip');
  const expected = await db.pool.query(
    `SELECT "idNumber" FROM people WHERE "updatedAt" > (SELECT "updatedAt" FROM people WHERE "idNumber" = $1)
     ORDER BY "updatedAt", "idNumber"`,
    [pad(200)],
  );
  t.equal(expected.rowCount, 791, 'rows 210…1000: groups 21…100 (group 100 is row 1000 alone)');
  for (const limit of [7, 10, 13, 790, 1000]) {
    const { rows } = await readAll(connector, limit, since);
    t.same(
      rows.map((r) => r.idNumber),
      expected.rows.map((r) => r.idNumber),
      `limit ${limit}: every changed row once, ordered by (updatedAt, idNumber)`,
    );
  }
  const first = await connector.page({ limit: 5, since });
  await t.rejects(
    connector.page({ limit: 5, after: first.next }),
    { code: 'SQL_CURSOR_INVALID' },
    'an incremental cursor in a full read',
  );
  const full = await connector.page({ limit: 5 });
  await t.rejects(
    connector.page({ limit: 5, after: full.next, since }),
    { code: 'SQL_CURSOR_INVALID' },
    'a full cursor in an incremental read',
  );
});

t.test('composite keys page by all key columns', async (t) => {
  const db = await usePostgres(t);
  await db.pool.query(
    `CREATE TABLE visits ("region" text, "seq" int, "note" text, PRIMARY KEY ("region", "seq"))`,
  );
  await db.pool.query(
    `INSERT INTO visits SELECT r, s, r || s FROM unnest(ARRAY['b','a','c']) r, generate_series(1, 40) s ORDER BY random()`,
  );
  const factory = new SqlConnectorFactory(sourcesFor(db));
  t.teardown(() => factory.close());
  const connector = factory.create(
    { connector: 'sql', endpoint: 'frontdb', table: 'visits' },
    { items: ['region', 'seq', 'note'], key: ['region', 'seq'] },
  );
  const { rows } = await readAll(connector, 9);
  t.same(
    rows.map((r) => `${r.region}${r.seq}`),
    ['a', 'b', 'c'].flatMap((r) => Array.from({ length: 40 }, (_, i) => `${r}${i + 1}`)),
  );
});

t.test('repeated keys: a page never ends inside a group, so every row is read once', async (t) => {
  const db = await usePostgres(t);
  await db.pool.query(`CREATE TABLE copies ("k" text, "at" timestamptz, "n" int)`);
  // Keys k00…k29; key k05 three times, k10 twice, k20 seven times (more than a page of 5).
  await db.pool.query(`
    INSERT INTO copies
    SELECT 'k' || lpad(i::text, 2, '0'), TIMESTAMPTZ '2025-01-01' + (i / 4) * INTERVAL '1 minute', c
    FROM generate_series(0, 29) i,
         generate_series(1, CASE i WHEN 5 THEN 3 WHEN 10 THEN 2 WHEN 20 THEN 7 ELSE 1 END) c`);
  const factory = new SqlConnectorFactory(sourcesFor(db));
  t.teardown(() => factory.close());
  const connector = factory.create(
    { connector: 'sql', endpoint: 'frontdb', table: 'copies', watermark: 'at' },
    { items: ['k', 'at', 'n'], key: ['k'] },
  );
  const all = (await db.pool.query(`SELECT "k", "n" FROM copies ORDER BY "k", "n"`)).rows.map(
    (r) => `${r.k}/${r.n}`,
  );
  t.equal(all.length, 39);
  for (const limit of [2, 3, 4, 5, 6]) {
    const { rows, pages } = await readAll(connector, limit);
    t.same(rows.map((r) => `${r.k}/${r.n}`).sort(), all, `limit ${limit}: every row once`);
    t.ok(
      pages.every((p) => p.rows.length <= Math.max(limit, 7)),
      'a page exceeds the limit only for a group larger than it',
    );
  }
  const since = { watermark: 'at', value: '2025-01-01T00:00:30Z' };
  const changed = all.filter((r) => r >= 'k04');
  const { rows } = await readAll(connector, 3, since);
  t.same(rows.map((r) => `${r.k}/${r.n}`).sort(), changed, 'the same in an incremental read');
});

t.test('identifiers with odd names are refused before any SQL is written', async (t) => {
  const db = await usePostgres(t);
  const factory = new SqlConnectorFactory(sourcesFor(db));
  t.teardown(() => factory.close());
  const cases: [string, Parameters<SqlConnectorFactory['create']>][] = [
    ['table with a statement', [{ ...service, table: 'people; DROP TABLE people' }, PEOPLE_SHAPE]],
    ['table with three parts', [{ ...service, table: 'a.b.c' }, PEOPLE_SHAPE]],
    ['quoted table', [{ ...service, table: '"people"' }, PEOPLE_SHAPE]],
    ['table with a space', [{ ...service, table: 'peo ple' }, PEOPLE_SHAPE]],
    ['no table', [{ connector: 'sql', endpoint: 'frontdb' }, PEOPLE_SHAPE]],
    ['item with a quote', [service, { items: ['idNumber', 'na"me'], key: ['idNumber'] }]],
    ['item with a space', [service, { items: ['idNumber', 'x y'], key: ['idNumber'] }]],
    ['non-ASCII item', [service, { items: ['idNumber', '姓名'], key: ['idNumber'] }]],
    ['item of 64 characters', [service, { items: ['idNumber', `a${'b'.repeat(63)}`], key: ['idNumber'] }]],
    ['key not among the items', [service, { items: ['name'], key: ['idNumber'] }]],
    ['no key', [service, { items: ['idNumber'], key: [] }]],
    ['watermark with SQL', [{ ...service, watermark: 'updatedAt" > now() --' }, PEOPLE_SHAPE]],
    ['watermark not an item', [{ ...service, watermark: 'changedAt' }, PEOPLE_SHAPE]],
    ['no shape', [service]],
    ['unknown source', [{ ...service, endpoint: 'otherdb' }, PEOPLE_SHAPE]],
  ];
  for (const [name, args] of cases) {
    t.throws(() => factory.create(...args), { code: 'CONNECTOR_CONFIG_INVALID' }, name);
  }
  const dsn = 'postgres://reader:s3cret@10.0.0.1/share';
  const refused = catchError(() => factory.create({ ...service, endpoint: dsn }, PEOPLE_SHAPE));
  t.match(refused, { code: 'CONNECTOR_CONFIG_INVALID', message: /is not the name of a configured database/ });
  t.notOk(refused.message.includes('s3cret'), 'a connection string in the endpoint is not repeated');
  await db.pool.query(`CREATE TABLE "user" ("order" int PRIMARY KEY, "select" text)`);
  await db.pool.query(`INSERT INTO "user" VALUES (2, 'b'), (1, 'a')`);
  const reserved = factory.create(
    { connector: 'sql', endpoint: 'frontdb', table: 'public.user' },
    { items: ['order', 'select'], key: ['order'] },
  );
  t.same(
    (await reserved.page({ limit: 10 })).rows,
    [
      { order: 1, select: 'a' },
      { order: 2, select: 'b' },
    ],
    'reserved words are quoted',
  );
});

t.test('injection attempts through every parameter are inert', async (t) => {
  const db = await usePostgres(t);
  await createPeople(db.pool, 100);
  const factory = new SqlConnectorFactory(sourcesFor(db));
  t.teardown(() => factory.close());
  const connector = factory.create(service, PEOPLE_SHAPE);
  const count = async () => Number((await db.pool.query('SELECT count(*) AS n FROM people')).rows[0].n);

  const hostile = [
    "' OR '1'='1",
    `${pad(1)}' OR 'a'='a`,
    "x'); DROP TABLE people; --",
    `${pad(1)}","${pad(2)}`,
    `{${pad(1)},${pad(2)}}`,
    '\\',
    `${pad(1)}\u0000`.replace('\u0000', ''),
  ];
  const found = await connector.lookup('idNumber', hostile);
  t.same(
    found.map((r) => r.idNumber),
    [pad(1)],
    'only the exact value that is a key matches',
  );
  t.same(
    await connector.lookup('idNumber', [`${pad(1)}","${pad(2)}`]),
    [],
    'no way out of the array parameter',
  );

  await t.rejects(connector.lookup('idNumber" OR 1=1 --', [pad(1)]), {
    code: 'SQL_PARAMETER_INVALID',
    message: 'lookup item is not an item of this data service',
  });
  await t.rejects(
    connector.lookup('internalNote', ['x']),
    { code: 'SQL_PARAMETER_INVALID' },
    'a column that is not an item',
  );

  const hostileSince = await connector
    .page({ limit: 10, since: { watermark: 'updatedAt', value: "2025-01-01' OR '1'='1" } })
    .catch((e: Error) => e);
  t.match(
    hostileSince,
    { code: 'SQL_PARAMETER_INVALID' },
    'a hostile watermark value is a value that does not parse',
  );
  t.notOk((hostileSince as Error).message.includes("'1'='1"), 'and is not repeated in the message');
  await t.rejects(
    connector.page({
      limit: 10,
      since: { watermark: `updatedAt" > '1970-01-01' OR "x`, value: '2025-01-01' },
    }),
    { code: 'SQL_PARAMETER_INVALID' },
    'a hostile watermark item is not an item',
  );

  const cursor = (body: unknown) => Buffer.from(JSON.stringify(body)).toString('base64url');
  const fromHostile = await connector.page({ limit: 500, after: cursor({ k: ["' OR 1=1 --"] }) });
  t.equal(
    fromHostile.rows.length,
    100,
    'a hostile key in a cursor is only compared with: every key sorts after it',
  );
  const pastAll = await connector.page({ limit: 500, after: cursor({ k: ['q'] }) });
  t.equal(pastAll.rows.length, 0);
  for (const [name, after] of [
    ['not base64url', 'not a cursor!'],
    ['not JSON', Buffer.from('{').toString('base64url')],
    ['two key values', cursor({ k: ['a', 'b'] })],
    ['an object as key value', cursor({ k: [{ toString: 'x' }] })],
    ['an extra field', cursor({ k: ['a'], sql: 'DROP TABLE people' })],
    ['a watermark in a full read', cursor({ k: ['a'], w: '2025-01-01' })],
    ['a negative total', cursor({ k: ['a'], t: -1 })],
  ] as const) {
    await t.rejects(connector.page({ limit: 10, after }), { code: 'SQL_CURSOR_INVALID' }, name);
  }
  await t.rejects(
    connector.page({
      limit: 10,
      since: { watermark: 'updatedAt', value: '2025-01-01T00:00:00Z' },
      after: cursor({ k: ['a'], w: "x' OR '1'='1" }),
    }),
    { code: 'SQL_PARAMETER_INVALID' },
    'a hostile watermark in a cursor is a value that does not parse',
  );
  t.equal(await count(), 100, 'the table is intact');
});

t.test('statement timeout → UPSTREAM_TIMEOUT; the pool stays usable with other timeouts', async (t) => {
  const db = await usePostgres(t);
  await createPeople(db.pool, 10);
  await db.pool.query(`CREATE VIEW slow_people AS SELECT p.* FROM people p, (SELECT pg_sleep(3)) s`);
  const factory = new SqlConnectorFactory(sourcesFor(db, { poolSize: 1 }));
  t.teardown(() => factory.close());
  const slow = factory.create({ ...service, table: 'slow_people', timeoutMs: 200 }, PEOPLE_SHAPE);
  const started = Date.now();
  await t.rejects(slow.page({ limit: 5 }), {
    code: 'UPSTREAM_TIMEOUT',
    statusCode: 504,
    source: 'provider',
    message: /no answer within 200 ms \(statement timeout\)/,
  });
  t.ok(Date.now() - started < 2000, 'cancelled by the server, not waited out');
  const fast = factory.create(service, PEOPLE_SHAPE);
  t.equal((await fast.page({ limit: 5 })).rows.length, 5, 'same (single) connection, default timeout again');
  await t.rejects(slow.lookup('idNumber', [pad(1)]), { code: 'UPSTREAM_TIMEOUT' });

  const controller = new AbortController();
  const aborted = slow.page({ limit: 5, signal: controller.signal });
  setTimeout(() => controller.abort(new Error('consumer went away')), 50);
  await t.rejects(
    aborted,
    { message: 'consumer went away' },
    "a caller's abort ends the call with its reason",
  );
  t.equal((await fast.page({ limit: 5 })).rows.length, 5, 'the aborted connection was replaced');
});

t.test(
  'server down → UPSTREAM_UNAVAILABLE without the password; breaker opens; health reports',
  async (t) => {
    const db = await usePostgres(t);
    await createPeople(db.pool, 10);
    const { startLocalPostgres } = await import('../../../scripts/lib/local-postgres.js');
    const other = await startLocalPostgres();
    t.teardown(() => other.stop());
    const { default: pg } = await import('pg');
    const admin = new pg.Client(other.url);
    await admin.connect();
    await admin.query(`CREATE TABLE people ("idNumber" text PRIMARY KEY, "name" text, "birthDate" date,
    "updatedAt" timestamptz, "score" numeric, "visits" bigint)`);
    await admin.end();

    const idle: string[] = [];
    const sources = sourcesFor({
      ...db,
      connection: { ...db.connection, port: other.port, database: 'govshare', password: other.password },
    });
    const factory = new SqlConnectorFactory(sources, {
      breaker: { failureThreshold: 2, coolDownMs: 60_000 },
      onIdleError: (source, message) => idle.push(`${source}: ${message}`),
    });
    t.teardown(() => factory.close());
    const connector = factory.create(service, PEOPLE_SHAPE);
    t.same((await connector.page({ limit: 5 })).rows, []);
    t.match(await connector.health(), { ok: true });

    await other.stop();
    const failure = await connector.page({ limit: 5 }).catch((e: Error) => e);
    t.match(failure, {
      code: 'UPSTREAM_UNAVAILABLE',
      statusCode: 502,
      source: 'provider',
      providerHost: `127.0.0.1:${other.port}`,
    });
    t.notOk(
      JSON.stringify(failure).includes(other.password) || String(failure).includes(other.password),
      'no password',
    );
    await t.rejects(connector.lookup('idNumber', [pad(1)]), {
      code: 'UPSTREAM_UNAVAILABLE',
      message: /connection refused/,
    });
    await t.rejects(
      connector.page({ limit: 5 }),
      { code: 'UPSTREAM_CIRCUIT_OPEN' },
      'two failures open the circuit',
    );
    t.match(connector.circuit!(), { state: 'open' });
    t.match(await connector.health(), { ok: false, detail: /circuit open/ });
    t.ok(
      idle.every((line) => line.startsWith('frontdb: idle connection failed')),
      'idle errors are reported without text',
    );

    const wrong = new SqlConnectorFactory(
      sourcesFor({ ...db, connection: { ...db.connection, password: 'wrong-password-123' } }),
    );
    t.teardown(() => wrong.close());
    const denied = await wrong
      .create(service, PEOPLE_SHAPE)
      .page({ limit: 1 })
      .catch((e: Error) => e);
    t.match(denied, { code: 'UPSTREAM_UNAVAILABLE', message: /authentication failed \(SQLSTATE 28P01\)/ });
    t.notOk(
      JSON.stringify(denied).includes('wrong-password-123') || String(denied).includes('wrong-password-123'),
    );

    const missing = new SqlConnectorFactory(sourcesFor(db));
    t.teardown(() => missing.close());
    const gone = missing.create({ ...service, table: 'no_such_table' }, PEOPLE_SHAPE);
    await t.rejects(gone.page({ limit: 1 }), { code: 'UPSTREAM_REJECTED', message: /SQLSTATE 42P01/ });
    t.match(await gone.health(), { ok: false, detail: /does not exist or may not be read/ });
  },
);
