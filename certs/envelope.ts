/**
 * Bulk files encrypted for one consumer system: a fresh AES-256-GCM data key per file, wrapped with the
 * RSA public key of the system's certificate (RSA-OAEP, SHA-256), and the content sealed in chunks after
 * the STREAM construction (Hoang, Reyhanitabar, Rogaway, Vizár 2015), so that a reader detects
 * truncation, reordering and tampering and never releases a chunk it has not authenticated.
 *
 * Layout (all integers big-endian):
 *
 *   header  "GSXENV" · u8 version (1) · u8 suite (1 = RSA-OAEP-SHA256 + AES-256-GCM STREAM)
 *           · u32 chunkSize · 7-byte nonce prefix · u8 serial length · recipient certificate serial
 *           (lowercase hex, ASCII) · u16 wrapped-key length · wrapped key
 *   frames  u8 flags (bit 0: last) · u32 plaintext length (≤ chunkSize) · ciphertext · 16-byte GCM tag
 *
 * Chunk i is sealed under nonce = prefix ‖ u32 i ‖ u8 last with the whole header as AAD. GCM
 * authenticates the ciphertext length and the nonce carries the counter and the last flag, so a cut,
 * dropped, swapped or re-flagged frame fails its tag; a stream that ends without a last frame is
 * truncated. Frames are full (chunkSize) except where the writer ends a segment (see the exchange
 * runner: a resumable job closes a frame at every checkpoint) and the last one.
 *
 * Sealing is deterministic given (data key, header, chunk index, plaintext), so an encryptor started at
 * chunk N continues a file byte for byte: that is what makes a resumed export identical to an
 * uninterrupted one. Only node:crypto.
 *
 * Suite 2 (the gm profile, for an SM2 recipient certificate): the same layout and STREAM construction
 * with the national algorithms, encrypt-then-MAC, all native except the key wrap:
 *   - the 32-byte data key is wrapped with SM2 public-key encryption (GM/T 0003.4, C1‖C3‖C2, C1 the
 *     uncompressed point) by sm-crypto-v2;
 *   - its first 16 bytes are the SM4 key, the last 16 the HMAC-SM3 key;
 *   - chunk i is SM4-CTR under the 16-byte counter block nonce ‖ 00000000 (the 12-byte nonce above), and
 *     its tag is the full 32-byte HMAC-SM3 over header ‖ counter block ‖ ciphertext, so that
 *     `openssl enc -d -sm4-ctr -K <key> -iv <block>` and `openssl mac -digest sm3 -macopt hexkey:<mac key>
 *     HMAC` reproduce both from the bytes of the file.
 */
import {
  createCipheriv,
  createDecipheriv,
  createHmac,
  createPrivateKey,
  createPublicKey,
  constants as cryptoConstants,
  type KeyObject,
  privateDecrypt,
  publicEncrypt,
  randomBytes,
  randomUUID,
  timingSafeEqual,
} from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { createError } from '@fastify/error';
import { isSm2Key, sm2Decrypt, sm2Encrypt, sm2PrivateKeyHex } from './sm2.js';

export const EnvelopeFormatInvalid = createError('ENVELOPE_FORMAT_INVALID', '%s', 422);
export const EnvelopeKeyMismatch = createError('ENVELOPE_KEY_MISMATCH', '%s', 422);
export const EnvelopeTampered = createError('ENVELOPE_TAMPERED', '%s', 422);
export const EnvelopeTruncated = createError('ENVELOPE_TRUNCATED', '%s', 422);
export const EnvelopeRecipientInvalid = createError('ENVELOPE_RECIPIENT_INVALID', '%s', 422);

export const envelopeErrors = {
  EnvelopeFormatInvalid,
  EnvelopeKeyMismatch,
  EnvelopeTampered,
  EnvelopeTruncated,
  EnvelopeRecipientInvalid,
};

export const envelopeErrorDocs: Record<string, string> = {
  ENVELOPE_FORMAT_INVALID:
    'The file is not a govshare encrypted file of a supported version, or its framing is broken.',
  ENVELOPE_KEY_MISMATCH:
    'The private key does not open the file: it was encrypted for another certificate (the message names its serial).',
  ENVELOPE_TAMPERED: 'A chunk failed authentication: the file was altered or its chunks reordered.',
  ENVELOPE_TRUNCATED: 'The file ends before its last chunk: download it again (Range requests resume).',
  ENVELOPE_RECIPIENT_INVALID:
    'The recipient certificate or key is neither SM2 nor an RSA key of at least 2048 bits, or the key does not fit the file (an RSA key for an SM2-wrapped file).',
};

const MAGIC = Buffer.from('GSXENV', 'ascii');
export const ENVELOPE_VERSION = 1;
const SUITE_RSA_OAEP_AES_GCM_STREAM = 1;
const SUITE_SM2_SM4_CTR_HMAC_SM3_STREAM = 2;
export type EnvelopeSuite = typeof SUITE_RSA_OAEP_AES_GCM_STREAM | typeof SUITE_SM2_SM4_CTR_HMAC_SM3_STREAM;

/** What each suite uses, as the exchange manifest names it. */
export const SUITE_ALGORITHMS = {
  1: { keyWrap: 'rsa-oaep-sha256', content: 'aes-256-gcm' },
  2: { keyWrap: 'sm2-encrypt-c1c3c2', content: 'sm4-ctr+hmac-sm3' },
} as const;
export const DEFAULT_CHUNK_SIZE = 64 * 1024;
const MIN_CHUNK_SIZE = 1024;
const MAX_CHUNK_SIZE = 16 * 1024 * 1024;
const NONCE_PREFIX_BYTES = 7;
const TAG_BYTES = 16;
const SM3_TAG_BYTES = 32;
const tagBytes = (suite: EnvelopeSuite) =>
  suite === SUITE_SM2_SM4_CTR_HMAC_SM3_STREAM ? SM3_TAG_BYTES : TAG_BYTES;
const FRAME_HEAD_BYTES = 5;
const LAST = 1;
const MAX_CHUNKS = 2 ** 32;

export interface EnvelopeHeader {
  version: number;
  /** 1: RSA-OAEP + AES-256-GCM (intl); 2: SM2 + SM4-CTR + HMAC-SM3 (gm). */
  suite: EnvelopeSuite;
  chunkSize: number;
  noncePrefix: Buffer;
  recipientSerial: string;
  wrappedKey: Buffer;
}

export interface NewEnvelope {
  /** The AES-256 data key: keep it secret (the exchange job stores it sealed until the file is done). */
  dataKey: Buffer;
  header: EnvelopeHeader;
  /** The encoded header: the first bytes of the file and the AAD of every chunk. */
  headerBytes: Buffer;
}

/** A fresh data key and nonce prefix, the key wrapped for the certificate (or public key) given. */
export function createEnvelope(
  recipient: { certPem: string; serial: string } | { publicKey: KeyObject | string; serial: string },
  options: { chunkSize?: number } = {},
): NewEnvelope {
  const chunkSize = options.chunkSize ?? DEFAULT_CHUNK_SIZE;
  checkChunkSize(chunkSize);
  if (!/^[0-9a-f]{1,64}$/.test(recipient.serial)) {
    throw new EnvelopeRecipientInvalid(`recipient serial "${recipient.serial}" is not lowercase hex`);
  }
  const publicKey = recipientKey('certPem' in recipient ? recipient.certPem : recipient.publicKey);
  const dataKey = randomBytes(32);
  const sm2 = publicKey.kind === 'sm2';
  const wrappedKey = sm2
    ? sm2Encrypt(dataKey, publicKey.key)
    : publicEncrypt(
        { key: publicKey.key, padding: cryptoConstants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' },
        dataKey,
      );
  const header: EnvelopeHeader = {
    version: ENVELOPE_VERSION,
    suite: sm2 ? SUITE_SM2_SM4_CTR_HMAC_SM3_STREAM : SUITE_RSA_OAEP_AES_GCM_STREAM,
    chunkSize,
    noncePrefix: randomBytes(NONCE_PREFIX_BYTES),
    recipientSerial: recipient.serial,
    wrappedKey,
  };
  return { dataKey, header, headerBytes: encodeHeader(header) };
}

export function encodeHeader(header: EnvelopeHeader): Buffer {
  const serial = Buffer.from(header.recipientSerial, 'ascii');
  const fixed = Buffer.alloc(MAGIC.length + 2 + 4);
  MAGIC.copy(fixed, 0);
  fixed.writeUInt8(header.version, MAGIC.length);
  fixed.writeUInt8(header.suite, MAGIC.length + 1);
  fixed.writeUInt32BE(header.chunkSize, MAGIC.length + 2);
  const serialLength = Buffer.from([serial.length]);
  const keyLength = Buffer.alloc(2);
  keyLength.writeUInt16BE(header.wrappedKey.length);
  return Buffer.concat([fixed, header.noncePrefix, serialLength, serial, keyLength, header.wrappedKey]);
}

/**
 * The header at the start of `bytes`, and its length; undefined when more bytes are needed.
 * Throws ENVELOPE_FORMAT_INVALID for anything that is not a header this version writes.
 */
export function parseHeader(bytes: Buffer): { header: EnvelopeHeader; length: number } | undefined {
  const fixedLength = MAGIC.length + 2 + 4 + NONCE_PREFIX_BYTES + 1;
  const prefix = bytes.subarray(0, Math.min(bytes.length, MAGIC.length));
  if (!prefix.equals(MAGIC.subarray(0, prefix.length))) {
    throw new EnvelopeFormatInvalid('not a govshare encrypted file (the magic bytes GSXENV are missing)');
  }
  if (bytes.length < fixedLength) return undefined;
  const version = bytes.readUInt8(MAGIC.length);
  const suite = bytes.readUInt8(MAGIC.length + 1);
  if (
    version !== ENVELOPE_VERSION ||
    (suite !== SUITE_RSA_OAEP_AES_GCM_STREAM && suite !== SUITE_SM2_SM4_CTR_HMAC_SM3_STREAM)
  ) {
    throw new EnvelopeFormatInvalid(
      `envelope version ${version} suite ${suite} is not supported (this govshare reads version ${ENVELOPE_VERSION} suites 1 and 2): update govshare`,
    );
  }
  const chunkSize = bytes.readUInt32BE(MAGIC.length + 2);
  checkChunkSize(chunkSize, EnvelopeFormatInvalid);
  let at = MAGIC.length + 6;
  const noncePrefix = Buffer.from(bytes.subarray(at, at + NONCE_PREFIX_BYTES));
  at += NONCE_PREFIX_BYTES;
  const serialLength = bytes.readUInt8(at);
  at += 1;
  if (bytes.length < at + serialLength + 2) return undefined;
  const recipientSerial = bytes.subarray(at, at + serialLength).toString('ascii');
  if (!/^[0-9a-f]{1,64}$/.test(recipientSerial))
    throw new EnvelopeFormatInvalid('the header names no valid recipient serial');
  at += serialLength;
  const keyLength = bytes.readUInt16BE(at);
  at += 2;
  if (keyLength < 128 || keyLength > 1024)
    throw new EnvelopeFormatInvalid(`wrapped key of ${keyLength} bytes`);
  if (bytes.length < at + keyLength) return undefined;
  const wrappedKey = Buffer.from(bytes.subarray(at, at + keyLength));
  return {
    header: { version, suite: suite as EnvelopeSuite, chunkSize, noncePrefix, recipientSerial, wrappedKey },
    length: at + keyLength,
  };
}

/** Unwraps the data key with the recipient's private key (PKCS#8 or PKCS#1 PEM, or a KeyObject). */
export function unwrapDataKey(header: EnvelopeHeader, privateKey: KeyObject | string): Buffer {
  if (header.suite === SUITE_SM2_SM4_CTR_HMAC_SM3_STREAM) return unwrapSm2(header, privateKey);
  let key: KeyObject;
  try {
    key = typeof privateKey === 'string' ? createPrivateKey(privateKey) : privateKey;
  } catch {
    throw new EnvelopeRecipientInvalid('the key is not a PEM private key');
  }
  try {
    const dataKey = privateDecrypt(
      { key, padding: cryptoConstants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' },
      header.wrappedKey,
    );
    if (dataKey.length !== 32) throw new Error('wrong length');
    return dataKey;
  } catch {
    throw new EnvelopeKeyMismatch(
      `this file is encrypted for the certificate with serial ${header.recipientSerial}; the key given is not its private key`,
    );
  }
}

function unwrapSm2(header: EnvelopeHeader, privateKey: KeyObject | string): Buffer {
  let pem: string;
  try {
    pem =
      typeof privateKey === 'string'
        ? privateKey
        : privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    if (!isSm2Key(pem)) throw new Error('not SM2');
  } catch {
    throw new EnvelopeRecipientInvalid(
      'this file is wrapped with SM2: the key must be an SM2 private key (PEM)',
    );
  }
  try {
    const dataKey = sm2Decrypt(header.wrappedKey, sm2PrivateKeyHex(pem));
    if (dataKey.length !== 32) throw new Error('wrong length');
    return dataKey;
  } catch {
    throw new EnvelopeKeyMismatch(
      `this file is encrypted for the certificate with serial ${header.recipientSerial}; the key given is not its private key`,
    );
  }
}

/** Suite 2's SM4-CTR counter block for a chunk: the 12-byte nonce, then a 32-bit block counter from 0. */
export function sm4CounterBlock(prefix: Buffer, index: number, last: boolean): Buffer {
  return Buffer.concat([nonce(prefix, index, last), Buffer.alloc(4)]);
}

/** Suite 2's tag: HMAC-SM3 over header ‖ counter block ‖ ciphertext, with the last 16 bytes of the data key. */
function sm3Tag(dataKey: Buffer, header: Buffer, block: Buffer, ciphertext: Buffer): Buffer {
  return createHmac('sm3', dataKey.subarray(16)).update(header).update(block).update(ciphertext).digest();
}

function nonce(prefix: Buffer, index: number, last: boolean): Buffer {
  const n = Buffer.alloc(12);
  prefix.copy(n, 0);
  n.writeUInt32BE(index, NONCE_PREFIX_BYTES);
  n.writeUInt8(last ? LAST : 0, 11);
  return n;
}

/**
 * Seals plaintext into frames. `write` seals every full chunk; `endSegment` seals what is pending as a
 * short frame (a checkpoint boundary) or as the last frame. Start at `startChunk` to continue a file
 * whose first `startChunk` frames are already written: the output is the same as if it had not stopped.
 */
export class EnvelopeEncryptor {
  readonly #key: Buffer;
  readonly #header: Buffer;
  readonly #prefix: Buffer;
  readonly #suite: EnvelopeSuite;
  readonly #pending: Buffer;
  #pendingBytes = 0;
  #next: number;
  #done = false;

  constructor(dataKey: Buffer, headerBytes: Buffer, startChunk = 0) {
    const parsed = parseHeader(headerBytes);
    if (!parsed || parsed.length !== headerBytes.length)
      throw new EnvelopeFormatInvalid('not a complete envelope header');
    if (dataKey.length !== 32) throw new RangeError('the data key must be 32 bytes');
    if (!Number.isInteger(startChunk) || startChunk < 0 || startChunk >= MAX_CHUNKS)
      throw new RangeError('startChunk must be a chunk index');
    this.#key = dataKey;
    this.#header = headerBytes;
    this.#prefix = parsed.header.noncePrefix;
    this.#suite = parsed.header.suite;
    this.#pending = Buffer.alloc(parsed.header.chunkSize);
    this.#next = startChunk;
  }

  /** Index of the next frame to be sealed (= frames sealed so far, counting from chunk 0). */
  get nextChunk(): number {
    return this.#next;
  }

  write(data: Buffer): Buffer[] {
    if (this.#done) throw new Error('the envelope is already finished');
    const frames: Buffer[] = [];
    let at = 0;
    while (at < data.length) {
      const take = Math.min(data.length - at, this.#pending.length - this.#pendingBytes);
      data.copy(this.#pending, this.#pendingBytes, at, at + take);
      this.#pendingBytes += take;
      at += take;
      if (this.#pendingBytes === this.#pending.length) frames.push(this.#seal(false));
    }
    return frames;
  }

  /** Seals the pending bytes: as a (possibly short) frame, or as the last frame (possibly empty). */
  endSegment(last: boolean): Buffer[] {
    if (this.#done) throw new Error('the envelope is already finished');
    if (last) {
      this.#done = true;
      return [this.#seal(true)];
    }
    return this.#pendingBytes > 0 ? [this.#seal(false)] : [];
  }

  #seal(last: boolean): Buffer {
    if (this.#next >= MAX_CHUNKS) throw new RangeError('the file has more chunks than the nonce can count');
    const plaintext = this.#pending.subarray(0, this.#pendingBytes);
    if (this.#suite === SUITE_SM2_SM4_CTR_HMAC_SM3_STREAM) return this.#sealSm4(plaintext, last);
    const cipher = createCipheriv('aes-256-gcm', this.#key, nonce(this.#prefix, this.#next, last));
    cipher.setAAD(this.#header);
    const frame = Buffer.allocUnsafe(FRAME_HEAD_BYTES + plaintext.length + TAG_BYTES);
    frame.writeUInt8(last ? LAST : 0, 0);
    frame.writeUInt32BE(plaintext.length, 1);
    const written = cipher.update(plaintext);
    written.copy(frame, FRAME_HEAD_BYTES);
    const tail = cipher.final();
    tail.copy(frame, FRAME_HEAD_BYTES + written.length);
    cipher.getAuthTag().copy(frame, FRAME_HEAD_BYTES + plaintext.length);
    this.#pendingBytes = 0;
    this.#next++;
    return frame;
  }

  #sealSm4(plaintext: Buffer, last: boolean): Buffer {
    const block = sm4CounterBlock(this.#prefix, this.#next, last);
    const cipher = createCipheriv('sm4-ctr', this.#key.subarray(0, 16), block);
    const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    const head = Buffer.alloc(FRAME_HEAD_BYTES);
    head.writeUInt8(last ? LAST : 0, 0);
    head.writeUInt32BE(plaintext.length, 1);
    const frame = Buffer.concat([head, ciphertext, sm3Tag(this.#key, this.#header, block, ciphertext)]);
    this.#pendingBytes = 0;
    this.#next++;
    return frame;
  }
}

export type DecryptKey = { privateKey: KeyObject | string } | { dataKey: Buffer };

/**
 * A Transform that reads an encrypted file and outputs its plaintext, one authenticated chunk at a time.
 * It fails with ENVELOPE_* errors on a wrong key, a broken or altered frame, data after the last frame,
 * or an end without the last frame (so a caller must not treat output as complete before 'finish').
 */
export function createDecryptStream(key: DecryptKey, onHeader?: (header: EnvelopeHeader) => void): Transform {
  let buffered: Buffer = Buffer.alloc(0);
  let headerBytes: Buffer | undefined;
  let header: EnvelopeHeader | undefined;
  let dataKey: Buffer | undefined;
  let index = 0;
  let finished = false;

  const consume = (push: (b: Buffer) => void): void => {
    if (!header) {
      const parsed = parseHeader(buffered);
      if (!parsed) return;
      header = parsed.header;
      headerBytes = Buffer.from(buffered.subarray(0, parsed.length));
      buffered = buffered.subarray(parsed.length);
      dataKey = 'dataKey' in key ? key.dataKey : unwrapDataKey(header, key.privateKey);
      onHeader?.(header);
    }
    while (buffered.length >= FRAME_HEAD_BYTES) {
      if (finished)
        throw new EnvelopeFormatInvalid('data follows the last chunk: the file was altered or appended to');
      const flags = buffered.readUInt8(0);
      const length = buffered.readUInt32BE(1);
      if ((flags & ~LAST) !== 0 || length > header.chunkSize) {
        throw new EnvelopeFormatInvalid(`chunk ${index} has a broken frame header`);
      }
      const total = FRAME_HEAD_BYTES + length + tagBytes(header.suite);
      if (buffered.length < total) return;
      const last = flags === LAST;
      if (header.suite === SUITE_SM2_SM4_CTR_HMAC_SM3_STREAM) {
        const block = sm4CounterBlock(header.noncePrefix, index, last);
        const ciphertext = buffered.subarray(FRAME_HEAD_BYTES, FRAME_HEAD_BYTES + length);
        const tag = sm3Tag(dataKey!, headerBytes!, block, ciphertext);
        // Encrypt-then-MAC: nothing is deciphered before its tag checks (in constant time).
        if (!timingSafeEqual(tag, buffered.subarray(FRAME_HEAD_BYTES + length, total))) {
          throw new EnvelopeTampered(
            `chunk ${index} failed authentication: the file was altered, cut or its chunks reordered`,
          );
        }
        const decipher = createDecipheriv('sm4-ctr', dataKey!.subarray(0, 16), block);
        const plaintext = Buffer.concat([decipher.update(ciphertext), decipher.final()]);
        buffered = buffered.subarray(total);
        index++;
        finished = last;
        if (plaintext.length > 0) push(plaintext);
        continue;
      }
      const decipher = createDecipheriv('aes-256-gcm', dataKey!, nonce(header.noncePrefix, index, last));
      decipher.setAAD(headerBytes!);
      decipher.setAuthTag(buffered.subarray(FRAME_HEAD_BYTES + length, total));
      let plaintext: Buffer;
      try {
        plaintext = Buffer.concat([
          decipher.update(buffered.subarray(FRAME_HEAD_BYTES, FRAME_HEAD_BYTES + length)),
          decipher.final(),
        ]);
      } catch {
        throw new EnvelopeTampered(
          `chunk ${index} failed authentication: the file was altered, cut or its chunks reordered`,
        );
      }
      buffered = buffered.subarray(total);
      index++;
      finished = last;
      if (plaintext.length > 0) push(plaintext);
    }
  };

  return new Transform({
    transform(chunk: Buffer, _encoding, callback: TransformCallback) {
      buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
      try {
        consume((b) => this.push(b));
        callback();
      } catch (err) {
        callback(err as Error);
      }
    },
    flush(callback) {
      if (!header) return callback(new EnvelopeTruncated('the file ends inside its header'));
      if (finished && buffered.length > 0) {
        return callback(new EnvelopeFormatInvalid('data follows the last chunk'));
      }
      if (!finished) {
        return callback(
          new EnvelopeTruncated(
            `the file ends after chunk ${index} without its last chunk: it is truncated; download it again`,
          ),
        );
      }
      callback();
    },
  });
}

export interface DecryptFileResult {
  header: EnvelopeHeader;
  /** Bytes written to the output. */
  bytes: number;
}

/**
 * Decrypts `inPath` to `outPath` (mode 0600: the plaintext is personal data), optionally gunzipping it.
 * The output is written to a temporary file beside it and renamed only when the whole file authenticated,
 * so a truncated or altered file never leaves plaintext behind.
 */
export async function decryptFile(
  key: DecryptKey,
  inPath: string,
  outPath: string,
  options: { gunzip?: boolean } = {},
): Promise<DecryptFileResult> {
  const temp = join(dirname(outPath), `.${basename(outPath)}.${randomUUID()}.partial`);
  let header: EnvelopeHeader | undefined;
  let bytes = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      bytes += chunk.length;
      callback(null, chunk);
    },
  });
  const decrypt = createDecryptStream(key, (h) => {
    header = h;
  });
  try {
    const out = createWriteStream(temp, { mode: 0o600, flags: 'wx', flush: true });
    if (options.gunzip) {
      await pipeline(createReadStream(inPath), decrypt, createGunzip(), counter, out);
    } else {
      await pipeline(createReadStream(inPath), decrypt, counter, out);
    }
    await rename(temp, outPath);
  } catch (err) {
    await unlink(temp).catch(() => undefined);
    throw err;
  }
  return { header: header!, bytes };
}

type RecipientKey = { kind: 'rsa'; key: KeyObject } | { kind: 'sm2'; key: KeyObject };

/** The recipient's public key: RSA of at least 2048 bits (suite 1), or SM2 (suite 2). */
function recipientKey(source: KeyObject | string): RecipientKey {
  let key: KeyObject;
  try {
    key = typeof source === 'string' ? createPublicKey(source) : source;
  } catch {
    throw new EnvelopeRecipientInvalid('the recipient is not a PEM certificate or public key');
  }
  if (key.type === 'private') key = createPublicKey(key);
  if (key.asymmetricKeyType === undefined && isSm2Key(key)) return { kind: 'sm2', key };
  const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
  if (key.asymmetricKeyType !== 'rsa' || bits < 2048) {
    throw new EnvelopeRecipientInvalid(
      'the recipient key must be SM2, or RSA of at least 2048 bits (files are wrapped with RSA-OAEP)',
    );
  }
  return { kind: 'rsa', key };
}

function checkChunkSize(chunkSize: number, ErrorType: new (message: string) => Error = RangeError): void {
  if (!Number.isInteger(chunkSize) || chunkSize < MIN_CHUNK_SIZE || chunkSize > MAX_CHUNK_SIZE) {
    throw new ErrorType(`chunk size must be an integer from ${MIN_CHUNK_SIZE} to ${MAX_CHUNK_SIZE} bytes`);
  }
}
