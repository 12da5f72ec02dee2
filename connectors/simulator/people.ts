/**
 * 人口基础信息: synthetic residents. The ID number encodes the row index: birth date and sequence number
 * are a permutation of the index, so a lookup recovers the index from the key, regenerates that row and
 * answers only if the whole ID number (division code and check character included) matches.
 */
import { idNumberCheckCharacter } from '../../catalog/identifiers.js';
import type { Row } from '../types.js';
import { AffinePermutation, DAY_MS, hash32, isoDay, Rng, updatedAtMs } from './random.js';
import {
  COMMON_SURNAMES,
  COUNTIES,
  type County,
  FEMALE_GIVEN,
  MALE_GIVEN,
  PHONE_PREFIXES,
  STREETS,
  SURNAMES,
} from './reference-data.js';

const SALT = 0x7265_7369; // "resi"
const FIRST_BIRTH_DAY = Date.UTC(1940, 0, 1) / DAY_MS;
const BIRTH_DAYS = Date.UTC(2011, 0, 1) / DAY_MS - FIRST_BIRTH_DAY;
/** Sequence numbers 001–999 per birth date and division. */
const SEQUENCES = 999;
const slots = new AffinePermutation(BIRTH_DAYS * SEQUENCES);

/** How many distinct residents the ID scheme can hold. */
export const RESIDENT_CAPACITY = slots.size;

export interface Person {
  idNumber: string;
  name: string;
  gender: '男' | '女';
  birthDate: string;
  county: County;
  rng: Rng;
}

/** Row i's ID number, and the generator positioned after the draws the ID used. */
function identity(i: number): {
  idNumber: string;
  birthDay: number;
  sequence: number;
  county: County;
  rng: Rng;
} {
  const rng = new Rng(hash32(SALT, i));
  const county = rng.pick(COUNTIES);
  const slot = slots.forward(i);
  const birthDay = FIRST_BIRTH_DAY + Math.floor(slot / SEQUENCES);
  const sequence = (slot % SEQUENCES) + 1;
  const first17 = county.code + isoDay(birthDay).replaceAll('-', '') + String(sequence).padStart(3, '0');
  return { idNumber: first17 + idNumberCheckCharacter(first17), birthDay, sequence, county, rng };
}

export function idNumberAt(i: number): string {
  return identity(i).idNumber;
}

export function personAt(i: number): Person {
  const { idNumber, birthDay, sequence, county, rng } = identity(i);
  const male = sequence % 2 === 1;
  return {
    idNumber,
    name: personName(rng, male),
    gender: male ? '男' : '女',
    birthDate: isoDay(birthDay),
    county,
    rng,
  };
}

/** The row index an ID number decodes to (birth date and sequence), before checking the rest of it. */
export function residentCandidateIndex(idNumber: string): number | undefined {
  if (idNumber.length !== 18 || !/^[0-9]{17}[0-9X]$/.test(idNumber)) return undefined;
  const birth = Date.UTC(
    Number(idNumber.slice(6, 10)),
    Number(idNumber.slice(10, 12)) - 1,
    Number(idNumber.slice(12, 14)),
  );
  const day = birth / DAY_MS - FIRST_BIRTH_DAY;
  const sequence = Number(idNumber.slice(14, 17));
  if (!(day >= 0 && day < BIRTH_DAYS) || sequence < 1) return undefined;
  if (isoDay(birth / DAY_MS).replaceAll('-', '') !== idNumber.slice(6, 14)) return undefined;
  return slots.inverse(day * SEQUENCES + sequence - 1);
}

/** The row index an ID number was generated for, or undefined if no resident index can give it. */
export function residentIndexOf(idNumber: string): number | undefined {
  const i = residentCandidateIndex(idNumber);
  return i !== undefined && idNumberAt(i) === idNumber ? i : undefined;
}

export function residentRow(i: number): Row {
  const person = personAt(i);
  const { rng, county } = person;
  return {
    idNumber: person.idNumber,
    name: person.name,
    gender: person.gender,
    birthDate: person.birthDate,
    phone: phoneNumber(rng),
    address: streetAddress(rng, county),
    divisionCode: county.code,
    updatedAt: new Date(updatedAtMs(SALT, i)).toISOString(),
  };
}

export function residentUpdatedAtMs(i: number): number {
  return updatedAtMs(SALT, i);
}

export function personName(rng: Rng, male: boolean): string {
  const surname = rng.chance(0.5) ? SURNAMES[rng.int(COMMON_SURNAMES)]! : rng.pick(SURNAMES);
  const chars = male ? MALE_GIVEN : FEMALE_GIVEN;
  return rng.chance(0.3) ? surname + rng.pick(chars) : surname + rng.pick(chars) + rng.pick(chars);
}

export function phoneNumber(rng: Rng): string {
  return rng.pick(PHONE_PREFIXES) + String(rng.int(100_000_000)).padStart(8, '0');
}

/** province + city + district + street + number, in the county's own division. */
export function streetAddress(rng: Rng, county: County): string {
  const city = county.city === county.province ? '' : county.city;
  const street = `${rng.pick(STREETS)}${rng.between(1, 399)}号`;
  const flat = rng.chance(0.6)
    ? `${rng.between(1, 30)}栋${rng.between(1, 6)}单元${rng.between(1, 33)}0${rng.between(1, 6)}室`
    : '';
  return county.province + city + county.district + street + flat;
}
