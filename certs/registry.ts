/**
 * The registry operations the CLI (`govshare dept add`, `system add`, `cert issue|revoke|list`) and the
 * security-admin HTTP routes share, so both do exactly the same thing.
 */

import { createPublicKey, type KeyObject } from 'node:crypto';
import * as pkijs from 'pkijs';
import { buildCrl } from './crl.js';
import { CertIdentityInvalid, CertKeyTypeInvalid, DepartmentNotFound, SystemNotFound } from './errors.js';
import { certifySystemKey, generateSystemKeyPair, type SystemCertificate, validityDays } from './issue.js';
import type { Platform } from './platform.js';
import type { CertificateRecord, Department, DepartmentSystem, RevocationReason } from './schema.js';
import { isSm2Key, sm2PublicKeyHex, sm2PublicKeyPem } from './sm2.js';
import type { CertsStore, StoredCrl } from './store.js';
import { addDays, wholeSeconds } from './x509.js';

export type EffectiveStatus = 'active' | 'revoked' | 'expired';
export type ListedCertificate = CertificateRecord & { effectiveStatus: EffectiveStatus };

export interface CurrentCrl {
  der: Buffer;
  crlNumber: number;
  thisUpdate: Date;
  nextUpdate: Date;
}

export function addDepartment(
  store: CertsStore,
  input: { code: string; name: string; allowInvalidCheck?: boolean; homePlatform?: string },
  at: Date,
): Promise<Department> {
  return store.addDepartment(input, at);
}

export function addSystem(
  store: CertsStore,
  input: { deptCode: string; systemId: string; name: string },
  at: Date,
): Promise<DepartmentSystem> {
  return store.addSystem(input, at);
}

/**
 * Issues a certificate (and its private key) for a registered system and records it. The key is made on
 * the thread pool, so a server stays responsive while it is generated.
 */
export async function issueCertificate(
  platform: Platform,
  store: CertsStore,
  input: { deptCode: string; systemId: string; days?: number; publicKeyPem?: string },
  now: Date,
): Promise<SystemCertificate & { keyPem?: string; record: CertificateRecord }> {
  const department = await store.getDepartment(input.deptCode);
  if (!department) throw new DepartmentNotFound(`department ${input.deptCode} is not registered`);
  const system = await store.getSystem(input.deptCode, input.systemId);
  if (!system) throw new SystemNotFound(`department ${input.deptCode} has no system "${input.systemId}"`);
  const request = {
    deptCode: department.code,
    deptName: department.name,
    systemId: system.systemId,
    now,
    ...(input.days === undefined ? {} : { days: input.days }),
  };
  // Check the request before spending a key generation on it.
  validityDays(request.days);
  // A department that generates its own key sends only the public half: the private key never travels.
  const key = input.publicKeyPem === undefined ? await generateSystemKeyPair(platform.profile) : undefined;
  const publicKeyPem = key?.publicKeyPem ?? checkedPublicKey(platform, input.publicKeyPem!);
  const certificate = await certifySystemKey(platform, publicKeyPem, request);
  const record = await store.recordCertificate(
    { ...certificate, deptCode: department.code, systemId: system.systemId },
    now,
  );
  return key ? { keyPem: key.privateKeyPem, ...certificate, record } : { ...certificate, record };
}

function checkedPublicKey(platform: Platform, pem: string): string {
  if (platform.profile === 'gm') {
    if (!isSm2Key(pem)) {
      throw new CertKeyTypeInvalid(
        'publicKeyPem must be an SM2 public key (SubjectPublicKeyInfo): this platform is of the gm profile',
      );
    }
    return sm2PublicKeyPem(sm2PublicKeyHex(pem));
  }
  let key: KeyObject;
  try {
    key = createPublicKey(pem);
  } catch {
    throw new CertIdentityInvalid('publicKeyPem is not a PEM public key (SubjectPublicKeyInfo)');
  }
  const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
  if (key.asymmetricKeyType !== 'rsa' || bits < 2048) {
    throw new CertIdentityInvalid(
      'publicKeyPem must be an RSA key of at least 2048 bits (the platform CA issues RSA only)',
    );
  }
  return key.export({ type: 'spki', format: 'pem' }).toString();
}

export async function revokeCertificate(
  store: CertsStore,
  serial: string,
  reason: RevocationReason,
  at: Date,
): Promise<CertificateRecord> {
  await store.revokeCertificate(serial, reason, at);
  return (await store.getCertificate(serial))!;
}

/** Certificates in issue order, with "expired" computed at `now` (revoked wins over expired). */
export async function listCertificates(
  store: CertsStore,
  options: { deptCode?: string; now: Date },
): Promise<ListedCertificate[]> {
  const records = await store.listCertificates(
    options.deptCode === undefined ? {} : { deptCode: options.deptCode },
  );
  return records.map((record) => ({ ...record, effectiveStatus: effectiveStatus(record, options.now) }));
}

export function effectiveStatus(record: CertificateRecord, now: Date): EffectiveStatus {
  if (record.status === 'revoked') return 'revoked';
  return Date.parse(record.notAfter) <= now.getTime() ? 'expired' : 'active';
}

/**
 * The CRL to publish. The stored one is served while it reflects the current revocation generation and
 * less than half of its validity has passed; otherwise a new one is built with a fresh CRL number.
 * Concurrent builders each get a distinct number; the highest-numbered CRL is kept and served, and
 * the numbers of the others are simply skipped (RFC 5280 allows gaps).
 */
export async function currentCrl(
  platform: Platform,
  store: CertsStore,
  options: { crlDays: number; now: Date },
): Promise<CurrentCrl> {
  if (!(options.crlDays > 0)) throw new RangeError(`crlDays must be positive, not ${options.crlDays}`);
  const { crl, generation } = await store.cachedCrl();
  if (crl && isFresh(crl, generation, options.now)) return view(crl);

  const snapshot = await store.crlSnapshot();
  const thisUpdate = wholeSeconds(options.now);
  const nextUpdate = addDays(thisUpdate, options.crlDays);
  const der = await buildCrl(
    platform,
    snapshot.revoked.map((r) => ({ serial: r.serial, revokedAt: new Date(r.revokedAt), reason: r.reason })),
    { crlNumber: snapshot.crlNumber, thisUpdate, nextUpdate },
  );
  const built: StoredCrl = {
    der,
    crlNumber: snapshot.crlNumber,
    generation: snapshot.generation,
    thisUpdate,
    nextUpdate,
  };
  if (await store.storeCrl(built)) return view(built);
  // A concurrent caller stored a higher-numbered CRL (built from the same or a later snapshot): serve it.
  return view((await store.cachedCrl()).crl ?? built);
}

/** What a published CRL says, for people watching it: its number, its validity, how many it lists. */
export interface CrlStatus {
  crlNumber: number;
  thisUpdate: string;
  nextUpdate: string;
  /** Entries of the CRL itself (read from its DER), not of the store: what relying parties see. */
  revoked: number;
}

export function crlStatus(crl: CurrentCrl): CrlStatus {
  const list = pkijs.CertificateRevocationList.fromBER(crl.der);
  return {
    crlNumber: crl.crlNumber,
    thisUpdate: crl.thisUpdate.toISOString(),
    nextUpdate: crl.nextUpdate.toISOString(),
    revoked: list.revokedCertificates?.length ?? 0,
  };
}

function isFresh(crl: StoredCrl, generation: number, now: Date): boolean {
  const halfLife = (crl.nextUpdate.getTime() - crl.thisUpdate.getTime()) / 2;
  return crl.generation === generation && now.getTime() < crl.thisUpdate.getTime() + halfLife;
}

function view(crl: StoredCrl): CurrentCrl {
  return { der: crl.der, crlNumber: crl.crlNumber, thisUpdate: crl.thisUpdate, nextUpdate: crl.nextUpdate };
}
