/**
 * Citizen data-use transparency: for one person, which department and system used their record, when, for
 * what purpose and case, and with what outcome, read from the trail exactly as an auditor's subject search
 * reads it (PostgreSQL plus the streams' unshipped tails, newest first, keyset pages).
 *
 * The person is named only by the keyed hash of their ID number (subject.ts): the clear number is taken,
 * checked, hashed and forgotten. Calls made under a grant flagged for a confidential investigation carry
 * the flag in their own audit record, and are withheld until the platform's delay has passed since the
 * call; the page never says how many were withheld.
 */
import { type Static, Type } from '@sinclair/typebox';
import { checkIdNumber } from '../catalog/identifiers.js';
import type { RedisClient } from '../platform/redis.js';
import { TransparencySubjectInvalid } from './errors.js';
import { AuditDecision, ISO_MS_PATTERN, type StoredAuditRecord } from './record.js';
import { searchFiltered } from './search.js';
import type { AuditStore } from './store/store.js';
import { normalizeSubject, subjectHash } from './subject.js';

const DAY_MS = 86_400_000;

export const TransparencyQuery = Type.Object(
  {
    limit: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 200, description: 'Uses per page (default 50)' }),
    ),
    cursor: Type.Optional(
      Type.String({ minLength: 1, maxLength: 512, description: 'nextCursor of the previous page' }),
    ),
  },
  { additionalProperties: false },
);
export type TransparencyQuery = Static<typeof TransparencyQuery>;

const DepartmentRef = Type.Object(
  {
    code: Type.String({ description: 'Unified social credit code' }),
    name: Type.Optional(Type.String({ description: 'Registered name, when the department is registered' })),
  },
  { additionalProperties: false },
);

export const TransparencyUse = Type.Object(
  {
    time: Type.String({ pattern: ISO_MS_PATTERN, description: 'When the call was made (UTC)' }),
    requestId: Type.String({ description: 'Request id: name it in an objection or a complaint' }),
    department: DepartmentRef,
    systemId: Type.Optional(Type.String({ description: 'The system of that department that called' })),
    resource: Type.Optional(Type.String({ description: 'Catalog resource code of the data used' })),
    provider: Type.Optional(DepartmentRef),
    purpose: Type.Optional(Type.String({ description: 'Declared purpose of the call' })),
    caseId: Type.Optional(Type.String({ description: 'Case or matter the call served' })),
    decision: AuditDecision,
    reasonCode: Type.Optional(Type.String({ description: 'Why the call was refused or failed' })),
    delayed: Type.Optional(
      Type.Literal(true, {
        description: 'Made for a confidential investigation: shown only once the transparency delay passed',
      }),
    ),
  },
  { additionalProperties: false },
);
export type TransparencyUse = Static<typeof TransparencyUse>;

export const TransparencyPage = Type.Object(
  {
    uses: Type.Array(TransparencyUse),
    nextCursor: Type.Optional(Type.String({ description: 'Pass as cursor for the next page' })),
  },
  { additionalProperties: false },
);
export type TransparencyPage = Static<typeof TransparencyPage>;

/**
 * The resident ID number a portal sends, normalized as subject hashing normalizes it, or the 400 problem.
 * The message names what is wrong by position only: it must never echo any part of the number.
 */
export function transparencySubject(value: unknown, today: Date): string {
  if (typeof value !== 'string' || value.length === 0) {
    throw new TransparencySubjectInvalid(
      'send the resident ID number of the person the portal verified in the header x-subject-id, covered by the signature',
    );
  }
  const normalized = value.length > 64 ? value : normalizeSubject(value);
  const check = checkIdNumber(normalized, today);
  if (!check.ok) {
    throw new TransparencySubjectInvalid(
      normalized.length !== 18
        ? 'x-subject-id is not a resident ID number (GB 11643-1999): it must be 18 characters'
        : `x-subject-id is not a valid resident ID number (GB 11643-1999): character ${check.position ?? '?'} is wrong`,
    );
  }
  return normalized;
}

export interface TransparencyInput {
  /** The person's ID number as checked by transparencySubject. */
  subject: string;
  /** The query's own time (epoch ms): investigation calls made after now − delay are withheld. */
  now: number;
  delayDays: number;
  limit?: number;
  cursor?: string;
}

export interface TransparencySources {
  redis: RedisClient;
  prefix: string;
  subjectSecret: Buffer;
  store?: AuditStore;
  /** A department's registered name, if it is registered. */
  departmentName: (code: string) => Promise<string | undefined>;
}

/** One page of the data uses of a person's record, newest first. */
export async function transparencyUses(
  sources: TransparencySources,
  input: TransparencyInput,
): Promise<TransparencyPage> {
  const page = await searchFiltered(
    sources.redis,
    sources.prefix,
    {
      filters: [
        ['subject', subjectHash(sources.subjectSecret, input.subject)],
        ['kind', 'data'],
        ['disclosedBefore', input.now - input.delayDays * DAY_MS],
      ],
      limit: input.limit ?? 50,
      ...(input.cursor === undefined ? {} : { cursor: input.cursor }),
    },
    sources.store,
  );
  const names = new Map<string, Promise<string | undefined>>();
  const department = async (code: string) => {
    let name = names.get(code);
    if (!name) {
      name = sources.departmentName(code);
      names.set(code, name);
    }
    const known = await name;
    return known === undefined ? { code } : { code, name: known };
  };
  const uses = await Promise.all(page.records.map((record) => useOf(record, department)));
  return page.nextCursor ? { uses, nextCursor: page.nextCursor } : { uses };
}

async function useOf(
  record: StoredAuditRecord,
  department: (code: string) => Promise<{ code: string; name?: string }>,
): Promise<TransparencyUse> {
  const { actor } = record;
  return {
    time: record.time,
    requestId: record.requestId,
    department: await department(actor.deptCode ?? '(unknown)'),
    ...(actor.systemId ? { systemId: actor.systemId } : {}),
    ...(record.resource ? { resource: record.resource } : {}),
    ...(record.providerDept ? { provider: await department(record.providerDept) } : {}),
    ...(record.purpose ? { purpose: record.purpose } : {}),
    ...(actor.caseId ? { caseId: actor.caseId } : {}),
    decision: record.decision,
    ...(record.reasonCode ? { reasonCode: record.reasonCode } : {}),
    ...(record.investigation ? { delayed: true as const } : {}),
  };
}
