import { fullFormats } from 'ajv-formats/dist/formats.js';
import t from 'tap';
import { isCommonDate, isCommonDateTime, isDate, isDateTime } from '../../catalog/formats.js';

type FormatFunction = (value: string) => boolean;
const ajvDate = (fullFormats.date as { validate: FormatFunction }).validate;
const ajvDateTime = (fullFormats['date-time'] as { validate: FormatFunction }).validate;

/** A deterministic pseudo-random generator (mulberry32), so that a failure can be replayed. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let r = Math.imul(a ^ (a >>> 15), 1 | a);
    r = (r + Math.imul(r ^ (r >>> 7), 61 | r)) ^ r;
    return ((r ^ (r >>> 14)) >>> 0) / 4294967296;
  };
}

const pick = <T>(next: () => number, list: readonly T[]): T => list[Math.floor(next() * list.length)]!;
const two = (n: number) => String(n).padStart(2, '0');

const YEARS = [
  '0000',
  '0001',
  '1000',
  '1900',
  '1999',
  '2000',
  '2023',
  '2024',
  '2100',
  '9999',
  '20245',
  '202',
];
const MONTHS = ['00', '01', '02', '04', '09', '12', '13', '1', '99', 'ab'];
const DAYS = ['00', '01', '28', '29', '30', '31', '32', '3', '1a'];
const HOURS = ['00', '09', '23', '24', '99', '0', '-1'];
const MINUTES = ['00', '30', '59', '60', '5'];
const SECONDS = ['00', '30', '59', '60', '61', '6', '59.999', '60.5'];
const SEPARATORS = ['T', 't', ' ', '\n', '\t', '\u00a0', '\u2003', 'x', '', 'TT', 'T ', '_'];
const FRACTIONS = ['', '.', '.1', '.12', '.123', '.123456', '.123456789012', '.x', '..1', ',5'];
const ZONES = [
  'Z',
  'z',
  '',
  '+00:00',
  '-00:00',
  '+08:00',
  '-05:30',
  '+23:59',
  '+24:00',
  '+08:60',
  '+0800',
  '+08',
  '+8:00',
  '+08:0',
  '08:00',
  '+08:00Z',
  'Z ',
  ' Z',
  '+08:00\n',
  'UTC',
  '−08:00',
];

function candidateDateTime(next: () => number): string {
  if (next() < 0.1) {
    const alphabet = '0123456789-:.TtZz+ \n';
    let s = '';
    const n = Math.floor(next() * 36);
    for (let i = 0; i < n; i++) s += alphabet[Math.floor(next() * alphabet.length)];
    return s;
  }
  // Half of the candidates are near the common form, so that the fast path is exercised on both sides of it.
  const common = next() < 0.5;
  const date = common
    ? `${pick(next, YEARS.slice(0, 10))}-${two(1 + Math.floor(next() * 12))}-${two(1 + Math.floor(next() * 31))}`
    : `${pick(next, YEARS)}-${pick(next, MONTHS)}-${pick(next, DAYS)}`;
  const time = common
    ? `${two(Math.floor(next() * 25))}:${two(Math.floor(next() * 61))}:${two(Math.floor(next() * 62))}`
    : `${pick(next, HOURS)}:${pick(next, MINUTES)}:${pick(next, SECONDS)}`;
  const separator = common && next() < 0.8 ? 'T' : pick(next, SEPARATORS);
  const zone = common && next() < 0.8 ? pick(next, ZONES.slice(0, 9)) : pick(next, ZONES);
  return `${date}${separator}${time}${pick(next, FRACTIONS)}${zone}`;
}

const EDGES = [
  '2025-03-01T09:30:00+08:00',
  '2025-03-01T09:30:00.123456+00:00',
  '2025-03-01 09:30:00Z',
  '2025-03-01t09:30:00z',
  '2024-02-29T00:00:00Z',
  '2023-02-29T00:00:00Z',
  '1900-02-29T00:00:00Z',
  '2000-02-29T00:00:00Z',
  '2025-06-30T23:59:60Z',
  '2025-06-30T23:59:60+00:00',
  '2025-07-01T07:59:60+08:00',
  '2025-07-01T08:59:60+08:00',
  '2025-03-01T24:00:00Z',
  '2025-03-01T09:30:00',
  '2025-03-01T09:30:00+0800',
  '2025-03-01T09:30:00+08',
  '2025-03-01\u00a009:30:00Z',
  '2025-03-01T09:30:00.Z',
  '０２５-03-01T09:30:00Z',
  '2025-03-01T09:30:00Z\n',
  '',
  'T',
  '2025-03-01',
];

t.test(
  'date-time: the fast path accepts only what ajv-formats accepts, and the answer is always ajv-formats’',
  async (t) => {
    const next = random(19);
    let fastAccepted = 0;
    let rejected = 0;
    let disagreements = 0;
    const inputs = [...EDGES, ...Array.from({ length: 200_000 }, () => candidateDateTime(next))];
    for (const value of inputs) {
      const expected = ajvDateTime(value);
      if (isCommonDateTime(value)) {
        fastAccepted++;
        if (!expected) t.fail(`fast path accepted ${JSON.stringify(value)}, which ajv-formats refuses`);
      }
      if (!expected) rejected++;
      if (isDateTime(value) !== expected && disagreements++ < 10)
        t.fail(`isDateTime(${JSON.stringify(value)}) is not ajv-formats' ${expected}`);
    }
    t.equal(disagreements, 0, `${inputs.length} inputs`);
    t.ok(fastAccepted > 20_000, `the fast path decided ${fastAccepted} of them`);
    t.ok(rejected > 50_000, `${rejected} of them are not date-times`);
    for (const value of EDGES) t.equal(isDateTime(value), ajvDateTime(value), JSON.stringify(value));
    t.equal(isCommonDateTime('2025-03-01T09:30:00.123456+00:00'), true, 'the form the COPY reader writes');
    t.equal(isCommonDateTime('2025-06-30T23:59:60Z'), false, 'a leap second is left to ajv-formats');
    t.equal(isDateTime('2025-06-30T23:59:60Z'), true);
  },
);

t.test('date: exactly ajv-formats’', async (t) => {
  const next = random(7);
  let disagreements = 0;
  const inputs: string[] = [
    '2024-02-29',
    '2023-02-29',
    '1900-02-29',
    '2000-02-29',
    '0000-01-01',
    '2025-1-01',
  ];
  for (let i = 0; i < 100_000; i++) {
    inputs.push(
      next() < 0.2
        ? `${pick(next, YEARS)}${pick(next, ['-', '/', ''])}${pick(next, MONTHS)}-${pick(next, DAYS)}${pick(next, ['', ' ', 'T', '\n'])}`
        : `${pick(next, YEARS)}-${pick(next, MONTHS)}-${pick(next, DAYS)}`,
    );
  }
  let accepted = 0;
  for (const value of inputs) {
    const expected = ajvDate(value);
    if (expected) accepted++;
    if (isCommonDate(value) && !expected) t.fail(`fast path accepted ${JSON.stringify(value)}`);
    if (isDate(value) !== expected && disagreements++ < 10) t.fail(`isDate(${JSON.stringify(value)})`);
  }
  t.equal(disagreements, 0, `${inputs.length} inputs`);
  t.ok(accepted > 10_000 && accepted < inputs.length - 10_000, `${accepted} dates among them`);
});
