/**
 * Cases the bureau tracks between departments, each on a working-day clock:
 * - dispute (争议, [HB-S] 25; [HC-R] 28): opened by either department against the other, decided by the bureau;
 * - rectification (整改, [HB-S] 31; [HC-R] 44): ordered by the bureau to a department, with a due date,
 *   closed by the department's closure report once the bureau accepts it;
 * - catalog-change (目录更新, [HC-R] 13): a law amended or a department's duties changed; the department
 *   updates its catalog within 15 working days (reminded at 10), closed by a catalog version published after it.
 */
import { type Static, Type } from '@sinclair/typebox';
import { ActorRef, literalUnion } from '../../catalog/records.js';
import { RESOURCE_CODE_PATTERN, USCC_PATTERN } from '../../catalog/schema.js';
import { AnswerDeadline } from '../objections/schema.js';
import { transitionSchema } from '../record-store.js';

const Text = (maxLength: number, description: string) =>
  Type.String({ minLength: 1, maxLength, description });
const DateTime = (description: string) => Type.String({ format: 'date-time', description });

export const CASE_KINDS = ['dispute', 'rectification', 'catalog-change'] as const;
export const CaseKind = literalUnion(CASE_KINDS);
export type CaseKind = Static<typeof CaseKind>;

export const CASE_STATES = ['open', 'reported', 'decided', 'closed', 'withdrawn'] as const;
export const CaseState = literalUnion(CASE_STATES, {
  description: 'open: on its clock; reported: a closure report awaits the bureau; the rest are final',
});
export type CaseState = Static<typeof CaseState>;

export const DisputeRequest = Type.Object(
  {
    otherDept: Type.String({ pattern: USCC_PATTERN, description: 'The department the dispute is with' }),
    subject: Text(200, 'What the dispute is about'),
    description: Text(4000, 'The facts and what the opener asks the bureau to decide'),
    resourceCode: Type.Optional(Type.String({ pattern: RESOURCE_CODE_PATTERN })),
  },
  { additionalProperties: false },
);
export type DisputeRequest = Static<typeof DisputeRequest>;

export const RectificationRequest = Type.Object(
  {
    dept: Type.String({ pattern: USCC_PATTERN, description: 'The department ordered to rectify' }),
    subject: Text(200, 'The violation found'),
    description: Text(4000, 'What must be corrected, and the rule it breaks'),
    workdays: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 120, description: 'Time limit in working days; 15 when omitted' }),
    ),
    resourceCode: Type.Optional(Type.String({ pattern: RESOURCE_CODE_PATTERN })),
  },
  { additionalProperties: false },
);
export type RectificationRequest = Static<typeof RectificationRequest>;

export const CatalogChangeRequest = Type.Object(
  {
    dept: Type.String({ pattern: USCC_PATTERN, description: 'The department whose catalog must follow' }),
    event: Type.Union([Type.Literal('law-amended'), Type.Literal('duties-changed')]),
    subject: Text(200, 'The law or the change of duties, e.g. its name and article'),
    description: Text(4000, 'What changed and what the catalog must reflect'),
  },
  { additionalProperties: false },
);
export type CatalogChangeRequest = Static<typeof CatalogChangeRequest>;

export const CaseText = Type.Object(
  { text: Text(4000, 'Decision, report or reason') },
  { additionalProperties: false },
);
export const ReviewRequest = Type.Object(
  {
    outcome: Type.Union([Type.Literal('accept'), Type.Literal('return')]),
    reason: Text(2000, 'Why the report is accepted or returned'),
  },
  { additionalProperties: false },
);
export const CloseChangeRequest = Type.Object(
  {
    resourceCode: Type.String({
      pattern: RESOURCE_CODE_PATTERN,
      description: 'A resource updated since the event',
    }),
  },
  { additionalProperties: false },
);

export const CaseTransition = transitionSchema(CaseState, {});
export type CaseTransition = Static<typeof CaseTransition>;

export const Case = Type.Object(
  {
    id: Type.String({ pattern: '^(DSP|RECT|CHG)-[0-9]{8}-[0-9]{6,}$' }),
    kind: CaseKind,
    state: CaseState,
    subject: Type.String(),
    description: Type.String(),
    event: Type.Optional(Type.String({ description: 'catalog-change: law-amended or duties-changed' })),
    openedBy: ActorRef,
    /** The opener's department (dispute), or the bureau. */
    fromDept: Type.Optional(Type.String({ pattern: USCC_PATTERN })),
    /** The other party (dispute), the department ordered (rectification), or whose catalog must follow. */
    dept: Type.String({ pattern: USCC_PATTERN }),
    resourceCode: Type.Optional(Type.String({ pattern: RESOURCE_CODE_PATTERN })),
    responsible: Type.String({ description: '"bureau" or the department that must act on the clock' }),
    submittedAt: DateTime('Platform record time'),
    deadline: AnswerDeadline,
    decision: Type.Optional(
      Type.Object(
        { text: Type.String(), by: ActorRef, at: DateTime('When'), withinLimit: Type.Boolean() },
        { additionalProperties: false },
      ),
    ),
    report: Type.Optional(
      Type.Object(
        {
          text: Type.String(),
          by: ActorRef,
          at: DateTime('When'),
          withinLimit: Type.Boolean(),
          resourceCode: Type.Optional(Type.String()),
        },
        { additionalProperties: false },
      ),
    ),
    closedAt: Type.Optional(DateTime('When it ended')),
    history: Type.Array(CaseTransition),
  },
  { additionalProperties: false },
);
export type Case = Static<typeof Case>;
