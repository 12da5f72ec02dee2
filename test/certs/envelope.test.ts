import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import t from 'tap';
import {
  createEnvelope,
  DEFAULT_CHUNK_SIZE,
  decryptFile,
  EnvelopeEncryptor,
  parseHeader,
} from '../../certs/envelope.js';
import { openssl, tempDir } from './platform-fixture.js';

const work = tempDir(t, 'envelope');
const recipient = generateKeyPairSync('rsa', {
  modulusLength: 2048,
  publicKeyEncoding: { type: 'spki', format: 'pem' },
  privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
});
const stranger = generateKeyPairSync('rsa', {
  modulusLength: 2048,
  privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  publicKeyEncoding: { type: 'spki', format: 'pem' },
});
const SERIAL = '0a1b2c3d';
const SMALL = 1024;

/** Encrypts `plain` with the encryptor, ending a segment after each of `segments` (byte lengths). */
function seal(plain: Buffer, chunkSize: number, segments: number[] = []) {
  const envelope = createEnvelope({ publicKey: recipient.publicKey, serial: SERIAL }, { chunkSize });
  const encryptor = new EnvelopeEncryptor(envelope.dataKey, envelope.headerBytes);
  const parts: Buffer[] = [envelope.headerBytes];
  let at = 0;
  for (const length of segments) {
    parts.push(...encryptor.write(plain.subarray(at, at + length)), ...encryptor.endSegment(false));
    at += length;
  }
  parts.push(...encryptor.write(plain.subarray(at)), ...encryptor.endSegment(true));
  return { envelope, file: Buffer.concat(parts) };
}

let fileNo = 0;
async function open(file: Buffer, key: string = recipient.privateKey, gunzip = false) {
  const n = fileNo++;
  const input = join(work, `in-${n}.enc`);
  const output = join(work, `out-${n}.bin`);
  writeFileSync(input, file);
  try {
    const result = await decryptFile({ privateKey: key }, input, output, { gunzip });
    return { ok: true as const, plain: readFileSync(output), result, output };
  } catch (error) {
    return { ok: false as const, error: error as Error & { code?: string }, output };
  }
}

const leftovers = () => readdirSync(work).filter((name) => name.endsWith('.partial'));

t.test('round trip of empty, tiny, exact and multi-chunk plaintexts', async (t) => {
  const cases = [
    { name: 'empty', size: 0, chunkSize: SMALL },
    { name: '1 byte', size: 1, chunkSize: SMALL },
    { name: 'exactly one chunk', size: SMALL, chunkSize: SMALL },
    { name: 'many chunks and a short last one', size: SMALL * 7 + 333, chunkSize: SMALL },
    { name: 'default chunk size', size: DEFAULT_CHUNK_SIZE * 3 + 5, chunkSize: DEFAULT_CHUNK_SIZE },
  ];
  for (const c of cases) {
    const plain = randomBytes(c.size);
    const { file } = seal(plain, c.chunkSize);
    const opened = await open(file);
    t.ok(opened.ok, `${c.name}: decrypts`);
    if (opened.ok) {
      t.same(opened.plain, plain, `${c.name}: same bytes`);
      t.equal(opened.result.header.recipientSerial, SERIAL);
      t.equal(statSync(opened.output).mode & 0o777, 0o600, `${c.name}: plaintext file is 0600`);
    }
  }
});

t.test('segments end in short frames and still decrypt', async (t) => {
  const plain = randomBytes(SMALL * 5);
  const { file } = seal(plain, SMALL, [100, SMALL * 2, 0, 7]);
  const opened = await open(file);
  t.ok(opened.ok && opened.plain.equals(plain));
});

t.test('an encryptor started at chunk N continues the file byte for byte', async (t) => {
  const plain = randomBytes(SMALL * 6 + 99);
  const envelope = createEnvelope({ publicKey: recipient.publicKey, serial: SERIAL }, { chunkSize: SMALL });
  const whole = new EnvelopeEncryptor(envelope.dataKey, envelope.headerBytes);
  const first = [...whole.write(plain.subarray(0, 2500)), ...whole.endSegment(false)];
  const rest = [...whole.write(plain.subarray(2500)), ...whole.endSegment(true)];
  const resumed = new EnvelopeEncryptor(envelope.dataKey, envelope.headerBytes, first.length);
  const again = [...resumed.write(plain.subarray(2500)), ...resumed.endSegment(true)];
  t.same(Buffer.concat(again), Buffer.concat(rest), 'same frames from the same chunk index');
  t.equal(resumed.nextChunk, whole.nextChunk);
});

t.test('damaged files fail with a clear error and leave no plaintext', async (t) => {
  const plain = randomBytes(SMALL * 4 + 10);
  const { file, envelope } = seal(plain, SMALL);
  const headerLength = envelope.headerBytes.length;
  const frame = 5 + SMALL + 16;
  const flip = (at: number) => {
    const copy = Buffer.from(file);
    copy[at]! ^= 0x01;
    return copy;
  };
  const swapped = Buffer.concat([
    file.subarray(0, headerLength),
    file.subarray(headerLength + frame, headerLength + 2 * frame),
    file.subarray(headerLength, headerLength + frame),
    file.subarray(headerLength + 2 * frame),
  ]);
  const cases: { name: string; file: Buffer; code: string; key?: string }[] = [
    { name: 'cut inside the header', file: file.subarray(0, 20), code: 'ENVELOPE_TRUNCATED' },
    {
      name: 'cut inside a frame',
      file: file.subarray(0, headerLength + frame + 100),
      code: 'ENVELOPE_TRUNCATED',
    },
    {
      name: 'last frame dropped',
      file: file.subarray(0, headerLength + 4 * frame),
      code: 'ENVELOPE_TRUNCATED',
    },
    { name: 'ciphertext byte flipped', file: flip(headerLength + frame + 40), code: 'ENVELOPE_TAMPERED' },
    { name: 'tag byte flipped', file: flip(headerLength + frame - 1), code: 'ENVELOPE_TAMPERED' },
    { name: 'last flag set early', file: flip(headerLength), code: 'ENVELOPE_TAMPERED' },
    { name: 'header nonce byte flipped', file: flip(14), code: 'ENVELOPE_TAMPERED' },
    { name: 'frames swapped', file: swapped, code: 'ENVELOPE_TAMPERED' },
    { name: 'data appended', file: Buffer.concat([file, Buffer.alloc(40)]), code: 'ENVELOPE_FORMAT_INVALID' },
    {
      name: 'not an envelope',
      file: Buffer.from('hello world, not encrypted'),
      code: 'ENVELOPE_FORMAT_INVALID',
    },
    { name: 'wrong key', file, code: 'ENVELOPE_KEY_MISMATCH', key: stranger.privateKey },
  ];
  for (const c of cases) {
    const opened = await open(c.file, c.key);
    t.notOk(opened.ok, `${c.name}: refused`);
    if (!opened.ok) t.equal(opened.error.code, c.code, `${c.name}: ${opened.error.message}`);
    t.notOk(existsSync(opened.output), `${c.name}: no output file`);
  }
  t.same(leftovers(), [], 'no temporary files left');
  const wrong = await open(file, stranger.privateKey);
  t.match(wrong.ok ? '' : wrong.error.message, SERIAL, 'the key error names the recipient serial');
});

t.test('the header parses back and rejects unknown versions', async (t) => {
  const { envelope } = seal(Buffer.alloc(0), SMALL);
  const parsed = parseHeader(envelope.headerBytes);
  t.equal(parsed?.length, envelope.headerBytes.length);
  t.same(parsed?.header.noncePrefix, envelope.header.noncePrefix);
  t.equal(parseHeader(envelope.headerBytes.subarray(0, 10)), undefined, 'needs more bytes');
  const future = Buffer.from(envelope.headerBytes);
  future[6] = 2;
  t.throws(() => parseHeader(future), { code: 'ENVELOPE_FORMAT_INVALID' });
});

t.test('a file for a certificate, decrypted with gunzip', async (t) => {
  const keyPath = join(work, 'cert-key.pem');
  const certPath = join(work, 'cert.pem');
  const made = openssl([
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    keyPath,
    '-out',
    certPath,
    '-subj',
    '/CN=envelope-test',
    '-days',
    '1',
  ]);
  t.equal(made.status, 0, made.status === 0 ? 'openssl made a test certificate' : made.stderr);
  const text = Buffer.from('{"a":1}\n'.repeat(5000));
  const plainPath = join(work, 'rows.jsonl.gz');
  writeFileSync(plainPath, gzipSync(text));
  const encPath = join(work, 'rows.jsonl.gz.enc');
  const envelope = createEnvelope({ certPem: readFileSync(certPath, 'utf8'), serial: 'ff' });
  const encryptor = new EnvelopeEncryptor(envelope.dataKey, envelope.headerBytes);
  const gzipped = readFileSync(plainPath);
  writeFileSync(
    encPath,
    Buffer.concat([envelope.headerBytes, ...encryptor.write(gzipped), ...encryptor.endSegment(true)]),
  );
  const out = join(work, 'rows.jsonl');
  const result = await decryptFile({ privateKey: readFileSync(keyPath, 'utf8') }, encPath, out, {
    gunzip: true,
  });
  t.equal(result.bytes, text.length);
  t.equal(
    createHash('sha256').update(readFileSync(out)).digest('hex'),
    createHash('sha256').update(text).digest('hex'),
  );
  t.throws(
    () =>
      createEnvelope({
        publicKey: generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey,
        serial: 'ff',
      }),
    { code: 'ENVELOPE_RECIPIENT_INVALID' },
  );
});
