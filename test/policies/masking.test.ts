import t from 'tap';
import {
  addressRegionPrefix,
  compileMask,
  DEFAULT_MASKS,
  type MaskRule,
  maskValue,
} from '../../catalog/masks.js';
import { decide } from '../../policies/decide.js';
import { maskRuleFor } from '../../policies/masking.js';
import { applyObligations, type Obligations } from '../../policies/obligations.js';
import { CIVIL_AFFAIRS, NOW, POPULATION, populationGrant } from './fixtures.js';

const keep = (keepStart: number, keepEnd: number, char = '*'): MaskRule => ({
  kind: 'keep',
  keepStart,
  keepEnd,
  char,
});

const cases: [string, MaskRule, string, string][] = [
  ['idNumber', DEFAULT_MASKS.idNumber, '11010519491231002X', '110105********002X'],
  ['idNumber shorter than the kept parts', DEFAULT_MASKS.idNumber, '110105', '******'],
  ['phone', DEFAULT_MASKS.phone, '13812345678', '138****5678'],
  ['phone of exactly the kept length', DEFAULT_MASKS.phone, '1381234', '*******'],
  ['name of two characters', DEFAULT_MASKS.name, '张三', '张*'],
  ['name of four characters', DEFAULT_MASKS.name, '欧阳娜娜', '欧***'],
  ['name of one character', DEFAULT_MASKS.name, '张', '*'],
  ['name with a character outside the BMP', DEFAULT_MASKS.name, '𠮷野家', '𠮷**'],
  ['name after a character outside the BMP', DEFAULT_MASKS.name, '王𠮷', '王*'],
  ['uscc', DEFAULT_MASKS.uscc, '91350100M000100Y43', '91350100********43'],
  ['other', DEFAULT_MASKS.other, 'positive', '***'],
  ['empty value', DEFAULT_MASKS.phone, '', ''],
  ['custom rule', keep(2, 1, '#'), 'abcdef', 'ab###f'],
  ['custom rule keeping nothing', keep(0, 0), '王小明', '***'],
  ['address of a municipality', DEFAULT_MASKS.address, '北京市朝阳区建国路88号', '北京市朝阳区****'],
  ['address in a province', DEFAULT_MASKS.address, '浙江省杭州市西湖区文三路100号', '浙江省杭州市西湖区****'],
  [
    'address in an autonomous region (its 区 is not the district)',
    DEFAULT_MASKS.address,
    '新疆维吾尔自治区乌鲁木齐市天山区解放北路1号',
    '新疆维吾尔自治区乌鲁木齐市天山区****',
  ],
  [
    'address in a banner',
    DEFAULT_MASKS.address,
    '内蒙古自治区鄂尔多斯市伊金霍洛旗乌兰木伦镇',
    '内蒙古自治区鄂尔多斯市伊金霍洛旗****',
  ],
  ['address in a county', DEFAULT_MASKS.address, '河北省保定市涞水县城关街1号', '河北省保定市涞水县****'],
  [
    'address in a county-level city',
    DEFAULT_MASKS.address,
    '江苏省苏州市昆山市玉山镇前进路1号',
    '江苏省苏州市昆山市****',
  ],
  [
    'address in an autonomous prefecture',
    DEFAULT_MASKS.address,
    '湖北省恩施土家族苗族自治州恩施市舞阳大街8号',
    '湖北省恩施土家族苗族自治州恩施市****',
  ],
  ['a 小区 is not a district', DEFAULT_MASKS.address, '河南省济源市沁园路幸福小区3号', '河南省济源市****'],
  [
    'address without a region keeps nothing (its start is the street and number)',
    DEFAULT_MASKS.address,
    'Room 5, 88 Jianguo Road',
    '****',
  ],
  ['a street address without a region', DEFAULT_MASKS.address, '珞喻路1037号华中科技大学', '****'],
  ['short address without a region', DEFAULT_MASKS.address, '建国路8号', '****'],
  [
    'address with a custom character',
    { kind: 'address', char: '＊' },
    '北京市朝阳区建国路88号',
    '北京市朝阳区＊＊＊＊',
  ],
];

for (const [name, rule, value, expected] of cases) {
  t.test(`mask ${name}`, async (t) => {
    t.equal(maskValue(value, rule), expected);
    t.equal(compileMask(rule)(value), expected, 'compiled form agrees');
  });
}

t.test('address region prefix', async (t) => {
  t.equal(addressRegionPrefix('上海市浦东新区张江路1号'), '上海市浦东新区');
  t.equal(addressRegionPrefix('广西壮族自治区南宁市青秀区民族大道1号'), '广西壮族自治区南宁市青秀区');
  t.equal(addressRegionPrefix('建国路8号'), '');
});

t.test('rules from grant settings', async (t) => {
  t.equal(maskRuleFor('none', 'idNumber'), undefined, "'none' lifts masking");
  t.equal(maskRuleFor('default', undefined), undefined, 'non-sensitive items are not masked by default');
  t.equal(maskRuleFor(undefined, undefined), undefined);
  t.equal(maskRuleFor(undefined, 'phone'), DEFAULT_MASKS.phone);
  t.equal(maskRuleFor('default', 'address'), DEFAULT_MASKS.address);
  t.same(maskRuleFor({ keepStart: 1, keepEnd: 1 }, undefined), keep(1, 1), 'a custom rule masks any item');
  t.same(maskRuleFor({ keepStart: 3, keepEnd: 0, char: 'x' }, 'idNumber'), keep(3, 0, 'x'));
  t.equal(compileMask(DEFAULT_MASKS.name), compileMask(DEFAULT_MASKS.name), 'compiled once per rule');
});

const rows = [
  {
    idNumber: '11010519491231002X',
    name: '张三',
    gender: '1',
    birthDate: '1949-12-31',
    phone: '13812345678',
    address: '北京市朝阳区建国路88号',
    divisionCode: '110105',
  },
  { idNumber: '440524188001010014', name: '李四', gender: '2', address: null, divisionCode: 440524 },
  { idNumber: '110105200001010017', name: '王五', divisionCode: 110105 },
  { idNumber: '110105200001010033', name: '赵六' },
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

t.test('applyObligations projects in order and masks', async (t) => {
  const out = applyObligations(rows, obligations());
  t.same(out[0], {
    idNumber: '110105********002X',
    name: '张*',
    address: '北京市朝阳区****',
    divisionCode: '110105',
  });
  t.same(Object.keys(out[0]!), ['idNumber', 'name', 'address', 'divisionCode'], 'in obligation order');
  t.same(
    out[1],
    { idNumber: '440524********0014', name: '李*', address: null, divisionCode: 440524 },
    'null stays',
  );
  t.same(out[3], { idNumber: '110105********0033', name: '赵*' }, 'absent items stay absent');
  t.equal(out.length, 4);
  t.notOk('phone' in out[0]!, 'ungranted items are dropped');
});

t.test('applyObligations filters rows by string comparison, even on an item not projected', async (t) => {
  const out = applyObligations(
    rows,
    obligations({ items: ['name'], masks: {}, rowFilter: { item: 'divisionCode', equals: '110105' } }),
  );
  t.same(out, [{ name: '张三' }, { name: '王五' }], 'numeric 110105 passes, a missing value does not');
});

t.test('applyObligations masks non-string values as strings and leaves the input alone', async (t) => {
  const input = [{ phone: 13812345678, gender: 1 }];
  const out = applyObligations(
    input,
    obligations({ items: ['gender', 'phone'], masks: { phone: DEFAULT_MASKS.phone } }),
  );
  t.same(out, [{ gender: 1, phone: '138****5678' }]);
  t.same(input, [{ phone: 13812345678, gender: 1 }]);
});

t.test('applyObligations reads item names only as own properties of a row', async (t) => {
  const out = applyObligations(
    [{ name: 'x' }, { constructor: 'own' }],
    obligations({ items: ['constructor'], masks: {} }),
  );
  t.same(out, [{}, { constructor: 'own' }]);
});

t.test('decide then applyObligations: masking lifted for name by the grant', async (t) => {
  const grant = populationGrant({
    masking: { name: 'none' },
    rowFilter: { item: 'divisionCode', equals: '110105' },
  });
  const decision = decide(
    { deptCode: CIVIL_AFFAIRS, systemId: 'assistance', serial: '01' },
    { entry: POPULATION, status: 'active' },
    grant,
    { purpose: 'elderly-care', mode: 'api', queryItems: ['idNumber'], now: NOW },
  );
  if (!decision.allow) return t.fail(decision.message);
  t.same(applyObligations(rows.slice(0, 2), decision.obligations), [
    {
      idNumber: '110105********002X',
      name: '张三',
      gender: '1',
      address: '北京市朝阳区****',
      divisionCode: '110105',
    },
  ]);
});

t.test('applyObligations is fast enough for every response', async (t) => {
  const many = Array.from({ length: 10_000 }, (_, i) => ({
    ...rows[0],
    idNumber: `1101051949123${String(i).padStart(5, '0')}`,
  }));
  const o = obligations();
  applyObligations(many, o);
  const start = process.hrtime.bigint();
  const out = applyObligations(many, o);
  const perRowNs = Number(process.hrtime.bigint() - start) / many.length;
  t.equal(out.length, many.length);
  t.comment(`applyObligations: ${perRowNs.toFixed(0)} ns per row (4 items, 3 masked)`);
  t.ok(perRowNs < 20_000, 'well under 20 µs per row');
});
