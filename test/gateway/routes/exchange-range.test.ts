import t from 'tap';
import { parseRange } from '../../../gateway/routes/exchange.js';

// RFC 9110 §14.2: what the file download makes of a Range header, for a file of 1000 bytes.
const cases: [string, string | undefined, ReturnType<typeof parseRange>][] = [
  ['no header: the whole file', undefined, undefined],
  ['from an offset to the end', 'bytes=100-', { start: 100, end: 999 }],
  ['a closed range', 'bytes=0-9', { start: 0, end: 9 }],
  ['a range past the end is cut to the end', 'bytes=990-5000', { start: 990, end: 999 }],
  ['the last 10 bytes', 'bytes=-10', { start: 990, end: 999 }],
  ['a suffix longer than the file: all of it', 'bytes=-5000', { start: 0, end: 999 }],
  ['starting at the end: unsatisfiable (416)', 'bytes=1000-', null],
  ['an empty suffix: unsatisfiable (416)', 'bytes=-0', null],
  ['several ranges are ignored: the whole file', 'bytes=0-10,20-30', undefined],
  ['another unit is ignored', 'items=0-5', undefined],
  ['a backwards range is invalid, so ignored', 'bytes=10-5', undefined],
  ['no positions at all is ignored', 'bytes=-', undefined],
  ['digits beyond safe integers are ignored', `bytes=${'9'.repeat(30)}-`, undefined],
];
for (const [name, header, expected] of cases) {
  t.same(parseRange(header, 1000), expected, name);
}
t.same(parseRange('bytes=-10', 0), null, 'nothing of an empty file can be sent as a range');
