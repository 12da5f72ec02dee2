/**
 * Page text straight from array rows (connectors that read array pages, i.e. SQL sources): the request
 * filter, the grant's row filter, the projection, the masking and the serialization in one pass over a
 * page, with a plan compiled once per job. The text is exactly what the object path writes for the same
 * rows (`applyObligations`, then `serializerFor(format, items).page`): jsonl lines with the properties in
 * catalog order (items absent from the rows left out), csv fields through the same `csvField`.
 */
import {
  type ArrayRowPlan,
  arrayRowPlan,
  keepsArrayRow,
  type Obligations,
  obligedValue,
} from '../policies/obligations.js';
import type { ExchangeFormat, ExchangeJob } from './schema.js';
import { csvField } from './serialize.js';

export interface ArrayPagePlan {
  readonly format: ExchangeFormat;
  /** The page columns the plan was compiled for. */
  readonly columns: readonly string[];
  readonly rows: ArrayRowPlan;
  /** `"name":` of each item, for jsonl. */
  readonly heads: readonly string[];
  /** Column of the request filter's item: -1 none; -2 the rows lack it (no row passes). */
  readonly filterColumn: number;
  readonly filterEquals: string | undefined;
}

export function arrayPagePlan(
  format: ExchangeFormat,
  obligations: Obligations,
  columns: readonly string[],
  filter: ExchangeJob['filter'],
): ArrayPagePlan {
  const rows = arrayRowPlan(obligations, columns);
  const at = filter ? columns.indexOf(filter.item) : -1;
  return {
    format,
    columns,
    rows,
    heads: rows.names.map((name) => `${JSON.stringify(name)}:`),
    filterColumn: filter ? (at === -1 ? -2 : at) : -1,
    filterEquals: filter?.equals,
  };
}

/** Rows per piece of a page's text: a piece stays a small string (see file-writer.ts `utf8`). */
const PIECE_ROWS = 64;

/** The text of a page's rows that pass both filters, in pieces of up to PIECE_ROWS rows, and the rows. */
export function arrayPageText(
  plan: ArrayPagePlan,
  rows: readonly unknown[][],
): { text: string[]; rows: number } {
  const { filterColumn, filterEquals } = plan;
  const line = plan.format === 'csv' ? csvLine : jsonLine;
  const pieces: string[] = [];
  let text = '';
  let kept = 0;
  for (let r = 0; r < rows.length; r++) {
    const row = rows[r]!;
    if (filterColumn !== -1) {
      const value = filterColumn === -2 ? undefined : row[filterColumn];
      if (value === undefined || value === null || String(value) !== filterEquals) continue;
    }
    if (!keepsArrayRow(plan.rows, row)) continue;
    text += line(plan, row);
    kept++;
    if (kept % PIECE_ROWS === 0) {
      pieces.push(text);
      text = '';
    }
  }
  if (text !== '') pieces.push(text);
  return { text: pieces, rows: kept };
}

/** What JSON.stringify escapes in a string: quote, backslash, controls, lone surrogates (any surrogate here). */
// biome-ignore lint/suspicious/noControlCharactersInRegex: the control characters are what JSON escapes
const NEEDS_ESCAPE = /["\\\u0000-\u001f\ud800-\udfff]/;

function jsonLine(plan: ArrayPagePlan, row: readonly unknown[]): string {
  const { heads } = plan;
  let line = '';
  for (let i = 0; i < heads.length; i++) {
    const value = obligedValue(plan.rows, i, row);
    if (value === undefined) continue;
    const json =
      typeof value === 'string' && !NEEDS_ESCAPE.test(value)
        ? `"${value}"`
        : (JSON.stringify(value) as string | undefined);
    // What JSON.stringify leaves out of an object (a function, a symbol), it leaves out here.
    if (json === undefined) continue;
    line += `${line === '' ? '{' : ','}${heads[i]}${json}`;
  }
  return line === '' ? '{}\n' : `${line}}\n`;
}

function csvLine(plan: ArrayPagePlan, row: readonly unknown[]): string {
  const n = plan.heads.length;
  let line = '';
  for (let i = 0; i < n; i++) {
    if (i > 0) line += ',';
    line += csvField(obligedValue(plan.rows, i, row));
  }
  return `${line}\r\n`;
}
