/**
 * 社会保险参保信息: one insurance record per resident. Row i belongs to resident i (same ID number and
 * name), so the data set joins with residents; a resident past the data set's size is not insured.
 */
import type { Row } from '../types.js';
import { personAt } from './people.js';
import { DAY_MS, hash32, isoDay, Rng, SIMULATOR_EPOCH_MS, updatedAtMs } from './random.js';

const SALT = 0x7369_6e73; // "sins"
const EMPLOYEE_TYPES = [
  '企业职工基本养老保险',
  '企业职工基本养老保险',
  '职工基本医疗保险',
  '失业保险',
  '工伤保险',
];
const RESIDENT_TYPES = ['城乡居民基本养老保险', '城乡居民基本医疗保险'];
const STATUSES = [
  '正常参保',
  '正常参保',
  '正常参保',
  '正常参保',
  '正常参保',
  '正常参保',
  '暂停参保',
  '终止参保',
];
const EPOCH_DAY = SIMULATOR_EPOCH_MS / DAY_MS;
const FIRST_START_DAY = Date.UTC(1995, 0, 1) / DAY_MS;

export function socialInsuranceRow(i: number): Row {
  const person = personAt(i);
  const rng = new Rng(hash32(SALT, i));
  const birthDay = Date.parse(person.birthDate) / DAY_MS;
  const adultDay = birthDay + Math.round(18 * 365.25);
  const minor = adultDay > EPOCH_DAY - 30;
  const employee = !minor && rng.chance(0.7);
  const insuranceType = minor ? '城乡居民基本医疗保险' : rng.pick(employee ? EMPLOYEE_TYPES : RESIDENT_TYPES);
  const firstDay = minor ? birthDay : Math.max(adultDay, FIRST_START_DAY);
  return {
    idNumber: person.idNumber,
    name: person.name,
    insuranceType,
    status: rng.pick(STATUSES),
    startDate: isoDay(rng.between(firstDay, EPOCH_DAY - 30)),
    monthlyBase: employee ? rng.between(400, 3500) * 10 : null,
    updatedAt: new Date(updatedAtMs(SALT, i)).toISOString(),
  };
}

export function socialInsuranceUpdatedAtMs(i: number): number {
  return updatedAtMs(SALT, i);
}
