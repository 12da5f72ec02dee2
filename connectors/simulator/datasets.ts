/**
 * The simulator's data sets: each is a size and pure functions of the row index, so millions of rows
 * cost no memory and every run serves the same rows.
 */
import type { Row } from '../types.js';
import {
  ENTERPRISE_CAPACITY,
  enterpriseCandidateIndex,
  enterpriseIndexOf,
  enterpriseRow,
  enterpriseUpdatedAtMs,
  usccAt,
} from './enterprises.js';
import {
  idNumberAt,
  RESIDENT_CAPACITY,
  residentCandidateIndex,
  residentIndexOf,
  residentRow,
  residentUpdatedAtMs,
} from './people.js';
import { socialInsuranceRow, socialInsuranceUpdatedAtMs } from './social-insurance.js';

export type DatasetName = 'residents' | 'enterprises' | 'social-insurance';
export const DATASET_NAMES: readonly DatasetName[] = ['residents', 'enterprises', 'social-insurance'];

export interface DatasetKind {
  name: DatasetName;
  title: string;
  keyItem: string;
  /** Item that orders changes (for `since`). */
  watermark: 'updatedAt';
  /** Largest size the key scheme can address. */
  capacity: number;
  keyAt(i: number): string;
  /** The index the key was generated for (any size), or undefined. */
  indexOf(key: string): number | undefined;
  /** The index the key decodes to, not yet checked against that row's key. */
  candidateIndex(key: string): number | undefined;
  row(i: number): Row;
  updatedAtMs(i: number): number;
}

export const DATASET_KINDS: Record<DatasetName, DatasetKind> = {
  residents: {
    name: 'residents',
    title: '人口基础信息',
    keyItem: 'idNumber',
    watermark: 'updatedAt',
    capacity: RESIDENT_CAPACITY,
    keyAt: idNumberAt,
    indexOf: residentIndexOf,
    candidateIndex: residentCandidateIndex,
    row: residentRow,
    updatedAtMs: residentUpdatedAtMs,
  },
  enterprises: {
    name: 'enterprises',
    title: '企业登记信息',
    keyItem: 'uscc',
    watermark: 'updatedAt',
    capacity: ENTERPRISE_CAPACITY,
    keyAt: usccAt,
    indexOf: enterpriseIndexOf,
    candidateIndex: enterpriseCandidateIndex,
    row: enterpriseRow,
    updatedAtMs: enterpriseUpdatedAtMs,
  },
  'social-insurance': {
    name: 'social-insurance',
    title: '社会保险参保信息',
    keyItem: 'idNumber',
    watermark: 'updatedAt',
    capacity: RESIDENT_CAPACITY,
    keyAt: idNumberAt,
    indexOf: residentIndexOf,
    candidateIndex: residentCandidateIndex,
    row: socialInsuranceRow,
    updatedAtMs: socialInsuranceUpdatedAtMs,
  },
};

/** A data set of a given size. */
export class Dataset {
  readonly kind: DatasetKind;
  readonly size: number;

  constructor(name: DatasetName, size: number) {
    const kind = DATASET_KINDS[name];
    if (!Number.isInteger(size) || size < 0 || size > kind.capacity) {
      throw new RangeError(`${name}: size must be an integer from 0 to ${kind.capacity}`);
    }
    this.kind = kind;
    this.size = size;
  }

  /** The row a key belongs to, or undefined when the key is not in this data set. */
  lookup(key: string): { index: number; row: Row } | undefined {
    const index = this.kind.candidateIndex(key);
    if (index === undefined || index >= this.size) return undefined;
    // The key decodes to an index; only the whole key (division code, check character) proves it is that row's.
    const row = this.kind.row(index);
    return row[this.kind.keyItem] === key ? { index, row } : undefined;
  }
}

/** The keys of rows 0 … n-1 of a data set (present in any instance of at least n rows). */
export function sampleKeys(dataset: DatasetName, n: number): string[] {
  const kind = DATASET_KINDS[dataset];
  return Array.from({ length: n }, (_, i) => kind.keyAt(i));
}
