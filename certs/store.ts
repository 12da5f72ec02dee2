/**
 * The registry of departments, systems and certificates in Redis (the system of record). Values are
 * JSON; steps that touch several keys are Lua scripts so they stay atomic and Cluster-safe.
 */
import { checkUscc } from '../catalog/identifiers.js';
import { USCC_PATTERN } from '../catalog/schema.js';
import type { RedisClient } from '../platform/redis.js';
import {
  CertAlreadyRevoked,
  CertExists,
  CertNotFound,
  CertSerialInvalid,
  DepartmentExists,
  DepartmentNameInvalid,
  DepartmentNotFound,
  RevocationReasonInvalid,
  SystemExists,
  SystemNameInvalid,
  SystemNotFound,
  SystemRoleInvalid,
  UsccInvalid,
} from './errors.js';
import { assertSystemId } from './issue.js';
import { type CertsKeys, certsKeys, revokedChannel } from './keys.js';
import {
  type CertificateRecord,
  type Department,
  type DepartmentSystem,
  REVOCATION_REASONS,
  type RevocationReason,
  type RevokedEntry,
  SERIAL_PATTERN,
  type SystemRole,
} from './schema.js';

/** The shape every route and certificate requires of a department code (catalog/schema.ts USCC_PATTERN). */
const USCC_SHAPE = new RegExp(USCC_PATTERN);

const SERIAL = new RegExp(SERIAL_PATTERN);

/** KEYS[1] record, KEYS[2] index set. ARGV[1] JSON, ARGV[2] member. Returns 0 if the record exists, else 1. */
const ADD_DEPARTMENT = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('SET', KEYS[1], ARGV[1])
redis.call('SADD', KEYS[2], ARGV[2])
return 1`;

/**
 * KEYS[1] department, KEYS[2] system record, KEYS[3] the department's system set.
 * ARGV[1] JSON, ARGV[2] system id. Returns -1 without the department, 0 if the system exists, else 1.
 */
const ADD_SYSTEM = `
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
redis.call('SET', KEYS[2], ARGV[1])
redis.call('SADD', KEYS[3], ARGV[2])
return 1`;

/**
 * KEYS[1] system record. ARGV[1] role ('standard' removes the field). Returns the updated JSON, or false
 * for an unknown system. A script, so that a concurrent change of the record is never lost.
 */
const SET_SYSTEM_ROLE = `
local raw = redis.call('GET', KEYS[1])
if not raw then return false end
local system = cjson.decode(raw)
if ARGV[1] == 'standard' then system.role = nil else system.role = ARGV[1] end
local json = cjson.encode(system)
redis.call('SET', KEYS[1], json)
return json`;

/**
 * KEYS[1] system record, KEYS[2] certificate record, KEYS[3] all certificates, KEYS[4] the department's.
 * ARGV[1] JSON, ARGV[2] serial, ARGV[3] issue time (ms).
 * Returns -1 without the system, 0 if the serial is taken, else 1.
 */
const RECORD_CERTIFICATE = `
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
redis.call('SET', KEYS[2], ARGV[1])
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[2])
redis.call('ZADD', KEYS[4], ARGV[3], ARGV[2])
return 1`;

/**
 * KEYS[1] certificate record, KEYS[2] revoked hash, KEYS[3] revocation generation.
 * ARGV[1] serial, ARGV[2] revokedAt (ISO), ARGV[3] reason, ARGV[4] pub/sub channel.
 * Returns -1 for an unknown serial, 0 if already revoked, else the new generation. The PUBLISH is part
 * of the script: a message goes out exactly when a revocation was committed.
 */
const REVOKE = `
local raw = redis.call('GET', KEYS[1])
if not raw then return -1 end
local record = cjson.decode(raw)
if record.status == 'revoked' then return 0 end
record.status = 'revoked'
record.revokedAt = ARGV[2]
record.revocationReason = ARGV[3]
redis.call('SET', KEYS[1], cjson.encode(record))
redis.call('HSET', KEYS[2], ARGV[1],
  cjson.encode({ serial = ARGV[1], revokedAt = ARGV[2], reason = ARGV[3], notAfter = record.notAfter }))
local generation = redis.call('INCR', KEYS[3])
redis.call('PUBLISH', ARGV[4], ARGV[1])
return generation`;

/**
 * KEYS[1] CRL hash. ARGV[1] crlNumber, then field/value pairs. Stores the CRL only if its number is
 * higher than the stored one, so a slow builder never replaces a newer CRL. Returns 1 if stored.
 */
const STORE_CRL = `
local current = tonumber(redis.call('HGET', KEYS[1], 'crlNumber') or '-1')
if current >= tonumber(ARGV[1]) then return 0 end
redis.call('HSET', KEYS[1], 'crlNumber', ARGV[1], unpack(ARGV, 2))
return 1`;

export interface StoredCrl {
  der: Buffer;
  crlNumber: number;
  /** The revocation generation the CRL was built from. */
  generation: number;
  thisUpdate: Date;
  nextUpdate: Date;
}

export interface NewCertificate {
  serial: string;
  deptCode: string;
  systemId: string;
  notBefore: Date;
  notAfter: Date;
  fingerprint256: string;
  certPem: string;
}

export class CertsStore {
  readonly keys: CertsKeys;
  /** Subscribe here to hear revocations (each message is a serial). */
  readonly revokedChannel: string;

  constructor(
    private readonly redis: RedisClient,
    prefix: string,
  ) {
    this.keys = certsKeys(prefix);
    this.revokedChannel = revokedChannel(prefix);
  }

  /**
   * Registers a department under its unified social credit code. A code failing only its check character
   * or its organisation-code check (some were registered that way in the past) is accepted with
   * `allowInvalidCheck`, and marked so.
   */
  async addDepartment(
    input: { code: string; name: string; allowInvalidCheck?: boolean; homePlatform?: string },
    at: Date,
  ): Promise<Department> {
    assertName(input.name, DepartmentNameInvalid, 'department');
    const check = checkUscc(input.code);
    // Only a wrong check character (GB 32100's at 18, GB 11714's at 17) may be overridden: a character
    // outside the USCC alphabet would make a department that routes and certificates (which check the
    // code's shape) can never serve.
    const checkCharacter = !check.ok && (check.position === 18 || check.position === 17);
    const overridable = checkCharacter && USCC_SHAPE.test(input.code) && input.allowInvalidCheck === true;
    if (!check.ok && !overridable) {
      const hint = checkCharacter ? ' (an operator may override a wrong check character explicitly)' : '';
      throw new UsccInvalid(`department code "${input.code}": ${check.reason}${hint}`);
    }
    const department: Department = {
      code: input.code,
      name: input.name,
      usccCheck: check.ok ? 'passed' : 'overridden',
      ...(check.ok ? {} : { usccCheckFailure: check.reason }),
      ...(input.homePlatform ? { homePlatform: input.homePlatform } : {}),
      createdAt: at.toISOString(),
    };
    const keys = [this.keys.department(input.code), this.keys.departments];
    if ((await this.eval(ADD_DEPARTMENT, keys, [JSON.stringify(department), input.code])) === 0) {
      throw new DepartmentExists(`department ${input.code} is already registered`);
    }
    return department;
  }

  async getDepartment(code: string): Promise<Department | null> {
    return parse<Department>(await this.redis.get(this.keys.department(code)));
  }

  async listDepartments(): Promise<Department[]> {
    const codes = await this.redis.smembers(this.keys.departments);
    const departments = await this.getMany<Department>(codes.map((c) => this.keys.department(c)));
    return departments.sort((a, b) => a.code.localeCompare(b.code));
  }

  async addSystem(
    input: { deptCode: string; systemId: string; name: string },
    at: Date,
  ): Promise<DepartmentSystem> {
    assertSystemId(input.systemId);
    assertName(input.name, SystemNameInvalid, 'system');
    const system: DepartmentSystem = {
      deptCode: input.deptCode,
      systemId: input.systemId,
      name: input.name,
      createdAt: at.toISOString(),
    };
    const keys = [
      this.keys.department(input.deptCode),
      this.keys.system(input.deptCode, input.systemId),
      this.keys.systems(input.deptCode),
    ];
    const result = await this.eval(ADD_SYSTEM, keys, [JSON.stringify(system), input.systemId]);
    if (result === -1) throw new DepartmentNotFound(`department ${input.deptCode} is not registered`);
    if (result === 0) {
      throw new SystemExists(`department ${input.deptCode} already has a system "${input.systemId}"`);
    }
    return system;
  }

  async getSystem(deptCode: string, systemId: string): Promise<DepartmentSystem | null> {
    return parse<DepartmentSystem>(await this.redis.get(this.keys.system(deptCode, systemId)));
  }

  /** Sets what a system may do beyond data calls (the bureau's decision); returns the updated system. */
  async setSystemRole(deptCode: string, systemId: string, role: SystemRole): Promise<DepartmentSystem> {
    assertSystemId(systemId);
    if (role !== 'standard' && role !== 'portal') {
      throw new SystemRoleInvalid(`"${String(role)}" is not a system role: standard or portal`);
    }
    const json = (await this.redis.eval(SET_SYSTEM_ROLE, 1, this.keys.system(deptCode, systemId), role)) as
      | string
      | null;
    if (json === null) throw new SystemNotFound(`department ${deptCode} has no system "${systemId}"`);
    return JSON.parse(json) as DepartmentSystem;
  }

  async listSystems(deptCode: string): Promise<DepartmentSystem[]> {
    const ids = await this.redis.smembers(this.keys.systems(deptCode));
    const systems = await this.getMany<DepartmentSystem>(ids.map((id) => this.keys.system(deptCode, id)));
    return systems.sort((a, b) => a.systemId.localeCompare(b.systemId));
  }

  async recordCertificate(input: NewCertificate, at: Date): Promise<CertificateRecord> {
    assertSerial(input.serial);
    const record: CertificateRecord = {
      serial: input.serial,
      deptCode: input.deptCode,
      systemId: input.systemId,
      notBefore: input.notBefore.toISOString(),
      notAfter: input.notAfter.toISOString(),
      fingerprint256: input.fingerprint256,
      certPem: input.certPem,
      issuedAt: at.toISOString(),
      status: 'active',
    };
    const keys = [
      this.keys.system(input.deptCode, input.systemId),
      this.keys.certificate(input.serial),
      this.keys.certificates,
      this.keys.departmentCertificates(input.deptCode),
    ];
    const result = await this.eval(RECORD_CERTIFICATE, keys, [
      JSON.stringify(record),
      input.serial,
      at.getTime(),
    ]);
    if (result === -1) {
      throw new SystemNotFound(`department ${input.deptCode} has no system "${input.systemId}"`);
    }
    if (result === 0) throw new CertExists(`a certificate with serial ${input.serial} is already recorded`);
    return record;
  }

  async getCertificate(serial: string): Promise<CertificateRecord | null> {
    return parse<CertificateRecord>(await this.redis.get(this.keys.certificate(serial)));
  }

  /** Certificates in issue order, of one department or of all. */
  async listCertificates(filter: { deptCode?: string } = {}): Promise<CertificateRecord[]> {
    const index =
      filter.deptCode === undefined
        ? this.keys.certificates
        : this.keys.departmentCertificates(filter.deptCode);
    const serials = await this.redis.zrange(index, 0, -1);
    return this.getMany<CertificateRecord>(serials.map((s) => this.keys.certificate(s)));
  }

  /** Revokes a certificate and announces it on the revoked channel. Returns the revocation generation. */
  async revokeCertificate(serial: string, reason: RevocationReason, at: Date): Promise<number> {
    assertSerial(serial);
    if (!(REVOCATION_REASONS as readonly string[]).includes(reason)) {
      throw new RevocationReasonInvalid(`"${reason}" is not one of ${REVOCATION_REASONS.join(', ')}`);
    }
    const keys = [this.keys.certificate(serial), this.keys.revoked, this.keys.revocationGeneration];
    const result = await this.eval(REVOKE, keys, [serial, at.toISOString(), reason, this.revokedChannel]);
    if (result === -1) throw new CertNotFound(`no certificate with serial ${serial} was issued`);
    if (result === 0) throw new CertAlreadyRevoked(`certificate ${serial} is already revoked`);
    return result;
  }

  /** The revoked set, oldest revocation first. */
  async listRevoked(): Promise<RevokedEntry[]> {
    return parseRevoked(await this.redis.hvals(this.keys.revoked));
  }

  async revocationGeneration(): Promise<number> {
    return Number((await this.redis.get(this.keys.revocationGeneration)) ?? 0);
  }

  /**
   * One atomic read of the revoked set and its generation, with a new CRL number. Because the number is
   * taken in the same step, a higher number always describes the same or a later revoked set.
   */
  async crlSnapshot(): Promise<{ generation: number; revoked: RevokedEntry[]; crlNumber: number }> {
    const replies = await this.redis
      .multi()
      .get(this.keys.revocationGeneration)
      .hvals(this.keys.revoked)
      .incr(this.keys.crlNumber)
      .exec();
    const [generation, revoked, crlNumber] = (replies ?? []).map(([err, value]) => {
      if (err) throw err;
      return value;
    });
    return {
      generation: Number(generation ?? 0),
      revoked: parseRevoked(revoked as string[]),
      crlNumber: Number(crlNumber),
    };
  }

  /** The stored CRL (if any) and the current revocation generation, read together. */
  async cachedCrl(): Promise<{ crl: StoredCrl | null; generation: number }> {
    const replies = await this.redis
      .multi()
      .hgetall(this.keys.crl)
      .get(this.keys.revocationGeneration)
      .exec();
    const [hash, generation] = (replies ?? []).map(([err, value]) => {
      if (err) throw err;
      return value;
    }) as [Record<string, string>, string | null];
    return { crl: hash?.der ? storedCrlFrom(hash) : null, generation: Number(generation ?? 0) };
  }

  /** Stores a CRL unless a higher-numbered one is already stored; returns whether it was stored. */
  async storeCrl(crl: StoredCrl): Promise<boolean> {
    const fields = [
      ['der', crl.der.toString('base64')],
      ['generation', String(crl.generation)],
      ['thisUpdate', crl.thisUpdate.toISOString()],
      ['nextUpdate', crl.nextUpdate.toISOString()],
    ].flat();
    return (await this.eval(STORE_CRL, [this.keys.crl], [crl.crlNumber, ...fields])) === 1;
  }

  private async getMany<T>(keys: string[]): Promise<T[]> {
    if (keys.length === 0) return [];
    const values = await this.redis.mget(keys);
    return values.filter((v): v is string => v !== null).map((v) => JSON.parse(v) as T);
  }

  private async eval(script: string, keys: string[], args: (string | number)[]): Promise<number> {
    return Number(await this.redis.eval(script, keys.length, ...keys, ...args));
  }
}

function storedCrlFrom(hash: Record<string, string>): StoredCrl {
  return {
    der: Buffer.from(hash.der!, 'base64'),
    crlNumber: Number(hash.crlNumber),
    generation: Number(hash.generation),
    thisUpdate: new Date(hash.thisUpdate!),
    nextUpdate: new Date(hash.nextUpdate!),
  };
}

function parseRevoked(values: string[]): RevokedEntry[] {
  return values
    .map((v) => JSON.parse(v) as RevokedEntry)
    .sort((a, b) => a.revokedAt.localeCompare(b.revokedAt) || a.serial.localeCompare(b.serial));
}

function parse<T>(value: string | null): T | null {
  return value === null ? null : (JSON.parse(value) as T);
}

function assertName(name: string, ErrorType: new (message: string) => Error, what: string): void {
  if (typeof name !== 'string' || name.trim().length === 0 || name.length > 200) {
    throw new ErrorType(`the ${what} name must be 1-200 characters and not blank`);
  }
}

function assertSerial(serial: string): void {
  if (!SERIAL.test(serial)) throw new CertSerialInvalid(`serial "${serial}" is not lowercase hexadecimal`);
}
