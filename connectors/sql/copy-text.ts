/**
 * A streaming parser of PostgreSQL's COPY text format (what `COPY … TO STDOUT` sends by default): one
 * line per row ended by a newline, fields separated by tabs, `\N` for NULL, and a backslash escape for a
 * backslash and for the control characters the server escapes (`\b \f \n \r \t \v`). A raw newline or
 * tab never occurs inside a value, and no byte of a multi-byte UTF-8 character is below 0x80, so lines
 * and fields can be cut on bytes before any decoding.
 *
 * Each chunk is decoded to a string once up to its last newline (the rest waits for the next chunk) and
 * cut into rows; a row is the array `split` returns, its values replaced in place: NULL, unescaped, then
 * passed to the column's type parser (the driver's text-format parsers, so a value is exactly what a
 * query of the same row returns). Nothing per row but that array and its values.
 */

/** A column's text-format parser; `undefined` leaves the text as it is (text, varchar, …). */
export type TextParser = ((text: string) => unknown) | undefined;

const NEWLINE = 0x0a;
const NAMED: Record<string, string> = { b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v' };

/** A field's text with its backslash escapes undone; throws on an escape the server never writes. */
export function unescapeCopyText(field: string): string {
  let out = '';
  let from = 0;
  for (let at = field.indexOf('\\'); at !== -1; at = field.indexOf('\\', from)) {
    out += field.slice(from, at);
    const c = field[at + 1];
    if (c === undefined) throw new CopyFormatError('a value ends with a lone backslash');
    const named = NAMED[c];
    if (named !== undefined) {
      out += named;
      from = at + 2;
      continue;
    }
    // Octal (\ddd) and hex (\xhh) escapes encode bytes; only an ASCII byte is one character here.
    const code = /^[0-7]{1,3}/.exec(field.slice(at + 1, at + 4));
    const hex = c === 'x' ? /^[0-9A-Fa-f]{1,2}/.exec(field.slice(at + 2, at + 4)) : null;
    if (code || hex) {
      const byte = code ? Number.parseInt(code[0], 8) : Number.parseInt(hex![0], 16);
      if (byte === 0 || byte > 0x7f) throw new CopyFormatError('a value escapes a NUL or a non-ASCII byte');
      out += String.fromCharCode(byte);
      from = at + 1 + (code ? code[0].length : 1 + hex![0].length);
      continue;
    }
    // Any other escaped character stands for itself (the server escapes `\` this way).
    out += c;
    from = at + 2;
  }
  return out + field.slice(from);
}

export class CopyFormatError extends Error {}

export class CopyTextParser {
  readonly #parsers: readonly TextParser[];
  #rest: Buffer | undefined;

  constructor(parsers: readonly TextParser[]) {
    this.#parsers = parsers;
  }

  /** The rows whose line ends in `chunk` (or in what was left of earlier chunks and this one). */
  push(chunk: Buffer): unknown[][] {
    const data = this.#rest ? Buffer.concat([this.#rest, chunk]) : chunk;
    const end = data.lastIndexOf(NEWLINE);
    if (end === -1) {
      this.#rest = data;
      return [];
    }
    this.#rest = end + 1 < data.length ? Buffer.from(data.subarray(end + 1)) : undefined;
    const text = data.toString('utf8', 0, end);
    const rows: unknown[][] = [];
    let from = 0;
    for (;;) {
      const nl = text.indexOf('\n', from);
      rows.push(this.#row(nl === -1 ? text.slice(from) : text.slice(from, nl)));
      if (nl === -1) return rows;
      from = nl + 1;
    }
  }

  /** Checks that the data ended on a row boundary. */
  end(): void {
    if (this.#rest && this.#rest.length > 0) throw new CopyFormatError('the data ends inside a row');
  }

  #row(line: string): unknown[] {
    const parsers = this.#parsers;
    const fields: unknown[] = line.split('\t');
    if (fields.length !== parsers.length) {
      throw new CopyFormatError(`a row has ${fields.length} fields, not ${parsers.length}`);
    }
    if (line.indexOf('\\') === -1) {
      // No NULL and no escape anywhere in the line (the common case): only the type parsers.
      for (let i = 0; i < fields.length; i++) {
        const parse = parsers[i];
        if (parse !== undefined) fields[i] = parse(fields[i] as string);
      }
      return fields;
    }
    for (let i = 0; i < fields.length; i++) {
      let text = fields[i] as string;
      if (text.length === 2 && text === '\\N') {
        fields[i] = null;
        continue;
      }
      if (text.indexOf('\\') !== -1) text = unescapeCopyText(text);
      const parse = parsers[i];
      fields[i] = parse === undefined ? text : parse(text);
    }
    return fields;
  }
}
