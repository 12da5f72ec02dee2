/**
 * The platform keeps a running job's data key so that another worker can resume the file with the same
 * key; the consumer's copy (wrapped with RSA-OAEP) is in the file header and the platform cannot open it.
 *
 * Choice: the key is sealed with AES-256-GCM under a key derived by HKDF-SHA256 from the platform secret
 * platform/subject-hmac.key (info "govshare exchange data-key seal v1": a different purpose gives an
 * independent key), with the job id as AAD so a sealed key cannot be moved to another job. Symmetric and
 * fast; the signing key is not used because it is certified for signatures only (keyUsage
 * digitalSignature). The sealed key is deleted when the job completes or fails, after which the platform
 * can no longer read the file.
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

const INFO = 'govshare exchange data-key seal v1';

export class KeyVault {
  readonly #key: Buffer;

  constructor(platformSecret: Buffer) {
    if (platformSecret.length < 32) throw new RangeError('the platform secret must be at least 32 bytes');
    this.#key = Buffer.from(hkdfSync('sha256', platformSecret, Buffer.alloc(0), INFO, 32));
  }

  seal(jobId: string, dataKey: Buffer): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.#key, iv);
    cipher.setAAD(Buffer.from(jobId, 'utf8'));
    const body = Buffer.concat([cipher.update(dataKey), cipher.final()]);
    return Buffer.concat([iv, body, cipher.getAuthTag()]).toString('base64');
  }

  /** Throws when the sealed value was altered, belongs to another job or another platform secret. */
  open(jobId: string, sealed: string): Buffer {
    const bytes = Buffer.from(sealed, 'base64');
    if (bytes.length !== 12 + 32 + 16) throw new Error(`the sealed data key of job ${jobId} is malformed`);
    const decipher = createDecipheriv('aes-256-gcm', this.#key, bytes.subarray(0, 12));
    decipher.setAAD(Buffer.from(jobId, 'utf8'));
    decipher.setAuthTag(bytes.subarray(44));
    return Buffer.concat([decipher.update(bytes.subarray(12, 44)), decipher.final()]);
  }
}
