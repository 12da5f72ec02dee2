import t from 'tap';
import { columnsValidator, rowJsonSchema, rowValidator } from '../../catalog/item-schema.js';
import type { ResourceEntry } from '../../catalog/schema.js';
import {
  conditionalEntry,
  enterpriseEntry,
  populationEntry,
  SAMPLE_ENTERPRISE,
  SAMPLE_ID_NUMBER,
} from './fixtures.js';

/** Every data type of the guide once. */
function allTypesEntry(): ResourceEntry {
  return {
    ...populationEntry(),
    code: '101001/9',
    items: [
      { name: 'id', label: '编号', dataType: 'C', length: 5, key: true },
      { name: 'memo', label: '备注', dataType: 'M', length: 10 },
      { name: 'general', label: '通用', dataType: 'G' },
      { name: 'amount', label: '数值', dataType: 'N' },
      { name: 'money', label: '金额', dataType: 'Y' },
      { name: 'ratio', label: '双精度', dataType: 'B' },
      { name: 'weight', label: '浮点', dataType: 'F' },
      { name: 'count', label: '整数', dataType: 'I', required: true },
      { name: 'day', label: '日期', dataType: 'D' },
      { name: 'moment', label: '日期时间', dataType: 'T' },
      { name: 'flag', label: '标志', dataType: 'L' },
    ],
  };
}

t.test('the row schema follows the data types of the guide', async (t) => {
  t.same(rowJsonSchema(allTypesEntry()), {
    type: 'object',
    title: '101001/9 人口基础信息',
    properties: {
      id: { type: 'string', title: '编号', maxLength: 5 },
      memo: { type: ['string', 'null'], title: '备注', maxLength: 10 },
      general: { type: ['string', 'null'], title: '通用' },
      amount: { type: ['number', 'null'], title: '数值' },
      money: { type: ['number', 'null'], title: '金额' },
      ratio: { type: ['number', 'null'], title: '双精度' },
      weight: { type: ['number', 'null'], title: '浮点' },
      count: { type: 'integer', title: '整数' },
      day: { type: ['string', 'null'], title: '日期', format: 'date' },
      moment: { type: ['string', 'null'], title: '日期时间', format: 'date-time' },
      flag: { type: ['boolean', 'null'], title: '标志' },
    },
    required: ['id', 'count'],
    additionalProperties: false,
  });
});

t.test('good rows pass', async (t) => {
  const rows: [ResourceEntry, Record<string, unknown>][] = [
    [
      populationEntry(),
      {
        idNumber: SAMPLE_ID_NUMBER,
        name: '张三',
        gender: '2',
        birthDate: '1949-12-31',
        address: '北京市朝阳区',
        updatedAt: '2025-03-10T09:30:00+08:00',
      },
    ],
    [populationEntry(), { idNumber: SAMPLE_ID_NUMBER, name: '张三', gender: null, birthDate: null }],
    [enterpriseEntry(), { uscc: SAMPLE_ENTERPRISE, entName: '某某科技有限公司', regCapital: 500.5 }],
    [conditionalEntry(), { idNumber: SAMPLE_ID_NUMBER, insuranceType: '110', monthsPaid: 240, active: true }],
    [
      allTypesEntry(),
      {
        id: 'A1',
        count: 0,
        amount: -1.5,
        money: 12.34,
        ratio: 0.1,
        weight: 3,
        flag: false,
        memo: '一二三四五六七八九十',
      },
    ],
  ];
  for (const [entry, row] of rows) {
    t.same(rowValidator(entry, 1)(row), { valid: true, errors: [] }, JSON.stringify(row));
  }
});

t.test('bad rows are refused item by item', async (t) => {
  const validate = rowValidator(allTypesEntry(), 1);
  const cases: [string, Record<string, unknown>, { item: string; message: string }[]][] = [
    ['wrong type', { id: 'A1', count: '3' }, [{ item: 'count', message: 'must be an integer' }]],
    ['not an integer', { id: 'A1', count: 1.5 }, [{ item: 'count', message: 'must be an integer' }]],
    [
      'wrong nullable type',
      { id: 'A1', count: 1, flag: 'yes' },
      [{ item: 'flag', message: 'must be true or false or null' }],
    ],
    [
      'too long (characters, not bytes)',
      { id: '一二三四五六', count: 1 },
      [{ item: 'id', message: 'must be at most 5 characters long' }],
    ],
    ['missing key', { count: 1 }, [{ item: 'id', message: 'is a key item and must have a value' }]],
    ['null key', { id: null, count: 1 }, [{ item: 'id', message: 'must be a string' }]],
    ['missing required', { id: 'A1' }, [{ item: 'count', message: 'must have a value' }]],
    [
      'extra field',
      { id: 'A1', count: 1, colour: 'red' },
      [{ item: 'colour', message: 'is not an item of resource 101001/9' }],
    ],
    [
      'bad date',
      { id: 'A1', count: 1, day: '2025-02-30' },
      [{ item: 'day', message: 'must be a date (YYYY-MM-DD) or null' }],
    ],
    [
      'date-time without zone',
      { id: 'A1', count: 1, moment: '2025-03-10 09:30:00' },
      [{ item: 'moment', message: 'must be a date-time with zone (e.g. 2025-03-01T09:30:00+08:00) or null' }],
    ],
    [
      'several at once',
      { count: 'x', day: 'today' },
      [
        { item: 'id', message: 'is a key item and must have a value' },
        { item: 'count', message: 'must be an integer' },
        { item: 'day', message: 'must be a date (YYYY-MM-DD) or null' },
      ],
    ],
  ];
  for (const [name, row, errors] of cases) {
    const result = validate(row);
    t.equal(result.valid, false, name);
    t.same(result.errors, errors, name);
  }
  t.same(validate([1, 2]), { valid: false, errors: [{ item: '', message: 'a row must be a JSON object' }] });
});

t.test('validators are compiled once per code and version', async (t) => {
  const entry = populationEntry();
  const first = rowValidator(entry, 1);
  const changed = populationEntry();
  changed.items[1]!.length = 2;
  t.same(
    rowValidator(changed, 1)({ idNumber: SAMPLE_ID_NUMBER, name: '欧阳娜娜' }).valid,
    true,
    'cached by version',
  );
  t.same(
    rowValidator(changed, 2)({ idNumber: SAMPLE_ID_NUMBER, name: '欧阳娜娜' }).valid,
    false,
    'new version',
  );
  t.same(first({ idNumber: SAMPLE_ID_NUMBER, name: '欧阳娜娜' }).valid, true);
});

/** A deterministic pseudo-random generator (mulberry32). */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let r = Math.imul(a ^ (a >>> 15), 1 | a);
    r = (r + Math.imul(r ^ (r >>> 7), 61 | r)) ^ r;
    return ((r ^ (r >>> 14)) >>> 0) / 4294967296;
  };
}

/** Values of every kind, many of them near a limit of some item of `allTypesEntry`. */
const HOSTILE: unknown[] = [
  null,
  undefined,
  '',
  'abcde',
  'abcdef',
  '𝒳𝒳𝒳𝒳𝒳', // 5 code points, 10 UTF-16 units
  '𝒳𝒳𝒳𝒳𝒳𝒳',
  '\ud835', // a lone surrogate counts as one character
  'a\ud835\udcb3bcd',
  '很长很长很长很长很长',
  '很长很长很长很长很长很',
  '"quoted"\t\\',
  0,
  -0,
  1,
  1.5,
  -1e21,
  2 ** 53,
  2 ** 53 + 2,
  Number.NaN,
  Number.POSITIVE_INFINITY,
  true,
  false,
  '1',
  'true',
  {},
  [],
  ['a'],
  '2024-02-29',
  '2023-02-29',
  '2025-3-01',
  '2025-03-01T09:30:00.123456+00:00',
  '2025-03-01T09:30:00+08:00',
  '2025-03-01 09:30:00Z',
  '2025-06-30T23:59:60Z',
  '2025-03-01T09:30:00',
  '2025-03-01T09:30:00+0800',
  '2025-03-01T24:00:00Z',
];

t.test('rows as column values get the answer of their objects, errors included', async (t) => {
  const entry = allTypesEntry();
  const names = entry.items.map((item) => item.name);
  const next = random(5);
  const layouts: string[][] = [
    names,
    [...names].reverse(),
    names.filter((name) => name !== 'memo'), // an optional item without a column
    names.filter((name) => name !== 'count'), // a required one
    [...names, 'extra'], // a column that is not an item
    [...names, 'memo'], // a column named twice: the object keeps the last
  ];
  let checked = 0;
  let failed = 0;
  for (const columns of layouts) {
    const byColumns = columnsValidator(entry, 1, columns);
    const whole = rowValidator(entry, 1);
    for (let r = 0; r < 4000; r++) {
      // Mostly good values, so that the fast path decides many rows; one hostile value or more in the rest.
      const values = columns.map((name) =>
        next() < 0.85 ? GOOD[name] : HOSTILE[Math.floor(next() * HOSTILE.length)],
      );
      const row: Record<string, unknown> = {};
      for (let i = 0; i < columns.length; i++) row[columns[i]!] = values[i];
      const expected = whole(row);
      if (!expected.valid) failed++;
      const actual = byColumns(values);
      if (JSON.stringify(actual) !== JSON.stringify(expected)) {
        t.same(actual, expected, `${JSON.stringify(columns)} ${JSON.stringify(values)}`);
        return;
      }
      checked++;
    }
  }
  t.equal(checked, layouts.length * 4000, 'every row answered as its object');
  t.ok(failed > 4000 && failed < checked - 4000, `${failed} of ${checked} rows invalid`);
  const byColumns = columnsValidator(entry, 1, names);
  const good = names.map((name) => GOOD[name]);
  t.same(byColumns(good), { valid: true, errors: [] });
  t.same(
    byColumns(names.map((name) => (name === 'memo' ? '𝒳𝒳𝒳𝒳𝒳𝒳𝒳𝒳𝒳𝒳' : GOOD[name]))),
    { valid: true, errors: [] },
    'ten code points in 20 UTF-16 units fit length 10',
  );
  t.same(
    byColumns(names.map((name) => (name === 'moment' ? '2025-06-30T23:59:60Z' : GOOD[name]))),
    { valid: true, errors: [] },
    'a leap second is a date-time',
  );
  t.match(byColumns(names.map((name) => (name === 'memo' ? '𝒳𝒳𝒳𝒳𝒳𝒳𝒳𝒳𝒳𝒳𝒳' : GOOD[name]))), {
    valid: false,
    errors: [{ item: 'memo', message: 'must be at most 10 characters long' }],
  });
});

const GOOD: Record<string, unknown> = {
  id: 'A0001',
  memo: '备注',
  general: 'anything at all',
  amount: 12.5,
  money: 100,
  ratio: 0.25,
  weight: 3,
  count: 7,
  day: '2025-03-01',
  moment: '2025-03-01T09:30:00.123456+00:00',
  flag: true,
};
