/**
 * How a bulk export's CPU per row divides between its stages, on rows held in memory (no database, no
 * files): parsing COPY text into array rows (copy-text.ts, with the driver's timestamptz parser), masking
 * and jsonl from array rows (array-rows.ts, as the export does for SQL sources), encoding
 * to UTF-8 (file-writer.ts), gzip at the export's default level, and the AES-256-GCM envelope. Beside
 * exchange-pg.ts, which measures the whole export against COPY, it tells which stage a change should aim
 * at. The rows are the simulator's residents with the six columns of the exchange-pg bench; the grant
 * masks ID number, name, phone and address by the default rules. Each page is timed and then dropped, as
 * in the export (keeping every page's text alive would time the garbage collector instead).
 *
 *   npx tsc -p . && node dist/bench/export-stages.js [--pages 200] [--rounds 5] [--masks none]
 *
 * The last column times the prototype of issue 19's design, COPY text transcoded straight into jsonl
 * (bench/copy-jsonl.ts), against the three stages it replaces; each of its pages is checked to be byte for
 * byte the current path's, and so is a page of hostile values before the rounds.
 *
 * Bounded: pages × rounds pages of 1000 rows (~10 s at the defaults). Loopback is not even needed.
 */

import { generateKeyPairSync } from 'node:crypto';
import { cpuUsage } from 'node:process';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';
import { DEFAULT_MASKS } from '../catalog/masks.js';
import { createEnvelope, EnvelopeEncryptor } from '../certs/envelope.js';
import { DATASET_KINDS } from '../connectors/simulator/datasets.js';
import { CopyTextParser } from '../connectors/sql/copy-text.js';
import { isoTimestamp } from '../connectors/sql/postgres-driver.js';
import { arrayPagePlan, arrayPageText } from '../exchange/array-rows.js';
import { DEFAULT_SETTINGS } from '../exchange/deps.js';
import { utf8 } from '../exchange/file-writer.js';
import type { Obligations } from '../policies/obligations.js';
import { transcodePage, transcodePlan } from './copy-jsonl.js';

const { values: args } = parseArgs({
  options: {
    pages: { type: 'string', default: '200' },
    rounds: { type: 'string', default: '5' },
    // `none`: a grant that masks nothing (what the transcoding prototype gains without masked columns)
    masks: { type: 'string', default: 'default' },
  },
});
const PAGES = Math.max(1, Math.min(2000, Number(args.pages)));
const ROUNDS = Math.max(1, Math.min(20, Number(args.rounds)));
const PAGE_ROWS = 1000;
const COLUMNS = ['idNumber', 'name', 'phone', 'address', 'divisionCode', 'updatedAt'];

const residents = DATASET_KINDS.residents;
/** Each page as PostgreSQL sends it from COPY … TO STDOUT (text format, timestamptz in a UTC session). */
const pages: Buffer[] = [];
for (let p = 0; p < PAGES; p++) {
  let text = '';
  for (let i = 0; i < PAGE_ROWS; i++) {
    const index = p * PAGE_ROWS + i;
    const row = residents.row(index);
    const updatedAt = new Date(residents.updatedAtMs(index))
      .toISOString()
      .replace('T', ' ')
      .replace('Z', '+00');
    text += `${COLUMNS.map((c) => (c === 'updatedAt' ? updatedAt : String(row[c] ?? ''))).join('\t')}\n`;
  }
  pages.push(Buffer.from(text, 'utf8'));
}
/** The driver's parsers for the six columns: text as it is, timestamptz to ISO 8601. */
const parsers = COLUMNS.map((c) => (c === 'updatedAt' ? (text: string) => isoTimestamp(text) : undefined));

const obligations: Obligations = {
  grantId: 'bench',
  items: COLUMNS,
  masks:
    args.masks === 'none'
      ? {}
      : {
          idNumber: DEFAULT_MASKS.idNumber,
          name: DEFAULT_MASKS.name,
          phone: DEFAULT_MASKS.phone,
          address: DEFAULT_MASKS.address,
        },
  signResponse: false,
  quota: {},
};
const plan = arrayPagePlan('jsonl', obligations, COLUMNS, undefined);
/** The prototype of COPY text → jsonl in one pass (bench/copy-jsonl.ts), checked against the path above. */
const transcoding = transcodePlan(
  plan,
  COLUMNS.map((c) => (c === 'updatedAt' ? 'timestamptz' : 'text')),
  parsers,
);
const currentPath = (page: Buffer) => utf8(arrayPageText(plan, new CopyTextParser(parsers).push(page)).text);
{
  // Hostile values in COPY text form: quotes, backslashes, tabs, newlines, NULL, control characters,
  // Unicode (astral too), empty strings, and timestamps the fast path does not take.
  const copyText = (v: string | null) =>
    v === null
      ? '\\N'
      : v.replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n').replace(/\r/g, '\\r');
  const hostile = [
    '',
    '"',
    'a"b',
    'back\\slash',
    'tab\tin',
    'new\nline',
    'cr\r',
    '\u0001\u001f',
    '𠮷𝒳😀',
    '张三',
    '𠮷',
    'x'.repeat(300),
  ];
  const times = [
    '2025-03-01 09:30:00+00',
    '2025-03-01 09:30:00.123456+00',
    '2025-03-01 09:30:00+08',
    'infinity',
  ];
  let text = '';
  for (let i = 0; i < 600; i++) {
    const pick = (k: number) => ((i * 7 + k * 13) % 17 === 0 ? null : hostile[(i + k) % hostile.length]!);
    const fields = COLUMNS.map((c, k) =>
      c === 'updatedAt' ? (i % 11 === 0 ? null : times[i % times.length]!) : pick(k),
    );
    text += `${fields.map(copyText).join('\t')}\n`;
  }
  const page = Buffer.from(text, 'utf8');
  if (!transcodePage(transcoding, page).equals(currentPath(page)))
    throw new Error('the transcoded page of hostile values differs from the current path');
  if (!transcodePage(transcoding, pages[0]!).equals(currentPath(pages[0]!)))
    throw new Error('the transcoded page differs from the current path');
  console.log('transcode prototype: byte-identical to the current path on 600 rows of hostile values');
}
const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const envelope = createEnvelope({ publicKey, serial: 'bc' });

/** CPU microseconds (user + system) spent in `work`. */
function cpuOf<T>(work: () => T): { value: T; us: number } {
  const before = cpuUsage();
  const value = work();
  const spent = cpuUsage(before);
  return { value, us: spent.user + spent.system };
}

console.log(
  `${PAGES} pages of ${PAGE_ROWS} rows, ${ROUNDS} rounds; CPU µs per row (the first round is warm-up)`,
);
console.log(
  'round  copy-parse  mask+jsonl  utf8  gzip  aes-gcm  total   text B/row  gzip B/row   transcode (parse+jsonl+utf8 in one)',
);
for (let round = 1; round <= ROUNDS; round++) {
  const us = { parse: 0, text: 0, utf8: 0, gzip: 0, aes: 0, transcode: 0 };
  const parser = new CopyTextParser(parsers);
  let textBytes = 0;
  let gzipBytes = 0;
  const encryptor = new EnvelopeEncryptor(envelope.dataKey, envelope.headerBytes);
  for (const page of pages) {
    const rows = cpuOf(() => parser.push(page));
    const text = cpuOf(() => arrayPageText(plan, rows.value).text);
    const bytes = cpuOf(() => utf8(text.value));
    const gzipped = cpuOf(() => gzipSync(bytes.value, { level: DEFAULT_SETTINGS.gzipLevel }));
    const sealed = cpuOf(() => encryptor.write(gzipped.value));
    const transcoded = cpuOf(() => transcodePage(transcoding, page));
    if (!transcoded.value.equals(bytes.value))
      throw new Error('a transcoded page differs from the current path');
    us.transcode += transcoded.us;
    us.parse += rows.us;
    us.text += text.us;
    us.utf8 += bytes.us;
    us.gzip += gzipped.us;
    us.aes += sealed.us;
    textBytes += bytes.value.length;
    gzipBytes += gzipped.value.length;
  }
  const rows = PAGES * PAGE_ROWS;
  const per = (n: number) => (n / rows).toFixed(2).padStart(5);
  console.log(
    `${String(round).padStart(5)}  ${per(us.parse).padStart(10)}  ${per(us.text).padStart(10)}  ${per(us.utf8)}  ${per(us.gzip)}  ${per(us.aes).padStart(7)}  ${per(us.parse + us.text + us.utf8 + us.gzip + us.aes)}  ${String(Math.round(textBytes / rows)).padStart(11)}  ${String(Math.round(gzipBytes / rows)).padStart(10)}   ${per(us.transcode)}`,
  );
}
