/**
 * Suite 2 of the bulk-file envelope (gm): the data key wrapped with SM2, chunks SM4-CTR with an
 * HMAC-SM3 tag. OpenSSL 3 decrypts a chunk and recomputes its tag from the bytes of the file.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import {
  createEnvelope,
  decryptFile,
  EnvelopeEncryptor,
  parseHeader,
  SUITE_ALGORITHMS,
  sm4CounterBlock,
  unwrapDataKey,
} from '../../certs/envelope.js';
import { issueSystemCertificate } from '../../certs/issue.js';
import { generateRsaKeyPair } from '../../certs/x509.js';
import { makePlatform, openssl, tempDir } from './platform-fixture.js';

const { platform } = await makePlatform(t, { crypto: 'gm' });
const system = await issueSystemCertificate(platform, {
  deptCode: '11420100010001138Y',
  deptName: '武汉市市场监督管理局',
  systemId: 'registration',
});
const work = tempDir(t, 'envelope-gm');
const chunkSize = 1024;
const plaintext = randomBytes(chunkSize * 3 + 300);
const envelope = createEnvelope({ certPem: system.certPem, serial: system.serial }, { chunkSize });
const encryptor = new EnvelopeEncryptor(envelope.dataKey, envelope.headerBytes);
const frames = [...encryptor.write(plaintext), ...encryptor.endSegment(true)];
const file = Buffer.concat([envelope.headerBytes, ...frames]);
const encrypted = join(work, 'file.gsx');
writeFileSync(encrypted, file);

t.test('an SM2 recipient gets suite 2, and the file decrypts with its SM2 key', async (t) => {
  t.equal(envelope.header.suite, 2);
  t.same(SUITE_ALGORITHMS[2], { keyWrap: 'sm2-encrypt-c1c3c2', content: 'sm4-ctr+hmac-sm3' });
  t.equal(frames.length, 4);
  t.equal(
    frames[0]!.length,
    5 + chunkSize + 32,
    'frame = head, ciphertext (CTR: same length), 32-byte HMAC-SM3',
  );
  const out = join(work, 'plain.bin');
  const result = await decryptFile({ privateKey: system.keyPem }, encrypted, out);
  t.equal(result.header.suite, 2);
  t.ok(readFileSync(out).equals(plaintext));
});

t.test('openssl enc -sm4-ctr and openssl mac HMAC-SM3 reproduce a chunk from the file', async (t) => {
  const parsed = parseHeader(file)!;
  const dataKey = unwrapDataKey(parsed.header, system.keyPem);
  t.ok(dataKey.equals(envelope.dataKey), 'the SM2-wrapped key unwraps with the system key');
  const headerBytes = file.subarray(0, parsed.length);
  for (const [index, last] of [
    [0, false],
    [3, true],
  ] as const) {
    let at = parsed.length;
    for (let i = 0; i < index; i++) at += 5 + file.readUInt32BE(at + 1) + 32;
    const length = file.readUInt32BE(at + 1);
    t.equal(file.readUInt8(at), last ? 1 : 0);
    const ciphertext = file.subarray(at + 5, at + 5 + length);
    const tag = file.subarray(at + 5 + length, at + 5 + length + 32);
    const block = sm4CounterBlock(parsed.header.noncePrefix, index, last);
    writeFileSync(join(work, `ct${index}.bin`), ciphertext);
    writeFileSync(join(work, `mac${index}.bin`), Buffer.concat([headerBytes, block, ciphertext]));
    const dec = openssl(
      [
        'enc',
        '-d',
        '-sm4-ctr',
        '-K',
        dataKey.subarray(0, 16).toString('hex'),
        '-iv',
        block.toString('hex'),
        '-in',
        `ct${index}.bin`,
        '-out',
        `pt${index}.bin`,
      ],
      work,
    );
    t.equal(dec.status, 0, dec.stderr);
    const expected = plaintext.subarray(index * chunkSize, index * chunkSize + length);
    t.ok(readFileSync(join(work, `pt${index}.bin`)).equals(expected), `chunk ${index} deciphered by openssl`);
    const mac = openssl(
      [
        'mac',
        '-digest',
        'sm3',
        '-macopt',
        `hexkey:${dataKey.subarray(16).toString('hex')}`,
        '-in',
        `mac${index}.bin`,
        'HMAC',
      ],
      work,
    );
    t.equal(mac.status, 0, mac.stderr);
    t.equal(mac.stdout.trim().toLowerCase(), tag.toString('hex'), `chunk ${index} tag recomputed by openssl`);
  }
});

t.test('tampering, the wrong key and an RSA key are refused without plaintext', async (t) => {
  const altered = Buffer.from(file);
  altered[parseHeader(file)!.length + 5 + 10]! ^= 0x01;
  writeFileSync(join(work, 'altered.gsx'), altered);
  await t.rejects(decryptFile({ privateKey: system.keyPem }, join(work, 'altered.gsx'), join(work, 'x1')), {
    code: 'ENVELOPE_TAMPERED',
  });
  const other = await issueSystemCertificate(platform, {
    deptCode: '11420100010001138Y',
    deptName: 'x',
    systemId: 'other',
  });
  await t.rejects(decryptFile({ privateKey: other.keyPem }, encrypted, join(work, 'x2')), {
    code: 'ENVELOPE_KEY_MISMATCH',
  });
  const rsa = await generateRsaKeyPair(2048);
  await t.rejects(decryptFile({ privateKey: rsa.privateKeyPem }, encrypted, join(work, 'x3')), {
    code: 'ENVELOPE_RECIPIENT_INVALID',
  });
  const cut = file.subarray(0, file.length - 40);
  writeFileSync(join(work, 'cut.gsx'), cut);
  await t.rejects(decryptFile({ privateKey: system.keyPem }, join(work, 'cut.gsx'), join(work, 'x4')), {
    code: 'ENVELOPE_TRUNCATED',
  });
});
