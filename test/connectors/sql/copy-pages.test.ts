import t from 'tap';
import { readsArrayPages } from '../../../connectors/sql/array-pages.js';
import { SqlConnectorFactory } from '../../../connectors/sql/connector.js';
import { type CopyReadOptions, readsCopyPages } from '../../../connectors/sql/copy-pages.js';
import { CopyTextParser, unescapeCopyText } from '../../../connectors/sql/copy-text.js';
import { resolveSqlSources } from '../../../connectors/sql/sources.js';
import type { Connector, PageOptions } from '../../../connectors/types.js';
import { usePostgres } from '../../helpers/postgres.js';
import { createPeople, PEOPLE_SHAPE, sourcesFor } from './fixtures.js';

const service = { connector: 'sql', endpoint: 'frontdb', table: 'people', watermark: 'updatedAt' } as const;

t.test('COPY text: escapes, NULL, rows cut anywhere across chunks, field count', async (t) => {
  t.equal(unescapeCopyText('a\\\\b\\tc\\nd\\re\\bf\\fg\\vh'), 'a\\b\tc\nd\re\bf\fg\vh');
  t.equal(unescapeCopyText('\\101\\x42\\;'), 'AB;', 'octal, hex and an escaped plain character');
  t.throws(() => unescapeCopyText('x\\'), /lone backslash/);
  t.throws(() => unescapeCopyText('\\000'), /NUL/);
  t.throws(() => unescapeCopyText('\\303'), /non-ASCII/);

  const text = Buffer.from('1\t张三\\\\;\t\\N\n2\t\'"\\t\t€𝄞\n', 'utf8');
  const want = [
    [1, '张三\\;', null],
    [2, '\'"\t', '€𝄞'],
  ];
  // Every split point, including inside multi-byte characters and inside an escape.
  for (let cut = 0; cut <= text.length; cut++) {
    const parser = new CopyTextParser([Number, undefined, undefined]);
    const rows = [...parser.push(text.subarray(0, cut)), ...parser.push(text.subarray(cut))];
    parser.end();
    t.same(rows, want, `cut at byte ${cut}`);
  }
  const short = new CopyTextParser([undefined, undefined]);
  t.throws(() => short.push(Buffer.from('a\tb\tc\n')), /3 fields, not 2/);
  const open = new CopyTextParser([undefined]);
  open.push(Buffer.from('a\nb'));
  t.throws(() => open.end(), /inside a row/);
});

t.test('COPY text: lines without a backslash take the short way to the same values', async (t) => {
  // The per-field rules restated: NULL, escapes, then the column's parser.
  type Parser = ((text: string) => unknown) | undefined;
  const reference = (line: string, parsers: Parser[]) =>
    line.split('\t').map((text, i) => {
      if (text === '\\N') return null;
      const value = text.includes('\\') ? unescapeCopyText(text) : text;
      const parse = parsers[i];
      return parse === undefined ? value : parse(value);
    });
  const parsers: Parser[] = [Number, undefined, (text: string) => `<${text}>`];
  const values = ['', 'N', '\\N', '\\\\N', 'a\\tb', '张三', '𝄞', '"', '\\\\', '12', 'x y'];
  let seed = 3;
  const next = () => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed % values.length;
  };
  const lines = Array.from({ length: 3000 }, () => [`${next()}`, values[next()], values[next()]].join('\t'));
  const parser = new CopyTextParser(parsers);
  const rows = parser.push(Buffer.from(`${lines.join('\n')}\n`, 'utf8'));
  parser.end();
  const plain = lines.filter((line) => !line.includes('\\')).length;
  t.ok(plain > 500 && plain < 2500, `${plain} of ${lines.length} lines without a backslash`);
  t.same(
    rows,
    lines.map((line) => reference(line, parsers)),
  );
});

async function allCopy(connector: Connector, opts: CopyReadOptions) {
  if (!readsCopyPages(connector)) throw new Error('the SQL connector reads COPY pages');
  const pages = [];
  for await (const page of connector.copyPages(opts)) pages.push(page);
  return pages;
}

async function allPages(connector: Connector, opts: Omit<PageOptions, 'after'>, after?: string) {
  if (!readsArrayPages(connector)) throw new Error('the SQL connector reads array pages');
  const pages = [];
  do {
    const page = await connector.arrayPage({ ...opts, after });
    pages.push(page);
    after = page.next;
  } while (after);
  return pages;
}

t.test('COPY pages hold the rows and cursors of array pages, full, incremental and resumed', async (t) => {
  const db = await usePostgres(t);
  // Ties of 7 rows per timestamp: incremental pages of 5 end before a group or are a whole group.
  await createPeople(db.pool, 60, 7);
  // A row with a NULL key is never read, by pages or by COPY.
  await db.pool.query(`ALTER TABLE people DROP CONSTRAINT people_pkey`);
  await db.pool.query(`ALTER TABLE people ALTER COLUMN "idNumber" DROP NOT NULL`);
  await db.pool.query(`INSERT INTO people ("idNumber", name, "updatedAt") VALUES (NULL, 'nokey', now())`);
  const factory = new SqlConnectorFactory(sourcesFor(db, { countTotal: true }));
  t.teardown(() => factory.close());
  const connector = factory.create(service, PEOPLE_SHAPE);
  const since = { watermark: 'updatedAt', value: '2025-02-28T16:00:02Z' };
  const reads: [string, number, PageOptions['since']][] = [
    ['full, pages of 7', 7, undefined],
    ['full, one page', 1000, undefined],
    ['incremental, pages of 5', 5, since],
    ['incremental, pages of 1', 1, since],
  ];
  for (const [name, size, incremental] of reads) {
    const byPages = await allPages(connector, {
      limit: size,
      ...(incremental ? { since: incremental } : {}),
    });
    const byCopy = await allCopy(connector, {
      columns: PEOPLE_SHAPE.items,
      pageRows: size,
      ...(incremental ? { since: incremental } : {}),
    });
    t.same(
      byCopy.map((p) => p.rows),
      byPages.map((p) => p.rows),
      `${name}: the same rows, typed alike`,
    );
    t.same(
      byCopy.map((p) => p.next),
      byPages.map((p) => p.next),
      `${name}: the same cursors`,
    );
    t.ok(
      byCopy.every((p) => p.total === (incremental ? byPages[0]!.total : 60)),
      `${name}: the total`,
    );
    // Resumed from the second page's cursor, COPY reads what pages read from there.
    const after = byPages[1]?.next ?? byPages[0]!.next;
    if (after) {
      const resumed = await allCopy(connector, {
        columns: PEOPLE_SHAPE.items,
        pageRows: size,
        after,
        ...(incremental ? { since: incremental } : {}),
      });
      const pagesFrom = await allPages(
        connector,
        { limit: size, ...(incremental ? { since: incremental } : {}) },
        after,
      );
      t.same(
        resumed.flatMap((p) => p.rows),
        pagesFrom.flatMap((p) => p.rows),
        `${name}: resumed`,
      );
    }
  }
  const [first] = await allCopy(connector, { columns: ['name'], pageRows: 3 });
  t.same(first!.columns, ['idNumber', 'name'], 'the columns asked for and the key, in item order');
  t.match(first!.rows[0], ['p0000001', '张1']);
  t.equal((await allCopy(connector, { columns: [], pageRows: 100 })).flatMap((p) => p.rows).length, 60);
});

t.test('hostile watermark, cursor and filter values: exactly the right rows, or refused', async (t) => {
  const db = await usePostgres(t);
  const hostile = [
    "O'Brien",
    "'; DROP TABLE people; --",
    'back\\slash',
    "E'\\\\x27'",
    '$1',
    'tab\there',
    'new\nline',
    '张三;李四',
    '𝄞 emoji',
    "''",
    '\\',
  ];
  await db.pool.query(
    `CREATE TABLE people ("idNumber" text PRIMARY KEY, name text, "updatedAt" text, visits int)`,
  );
  for (const [i, value] of hostile.entries()) {
    await db.pool.query('INSERT INTO people VALUES ($1, $2, $3, $4)', [
      `k${String(i).padStart(2, '0')}`,
      value,
      value,
      i,
    ]);
  }
  const factory = new SqlConnectorFactory(sourcesFor(db));
  t.teardown(() => factory.close());
  const connector = factory.create(
    { connector: 'sql', endpoint: 'frontdb', table: 'people', watermark: 'updatedAt' },
    { items: ['idNumber', 'name', 'updatedAt', 'visits'], key: ['idNumber'] },
  );
  const rowsOf = async (opts: Omit<CopyReadOptions, 'columns' | 'pageRows'>) =>
    (await allCopy(connector, { columns: ['idNumber', 'name', 'visits'], pageRows: 4, ...opts })).flatMap(
      (p) => p.rows,
    );
  for (const value of hostile) {
    const filtered = await rowsOf({ equals: [{ item: 'name', value }] });
    t.same(
      filtered.map((r) => r[1]),
      [value],
      `filter ${JSON.stringify(value)}: only its row (filtered in SQL)`,
    );
    // The watermark here is a text column: "later" is the text order, as the page reads compare it.
    const later = await db.pool.query('SELECT count(*)::int AS n FROM people WHERE "updatedAt" > $1', [
      value,
    ]);
    const byCopy = await rowsOf({ since: { watermark: 'updatedAt', value } });
    const byPages = (
      await allPages(connector, { limit: 3, since: { watermark: 'updatedAt', value } })
    ).flatMap((p) => p.rows.map((r) => r[1]));
    t.same(
      byCopy.map((r) => r[1]),
      byPages,
      `watermark ${JSON.stringify(value)}: the rows pages read`,
    );
    t.equal(byCopy.length, later.rows[0].n, `watermark ${JSON.stringify(value)}: every later row`);
  }
  // Filter on an integer column: pushed down as text, exact.
  t.same(
    (await rowsOf({ equals: [{ item: 'visits', value: "3' OR '1'='1" }] })).length,
    0,
    'an integer filter with an injection attempt matches nothing',
  );
  t.same(
    (await rowsOf({ equals: [{ item: 'visits', value: '3' }] })).map((r) => r[0]),
    ['k03'],
  );
  const { rows } = await db.pool.query('SELECT count(*)::int AS n FROM people');
  t.equal(rows[0].n, hostile.length, 'the table is intact');

  await t.rejects(rowsOf({ since: { watermark: 'updatedAt', value: 'a\u0000b' } }), {
    code: 'SQL_PARAMETER_INVALID',
  });
  await t.rejects(rowsOf({ equals: [{ item: 'name', value: 'a\u0000b' }] }), {
    code: 'SQL_PARAMETER_INVALID',
  });
  // A value that does not fit the column's type is refused as page reads refuse it.
  await db.pool.query(`ALTER TABLE people ADD COLUMN "changedAt" timestamptz`);
  const typed = factory.create(
    { connector: 'sql', endpoint: 'frontdb', table: 'people', watermark: 'changedAt' },
    { items: ['idNumber', 'name', 'changedAt'], key: ['idNumber'] },
  );
  await t.rejects(
    allCopy(typed, {
      columns: ['name'],
      pageRows: 5,
      since: { watermark: 'changedAt', value: "2025-01-01'; SELECT pg_sleep(10); --" },
    }),
    { code: 'SQL_PARAMETER_INVALID' },
  );
});

t.test('a column the read does not ask for is never read (column privileges)', async (t) => {
  const db = await usePostgres(t);
  await createPeople(db.pool, 20);
  const role = `reader_${db.database}`;
  await db.pool.query(`CREATE ROLE ${role} LOGIN PASSWORD 'reader-pass'`);
  t.teardown(() => db.pool.query(`DROP OWNED BY ${role}`).then(() => db.pool.query(`DROP ROLE ${role}`)));
  await db.pool.query(`GRANT SELECT ("idNumber", name, "updatedAt") ON people TO ${role}`);
  const sources = resolveSqlSources(
    {
      sources: {
        frontdb: {
          dialect: 'postgres',
          host: db.connection.host,
          port: db.connection.port,
          database: db.connection.database,
          user: role,
          passwordEnv: 'READER_PASSWORD',
        },
      },
    },
    { env: { READER_PASSWORD: 'reader-pass' } },
  );
  const factory = new SqlConnectorFactory(sources);
  t.teardown(() => factory.close());
  // The entry has six items; the reader may read three of them.
  const connector = factory.create(service, PEOPLE_SHAPE);
  const rows = (
    await allCopy(connector, {
      columns: ['name'],
      pageRows: 7,
      since: { watermark: 'updatedAt', value: '2020-01-01T00:00:00Z' },
    })
  ).flatMap((p) => p.rows);
  t.equal(rows.length, 20, 'read without touching birthDate, score, visits or internalNote');
  // The same account reading every item is refused: the test would catch a read of another column.
  await t.rejects(allCopy(connector, { columns: PEOPLE_SHAPE.items, pageRows: 7 }), {
    code: 'UPSTREAM_REJECTED',
  });
});

t.test('every type reads as page reads type it: exact numerics, microseconds, arrays, JSON', async (t) => {
  const db = await usePostgres(t);
  await db.pool.query(`CREATE TABLE typed (
    id int PRIMARY KEY, big bigint, amount numeric, ratio float8, flag boolean, born date,
    seen timestamp, changed timestamptz, doc jsonb, tags text[], note text, code char(4), raw bytea)`);
  await db.pool.query(`INSERT INTO typed VALUES
    (1, 9007199254740993, 12345678901234567890.123, 0.1, true, '1949-10-01', '2025-03-01 09:30:00.000001',
     '2025-03-01 00:00:00.000001+08', '{"a": [1, "x\\ty"], "b": null}', '{a,"b c","d\\\\e",NULL}',
     E'tab\\there\\nnew line \\\\ back', 'ab', '\\x00ff10'),
    (2, -5, 0.1000000000000000055, -1.5e300, false, 'infinity', '2025-03-01 09:30:00', 'infinity',
     '"just a string"', '{}', '', 'abcd', ''),
    (3, NULL, 12.50, 'NaN', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)`);
  const items = [
    'id',
    'big',
    'amount',
    'ratio',
    'flag',
    'born',
    'seen',
    'changed',
    'doc',
    'tags',
    'note',
    'code',
    'raw',
  ];
  const factory = new SqlConnectorFactory(sourcesFor(db, { localTimeOffset: '+08:00' }));
  t.teardown(() => factory.close());
  const connector = factory.create(
    { connector: 'sql', endpoint: 'frontdb', table: 'typed' },
    { items, key: ['id'] },
  );
  const byCopy = (await allCopy(connector, { columns: items, pageRows: 2 })).flatMap((p) => p.rows);
  const byPages = (await allPages(connector, { limit: 2 })).flatMap((p) => p.rows);
  t.same(byCopy, byPages, 'the same values, of the same types');
  t.strictSame(
    byCopy[0]!.slice(0, 3),
    [1, '9007199254740993', '12345678901234567890.123'],
    'exact beyond 2^53',
  );
  t.equal(byCopy[1]![2], '0.1000000000000000055');
  t.equal(byCopy[2]![2], 12.5);
  t.equal(byCopy[0]![7], '2025-02-28T16:00:00.000001+00:00', 'microseconds kept');
  t.equal(byCopy[0]![10], 'tab\there\nnew line \\ back');
  t.same(byCopy[0]![9], ['a', 'b c', 'd\\e', null]);
  t.ok(Buffer.isBuffer(byCopy[0]![12]), 'bytea as a Buffer');
});

t.test('split points cut a read into parts that hold every row once, groups whole', async (t) => {
  const db = await usePostgres(t);
  await createPeople(db.pool, 60, 7);
  // Repeated keys (a front-end table may have them): groups of 1, 2 and 3 rows sharing a key.
  await db.pool.query(`CREATE TABLE repeated ("idNumber" text, name text, "updatedAt" timestamptz)`);
  await db.pool.query(
    `INSERT INTO repeated SELECT 'k' || lpad((i / 3)::text, 3, '0'), 'n' || i, now()
     FROM generate_series(0, 40) AS i, generate_series(1, 1 + i % 3) AS copy`,
  );
  const factory = new SqlConnectorFactory(sourcesFor(db, { countTotal: true }));
  t.teardown(() => factory.close());
  const people = factory.create(service, PEOPLE_SHAPE);
  const repeated = factory.create(
    { connector: 'sql', endpoint: 'frontdb', table: 'repeated' },
    { items: ['idNumber', 'name', 'updatedAt'], key: ['idNumber'] },
  );
  const since = { watermark: 'updatedAt', value: '2025-02-28T16:00:02Z' };
  const cases: [string, Connector, number, PageOptions['since']][] = [
    ['full, parts of 7', people, 7, undefined],
    ['full, parts of 1', people, 1, undefined],
    ['incremental, parts of 5', people, 5, since],
    ['one part', people, 1000, undefined],
    ['repeated keys, parts of 2', repeated, 2, undefined],
  ];
  for (const [name, connector, every, incremental] of cases) {
    if (!readsCopyPages(connector)) throw new Error('the SQL connector reads COPY pages');
    const split = connector as typeof connector & {
      splitPoints(o: { every: number; since?: PageOptions['since'] }): Promise<string[]>;
    };
    const points = await split.splitPoints({ every, ...(incremental ? { since: incremental } : {}) });
    const base = { columns: ['name'], pageRows: 3, ...(incremental ? { since: incremental } : {}) };
    const whole = (await allCopy(connector, base)).flatMap((p) => p.rows);
    const parts: unknown[][][] = [];
    for (let i = 0; i <= points.length; i++) {
      const bounds = {
        ...(i > 0 ? { after: points[i - 1] } : {}),
        ...(i < points.length ? { until: points[i] } : {}),
      };
      parts.push((await allCopy(connector, { ...base, ...bounds })).flatMap((p) => p.rows));
    }
    t.same(parts.flat(), whole, `${name}: the parts, in order, are the whole read`);
    t.ok(
      parts.every((rows) => rows.length > 0),
      `${name}: ${parts.length} parts, none empty (${parts.map((p) => p.length).join(' ')})`,
    );
    const keys = parts.map((rows) => new Set(rows.map((r) => r[0])));
    t.ok(
      keys.every((a, i) => keys.every((b, j) => i === j || [...a].every((k) => !b.has(k)))),
      `${name}: no key in two parts`,
    );
    if (every === 1000) t.equal(points.length, 0, 'fewer rows than a part: no split');
  }
});
