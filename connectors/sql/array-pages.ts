/**
 * Pages of rows as arrays of column values, for readers of whole tables (bulk exchange): a row costs one
 * array and its values, not an object with a property per column, and the reader resolves a column to its
 * index once per job. The rows and the cursors are exactly those of `Connector.page` for the same options.
 * Only the SQL connector offers it (a front-end processor sends JSON objects anyway); a reader checks
 * with `readsArrayPages` and falls back to `page`.
 */
import type { Connector, PageOptions } from '../types.js';

export interface ArrayPage {
  /** Column (item) names; the values of each row are in this order. */
  columns: readonly string[];
  /** One array per row, one value per column (null for SQL NULL, never absent). */
  rows: unknown[][];
  /** Cursor of the following page; absent on the last page. */
  next?: string;
  /** Rows in the whole result when counted at its start. */
  total?: number;
}

export interface ArrayPageReader {
  /** One page of the whole data set, as `page(opts)` would return it, with array rows. */
  arrayPage(opts: PageOptions): Promise<ArrayPage>;
}

export function readsArrayPages<C extends Connector>(connector: C): connector is C & ArrayPageReader {
  return typeof (connector as Partial<ArrayPageReader>).arrayPage === 'function';
}

/** Rows as objects keyed by column name (what `page` returns). */
export function rowObjects(
  columns: readonly string[],
  rows: readonly unknown[][],
): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = new Array(rows.length);
  for (let r = 0; r < rows.length; r++) {
    const values = rows[r]!;
    const row: Record<string, unknown> = {};
    for (let i = 0; i < columns.length; i++) row[columns[i]!] = values[i];
    out[r] = row;
  }
  return out;
}
