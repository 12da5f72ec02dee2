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
 *   npx tsc -p . && node dist/bench/export-stages.js [--pages 200] [--rounds 5]
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

const { values: args } = parseArgs({
  options: { pages: { type: 'string', default: '200' }, rounds: { type: 'string', default: '5' } },
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
  masks: {
    idNumber: DEFAULT_MASKS.idNumber,
    name: DEFAULT_MASKS.name,
    phone: DEFAULT_MASKS.phone,
    address: DEFAULT_MASKS.address,
  },
  signResponse: false,
  quota: {},
};
const plan = arrayPagePlan('jsonl', obligations, COLUMNS, undefined);
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
console.log('round  copy-parse  mask+jsonl  utf8  gzip  aes-gcm  total   text B/row  gzip B/row');
for (let round = 1; round <= ROUNDS; round++) {
  const us = { parse: 0, text: 0, utf8: 0, gzip: 0, aes: 0 };
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
    `${String(round).padStart(5)}  ${per(us.parse).padStart(10)}  ${per(us.text).padStart(10)}  ${per(us.utf8)}  ${per(us.gzip)}  ${per(us.aes).padStart(7)}  ${per(us.parse + us.text + us.utf8 + us.gzip + us.aes)}  ${String(Math.round(textBytes / rows)).padStart(11)}  ${String(Math.round(gzipBytes / rows)).padStart(10)}`,
  );
}
