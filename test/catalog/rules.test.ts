import t from 'tap';
import { checkEntry } from '../../catalog/rules.js';
import type { ResourceEntry } from '../../catalog/schema.js';
import { conditionalEntry, enterpriseEntry, notSharedEntry, populationEntry } from './fixtures.js';

t.test('the fixtures pass every rule, for publication too', async (t) => {
  for (const entry of [populationEntry(), enterpriseEntry(), conditionalEntry(), notSharedEntry()]) {
    t.doesNotThrow(() => checkEntry(entry, { forPublication: true }), entry.name);
  }
});

interface Refusal {
  rule: string;
  base: () => ResourceEntry;
  change: (entry: ResourceEntry) => void;
  forPublication?: boolean;
  code: string;
  message: RegExp;
}

const refusals: Refusal[] = [
  {
    rule: 'schema: a wrong data type names its JSON pointer and the allowed values',
    base: populationEntry,
    change: (e) => {
      (e.items[2] as { dataType: string }).dataType = 'X';
    },
    code: 'CATALOG_ENTRY_INVALID',
    message: /\/items\/2\/dataType must be one of "C", "N"/,
  },
  {
    rule: 'schema: an unknown property is named',
    base: populationEntry,
    change: (e) => {
      (e.share as Record<string, unknown>).mode = 'api';
    },
    code: 'CATALOG_ENTRY_INVALID',
    message: /\/share must not have the property "mode"/,
  },
  {
    rule: 'a conditional entry needs a legal basis',
    base: conditionalEntry,
    change: (e) => {
      delete e.share.legalBasis;
    },
    code: 'CATALOG_LEGAL_BASIS_REQUIRED',
    message: /share\.legalBasis: a conditional entry/,
  },
  {
    rule: 'a not-shared entry needs a non-blank legal basis',
    base: notSharedEntry,
    change: (e) => {
      e.share.legalBasis = '   ';
    },
    code: 'CATALOG_LEGAL_BASIS_REQUIRED',
    message: /a none entry/,
  },
  {
    rule: 'a conditional item needs the entry to cite a legal basis',
    base: enterpriseEntry,
    change: (e) => {
      e.items[3]!.shareType = 'conditional';
    },
    code: 'CATALOG_LEGAL_BASIS_REQUIRED',
    message: /item "regCapital" is conditional/,
  },
  {
    rule: 'a key item of a base resource cannot be conditional',
    base: populationEntry,
    change: (e) => {
      e.share.legalBasis = '《居民身份证法》';
      e.items[0]!.shareType = 'conditional';
    },
    code: 'CATALOG_BASE_ITEM_RESTRICTED',
    message: /key item "idNumber" .* not conditional/,
  },
  {
    rule: 'a base resource cannot be conditional, even with unconditional key items',
    base: enterpriseEntry,
    change: (e) => {
      e.share.type = 'conditional';
      e.share.legalBasis = '《企业信息公示暂行条例》';
      e.items[0]!.shareType = 'unconditional';
    },
    code: 'CATALOG_BASE_ITEM_RESTRICTED',
    message: /share.type: a base resource is shared unconditionally with every department, not conditional/,
  },
  {
    rule: 'no item of a base resource is conditional, key or not',
    base: populationEntry,
    change: (e) => {
      e.share.legalBasis = '《居民身份证法》';
      e.items[3]!.shareType = 'conditional';
    },
    code: 'CATALOG_BASE_ITEM_RESTRICTED',
    message: /items: item "\w+" of a base resource is always shared unconditionally, not conditional/,
  },
  {
    rule: 'no item of a base resource is withheld (not shared)',
    base: enterpriseEntry,
    change: (e) => {
      e.share.legalBasis = '《企业信息公示暂行条例》';
      e.items[2]!.shareType = 'none';
    },
    code: 'CATALOG_BASE_ITEM_RESTRICTED',
    message: /not none/,
  },
  {
    rule: 'the key item of a base resource is a resident ID number or a credit code',
    base: populationEntry,
    change: (e) => {
      delete e.items[0]!.sensitive;
    },
    code: 'CATALOG_BASE_KEY_NOT_IDENTIFIER',
    message:
      /key item "idNumber" of a base resource must be a resident ID number or a unified social credit code/,
  },
  {
    rule: 'a base resource keyed by a name is refused',
    base: enterpriseEntry,
    change: (e) => {
      e.items[1]!.key = true;
    },
    code: 'CATALOG_BASE_KEY_NOT_IDENTIFIER',
    message: /key item "\w+" of a base resource/,
  },
  {
    rule: 'item names are unique',
    base: populationEntry,
    change: (e) => {
      e.items.push({ name: 'gender', label: '性别代码', dataType: 'C', length: 2 });
    },
    code: 'CATALOG_ITEM_DUPLICATE',
    message: /items\/6: the name "gender"/,
  },
  {
    rule: 'at least one key item',
    base: enterpriseEntry,
    change: (e) => {
      delete e.items[0]!.key;
    },
    code: 'CATALOG_KEY_REQUIRED',
    message: /mark at least one item with key: true/,
  },
  {
    rule: 'control parameters name existing items',
    base: populationEntry,
    change: (e) => {
      e.share.controlParams = ['idNumber', 'phone'];
    },
    code: 'CATALOG_CONTROL_PARAM_UNKNOWN',
    message: /share\.controlParams: "phone"/,
  },
  {
    rule: 'the watermark names an existing item',
    base: populationEntry,
    change: (e) => {
      e.service!.watermark = 'modifiedAt';
    },
    code: 'CATALOG_WATERMARK_UNKNOWN',
    message: /service\.watermark: "modifiedAt"/,
  },
  {
    rule: 'the classification code starts with the digit of its category',
    base: conditionalEntry,
    change: (e) => {
      e.classification.category = 'theme';
    },
    code: 'CATALOG_CODE_MISMATCH',
    message: /classification\.code "301002" must start with 2 for category "theme"/,
  },
  {
    rule: 'the resource code starts with the classification code',
    base: conditionalEntry,
    change: (e) => {
      e.code = '301003/1';
    },
    code: 'CATALOG_CODE_MISMATCH',
    message: /code "301003\/1": the part before "\/" must equal classification\.code "301002"/,
  },
  {
    rule: 'publication needs a mounted data service',
    base: enterpriseEntry,
    change: (e) => {
      delete e.service;
    },
    forPublication: true,
    code: 'CATALOG_SERVICE_REQUIRED',
    message: /service: mount a data service .* 102001\/1/,
  },
];

for (const refusal of refusals) {
  t.test(refusal.rule, async (t) => {
    const entry = refusal.base();
    refusal.change(entry);
    t.throws(() => checkEntry(entry, { forPublication: refusal.forPublication ?? false }), {
      code: refusal.code,
      statusCode: 422,
      message: refusal.message,
    });
  });
}

t.test('a draft may lack the data service; only publication needs it', async (t) => {
  const entry = enterpriseEntry();
  delete entry.service;
  t.doesNotThrow(() => checkEntry(entry, { forPublication: false }));
});

t.test(
  'a base resource may mark its items unconditional explicitly and keep control parameters',
  async (t) => {
    const entry = populationEntry();
    for (const item of entry.items) item.shareType = 'unconditional';
    t.ok(entry.share.controlParams?.length, 'the fixture has control parameters');
    t.doesNotThrow(() => checkEntry(entry, { forPublication: true }));
  },
);

t.test('a department resource may have a conditional key item', async (t) => {
  const entry = conditionalEntry();
  entry.items[0]!.shareType = 'conditional';
  t.doesNotThrow(() => checkEntry(entry, { forPublication: true }));
});

t.test('something that is not an entry at all is refused, not crashed on', async (t) => {
  t.throws(() => checkEntry(null as unknown as ResourceEntry, { forPublication: false }), {
    code: 'CATALOG_ENTRY_INVALID',
  });
  t.throws(() => checkEntry({ code: '101001/1' } as unknown as ResourceEntry, { forPublication: false }), {
    code: 'CATALOG_ENTRY_INVALID',
    message: /must have required property 'name'/,
  });
});
