/**
 * 企业登记信息: synthetic enterprises. The unified social credit code is "91" (industry and commerce,
 * enterprise) + a real county code + an organisation code (GB 11714: "MA" + six serial characters + its
 * check character) + the GB 32100 check character. The serial is a permutation of the row index, so a
 * lookup recovers the index from the key.
 */
import { organisationCheckCharacter, usccCheckCharacter } from '../../catalog/identifiers.js';
import type { Row } from '../types.js';
import { personName, streetAddress } from './people.js';
import { AffinePermutation, DAY_MS, hash32, isoDay, Rng, SIMULATOR_EPOCH_MS, updatedAtMs } from './random.js';
import {
  COUNTIES,
  INDUSTRIES,
  REGISTERED_CAPITALS,
  TRADE_NAME_FIRST,
  TRADE_NAME_SECOND,
} from './reference-data.js';

const SALT = 0x656e_7470; // "entp"
/** Serial characters: the USCC alphabet (no I, O, Z, S, V), so the code stays within GB 32100's characters. */
const SERIAL_ALPHABET = '0123456789ABCDEFGHJKLMNPQRTUWXY';
const SERIAL_LENGTH = 6;
const serials = new AffinePermutation(SERIAL_ALPHABET.length ** SERIAL_LENGTH);
/** MA-prefixed codes are issued since the 2015 reform (国发〔2015〕33号). */
const FIRST_ESTABLISHED_DAY = Date.UTC(2015, 9, 1) / DAY_MS;
const LAST_ESTABLISHED_DAY = SIMULATOR_EPOCH_MS / DAY_MS - 30;
const STATUSES = ['存续', '存续', '存续', '存续', '存续', '在业', '在业', '在业', '在业', '注销'] as const;

export const ENTERPRISE_CAPACITY = serials.size;

function identity(i: number): { uscc: string; rng: Rng; county: (typeof COUNTIES)[number] } {
  const rng = new Rng(hash32(SALT, i));
  const county = rng.pick(COUNTIES);
  let serialNumber = serials.forward(i);
  let serial = '';
  for (let k = 0; k < SERIAL_LENGTH; k++) {
    serial = SERIAL_ALPHABET[serialNumber % SERIAL_ALPHABET.length]! + serial;
    serialNumber = Math.floor(serialNumber / SERIAL_ALPHABET.length);
  }
  const body = `MA${serial}`;
  const first17 = `91${county.code}${body}${organisationCheckCharacter(body)}`;
  return { uscc: first17 + usccCheckCharacter(first17), rng, county };
}

export function usccAt(i: number): string {
  return identity(i).uscc;
}

/** The row index a USCC decodes to (its serial), before checking the rest of it. */
export function enterpriseCandidateIndex(uscc: string): number | undefined {
  if (uscc.length !== 18 || uscc.slice(8, 10) !== 'MA') return undefined;
  let serialNumber = 0;
  for (let k = 10; k < 10 + SERIAL_LENGTH; k++) {
    const value = SERIAL_ALPHABET.indexOf(uscc[k]!);
    if (value < 0) return undefined;
    serialNumber = serialNumber * SERIAL_ALPHABET.length + value;
  }
  return serials.inverse(serialNumber);
}

/** The row index a USCC was generated for, or undefined if no enterprise index can give it. */
export function enterpriseIndexOf(uscc: string): number | undefined {
  const i = enterpriseCandidateIndex(uscc);
  return i !== undefined && usccAt(i) === uscc ? i : undefined;
}

export function enterpriseRow(i: number): Row {
  const { uscc, rng, county } = identity(i);
  const tradeName = rng.pick(TRADE_NAME_FIRST) + rng.pick(TRADE_NAME_SECOND);
  return {
    uscc,
    name: `${county.cityShort}${tradeName}${rng.pick(INDUSTRIES)}有限公司`,
    legalRepresentative: personName(rng, rng.chance(0.7)),
    registeredCapital: rng.pick(REGISTERED_CAPITALS),
    establishedDate: isoDay(rng.between(FIRST_ESTABLISHED_DAY, LAST_ESTABLISHED_DAY)),
    address: streetAddress(rng, county),
    status: rng.pick(STATUSES),
    divisionCode: county.code,
    updatedAt: new Date(updatedAtMs(SALT, i)).toISOString(),
  };
}

export function enterpriseUpdatedAtMs(i: number): number {
  return updatedAtMs(SALT, i);
}
