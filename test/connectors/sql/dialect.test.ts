import t from 'tap';
import { decodeCursor, encodeCursor } from '../../../connectors/sql/cursor.js';
import { postgresDialect } from '../../../connectors/sql/postgres-dialect.js';

const shape = {
  table: { schema: 'share', name: 'people' },
  columns: ['idNumber', 'name', 'updatedAt'],
  key: ['idNumber'],
};

t.test('PostgreSQL statements: quoted names, values only as parameters', async (t) => {
  t.same(postgresDialect.lookup(shape, 'idNumber', ['a', 'b']), {
    text: 'SELECT "idNumber", "name", "updatedAt" FROM "share"."people" WHERE "idNumber" = ANY($1)',
    values: [['a', 'b']],
  });
  t.same(postgresDialect.page(shape, { limit: 11 }), {
    text: 'SELECT "idNumber", "name", "updatedAt" FROM "share"."people" WHERE "idNumber" IS NOT NULL ORDER BY "idNumber" LIMIT $1',
    values: [11],
  });
  t.same(
    postgresDialect.page(shape, { limit: 11, after: { key: ['p9'] } }).text.split(' FROM ')[1],
    '"share"."people" WHERE "idNumber" IS NOT NULL AND ("idNumber") > ($1) ORDER BY "idNumber" LIMIT $2',
  );
  t.same(
    postgresDialect.page(shape, {
      limit: 11,
      incremental: { watermark: 'updatedAt', since: 'S' },
      after: { key: ['K'], watermark: 'W' },
    }),
    {
      text:
        'SELECT "idNumber", "name", "updatedAt" FROM "share"."people" WHERE "idNumber" IS NOT NULL AND "updatedAt" > $1' +
        ' AND ("updatedAt", "idNumber") > ($2, $3) ORDER BY "updatedAt", "idNumber" LIMIT $4',
      values: ['S', 'W', 'K', 11],
    },
  );
  t.same(postgresDialect.rowsAt(shape, ['updatedAt', 'idNumber'], ['W', 'K'], 100), {
    text:
      'SELECT "idNumber", "name", "updatedAt" FROM "share"."people" WHERE ("updatedAt", "idNumber") = ($1, $2)' +
      ' ORDER BY "updatedAt", "idNumber" LIMIT $3',
    values: ['W', 'K', 100],
  });
  t.same(postgresDialect.count(shape, { watermark: 'updatedAt', since: 'S' }), {
    text: 'SELECT count(*) AS n FROM "share"."people" WHERE "idNumber" IS NOT NULL AND "updatedAt" > $1',
    values: ['S'],
  });
  t.same(postgresDialect.missingKeys(shape), {
    text: 'SELECT count(*) AS n FROM "share"."people" WHERE "idNumber" IS NULL',
    values: [],
  });
  t.same(postgresDialect.statementTimeout(1500), {
    text: "SELECT set_config('statement_timeout', $1, false)",
    values: ['1500ms'],
  });
  t.throws(() => postgresDialect.quoteIdentifier('a"b'), { code: 'CONNECTOR_CONFIG_INVALID' });
});

t.test('cursors round-trip and are checked against the read', async (t) => {
  const text = encodeCursor({ key: ['p1', 2], watermark: '2025-03-01T00:00:00+00:00', total: 9 });
  t.match(text, /^[A-Za-z0-9_-]+$/);
  t.same(decodeCursor(text, 2, true), { key: ['p1', 2], watermark: '2025-03-01T00:00:00+00:00', total: 9 });
  t.throws(() => decodeCursor(text, 2, false), { code: 'SQL_CURSOR_INVALID', message: /a full read/ });
  t.throws(() => decodeCursor(text, 1, true), { code: 'SQL_CURSOR_INVALID' });
  t.throws(() => decodeCursor('A'.repeat(5000), 1, false), { code: 'SQL_CURSOR_INVALID' });
  t.throws(() => decodeCursor(encodeCursor({ key: [Number.NaN] }), 1, false), { code: 'SQL_CURSOR_INVALID' });
});
