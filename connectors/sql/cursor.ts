/**
 * Page cursors of the SQL connector: the keyset position of the last row returned, as base64url JSON.
 * Opaque to callers, but not trusted: a decoded cursor must have the shape this data service produces
 * (one scalar per key column; a watermark exactly when the read is incremental) or it is refused. Its
 * values are only ever passed to the database as parameters.
 */
import { sqlConnectorErrors } from './errors.js';

export type CursorValue = string | number | boolean;

export interface SqlCursor {
  /** Key values of the last row, in key column order. */
  key: CursorValue[];
  /** Watermark of the last row (incremental reads only). */
  watermark?: CursorValue;
  /** Rows in the whole read, when counted at its start. */
  total?: number;
}

const MAX_CURSOR_LENGTH = 4096;

export function encodeCursor(cursor: SqlCursor): string {
  const body: { k: CursorValue[]; w?: CursorValue; t?: number } = { k: cursor.key };
  if (cursor.watermark !== undefined) body.w = cursor.watermark;
  if (cursor.total !== undefined) body.t = cursor.total;
  return Buffer.from(JSON.stringify(body)).toString('base64url');
}

const isScalar = (v: unknown): v is CursorValue =>
  typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v));

/** The cursor, checked against what this read expects: `keyLength` key values, a watermark iff `incremental`. */
export function decodeCursor(text: string, keyLength: number, incremental: boolean): SqlCursor {
  const invalid = () =>
    new sqlConnectorErrors.SQL_CURSOR_INVALID(
      `the page cursor was not made by this data service for ${incremental ? 'an incremental' : 'a full'} read`,
    );
  if (text.length > MAX_CURSOR_LENGTH || !/^[A-Za-z0-9_-]+$/.test(text)) throw invalid();
  let body: unknown;
  try {
    body = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    throw invalid();
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw invalid();
  const { k, w, t, ...rest } = body as Record<string, unknown>;
  if (Object.keys(rest).length > 0) throw invalid();
  if (!Array.isArray(k) || k.length !== keyLength || !k.every(isScalar)) throw invalid();
  if (incremental ? !isScalar(w) : w !== undefined) throw invalid();
  if (t !== undefined && !(typeof t === 'number' && Number.isSafeInteger(t) && t >= 0)) throw invalid();
  const cursor: SqlCursor = { key: k };
  if (w !== undefined) cursor.watermark = w as CursorValue;
  if (t !== undefined) cursor.total = t as number;
  return cursor;
}
