import t from 'tap';
import {
  checkDivisionCode,
  checkIdNumber,
  checkUscc,
  idNumberCheckCharacter,
  organisationCheckCharacter,
  usccCheckCharacter,
} from '../../../catalog/identifiers.js';
import { DATASET_KINDS, Dataset, sampleKeys } from '../../../connectors/simulator/datasets.js';

const residents = DATASET_KINDS.residents;
const enterprises = DATASET_KINDS.enterprises;
const insurance = DATASET_KINDS['social-insurance'];

/** The first 3,000 rows and 3,000 more spread over a 20-million-row data set. */
const INDEXES = [
  ...Array.from({ length: 3000 }, (_, i) => i),
  ...Array.from({ length: 3000 }, (_, k) => (k * 6_661_777 + 12_345) % 20_000_000),
];

t.test('resident rows: valid ID numbers consistent with the other items', async (t) => {
  const problems: string[] = [];
  for (const i of INDEXES) {
    const row = residents.row(i) as Record<string, string>;
    const id = row.idNumber!;
    const check = checkIdNumber(id);
    if (!check.ok) problems.push(`${i}: ${id} ${check.reason}`);
    if (id.slice(0, 6) !== row.divisionCode || !checkDivisionCode(row.divisionCode).ok)
      problems.push(`${i}: division`);
    if (row.birthDate!.replaceAll('-', '') !== id.slice(6, 14)) problems.push(`${i}: birth date`);
    if (row.birthDate! < '1940-01-01' || row.birthDate! > '2010-12-31') problems.push(`${i}: birth year`);
    if ((Number(id[16]) % 2 === 1 ? '男' : '女') !== row.gender) problems.push(`${i}: gender`);
    if (!/^1[3-9][0-9]{9}$/.test(row.phone!)) problems.push(`${i}: phone ${row.phone}`);
    if (!/^[\u4e00-\u9fa5]{2,3}$/.test(row.name!)) problems.push(`${i}: name ${row.name}`);
    if (!/^(北京市|天津市|上海市|重庆市|[^市]+省|广西壮族自治区).+(路)[0-9]+号/.test(row.address!)) {
      problems.push(`${i}: address ${row.address}`);
    }
    if (!/^2024-(09|10|11|12)-[0-9]{2}T[0-9:]{8}\.000Z$/.test(row.updatedAt!))
      problems.push(`${i}: updatedAt`);
  }
  t.same(problems, [], `${INDEXES.length} residents checked`);
});

t.test('enterprise rows: valid USCCs with a valid organisation code part', async (t) => {
  const problems: string[] = [];
  for (const i of INDEXES) {
    const row = enterprises.row(i) as Record<string, string | number>;
    const uscc = String(row.uscc);
    const check = checkUscc(uscc);
    if (!check.ok) problems.push(`${i}: ${uscc} ${check.reason}`);
    if (organisationCheckCharacter(uscc.slice(8, 16)) !== uscc[16]) problems.push(`${i}: organisation code`);
    if (uscc.slice(2, 8) !== row.divisionCode || !uscc.startsWith('91')) problems.push(`${i}: division`);
    if (!/^[\u4e00-\u9fa5]{2,}有限公司$/.test(String(row.name))) problems.push(`${i}: name ${row.name}`);
    if (typeof row.registeredCapital !== 'number' || row.registeredCapital <= 0)
      problems.push(`${i}: capital`);
    if (!['存续', '在业', '注销'].includes(String(row.status))) problems.push(`${i}: status`);
    if (!(String(row.establishedDate) >= '2015-10-01' && String(row.establishedDate) < '2025-01-01')) {
      problems.push(`${i}: established ${row.establishedDate}`);
    }
  }
  t.same(problems, [], `${INDEXES.length} enterprises checked`);
});

t.test('organisation code check follows GB 11714 (the standard example M000100Y4)', async (t) => {
  t.equal(organisationCheckCharacter('M000100Y'), '4');
  t.ok(checkUscc('91350100M000100Y43').ok);
});

t.test('social insurance rows are the residents of the same index', async (t) => {
  for (const i of INDEXES.slice(0, 2000)) {
    const person = residents.row(i);
    const insured = insurance.row(i) as Record<string, unknown>;
    if (insured.idNumber !== person.idNumber || insured.name !== person.name) {
      t.fail(`row ${i} is not resident ${i}`);
      return;
    }
    if (String(insured.startDate) < String(person.birthDate)) {
      t.fail(`row ${i} insured before birth`);
      return;
    }
  }
  t.pass('2000 rows match their residents');
});

t.test('rows are a pure function of the index, pinned across machines', async (t) => {
  for (const name of ['residents', 'enterprises', 'social-insurance'] as const) {
    t.same(DATASET_KINDS[name].row(1234), DATASET_KINDS[name].row(1234), `${name} row 1234 twice`);
  }
  // Changing these values changes every demo, test and benchmark: do it on purpose only.
  t.same(sampleKeys('residents', 2), ['330212196610133346', '370102201008308097']);
  t.same(sampleKeys('enterprises', 2), ['91310104MABMFKJ716', '91610113MAYTDEXJXT']);
  t.equal(residents.row(0).name, '王佳');
  t.equal(enterprises.row(0).name, '上海联兴物业管理有限公司');
});

t.test('keys are distinct', async (t) => {
  t.equal(new Set(sampleKeys('residents', 50_000)).size, 50_000);
  t.equal(new Set(sampleKeys('enterprises', 50_000)).size, 50_000);
});

t.test('lookup by key finds exactly the row at that index', async (t) => {
  for (const name of ['residents', 'enterprises', 'social-insurance'] as const) {
    const dataset = new Dataset(name, 20_000_000);
    for (const i of INDEXES) {
      const found = dataset.lookup(dataset.kind.keyAt(i));
      if (found?.index !== i) {
        t.fail(`${name}: key of row ${i} found ${found?.index}`);
        return;
      }
    }
    t.same(dataset.lookup(dataset.kind.keyAt(77))?.row, dataset.kind.row(77), `${name}: the row itself`);
  }
});

t.test('keys that are not in the data set find nothing', async (t) => {
  const people = new Dataset('residents', 1000);
  const firms = new Dataset('enterprises', 1000);
  const id = residents.keyAt(5);
  const otherDivision = `110101${id.slice(6, 17)}`;
  const uscc = enterprises.keyAt(5);
  const otherFirmDivision = `91${uscc.slice(2, 8) === '110101' ? '110105' : '110101'}${uscc.slice(8, 17)}`;
  const cases: [Dataset, string, string][] = [
    [people, residents.keyAt(1000), 'a generated key past the size'],
    [people, id.slice(0, 17) + (id[17] === '0' ? '1' : '0'), 'wrong check digit'],
    [people, otherDivision + idNumberCheckCharacter(otherDivision), 'valid ID with another division'],
    [people, '11010519491231002X', 'the standard example'],
    [people, '19400231001', 'too short'],
    [people, '330212196602310015', 'no such date'],
    [people, '330212203901010010', 'birth year outside the range'],
    [people, id.toLowerCase().replace(/[0-9]$/, 'x'), 'lowercase'],
    [people, '', 'empty'],
    [firms, enterprises.keyAt(1000), 'a generated USCC past the size'],
    [firms, otherFirmDivision + usccCheckCharacter(otherFirmDivision), 'valid USCC with another division'],
    [firms, `${uscc.slice(0, 17)}${uscc[17] === '0' ? '1' : '0'}`, 'wrong check character'],
    [firms, '91350100M000100Y43', 'the standard example'],
    [firms, `${uscc.slice(0, 10)}IIIIII${uscc.slice(16)}`, 'characters outside the alphabet'],
    [firms, uscc.slice(1), 'too short'],
  ];
  for (const [dataset, key, label] of cases) t.equal(dataset.lookup(key), undefined, label);
});

t.test('sizes are bounded by what the keys can address', async (t) => {
  t.throws(() => new Dataset('residents', residents.capacity + 1), RangeError);
  t.throws(() => new Dataset('enterprises', -1), RangeError);
  t.ok(residents.capacity > 20_000_000, 'residents can hold 20 million');
  t.ok(enterprises.capacity > 100_000_000, 'enterprises can hold 100 million');
});
