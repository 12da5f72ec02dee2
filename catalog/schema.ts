/**
 * A catalog entry after the national guide 《政务信息资源目录编制指南(试行)》 (发改高技〔2017〕1272号).
 * One schema per shape: these TypeBox objects validate input, document the API (OpenAPI) and give the
 * TypeScript types. Rules that span fields (legal basis, base items, unique names) live in rules.ts.
 */
import { type Static, Type } from '@sinclair/typebox';

export const USCC_PATTERN = '^[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXY]{10}$';
export const RESOURCE_CODE_PATTERN = '^[1-3][0-9]{2,15}/[0-9]{1,12}$';
export const ITEM_NAME_PATTERN = '^[a-z][A-Za-z0-9_]{0,62}$';
/** A data item's meaning across resources (一数一源), e.g. `person.name` or `enterprise.registeredCapital`. */
export const SEMANTIC_ID_PATTERN = '^[a-z][A-Za-z0-9]*(\\.[a-z][A-Za-z0-9]*){0,7}$';

export const ShareType = Type.Union(
  [Type.Literal('unconditional'), Type.Literal('conditional'), Type.Literal('none')],
  { description: '无条件共享 / 有条件共享 / 不予共享' },
);
export type ShareType = Static<typeof ShareType>;

export const ShareMode = Type.Union([Type.Literal('api'), Type.Literal('bulk'), Type.Literal('file')], {
  description: 'api = 接口, bulk = 库表/批量, file = 文件',
});
export type ShareMode = Static<typeof ShareMode>;

export const SensitiveKind = Type.Union(
  ['idNumber', 'uscc', 'phone', 'name', 'address', 'other'].map((k) => Type.Literal(k)),
  { description: 'What kind of personal or sensitive data an item holds; decides its default masking' },
);
export type SensitiveKind = 'idNumber' | 'uscc' | 'phone' | 'name' | 'address' | 'other';

/** GB/T data types of the guide: C 字符, N 数值, Y 货币, D 日期, T 日期时间, L 逻辑, M 备注, G 通用, B 双精度, I 整型, F 浮点. */
export const DataType = Type.Union(
  ['C', 'N', 'Y', 'D', 'T', 'L', 'M', 'G', 'B', 'I', 'F'].map((k) => Type.Literal(k)),
  {
    description:
      'C string, N numeric, Y money, D date, T date-time, L boolean, M memo, G general, B double, I integer, F float',
  },
);
export type DataType = 'C' | 'N' | 'Y' | 'D' | 'T' | 'L' | 'M' | 'G' | 'B' | 'I' | 'F';

export const Item = Type.Object(
  {
    name: Type.String({ pattern: ITEM_NAME_PATTERN, description: 'Identifier used in the API and in rows' }),
    label: Type.String({ minLength: 1, maxLength: 100, description: 'Chinese label (信息项名称)' }),
    dataType: DataType,
    length: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000, description: 'Maximum length' })),
    key: Type.Optional(Type.Boolean({ description: 'Part of the key by which rows are looked up' })),
    required: Type.Optional(Type.Boolean({ description: 'Every row has a value' })),
    sensitive: Type.Optional(SensitiveKind),
    shareType: Type.Optional(ShareType),
    description: Type.Optional(Type.String({ maxLength: 1000 })),
    semanticId: Type.Optional(
      Type.String({
        pattern: SEMANTIC_ID_PATTERN,
        maxLength: 128,
        description:
          'What the item means across the catalog (一数一源, [HB-S] 14; [HC-R] 18), e.g. person.name; items of other resources with the same id reuse it',
      }),
    ),
    source: Type.Optional(
      Type.Boolean({
        description:
          'This resource is the authoritative source of the item (needs semanticId); only one resource may be, others reuse it',
      }),
    ),
  },
  { additionalProperties: false },
);
export type Item = Static<typeof Item>;

export const Classification = Type.Object(
  {
    category: Type.Union([Type.Literal('base'), Type.Literal('theme'), Type.Literal('department')], {
      description: '类: 1 base 基础, 2 theme 主题, 3 department 部门',
    }),
    code: Type.String({
      pattern: '^[1-3][0-9]{2,15}$',
      description:
        'Classification code: 类 (1 digit) + 项 (2) + 目 (3) + 细目; the first digit matches the category',
    }),
  },
  { additionalProperties: false },
);

export const Format = Type.Object(
  {
    type: Type.Union(
      ['file', 'spreadsheet', 'database', 'image', 'stream', 'self-describing', 'api'].map((k) =>
        Type.Literal(k),
      ),
    ),
    subtype: Type.Optional(Type.String({ maxLength: 50, description: 'e.g. OFD, xlsx, Dm, KingbaseES' })),
  },
  { additionalProperties: false },
);

export const Share = Type.Object(
  {
    type: ShareType,
    conditions: Type.Optional(Type.String({ maxLength: 2000, description: '共享条件' })),
    legalBasis: Type.Optional(
      Type.String({
        maxLength: 2000,
        description: 'Law, regulation or policy that makes the entry conditional or not shared',
      }),
    ),
    modes: Type.Array(ShareMode, { minItems: 1, uniqueItems: true }),
    controlParams: Type.Optional(
      Type.Array(Type.String({ pattern: ITEM_NAME_PATTERN }), {
        uniqueItems: true,
        maxItems: 20,
        description: '管控参数: items every API query must supply (no unkeyed scans); set by the provider',
      }),
    ),
  },
  { additionalProperties: false },
);

export const OpenAttribute = Type.Object(
  {
    type: Type.Union([Type.Literal('unconditional'), Type.Literal('conditional'), Type.Literal('none')], {
      description: '开放属性: 无条件开放 / 有条件开放 / 不予开放',
    }),
    conditions: Type.Optional(Type.String({ maxLength: 2000 })),
  },
  { additionalProperties: false },
);

export const UpdateCycle = Type.Union(
  ['realtime', 'daily', 'weekly', 'monthly', 'quarterly', 'halfyearly', 'yearly', 'other'].map((k) =>
    Type.Literal(k),
  ),
  { description: '更新周期' },
);
export type UpdateCycle =
  | 'realtime'
  | 'daily'
  | 'weekly'
  | 'monthly'
  | 'quarterly'
  | 'halfyearly'
  | 'yearly'
  | 'other';

export const DataService = Type.Object(
  {
    connector: Type.Union([
      Type.Literal('http'),
      Type.Literal('sql'),
      Type.Literal('file'),
      Type.Literal('federation'),
    ]),
    endpoint: Type.String({
      minLength: 1,
      maxLength: 2000,
      description:
        'Base URL of the front-end processor (http), name of a configured database (sql), or `<peer platform id>/<resource code>` of a resource of an upper platform (federation, e.g. `hubei-province/101001/000001`); never a password',
    }),
    table: Type.Optional(
      Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_]{0,62}(\\.[A-Za-z_][A-Za-z0-9_]{0,62})?$' }),
    ),
    watermark: Type.Optional(
      Type.String({ pattern: ITEM_NAME_PATTERN, description: 'Item that orders changes' }),
    ),
    timeoutMs: Type.Optional(Type.Integer({ minimum: 50, maximum: 120_000 })),
  },
  { additionalProperties: false, description: '挂接的数据服务' },
);
export type DataService = Static<typeof DataService>;

/**
 * The confidentiality review (保密审查) a resource passes before publication ([HB-S] 3; [HC-R] 21, 39):
 * classified (涉密) data is never shared through the platform.
 */
export const Confidentiality = Type.Object(
  {
    result: Type.Union([Type.Literal('not-classified'), Type.Literal('classified')], {
      description: 'not-classified: may be shared; classified (涉密): never published nor granted',
    }),
    reviewedBy: Type.String({ minLength: 1, maxLength: 200, description: 'Who reviewed (unit / person)' }),
    reviewedOn: Type.String({ pattern: '^[0-9]{4}-[0-9]{2}-[0-9]{2}$', description: 'YYYY-MM-DD' }),
  },
  { additionalProperties: false, description: '保密审查结果' },
);
export type Confidentiality = Static<typeof Confidentiality>;

/**
 * The data-use agreement of a resource ([XY] 25, 33; [HC-R] 37): terms of use and a confidentiality
 * undertaking, versioned. A consumer department accepts the version in force before its first call or
 * bulk job; a new version needs a new acceptance.
 */
export const UseTerms = Type.Object(
  {
    version: Type.String({
      pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$',
      description: 'Version label, e.g. 2026-1; changing it requires every consumer to accept again',
    }),
    terms: Type.String({ minLength: 1, maxLength: 20_000, description: '使用条款' }),
    undertaking: Type.String({ minLength: 1, maxLength: 20_000, description: '保密承诺' }),
  },
  { additionalProperties: false, description: '数据使用协议' },
);
export type UseTerms = Static<typeof UseTerms>;

/** What a provider writes. Lifecycle state, versions and dates are kept beside it by the store. */
export const ResourceEntry = Type.Object(
  {
    code: Type.String({
      pattern: RESOURCE_CODE_PATTERN,
      description: '信息资源代码: classification code / sequence',
    }),
    name: Type.String({ minLength: 1, maxLength: 200 }),
    summary: Type.String({ minLength: 1, maxLength: 4000 }),
    classification: Classification,
    provider: Type.Object(
      {
        code: Type.String({
          pattern: USCC_PATTERN,
          description: 'Unified social credit code of the provider',
        }),
        name: Type.String({ minLength: 1, maxLength: 200 }),
      },
      { additionalProperties: false },
    ),
    format: Format,
    items: Type.Array(Item, { minItems: 1, maxItems: 500 }),
    share: Share,
    open: OpenAttribute,
    updateCycle: UpdateCycle,
    related: Type.Optional(
      Type.Array(Type.String({ pattern: RESOURCE_CODE_PATTERN }), { maxItems: 100, uniqueItems: true }),
    ),
    service: Type.Optional(DataService),
    confidentiality: Type.Optional(Confidentiality),
    useTerms: Type.Optional(UseTerms),
  },
  { additionalProperties: false },
);
export type ResourceEntry = Static<typeof ResourceEntry>;
