import t from 'tap';
import { DEFAULT_MASKS } from '../../catalog/masks.js';
import {
  applyObligations,
  arrayRowPlan,
  keepsArrayRow,
  type Obligations,
  obligedValue,
} from '../../policies/obligations.js';

const COLUMNS = ['idNumber', 'name', 'phone', 'address', 'divisionCode', 'score'];

const ROWS: unknown[][] = [
  ['11010519491231002X', '张三', '13812345678', '北京市朝阳区建国路88号', '110105', 3.5],
  ['440524188001010014', '李四', null, null, '440524', null],
  ['110105200001010017', '𠮷野家', 13812345678, '浙江省杭州市西湖区文三路100号', 110105, 0],
  ['110105200001010033', '', '', '', null, -1],
  ['1101052000', 'a"b\\c\n', '1', '湖北省武汉市江汉区建设大道1号', '110105', true],
];

function obligations(overrides: Partial<Obligations> = {}): Obligations {
  return {
    grantId: 'g1',
    items: ['idNumber', 'name', 'address', 'divisionCode'],
    masks: { idNumber: DEFAULT_MASKS.idNumber, name: DEFAULT_MASKS.name, address: DEFAULT_MASKS.address },
    signResponse: false,
    quota: {},
    ...overrides,
  };
}

/** What the array plan makes of the rows, as objects (absent items left out), to compare with the object path. */
function viaArrays(rows: unknown[][], columns: string[], o: Obligations): Record<string, unknown>[] {
  const plan = arrayRowPlan(o, columns);
  return rows
    .filter((row) => keepsArrayRow(plan, row))
    .map((row) => {
      const out: Record<string, unknown> = {};
      plan.names.forEach((name, i) => {
        const value = obligedValue(plan, i, row);
        if (value !== undefined) out[name] = value;
      });
      return out;
    });
}

const objects = (rows: unknown[][], columns: string[]) =>
  rows.map((row) => Object.fromEntries(columns.map((c, i) => [c, row[i]])));

const cases: [string, Obligations, string[]?][] = [
  ['default masks, catalog order', obligations()],
  ['every item, phone masked too', obligations({ items: COLUMNS, masks: { phone: DEFAULT_MASKS.phone } })],
  ['no masks', obligations({ masks: {} })],
  [
    'a row filter on a projected item (numbers pass by their string form, null never)',
    obligations({ rowFilter: { item: 'divisionCode', equals: '110105' } }),
  ],
  [
    'a row filter on an item not projected',
    obligations({ items: ['name'], rowFilter: { item: 'phone', equals: '1' } }),
  ],
  [
    'a row filter on an item the rows lack: no row passes',
    obligations({ rowFilter: { item: 'gender', equals: '1' } }),
  ],
  ['granted items the rows lack are absent', obligations({ items: ['gender', 'name', 'birthDate'] })],
  [
    'a numeric item masked as its string',
    obligations({ items: ['score'], masks: { score: DEFAULT_MASKS.other } }),
  ],
  ['columns in another order than the items', obligations(), [...COLUMNS].reverse()],
];

t.test('array rows get exactly what applyObligations gives the same rows as objects', async (t) => {
  for (const [name, o, columns = COLUMNS] of cases) {
    const rows = columns === COLUMNS ? ROWS : ROWS.map((row) => [...row].reverse());
    t.same(viaArrays(rows, columns, o), applyObligations(objects(rows, columns), o), name);
  }
});

t.test('the plan resolves items to columns once', async (t) => {
  const plan = arrayRowPlan(obligations({ items: ['name', 'gender'] }), COLUMNS);
  t.same(plan.names, ['name', 'gender']);
  t.same(plan.columns, [1, -1], 'an item without a column is -1');
  t.equal(plan.filterColumn, -1, 'no row filter');
  t.equal(obligedValue(plan, 0, ROWS[0]!), '张*');
  t.equal(obligedValue(plan, 1, ROWS[0]!), undefined);
  t.ok(keepsArrayRow(plan, ROWS[0]!));
});
