/**
 * An evaluation prototype for issue 19 (not used by the export): a page of COPY text transcoded straight
 * into jsonl bytes, the design the brief asks to evaluate. Unmasked text columns are copied byte for byte
 * between quotes, timestamptz rewritten from PostgreSQL's `YYYY-MM-DD HH:MM:SS[.f]+00` to the driver's ISO
 * form in place, and only masked columns are decoded, masked and encoded; no array, object or string per
 * row otherwise, and one output buffer per page. Any line it does not handle exactly (a backslash escape,
 * a quote or control byte that JSON escapes, another timestamp form) goes through the current path
 * (CopyTextParser, arrayPageText, utf8) for that line alone, so the output is the current path's; the
 * export-stages bench checks it byte for byte on every page it times and on a page of hostile values.
 *
 * What it does not cover (and a production version must): other column types (numbers, booleans, dates,
 * json), the row filters, the cursor positions copy-pages.ts reads from each row, and bytes that are not
 * valid UTF-8 (a SQL_ASCII database), which the current path replaces by U+FFFD and this copies.
 */
import { CopyTextParser } from '../connectors/sql/copy-text.js';
import type { ArrayPagePlan } from '../exchange/array-rows.js';
import { arrayPageText } from '../exchange/array-rows.js';
import { utf8 } from '../exchange/file-writer.js';

export type ColumnKind = 'text' | 'timestamptz';

export interface TranscodePlan {
  /** Per output item (catalog order): its column, its `"name":` head in bytes, its mask. */
  items: { column: number; head: Buffer; mask: ((value: string) => string) | undefined }[];
  kinds: readonly ColumnKind[];
  /** The current path, for the lines the prototype leaves to it. */
  fallback: (line: Buffer) => Buffer;
}

export function transcodePlan(
  page: ArrayPagePlan,
  kinds: readonly ColumnKind[],
  parsers: readonly (((text: string) => unknown) | undefined)[],
): TranscodePlan {
  if (page.filterColumn !== -1 || page.rows.filterColumn !== -1) throw new Error('no row filters here');
  return {
    items: page.rows.names.map((name, i) => ({
      column: page.rows.columns[i]!,
      head: Buffer.from(`"${name}":`),
      mask: page.rows.masks[i],
    })),
    kinds,
    fallback: (line) => utf8(arrayPageText(page, new CopyTextParser(parsers).push(line)).text),
  };
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: the control characters are what JSON escapes
const NEEDS_ESCAPE = /["\\\u0000-\u001f\ud800-\udfff]/;

/** The jsonl bytes of a page of whole COPY text lines. */
export function transcodePage(plan: TranscodePlan, page: Buffer): Buffer {
  const out = Buffer.allocUnsafe(page.length * 3 + 64);
  const columns = plan.kinds.length;
  const starts = new Int32Array(columns);
  const ends = new Int32Array(columns);
  const charStarts = new Int32Array(columns);
  const charEnds = new Int32Array(columns);
  let at = 0;
  let from = 0;
  while (from < page.length) {
    const nl = page.indexOf(10, from);
    const end = nl === -1 ? page.length : nl;
    // Fields, and whether the line holds a byte that needs the general path.
    let field = 0;
    let start = from;
    let general = false;
    for (let i = from; i < end; i++) {
      const b = page[i]!;
      if (b === 9) {
        if (field < columns) {
          starts[field] = start;
          ends[field] = i;
        }
        field++;
        start = i + 1;
      } else if (b < 32 || b === 34 || b === 92) general = true;
    }
    if (field < columns) {
      starts[field] = start;
      ends[field] = end;
    }
    field++;
    if (!general && field === columns) {
      const lineAt = at;
      // The line decoded once, and its fields' character ranges, when a masked column needs them.
      let line: string | undefined;
      out[at++] = 123; // {
      for (let k = 0; k < plan.items.length; k++) {
        const item = plan.items[k]!;
        if (item.column === -1) continue;
        if (at !== lineAt + 1) out[at++] = 44; // ,
        at += item.head.copy(out, at);
        const s = starts[item.column]!;
        const e = ends[item.column]!;
        if (item.mask !== undefined) {
          if (line === undefined) {
            line = page.toString('utf8', from, end);
            let c = 0;
            for (let f = 0; f < columns; f++) {
              const tab = f === columns - 1 ? line.length : line.indexOf('\t', c);
              charStarts[f] = c;
              charEnds[f] = tab;
              c = tab + 1;
            }
          }
          const masked = item.mask(line.slice(charStarts[item.column]!, charEnds[item.column]!));
          if (NEEDS_ESCAPE.test(masked)) at += out.write(JSON.stringify(masked), at, 'utf8');
          else {
            out[at++] = 34;
            at += out.write(masked, at, 'utf8');
            out[at++] = 34;
          }
        } else if (plan.kinds[item.column] === 'timestamptz') {
          // "YYYY-MM-DD HH:MM:SS[.f]+00" → "YYYY-MM-DDTHH:MM:SS[.f]+00:00" (the driver's fast path)
          if (
            !(
              e - s >= 22 &&
              page[s + 4] === 45 &&
              page[s + 10] === 32 &&
              page[s + 13] === 58 &&
              page[s + 16] === 58 &&
              page[e - 3] === 43 &&
              page[e - 2] === 48 &&
              page[e - 1] === 48
            )
          ) {
            general = true;
            break;
          }
          out[at++] = 34;
          at += page.copy(out, at, s, e);
          out[at - (e - s) + 10] = 84; // T
          out[at++] = 58;
          out[at++] = 48;
          out[at++] = 48;
          out[at++] = 34;
        } else {
          out[at++] = 34;
          for (let i = s; i < e; i++) out[at++] = page[i]!;
          out[at++] = 34;
        }
      }
      if (!general) {
        out[at++] = 125; // }
        out[at++] = 10;
        from = end + 1;
        continue;
      }
      at = lineAt;
    }
    at += plan.fallback(page.subarray(from, end + 1)).copy(out, at);
    from = end + 1;
  }
  return out.subarray(0, at);
}
