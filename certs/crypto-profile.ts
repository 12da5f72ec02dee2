/**
 * The platform's crypto profile, chosen once at `govshare init --crypto gm|intl` and recorded in the
 * data directory (`platform/crypto-profile.json`). A data directory without the file is `intl`: every
 * platform made before profiles existed stays what it was.
 *
 * - `intl`: RSA keys, RSA signatures with SHA-256/512, SHA-256 hashes, AES-GCM bulk files;
 * - `gm`: SM2 keys and SM2-with-SM3 signatures (default ID 1234567812345678), SM3 hashes, SM4 bulk files
 *   (GM/T 0002/0003/0004, for the commercial-cryptography assessment GB/T 39786).
 */
import { existsSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CryptoProfileInvalid } from './errors.js';

export const CRYPTO_PROFILES = ['intl', 'gm'] as const;
export type CryptoProfile = (typeof CRYPTO_PROFILES)[number];

export const CRYPTO_PROFILE_FILE = 'platform/crypto-profile.json';

export function isCryptoProfile(value: unknown): value is CryptoProfile {
  return typeof value === 'string' && (CRYPTO_PROFILES as readonly string[]).includes(value);
}

/** Checks a value from the command line or configuration. */
export function parseCryptoProfile(value: string): CryptoProfile {
  if (!isCryptoProfile(value)) {
    throw new CryptoProfileInvalid(`crypto profile "${value}" is not one of ${CRYPTO_PROFILES.join(', ')}`);
  }
  return value;
}

/** The profile recorded in `dataDir`; `intl` when none is recorded. */
export function readCryptoProfile(dataDir: string): CryptoProfile {
  const file = join(dataDir, CRYPTO_PROFILE_FILE);
  if (!existsSync(file)) return 'intl';
  let recorded: unknown;
  try {
    recorded = (JSON.parse(readFileSync(file, 'utf8')) as { crypto?: unknown }).crypto;
  } catch {
    recorded = undefined;
  }
  if (!isCryptoProfile(recorded)) {
    throw new CryptoProfileInvalid(
      `${file} does not name a crypto profile (${CRYPTO_PROFILES.join(' or ')})`,
    );
  }
  return recorded;
}

export async function writeCryptoProfile(dataDir: string, profile: CryptoProfile): Promise<void> {
  await writeFile(join(dataDir, CRYPTO_PROFILE_FILE), `${JSON.stringify({ crypto: profile })}\n`, {
    mode: 0o644,
    flag: 'wx',
  });
}
