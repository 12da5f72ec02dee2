/**
 * The check plan of a resource, derived from one version of its catalog entry:
 * - schema: every row against the JSON Schema of the items (types, lengths, required and key items);
 * - identifier: items holding resident ID numbers, credit codes, division codes or phone numbers, known
 *   by their `sensitive` kind or their well-known names, checked with catalog/identifiers.ts;
 * - date: D and T items hold real dates / date-times;
 * - unique: the key (all key items together) appears once;
 * - freshness: the newest watermark is no older than the update cycle allows;
 * - consistency (optional): the same key in another resource agrees on a shared item.
 */

import {
  checkDivisionCode,
  checkIdNumber,
  checkPhone,
  checkUscc,
  type IdentifierCheck,
} from '../identifiers.js';
import { columnsValidator, type RowValidator, rowValidator, type ValuesValidator } from '../item-schema.js';
import { compileMask, DEFAULT_MASKS } from '../masks.js';
import type { Item, ResourceEntry, SensitiveKind, UpdateCycle } from '../schema.js';

export type IdentifierKind = 'idNumber' | 'uscc' | 'divisionCode' | 'phone';

/** Well-known item names (camelCase and pinyin initials) of identifiers whose item has no `sensitive` kind. */
const NAME_PATTERNS: [IdentifierKind, RegExp][] = [
  ['idNumber', /^(idNumber|idCard|idCardNo|citizenId|sfzh|gmsfhm)$|IdNumber$|IdCard$/],
  ['uscc', /^(uscc|creditCode|tyshxydm)$|Uscc$|CreditCode$/],
  ['divisionCode', /^(divisionCode|regionCode|xzqhdm|xzqh)$|DivisionCode$/],
  ['phone', /^(phone|mobile|telephone|lxdh|sjhm)$|Phone$|Mobile$/],
];

const CHECKS: Record<IdentifierKind, (value: string, today: Date) => IdentifierCheck> = {
  idNumber: checkIdNumber,
  uscc: (value) => checkUscc(value),
  divisionCode: (value) => checkDivisionCode(value),
  phone: (value) => checkPhone(value),
};

/** Hours an update cycle allows between updates; `other` (irregular) has no limit. */
export const CYCLE_MAX_AGE_HOURS: Readonly<Record<UpdateCycle, number | undefined>> = {
  realtime: 1,
  daily: 24,
  weekly: 7 * 24,
  monthly: 31 * 24,
  quarterly: 92 * 24,
  // 1 July to 1 January is 184 days; a check early on 1 January precedes that half's update.
  halfyearly: 184 * 24,
  yearly: 366 * 24,
  other: undefined,
};

export interface IdentifierRule {
  rule: string;
  item: string;
  kind: IdentifierKind;
  check: (value: string, today: Date) => IdentifierCheck;
}

/**
 * The same key in another resource must agree on an item. `fetch` returns the other resource's value of
 * `otherItem` for each key it holds (keys are the key item's values as strings; a single-item key only).
 */
export interface ConsistencyRule {
  rule: string;
  item: string;
  otherResource: string;
  otherItem: string;
  /** The meaning both items share (一数一源), when the rule comes from the item-source registry. */
  semanticId?: string;
  fetch: (keys: string[]) => Promise<Map<string, unknown>>;
}

export interface QualityPlan {
  resource: string;
  version: number;
  updateCycle: UpdateCycle;
  items: ReadonlyMap<string, Item>;
  key: readonly string[];
  watermark?: string;
  validateRow: RowValidator;
  /** A validator of rows given as the values of `columns` (same answers as `validateRow` on their objects). */
  validateColumns: (columns: readonly string[]) => ValuesValidator;
  identifiers: IdentifierRule[];
  dates: { rule: string; item: string }[];
  maxAgeMs?: number;
  consistency: ConsistencyRule[];
  /** How each item's value is shown in examples (masked by kind; hidden for memo and general items). */
  showValue: (item: string, value: unknown) => string | undefined;
}

export interface QualityPlanOptions {
  consistency?: Omit<ConsistencyRule, 'rule'>[];
}

/** The identifier an item holds: its `sensitive` kind first, then its name. */
export function identifierKindOf(item: Item): IdentifierKind | undefined {
  if (item.sensitive === 'idNumber' || item.sensitive === 'uscc' || item.sensitive === 'phone')
    return item.sensitive;
  if (item.sensitive === undefined || item.sensitive === 'other') {
    for (const [kind, pattern] of NAME_PATTERNS) if (pattern.test(item.name)) return kind;
  }
  return undefined;
}

const MAX_SHOWN = 40;

function valueShower(items: Item[]): (item: string, value: unknown) => string | undefined {
  const shows = new Map<string, (value: unknown) => string | undefined>();
  for (const item of items) {
    const kind = identifierKindOf(item);
    const sensitive =
      (item.sensitive as SensitiveKind | undefined) ??
      (kind === 'idNumber' || kind === 'uscc' || kind === 'phone' ? kind : undefined);
    if (sensitive) {
      const mask = compileMask(DEFAULT_MASKS[sensitive]);
      shows.set(item.name, (v) =>
        v === null || v === undefined ? undefined : mask(typeof v === 'string' ? v : JSON.stringify(v)),
      );
    } else if (item.dataType === 'M' || item.dataType === 'G') {
      shows.set(item.name, () => undefined);
    } else {
      shows.set(item.name, (v) => {
        if (v === undefined) return undefined;
        const text = typeof v === 'string' ? v : JSON.stringify(v);
        return Array.from(text).length > MAX_SHOWN
          ? `${Array.from(text).slice(0, MAX_SHOWN).join('')}…`
          : text;
      });
    }
  }
  // Names that are not items of the entry may hold anything: never shown.
  return (item, value) => shows.get(item)?.(value);
}

export function qualityPlan(
  entry: ResourceEntry,
  version: number,
  options: QualityPlanOptions = {},
): QualityPlan {
  const items = new Map(entry.items.map((item) => [item.name, item]));
  const key = entry.items.filter((item) => item.key === true).map((item) => item.name);
  const identifiers: IdentifierRule[] = [];
  for (const item of entry.items) {
    const kind = identifierKindOf(item);
    if (kind) identifiers.push({ rule: `${kind}:${item.name}`, item: item.name, kind, check: CHECKS[kind] });
  }
  const dates = entry.items
    .filter((item) => item.dataType === 'D' || item.dataType === 'T')
    .map((item) => ({ rule: `date:${item.name}`, item: item.name }));
  const consistency = (options.consistency ?? []).map((c) => {
    if (!items.has(c.item))
      throw new RangeError(`consistency item "${c.item}" is not an item of ${entry.code}`);
    if (key.length !== 1)
      throw new RangeError(`consistency needs a resource keyed by one item; ${entry.code} has ${key.length}`);
    return { ...c, rule: `consistency:${c.item}@${c.otherResource}` };
  });
  const updateCycle = entry.updateCycle as UpdateCycle;
  const hours = CYCLE_MAX_AGE_HOURS[updateCycle];
  const plan: QualityPlan = {
    resource: entry.code,
    version,
    updateCycle,
    items,
    key,
    validateRow: rowValidator(entry, version),
    validateColumns: (columns) => columnsValidator(entry, version, columns),
    identifiers,
    dates,
    consistency,
    showValue: valueShower(entry.items),
  };
  if (entry.service?.watermark) plan.watermark = entry.service.watermark;
  if (hours !== undefined) plan.maxAgeMs = hours * 3_600_000;
  return plan;
}
