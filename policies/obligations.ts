/**
 * Obligations: what an allowed call must do to the provider's rows before they leave the gateway —
 * keep only the rows the grant covers, only the granted items (in catalog order), masked as granted.
 * This runs on every response, so each obligations object is compiled once into a plan and a row costs
 * one output object and the masked strings, nothing else.
 */

import { compileMask, type MaskRule } from '../catalog/masks.js';
import type { Quota, RowFilter } from './grant.js';

/** Read-only: `decide` may hand the same object to many calls (and plans are cached by identity). */
export interface Obligations {
  readonly grantId: string;
  /** Items to project to, in catalog order. */
  readonly items: readonly string[];
  /** Only items that must be masked. */
  readonly masks: Readonly<Record<string, MaskRule>>;
  readonly rowFilter?: RowFilter;
  /** The grant requires the response to be signed. */
  readonly signResponse: boolean;
  readonly quota: Quota;
}

interface Plan {
  filterItem: string | undefined;
  filterValue: string | undefined;
  names: string[];
  /** Names that objects inherit (e.g. "constructor"): read only as own properties of a row. */
  inherited: boolean[];
  masks: (((value: string) => string) | undefined)[];
}

const plans = new WeakMap<Obligations, Plan>();

function planFor(obligations: Obligations): Plan {
  let plan = plans.get(obligations);
  if (plan) return plan;
  const names = [...obligations.items];
  plan = {
    filterItem: obligations.rowFilter?.item,
    filterValue: obligations.rowFilter?.equals,
    names,
    inherited: names.map((name) => name in Object.prototype),
    masks: names.map((name) => {
      const rule = Object.hasOwn(obligations.masks, name) ? obligations.masks[name] : undefined;
      return rule ? compileMask(rule) : undefined;
    }),
  };
  plans.set(obligations, plan);
  return plan;
}

/**
 * Filters, projects and masks rows. A row passes the row filter when `String(value)` equals the filter
 * value (a missing or null value never passes). Items absent from a row stay absent; null stays null;
 * a non-string value of a masked item is masked as its string form.
 */
export function applyObligations(rows: readonly Record<string, unknown>[], obligations: Obligations) {
  const { filterItem, filterValue, names, inherited, masks } = planFor(obligations);
  const filterInherited = filterItem !== undefined && filterItem in Object.prototype;
  const out: Record<string, unknown>[] = [];
  for (const row of rows) {
    if (filterItem !== undefined) {
      const value = filterInherited && !Object.hasOwn(row, filterItem) ? undefined : row[filterItem];
      if (value === undefined || value === null || String(value) !== filterValue) continue;
    }
    const projected: Record<string, unknown> = {};
    for (let i = 0; i < names.length; i++) {
      const name = names[i]!;
      const value = inherited[i] && !Object.hasOwn(row, name) ? undefined : row[name];
      if (value === undefined) continue;
      const mask = masks[i];
      projected[name] = mask === undefined || value === null ? value : mask(String(value));
    }
    out.push(projected);
  }
  return out;
}

/**
 * The obligations compiled for rows that are arrays of values in `columns` order (bulk reads of a SQL
 * source), once per job: per granted item its column index (-1: the rows have no such column, the item
 * is absent from every row) and its mask, and the row filter's column. `keepsArrayRow` and
 * `obligedValue` then give for a row exactly what `applyObligations` gives for the same row as an object.
 */
export interface ArrayRowPlan {
  /** Granted items, in catalog order. */
  readonly names: readonly string[];
  /** Index in a row of each item's value, -1 for none. */
  readonly columns: readonly number[];
  readonly masks: readonly (((value: string) => string) | undefined)[];
  /** Index of the row filter's value; -1: no row filter; NO_ROW: the rows lack the filter item. */
  readonly filterColumn: number;
  readonly filterValue: string | undefined;
}

const NO_ROW = -2;

export function arrayRowPlan(obligations: Obligations, columns: readonly string[]): ArrayRowPlan {
  const { filterItem, filterValue, names, masks } = planFor(obligations);
  const index = (name: string) => columns.indexOf(name);
  return {
    names,
    columns: names.map(index),
    masks,
    filterColumn: filterItem === undefined ? -1 : index(filterItem) === -1 ? NO_ROW : index(filterItem),
    filterValue,
  };
}

/** Whether the row passes the grant's row filter. */
export function keepsArrayRow(plan: ArrayRowPlan, row: readonly unknown[]): boolean {
  const at = plan.filterColumn;
  if (at === -1) return true;
  if (at === NO_ROW) return false;
  const value = row[at];
  return value !== undefined && value !== null && String(value) === plan.filterValue;
}

/** Item `item` (index into `plan.names`) of a kept row, masked; undefined when the item is absent. */
export function obligedValue(plan: ArrayRowPlan, item: number, row: readonly unknown[]): unknown {
  const at = plan.columns[item]!;
  if (at === -1) return undefined;
  const value = row[at];
  if (value === undefined || value === null) return value;
  const mask = plan.masks[item];
  return mask === undefined ? value : mask(String(value));
}
