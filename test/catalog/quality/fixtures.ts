/**
 * A social insurance enrolment resource and synthetic rows for quality checks, with planted faults:
 * bad ID numbers (wrong check character), bad credit codes (wrong check character), duplicate keys
 * (extra rows repeating an earlier key) and a chosen newest watermark. Deterministic: the same
 * arguments give the same rows.
 */
import {
  idNumberCheckCharacter,
  organisationCheckCharacter,
  usccCheckCharacter,
} from '../../../catalog/identifiers.js';
import type { ResourceEntry } from '../../../catalog/schema.js';
import { HUMAN_RESOURCES } from '../fixtures.js';

export function enrolmentEntry(cycle: ResourceEntry['updateCycle'] = 'daily'): ResourceEntry {
  return {
    code: '201003/7',
    name: '社会保险参保登记',
    summary: '参保人员的参保单位、参保地和缴费基数',
    classification: { category: 'theme', code: '201003' },
    provider: { code: HUMAN_RESOURCES, name: '武汉市人力资源和社会保障局' },
    confidentiality: { result: 'not-classified', reviewedBy: '本单位保密工作机构', reviewedOn: '2026-01-05' },
    format: { type: 'database', subtype: 'PostgreSQL' },
    items: [
      {
        name: 'idNumber',
        label: '公民身份号码',
        dataType: 'C',
        length: 18,
        key: true,
        sensitive: 'idNumber',
      },
      { name: 'name', label: '姓名', dataType: 'C', length: 20, required: true, sensitive: 'name' },
      { name: 'employerCreditCode', label: '参保单位统一社会信用代码', dataType: 'C', length: 18 },
      { name: 'divisionCode', label: '参保地行政区划代码', dataType: 'C', length: 6 },
      { name: 'phone', label: '联系电话', dataType: 'C', length: 20, sensitive: 'phone' },
      { name: 'enrolledOn', label: '参保日期', dataType: 'D' },
      { name: 'monthlyBase', label: '缴费基数', dataType: 'Y' },
      { name: 'updatedAt', label: '更新时间', dataType: 'T' },
    ],
    share: { type: 'conditional', legalBasis: '《社会保险法》', modes: ['api', 'bulk'] },
    open: { type: 'none' },
    updateCycle: cycle,
    service: { connector: 'sql', endpoint: 'frontdb', table: 'enrolment', watermark: 'updatedAt' },
  };
}

export interface SyntheticOptions {
  /** Rows before the duplicates are appended. */
  rows: number;
  /** Row indexes whose ID number gets a wrong check character. */
  badIdNumbers?: Iterable<number>;
  /** Row indexes whose credit code gets a wrong check character. */
  badCreditCodes?: Iterable<number>;
  /** Row indexes whose key is repeated by one extra row at the end. */
  duplicateOf?: Iterable<number>;
  /** The newest updatedAt (row 0 has it; the others are older). */
  newestMs: number;
}

const DAY = 86_400_000;
const ID_CHECKS = '10X98765432';
const USCC_CHARS = '0123456789ABCDEFGHJKLMNPQRTUWXY';

export function idNumberFor(i: number): string {
  const birth = new Date(Date.UTC(1960, 0, 1) + (i % 20_000) * DAY)
    .toISOString()
    .slice(0, 10)
    .replaceAll('-', '');
  const first17 = `420102${birth}${String(Math.floor(i / 20_000) % 1000).padStart(3, '0')}`;
  return first17 + idNumberCheckCharacter(first17);
}

export function creditCodeFor(i: number): string {
  // Characters 9-17 are an organisation code with its own GB 11714 check character.
  const body = String(i).padStart(8, '0');
  const first17 = `91420100${body}${organisationCheckCharacter(body)}`;
  return first17 + usccCheckCharacter(first17);
}

const wrongLast = (value: string, alphabet: string) =>
  value.slice(0, -1) + alphabet[(alphabet.indexOf(value.at(-1)!) + 1) % alphabet.length];

export function syntheticRow(i: number, newestMs: number): Record<string, unknown> {
  return {
    idNumber: idNumberFor(i),
    name: `参保人${i}`,
    employerCreditCode: creditCodeFor(i % 5000),
    divisionCode: '420102',
    phone: `139${String(i).padStart(8, '0')}`,
    enrolledOn: new Date(Date.UTC(2010, 0, 1) + (i % 5000) * DAY).toISOString().slice(0, 10),
    monthlyBase: 3000 + (i % 700),
    updatedAt: new Date(newestMs - (i % 1000) * 60_000).toISOString(),
  };
}

export function* syntheticRows(options: SyntheticOptions): Generator<Record<string, unknown>> {
  const badIds = new Set(options.badIdNumbers ?? []);
  const badCodes = new Set(options.badCreditCodes ?? []);
  const row = (i: number) => {
    const r = syntheticRow(i, options.newestMs);
    if (badIds.has(i)) r.idNumber = wrongLast(r.idNumber as string, ID_CHECKS);
    if (badCodes.has(i)) {
      r.employerCreditCode = wrongLast(creditCodeFor(100_000 + i), USCC_CHARS);
    }
    return r;
  };
  for (let i = 0; i < options.rows; i++) yield row(i);
  for (const i of options.duplicateOf ?? []) yield { ...row(i), name: `重复${i}` };
}

export async function* asAsync<T>(rows: Iterable<T>): AsyncGenerator<T> {
  for (const row of rows) yield row;
}

/** `count` indexes spread over [0, rows): start, start + step, … */
export const spread = (count: number, start: number, step: number) =>
  Array.from({ length: count }, (_, k) => start + k * step);
