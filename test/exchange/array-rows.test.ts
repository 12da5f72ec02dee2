import t from 'tap';
import { DEFAULT_MASKS } from '../../catalog/masks.js';
import { arrayPagePlan, arrayPageText } from '../../exchange/array-rows.js';
import type { ExchangeFormat, ExchangeJob } from '../../exchange/schema.js';
import { laterWatermark, serializerFor } from '../../exchange/serialize.js';
import { WatermarkMax } from '../../exchange/watermark.js';
import { applyObligations, type Obligations } from '../../policies/obligations.js';

const COLUMNS = ['idNumber', 'name', 'phone', 'address', 'divisionCode', 'extra'];

const ROWS: unknown[][] = [
  ['11010519491231002X', '张三', '13812345678', '北京市朝阳区建国路88号', '110105', 1],
  ['440524188001010014', '李四', null, null, '440524', null],
  ['110105200001010017', '𠮷野家', 13812345678, '湖北省武汉市江汉区建设大道1号', 110105, -0],
  ['1', 'quote " backslash \\ tab \t nl \n cr \r nul \u0000', '=1+1', '', null, true],
  ['2', 'lone \ud800 surrogate, paired 😀, U+2028 \u2028', '@x', 'a,b', '110105', { a: [1, 'x'] }],
  ['3', '', '', 'x', '110105', Number.NaN],
  ['4', 'date', '1', '1', '1', new Date('2024-01-02T03:04:05.678Z')],
  ['5', 'function', '1', '1', '1', () => 1],
];

const objects = (rows: unknown[][]) =>
  rows.map((row) => Object.fromEntries(COLUMNS.map((c, i) => [c, row[i]])));

function obligations(overrides: Partial<Obligations> = {}): Obligations {
  return {
    grantId: 'g1',
    items: COLUMNS,
    masks: { idNumber: DEFAULT_MASKS.idNumber, name: DEFAULT_MASKS.name, address: DEFAULT_MASKS.address },
    signResponse: false,
    quota: {},
    ...overrides,
  };
}

/** The object path of the file writer: request filter, applyObligations, serializer. */
function objectPath(
  format: ExchangeFormat,
  o: Obligations,
  filter: ExchangeJob['filter'],
  rows: unknown[][],
) {
  const kept = objects(rows).filter(
    (row) =>
      !filter ||
      (row[filter.item] !== undefined &&
        row[filter.item] !== null &&
        String(row[filter.item]) === filter.equals),
  );
  const out = applyObligations(kept, o);
  return { text: out.length > 0 ? serializerFor(format, o.items).page(out) : '', rows: out.length };
}

const cases: [string, Obligations, ExchangeJob['filter']?][] = [
  ['every item, masked', obligations()],
  ['some items, no masks', obligations({ items: ['name', 'extra'], masks: {} })],
  ['items the rows lack are left out', obligations({ items: ['gender', 'name', 'note'] })],
  ['no item present: empty objects', obligations({ items: ['gender'] })],
  ['a grant row filter', obligations({ rowFilter: { item: 'divisionCode', equals: '110105' } })],
  ['a request filter', obligations(), { item: 'divisionCode', equals: '110105' }],
  ['a request filter on an item the rows lack', obligations(), { item: 'gender', equals: '1' }],
  [
    'both filters',
    obligations({ rowFilter: { item: 'phone', equals: '1' } }),
    { item: 'address', equals: '1' },
  ],
];

t.test('array pages serialize byte for byte as the object path', async (t) => {
  for (const format of ['jsonl', 'csv'] as const) {
    for (const [name, o, filter] of cases) {
      const plan = arrayPagePlan(format, o, COLUMNS, filter);
      const got = arrayPageText(plan, ROWS);
      t.same(
        { text: got.text.join(''), rows: got.rows },
        objectPath(format, o, filter, ROWS),
        `${format}: ${name}`,
      );
    }
  }
});

t.test('a long page comes in pieces that join to the whole text', async (t) => {
  const rows = Array.from({ length: 300 }, (_, i) => [`k${i}`, `名${i}`, '1', '1', '1', i]);
  const plan = arrayPagePlan('jsonl', obligations(), COLUMNS, undefined);
  const got = arrayPageText(plan, rows);
  t.equal(got.rows, 300);
  t.ok(got.text.length > 1, 'more than one piece');
  t.equal(got.text.join(''), objectPath('jsonl', obligations(), undefined, rows).text);
  t.same(arrayPageText(plan, []), { text: [], rows: 0 }, 'an empty page');
});

/** The reference: laterWatermark folded over the values (what a page of rows gave before). */
function reference(current: string | undefined, values: unknown[]): string | undefined {
  let max = current;
  for (const raw of values) {
    if (raw === undefined || raw === null) continue;
    const value = raw instanceof Date ? raw.toISOString() : String(raw);
    max = laterWatermark(max, value);
  }
  return max;
}

const watermarkCases: [string, string | undefined, unknown[]][] = [
  [
    'database timestamps, one shape',
    undefined,
    [
      '2025-03-01T00:00:01.000001+00:00',
      '2025-03-01T00:00:03.000003+00:00',
      '2025-03-01T00:00:02.000002+00:00',
      null,
    ],
  ],
  [
    'fractions of other lengths',
    '2025-03-01T00:00:01.5+00:00',
    ['2025-03-01T00:00:01.25+00:00', '2025-03-01T00:00:01+00:00', '2025-03-01T00:00:01.75+00:00'],
  ],
  [
    'other offsets: the instant decides, a tie keeps the first',
    '2024-01-01T08:00:00+08:00',
    ['2024-01-01T00:00:00+00:00', '2024-01-01T09:00:00+09:00', '2024-01-01T00:30:00+00:00'],
  ],
  ['Z and offsets', '2024-01-01T00:00:00Z', ['2024-01-01T00:00:00+00:00', '2024-01-01T00:00:01Z']],
  ['dates', undefined, ['2024-01-02', '2024-01-10', '2023-12-31', new Date('2024-02-01T00:00:00Z')]],
  ['numbers as numbers', '9', [10, '2', 100]],
  ['strings as strings', 'b', ['a', 'c', 'bb']],
  [
    'shapes that are not date-times',
    '2024-01-01T10:00:00+00:00',
    ['2024-01-01T1x:00:00+00:00', '2024-01-01T24:00:00+00:00', '2024-01-02T00:00:00+00:00', 'zzz'],
  ],
  [
    'hour 24 equals the next midnight',
    '2024-01-01T24:00:00Z',
    ['2024-01-02T00:00:00Z', '2024-01-02T00:00:01Z'],
  ],
  ['mixed kinds', '2024-01-01', ['5', '2024-01-01T00:00:00Z', '2023-01-01', 'x']],
  [
    'microseconds decide within a millisecond, whatever the number of digits',
    '2025-03-01T00:00:01.1234+00:00',
    ['2025-03-01T00:00:01.12345+00:00', '2025-03-01T00:00:01.1234+00:00', '2025-03-01T00:00:01.123449Z'],
  ],
  ['nothing read', undefined, [null, undefined]],
];

t.test('the largest watermark is the one laterWatermark picks, value by value', async (t) => {
  for (const [name, current, values] of watermarkCases) {
    const max = new WatermarkMax(current);
    for (const value of values) max.add(value);
    t.equal(max.value, reference(current, values), name);
  }
  t.equal(
    laterWatermark('2025-03-01T00:00:01.1234+00:00', '2025-03-01T00:00:01.12345+00:00'),
    '2025-03-01T00:00:01.12345+00:00',
    '.12345 is later than .1234',
  );
  const max = new WatermarkMax('2025-03-01T00:00:01.1234+00:00');
  max.add('2025-03-01T00:00:01.12345+00:00');
  t.equal(max.value, '2025-03-01T00:00:01.12345+00:00');
});
