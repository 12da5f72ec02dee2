import t, { type Test } from 'tap';
import { readsArrayPages, rowObjects } from '../../../connectors/sql/array-pages.js';
import { SqlConnectorFactory } from '../../../connectors/sql/connector.js';
import { isoTimestamp } from '../../../connectors/sql/postgres-driver.js';
import type { Connector, PageOptions } from '../../../connectors/types.js';
import { usePostgres } from '../../helpers/postgres.js';
import { createPeople, PEOPLE_SHAPE, sourcesFor } from './fixtures.js';

const service = { connector: 'sql', endpoint: 'frontdb', table: 'people', watermark: 'updatedAt' } as const;

t.test('rowObjects: one object per row, properties in column order', async (t) => {
  t.same(
    rowObjects(
      ['b', 'a'],
      [
        [1, null],
        ['x', 'y'],
      ],
    ),
    [
      { b: 1, a: null },
      { b: 'x', a: 'y' },
    ],
  );
  t.same(Object.keys(rowObjects(['z', 'a', 'm'], [[1, 2, 3]])[0]!), ['z', 'a', 'm']);
  t.same(rowObjects(['a'], []), []);
});

t.test('isoTimestamp: the fast path writes what the general one does', async (t) => {
  const cases: [string, string | undefined, string][] = [
    ['2025-03-01 00:00:01.000001+00', undefined, '2025-03-01T00:00:01.000001+00:00'],
    ['2025-03-01 00:00:01+00', undefined, '2025-03-01T00:00:01+00:00'],
    ['2025-03-01 00:00:01.5+00', undefined, '2025-03-01T00:00:01.5+00:00'],
    ['2025-03-01 09:30:00+05:30', undefined, '2025-03-01T09:30:00+05:30'],
    ['2025-03-01 09:30:00-08', undefined, '2025-03-01T09:30:00-08:00'],
    ['1900-01-01 00:00:00+08:05:43', undefined, '1900-01-01T00:00:00+08:05'],
    ['12025-03-01 00:00:01+00', undefined, '12025-03-01T00:00:01+00:00'],
    ['2025-03-01 00:00:01+00 BC', undefined, '2025-03-01 00:00:01+00 BC'],
    ['infinity', undefined, 'infinity'],
    ['2025-03-01 09:30:00.5', '+08:00', '2025-03-01T09:30:00.5+08:00'],
    ['2025-03-01 09:30:00.500+00', '+08:00', '2025-03-01T09:30:00.500+00:00'],
  ];
  for (const [text, local, want] of cases) t.equal(isoTimestamp(text, local), want, text);
});

async function readAll(t: Test, connector: Connector, options: Omit<PageOptions, 'after'>) {
  if (!readsArrayPages(connector)) throw new Error('the SQL connector reads array pages');
  const pages: unknown[] = [];
  let after: string | undefined;
  do {
    const objects = await connector.page({ ...options, after });
    const arrays = await connector.arrayPage({ ...options, after });
    t.equal(arrays.next, objects.next, 'the same cursor');
    pages.push({
      viaArrays: { rows: rowObjects(arrays.columns, arrays.rows), next: arrays.next, total: arrays.total },
      viaObjects: objects,
    });
    after = objects.next;
  } while (after);
  return pages as { viaArrays: unknown; viaObjects: unknown }[];
}

t.test('array pages hold the rows and cursors of page(), full and incremental', async (t) => {
  const db = await usePostgres(t);
  // Ties of 7 rows per timestamp: incremental pages of 5 end before a group or are a whole group.
  await createPeople(db.pool, 60, 7);
  const factory = new SqlConnectorFactory(sourcesFor(db, { countTotal: true }));
  t.teardown(() => factory.close());
  const connector = factory.create(service, PEOPLE_SHAPE);
  if (!readsArrayPages(connector)) throw new Error('the SQL connector reads array pages');
  const reads: [string, Omit<PageOptions, 'after'>][] = [
    ['full, pages of 7', { limit: 7 }],
    ['full, one page', { limit: 1000 }],
    [
      'incremental, pages of 5',
      { limit: 5, since: { watermark: 'updatedAt', value: '2025-02-28T16:00:02Z' } },
    ],
  ];
  for (const [name, options] of reads) {
    const pages = await readAll(t, connector, options);
    t.ok(pages.length > 0, name);
    for (const page of pages) t.same(page.viaArrays, page.viaObjects, name);
  }
  const first = await connector.arrayPage({ limit: 2 });
  t.same(first.columns, PEOPLE_SHAPE.items, 'columns in item order');
  t.equal(first.total, 60, 'the count when the source counts');
  t.ok(Array.isArray(first.rows[0]), 'rows are arrays');
});
