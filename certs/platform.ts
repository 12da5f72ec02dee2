/**
 * The platform's own key material under the data directory: the root CA, the signing key (responses,
 * audit checkpoints, webhooks), the token key (people's JWTs, kept apart from the signing key) and the
 * secret under which audit records hash subjects. `initPlatform` creates what is missing and never
 * replaces what exists; `loadPlatform` reads it all and checks that it belongs together.
 *
 * The signing certificate lasts two years, so the signing key is rotated (`rotateSigningKey`). What it
 * signed before stays verifiable: every earlier signing certificate is kept in `platform/signing-history/`
 * (public, named by its SHA-256 fingerprint), and the checkpoints of the audit trail, which name their
 * signer's fingerprint, are checked and proven with the certificate that signed them.
 */
import { createPrivateKey, createPublicKey, type KeyObject, randomBytes, X509Certificate } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { chmod, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import forge from 'node-forge';
import {
  CRYPTO_PROFILE_FILE,
  type CryptoProfile,
  readCryptoProfile,
  writeCryptoProfile,
} from './crypto-profile.js';
import {
  CryptoProfileConflict,
  PlatformIncomplete,
  PlatformInconsistent,
  PlatformNotInitialised,
} from './errors.js';
import { FileKeySigner, type Signer, signerMatchesCertificate } from './signer.js';
import { generateSm2KeyPair } from './sm2.js';
import { isSm2Signed, verifyIssuedBy } from './sm2-x509-verify.js';
import {
  addYears,
  generateRsaKeyPair,
  nameValue,
  newCertificate,
  randomSerialHex,
  signCertificate,
  utf8Name,
  wholeSeconds,
} from './x509.js';

export interface Platform {
  dataDir: string;
  /** `intl` (RSA) or `gm` (SM2/SM3/SM4), recorded at init. */
  profile: CryptoProfile;
  caCertPem: string;
  /** The CA certificate for node-forge (intl only: forge cannot read SM2 certificates). */
  caCert: forge.pki.Certificate | undefined;
  caKeyObject: KeyObject;
  caCertX509: X509Certificate;
  /** Signs certificates and CRLs: the CA key stays behind it. */
  caSigner: Signer;
  /**
   * Signs as the platform: response signatures, audit checkpoints and archive manifests, exchange
   * manifests, webhooks, federation agreements. Replaceable by a hardware module (withPlatformSigner).
   */
  platformSigner: Signer;
  /** The file key itself, behind platformSigner; every signature of the platform goes through the Signer. */
  signingKey: KeyObject;
  signingCertPem: string;
  signingCertX509: X509Certificate;
  /**
   * Every platform signing certificate, current and earlier, by its SHA-256 fingerprint (lowercase hex,
   * no colons, as audit checkpoints name their signer).
   */
  signingCertificates: ReadonlyMap<string, X509Certificate>;
  tokenPrivateKeyPem: string;
  tokenPublicKeyPem: string;
  subjectHmacKey: Buffer;
}

export interface InitPlatformOptions {
  now?: Date;
  /**
   * The crypto profile of a new platform; an existing one keeps its own and refuses another.
   * @defaultValue the recorded profile, else `intl`
   */
  crypto?: CryptoProfile;
  /** The CA's subject O and CN, used only when the CA is created. @defaultValue govshare platform / govshare Platform Root CA */
  caName?: { organization?: string; commonName?: string };
}

export interface InitPlatformResult {
  /** Paths (relative to the data dir) written by this run. */
  created: string[];
  /** Paths that already existed and were left alone. */
  kept: string[];
  /** The CA certificate's serial, lowercase hex. */
  caSerial: string;
  /** SHA-256 fingerprint of the CA certificate, "AB:CD:…" (compare it out of band when distributing ca.pem). */
  caFingerprint256: string;
  profile: CryptoProfile;
}

/** File names under the data directory. */
export const platformFiles = {
  caKey: 'ca/ca-key.pem',
  caCert: 'ca/ca-cert.pem',
  signingKey: 'platform/signing-key.pem',
  signingCert: 'platform/signing-cert.pem',
  tokenKey: 'platform/token-key.pem',
  tokenPublic: 'platform/token-public.pem',
  subjectHmacKey: 'platform/subject-hmac.key',
} as const;

export const PLATFORM_SIGNING_URI = 'urn:govshare:platform';

/** Earlier platform signing certificates, `<fingerprint>.pem`, under the data directory. */
export const SIGNING_HISTORY_DIR = 'platform/signing-history';

/** A certificate's SHA-256 fingerprint as lowercase hex without colons. */
export function certificateFingerprint(cert: X509Certificate): string {
  return cert.fingerprint256.replaceAll(':', '').toLowerCase();
}

/**
 * Whether `cert` is the platform's signing certificate as the platform CA issued it, valid at `now`.
 * Issued by the CA is not enough: every department system's certificate is too, and its key must not
 * pass for the platform's (a forged response or manifest signed with a system key).
 */
export function isPlatformSigningCertificate(
  cert: X509Certificate,
  ca: X509Certificate,
  now = new Date(),
): boolean {
  const names = (cert.subjectAltName ?? '').split(', ');
  return (
    cert.checkIssued(ca) &&
    certificateSignedBy(cert, ca) &&
    names.includes(`URI:${PLATFORM_SIGNING_URI}`) &&
    Date.parse(cert.validFrom) <= now.getTime() &&
    now.getTime() < Date.parse(cert.validTo)
  );
}
/**
 * Whether `cert`'s signature verifies with `ca`'s key: node:crypto for RSA, sm2.ts for SM2-with-SM3
 * (node's `X509Certificate.verify` fails on standard SM2 certificates).
 */
export function certificateSignedBy(cert: X509Certificate, ca: X509Certificate): boolean {
  if (isSm2Signed(cert.raw)) return verifyIssuedBy(cert.raw, ca.raw);
  try {
    return cert.verify(ca.publicKey);
  } catch {
    return false;
  }
}

const CA_YEARS = 10;
const SIGNING_YEARS = 2;

export async function initPlatform(
  dataDir: string,
  opts: InitPlatformOptions = {},
): Promise<InitPlatformResult> {
  const now = wholeSeconds(opts.now ?? new Date());
  const path = (file: string) => join(dataDir, file);
  const has = (file: string) => existsSync(path(file));
  const created: string[] = [];
  const kept: string[] = [];
  const note = (file: string, made: boolean) => (made ? created : kept).push(file);

  await mkdir(dataDir, { recursive: true });
  for (const dir of ['ca', 'platform']) {
    await mkdir(path(dir), { recursive: true, mode: 0o700 });
    await chmod(path(dir), 0o700);
  }
  requirePairComplete(dataDir, platformFiles.caKey, platformFiles.caCert, has);
  requireNotOrphan(dataDir, platformFiles.signingCert, platformFiles.signingKey, has);
  requireNotOrphan(dataDir, platformFiles.tokenPublic, platformFiles.tokenKey, has);
  const profile = initProfile(dataDir, opts.crypto, has(platformFiles.caKey));
  // gm: SM2 CA and signing keys; the token key signs people's JWTs (RS256) under both profiles.
  const platformKey = (bits: 2048 | 3072) =>
    profile === 'gm' ? generateSm2KeyPair() : generateRsaKeyPair(bits);

  // Missing keys are generated together: they run on the thread pool, side by side.
  const [caPair, signingPair, tokenPair] = await Promise.all([
    has(platformFiles.caKey) ? undefined : platformKey(3072),
    has(platformFiles.signingKey) ? undefined : platformKey(2048),
    has(platformFiles.tokenKey) ? undefined : generateRsaKeyPair(2048),
  ]);
  if (!has(CRYPTO_PROFILE_FILE) && profile === 'gm') await writeCryptoProfile(dataDir, profile);

  if (caPair) {
    const caSigner = FileKeySigner.fromPem(caPair.privateKeyPem);
    const caCertPem =
      profile === 'gm'
        ? await (await import('./gm-x509.js')).selfSignedSm2Ca({
            signer: caSigner,
            subject: caSubject(opts.caName ?? {}),
            serialHex: randomSerialHex(),
            notBefore: now,
            notAfter: addYears(now, CA_YEARS),
          })
        : await selfSignedCa(caPair, now, opts.caName ?? {});
    await writePrivate(path(platformFiles.caKey), caPair.privateKeyPem);
    await writePublic(path(platformFiles.caCert), caCertPem);
  }
  note(platformFiles.caKey, caPair !== undefined);
  note(platformFiles.caCert, caPair !== undefined);

  const caCertPem = await readFile(path(platformFiles.caCert), 'utf8');
  const caSigner = FileKeySigner.fromPem(await readFile(path(platformFiles.caKey), 'utf8'));

  if (signingPair) await writePrivate(path(platformFiles.signingKey), signingPair.privateKeyPem);
  note(platformFiles.signingKey, signingPair !== undefined);
  const makeSigningCert = !has(platformFiles.signingCert);
  if (makeSigningCert) {
    const signingKeyPem = await readFile(path(platformFiles.signingKey), 'utf8');
    const publicKeyPem = FileKeySigner.fromPem(signingKeyPem).publicKeyPem;
    await writePublic(
      path(platformFiles.signingCert),
      await signingCertificate(profile, caCertPem, caSigner, publicKeyPem, now),
    );
  }
  note(platformFiles.signingCert, makeSigningCert);

  if (tokenPair) await writePrivate(path(platformFiles.tokenKey), tokenPair.privateKeyPem);
  note(platformFiles.tokenKey, tokenPair !== undefined);
  const makeTokenPublic = !has(platformFiles.tokenPublic);
  if (makeTokenPublic) {
    const tokenKeyPem = await readFile(path(platformFiles.tokenKey), 'utf8');
    await writePublic(
      path(platformFiles.tokenPublic),
      createPublicKey(tokenKeyPem).export({ type: 'spki', format: 'pem' }).toString(),
    );
  }
  note(platformFiles.tokenPublic, makeTokenPublic);

  const makeHmac = !has(platformFiles.subjectHmacKey);
  if (makeHmac)
    await writePrivate(path(platformFiles.subjectHmacKey), `${randomBytes(32).toString('hex')}\n`);
  note(platformFiles.subjectHmacKey, makeHmac);

  // Read everything back the way the gateway will, so a bad combination fails here and not at start-up.
  const platform = loadPlatform(dataDir);
  return {
    created,
    kept,
    caSerial: platform.caCertX509.serialNumber.toLowerCase(),
    caFingerprint256: platform.caCertX509.fingerprint256,
    profile: platform.profile,
  };
}

/**
 * The profile this init runs with: the recorded one for an existing platform (asking for the other is
 * refused: every certificate and audit record already made depends on it), else the one asked for.
 */
function initProfile(dataDir: string, wanted: CryptoProfile | undefined, hasCa: boolean): CryptoProfile {
  const recorded = readCryptoProfile(dataDir);
  if (hasCa && wanted !== undefined && wanted !== recorded) {
    throw new CryptoProfileConflict(
      `${dataDir} already holds a platform of the ${recorded} profile; a platform's crypto profile cannot change ` +
        '(initialise a new data directory for the other one)',
    );
  }
  return hasCa ? recorded : (wanted ?? recorded);
}

/** Reads the platform's key material (synchronously: this runs once at start-up or per CLI command). */
/**
 * The platform with its signing key held by `signer` (e.g. a GM/T 0018 hardware module) in place of the
 * data dir's file key: everything that signs as the platform asks it. It must hold the key the platform
 * signing certificate certifies.
 */
export function withPlatformSigner(platform: Platform, signer: Signer): Platform {
  if (!signerMatchesCertificate(platform.signingCertX509, signer)) {
    throw new PlatformInconsistent(
      `the platform signer does not hold the key of the platform signing certificate in ${platform.dataDir}`,
    );
  }
  return { ...platform, platformSigner: signer };
}

export function loadPlatform(dataDir: string): Platform {
  const path = (file: string) => join(dataDir, file);
  const missing = Object.values(platformFiles).filter((file) => !existsSync(path(file)));
  if (!existsSync(path(platformFiles.caKey)) && !existsSync(path(platformFiles.caCert))) {
    throw new PlatformNotInitialised(
      `the data directory ${dataDir} holds no platform CA: run \`govshare init --data-dir ${dataDir}\``,
    );
  }
  if (missing.length > 0) {
    throw new PlatformIncomplete(
      `the data directory ${dataDir} lacks ${missing.join(', ')}: run \`govshare init --data-dir ${dataDir}\` ` +
        'to create missing keys (an existing CA is kept), or restore them from backup',
    );
  }
  const read = (file: string) => readFileSync(path(file), 'utf8');
  const caCertPem = read(platformFiles.caCert);
  const caKeyPem = read(platformFiles.caKey);
  const signingCertPem = read(platformFiles.signingCert);
  const tokenPrivateKeyPem = read(platformFiles.tokenKey);
  const tokenPublicKeyPem = read(platformFiles.tokenPublic);
  const signingKeyPem = read(platformFiles.signingKey);
  const profile = readCryptoProfile(dataDir);
  const caCertX509 = new X509Certificate(caCertPem);
  const caKeyObject = createPrivateKey(caKeyPem);
  const signingKey = createPrivateKey(signingKeyPem);
  const signingCertX509 = new X509Certificate(signingCertPem);
  const caSigner = FileKeySigner.fromPem(caKeyPem);
  const platformSigner = FileKeySigner.fromPem(signingKeyPem);
  const inconsistent = (what: string) =>
    new PlatformInconsistent(
      `${what} in ${dataDir}: the platform files do not belong together; restore them from backup`,
    );
  const wantedKey = profile === 'gm' ? 'sm2' : 'rsa';
  if (caSigner.keyType !== wantedKey || platformSigner.keyType !== wantedKey) {
    throw inconsistent(`the platform keys are not ${wantedKey.toUpperCase()} keys of the ${profile} profile`);
  }
  if (!signerMatchesCertificate(caCertX509, caSigner))
    throw inconsistent(`${platformFiles.caKey} does not match ${platformFiles.caCert}`);
  if (!certificateSignedBy(signingCertX509, caCertX509)) {
    throw inconsistent(`${platformFiles.signingCert} was not issued by the CA in ${platformFiles.caCert}`);
  }
  if (!signerMatchesCertificate(signingCertX509, platformSigner)) {
    throw inconsistent(`${platformFiles.signingKey} does not match ${platformFiles.signingCert}`);
  }
  const derivedTokenPublic = createPublicKey(tokenPrivateKeyPem).export({ type: 'spki', format: 'der' });
  if (
    !derivedTokenPublic.equals(createPublicKey(tokenPublicKeyPem).export({ type: 'spki', format: 'der' }))
  ) {
    throw inconsistent(`${platformFiles.tokenPublic} is not the public half of ${platformFiles.tokenKey}`);
  }
  const signingCertificates = new Map<string, X509Certificate>();
  for (const cert of signingHistory(dataDir, caCertX509, inconsistent)) {
    signingCertificates.set(certificateFingerprint(cert), cert);
  }
  signingCertificates.set(certificateFingerprint(signingCertX509), signingCertX509);
  const hmacHex = read(platformFiles.subjectHmacKey).trim();
  if (!/^[0-9a-f]{64}$/.test(hmacHex))
    throw inconsistent(`${platformFiles.subjectHmacKey} is not 32 bytes of hex`);
  return {
    dataDir,
    profile,
    caCertPem,
    caCert: profile === 'intl' ? forge.pki.certificateFromPem(caCertPem) : undefined,
    caKeyObject,
    caCertX509,
    caSigner,
    platformSigner,
    signingKey,
    signingCertPem,
    signingCertX509,
    signingCertificates,
    tokenPrivateKeyPem,
    tokenPublicKeyPem,
    subjectHmacKey: Buffer.from(hmacHex, 'hex'),
  };
}

/**
 * The earlier signing certificates. Each must be a platform signing certificate of this CA and be filed
 * under its own fingerprint; anything else there is a sign of tampering and stops start-up.
 */
function signingHistory(
  dataDir: string,
  ca: X509Certificate,
  inconsistent: (what: string) => Error,
): X509Certificate[] {
  const dir = join(dataDir, SIGNING_HISTORY_DIR);
  if (!existsSync(dir)) return [];
  const certs: X509Certificate[] = [];
  for (const name of readdirSync(dir).sort()) {
    if (!name.endsWith('.pem')) continue;
    const file = `${SIGNING_HISTORY_DIR}/${name}`;
    let cert: X509Certificate;
    try {
      cert = new X509Certificate(readFileSync(join(dir, name)));
    } catch {
      throw inconsistent(`${file} is not a PEM certificate`);
    }
    const names = (cert.subjectAltName ?? '').split(', ');
    if (
      !cert.checkIssued(ca) ||
      !certificateSignedBy(cert, ca) ||
      !names.includes(`URI:${PLATFORM_SIGNING_URI}`)
    ) {
      throw inconsistent(`${file} is not a platform signing certificate of the CA`);
    }
    if (name !== `${certificateFingerprint(cert)}.pem`) {
      throw inconsistent(`${file} is not named after its SHA-256 fingerprint`);
    }
    certs.push(cert);
  }
  return certs;
}

/** The public keys of every platform signing certificate, by fingerprint (for audit verification). */
export function signerKeys(platform: Platform): Map<string, KeyObject> {
  return new Map(
    [...platform.signingCertificates].map(([fingerprint, cert]) => [fingerprint, cert.publicKey]),
  );
}

export interface RotatedSigningKey {
  /** Fingerprint of the certificate now kept in the history. */
  previous: string;
  /** Fingerprint of the new signing certificate. */
  current: string;
  notAfter: Date;
}

/**
 * Replaces the platform signing key and certificate (before the certificate expires, or after a
 * suspected compromise), keeping the old certificate in the signing history first so that what it
 * signed still verifies. Running gateways and workers keep the old key until they restart.
 */
export async function rotateSigningKey(
  dataDir: string,
  options: { now?: Date } = {},
): Promise<RotatedSigningKey> {
  const platform = loadPlatform(dataDir);
  const now = wholeSeconds(options.now ?? new Date());
  const path = (file: string) => join(dataDir, file);
  const previous = certificateFingerprint(platform.signingCertX509);
  await mkdir(path(SIGNING_HISTORY_DIR), { recursive: true, mode: 0o700 });
  const kept = path(`${SIGNING_HISTORY_DIR}/${previous}.pem`);
  if (!existsSync(kept)) await writePublic(kept, platform.signingCertPem);
  const pair = platform.profile === 'gm' ? await generateSm2KeyPair() : await generateRsaKeyPair(2048);
  const certPem = await signingCertificate(
    platform.profile,
    platform.caCertPem,
    platform.caSigner,
    pair.publicKeyPem,
    now,
  );
  // Written beside the live files, then renamed over them: each file is replaced whole. A crash between
  // the two renames leaves a key that does not match its certificate, which loadPlatform refuses; the
  // new certificate is then still in signing-cert.pem.next, to be renamed by hand (the history already
  // holds the old certificate).
  const keyNext = path(`${platformFiles.signingKey}.next`);
  const certNext = path(`${platformFiles.signingCert}.next`);
  await rm(keyNext, { force: true });
  await rm(certNext, { force: true });
  await writePrivate(keyNext, pair.privateKeyPem);
  await writePublic(certNext, certPem);
  await rename(keyNext, path(platformFiles.signingKey));
  await rename(certNext, path(platformFiles.signingCert));
  const current = loadPlatform(dataDir).signingCertX509;
  return { previous, current: certificateFingerprint(current), notAfter: new Date(current.validTo) };
}

function caSubject(name: InitPlatformOptions['caName'] & {}): [string, string][] {
  return [
    ['C', 'CN'],
    ['O', name.organization ?? 'govshare platform'],
    ['CN', name.commonName ?? 'govshare Platform Root CA'],
  ];
}

async function selfSignedCa(
  pair: { privateKeyPem: string; publicKeyPem: string },
  now: Date,
  name: InitPlatformOptions['caName'] & {},
): Promise<string> {
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(pair.publicKeyPem);
  cert.serialNumber = randomSerialHex();
  cert.validity.notBefore = now;
  cert.validity.notAfter = addYears(now, CA_YEARS);
  const subject = utf8Name(caSubject(name));
  cert.setSubject(subject);
  cert.setIssuer(subject);
  cert.setExtensions([
    { name: 'basicConstraints', critical: true, cA: true },
    { name: 'keyUsage', critical: true, keyCertSign: true, cRLSign: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  await signCertificate(cert, FileKeySigner.fromPem(pair.privateKeyPem));
  return forge.pki.certificateToPem(cert);
}

async function signingCertificate(
  profile: CryptoProfile,
  caCertPem: string,
  caSigner: Signer,
  publicKeyPem: string,
  now: Date,
): Promise<string> {
  const organization = (name: string | undefined) => name ?? 'govshare platform';
  const subject = (o: string | undefined): [string, string][] => [
    ['C', 'CN'],
    ['O', organization(o)],
    ['CN', 'govshare platform signing'],
  ];
  if (profile === 'gm') {
    const ca = new X509Certificate(caCertPem);
    const o = /^O=(.*)$/m.exec(ca.subject)?.[1];
    const { sm2EndEntity } = await import('./gm-x509.js');
    return sm2EndEntity({
      caSigner,
      caCertPem,
      publicKeyPem,
      serialHex: randomSerialHex(),
      subject: subject(o),
      notBefore: now,
      notAfter: addYears(now, SIGNING_YEARS),
      keyUsage: { digitalSignature: true },
      sanUri: PLATFORM_SIGNING_URI,
    });
  }
  const caCert = forge.pki.certificateFromPem(caCertPem);
  const cert = await newCertificate({
    publicKeyPem,
    issuer: caCert,
    issuerSigner: caSigner,
    notBefore: now,
    notAfter: addYears(now, SIGNING_YEARS),
    subject: subject(nameValue(caCert, 'O')),
    keyUsage: { digitalSignature: true },
    sanUri: PLATFORM_SIGNING_URI,
  });
  return forge.pki.certificateToPem(cert);
}

/** A CA key without its certificate (or the reverse) is restored from backup, never silently replaced. */
function requirePairComplete(dataDir: string, a: string, b: string, has: (file: string) => boolean): void {
  if (has(a) !== has(b)) {
    const [present, absent] = has(a) ? [a, b] : [b, a];
    throw new PlatformIncomplete(
      `${join(dataDir, present)} exists but ${absent} does not: restore ${absent} from backup ` +
        '(a new CA would invalidate every certificate issued so far)',
    );
  }
}

/** A certificate or public key whose private key is gone cannot be repaired, only restored. */
function requireNotOrphan(
  dataDir: string,
  derived: string,
  key: string,
  has: (file: string) => boolean,
): void {
  if (has(derived) && !has(key)) {
    throw new PlatformIncomplete(
      `${join(dataDir, derived)} exists but ${key} does not: restore ${key} from backup, ` +
        `or remove ${derived} to create a new key`,
    );
  }
}

async function writePrivate(file: string, content: string): Promise<void> {
  // 'wx': never overwrite a key another process has just written.
  await writeFile(file, content, { mode: 0o600, flag: 'wx' });
  await chmod(file, 0o600);
}

async function writePublic(file: string, content: string): Promise<void> {
  await writeFile(file, content, { mode: 0o644, flag: 'wx' });
}
