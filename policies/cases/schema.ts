/**
 * Cases the bureau tracks between departments, each on a working-day clock:
 * - dispute (争议, [HB-S] 25; [HC-R] 28): opened by either department against the other, decided by the bureau;
 * - rectification (整改, [HB-S] 31; [HC-R] 44): ordered by the bureau to a department, with a due date,
 *   closed by the department's closure report once the bureau accepts it;
 * - catalog-change (目录更新, [HC-R] 13): a law amended or a department's duties changed; the department
 *   updates its catalog within 15 working days (reminded at 10), closed by a catalog version published after it;
 * - joint-verification (联合核实, [HB-S] 17): two departments' resources disagree on one item of one record;
 *   both departments answer (confirm their value with evidence, or concede), the bureau decides when they
 *   disagree or the clock runs out, and the department whose value is wrong gets a rectification order.
 */
import { type Static, Type } from '@sinclair/typebox';
import { ActorRef, literalUnion } from '../../catalog/records.js';
import { RESOURCE_CODE_PATTERN, SEMANTIC_ID_PATTERN, USCC_PATTERN } from '../../catalog/schema.js';
import { AnswerDeadline } from '../objections/schema.js';
import { transitionSchema } from '../record-store.js';

const Text = (maxLength: number, description: string) =>
  Type.String({ minLength: 1, maxLength, description });
const DateTime = (description: string) => Type.String({ format: 'date-time', description });

export const CASE_KINDS = ['dispute', 'rectification', 'catalog-change', 'joint-verification'] as const;
export const CaseKind = literalUnion(CASE_KINDS);
export type CaseKind = Static<typeof CaseKind>;

export const CASE_STATES = ['open', 'referred', 'reported', 'decided', 'closed', 'withdrawn'] as const;
export const CaseState = literalUnion(CASE_STATES, {
  description:
    'open: on its clock; referred: a joint verification awaits the bureau’s decision (on its clock); reported: a closure report awaits the bureau; the rest are final',
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

/** The case id pattern of every kind: DSP dispute, RECT rectification, CHG catalog change, JV joint verification. */
export const CASE_ID_PATTERN = '^(DSP|RECT|CHG|JV)-[0-9]{8}-[0-9]{6,}$';

const HEX64 = '^[0-9a-f]{64}$';

/**
 * A joint verification opened by hand: the bureau, or an administrator of one of the two provider
 * departments, names the two resources, the item and the record. The record key is hashed at once (the
 * subject hash of the audit trail) and the two values are kept only as keyed fingerprints.
 */
export const JointVerificationRequest = Type.Object(
  {
    semanticId: Type.String({
      pattern: SEMANTIC_ID_PATTERN,
      maxLength: 128,
      description: 'The item both resources hold (一数一源 semantic id), e.g. person.name',
    }),
    resources: Type.Array(Type.String({ pattern: RESOURCE_CODE_PATTERN }), {
      minItems: 2,
      maxItems: 2,
      uniqueItems: true,
      description: 'The two resources that disagree, of two different provider departments',
    }),
    key: Type.String({
      minLength: 1,
      maxLength: 64,
      description:
        'The record key (e.g. the resident ID number) in clear; hashed with the platform subject secret, never stored',
    }),
    values: Type.Array(Type.String({ maxLength: 4000 }), {
      minItems: 2,
      maxItems: 2,
      description: 'The value each resource holds, in the order of `resources`; kept only as fingerprints',
    }),
    description: Text(4000, 'How the inconsistency was found'),
  },
  { additionalProperties: false },
);
export type JointVerificationRequest = Static<typeof JointVerificationRequest>;

export const JointAnswerRequest = Type.Object(
  {
    position: Type.Union([Type.Literal('confirm'), Type.Literal('concede')], {
      description: 'confirm: our value is correct (give the evidence); concede: the other value is correct',
    }),
    evidence: Text(4000, 'The evidence (source document, register, date) or why the department concedes'),
  },
  { additionalProperties: false },
);
export type JointAnswerRequest = Static<typeof JointAnswerRequest>;

export const JointDecisionRequest = Type.Object(
  {
    correctSource: Type.String({
      pattern: RESOURCE_CODE_PATTERN,
      description: 'The resource whose value is correct; the other department must correct its value',
    }),
    text: Text(4000, 'The grounds of the decision'),
  },
  { additionalProperties: false },
);
export type JointDecisionRequest = Static<typeof JointDecisionRequest>;

const JointSide = Type.Object(
  {
    dept: Type.String({ pattern: USCC_PATTERN, description: 'The provider department of the resource' }),
    resourceCode: Type.String({ pattern: RESOURCE_CODE_PATTERN }),
    item: Type.String({ description: 'The item name in this resource' }),
    valueFingerprint: Type.String({
      pattern: HEX64,
      description: 'HMAC-SHA-256 of the value under the platform subject secret (never the value)',
    }),
    authoritative: Type.Boolean({
      description: 'The catalog holds this resource as the item’s source (一数一源, catalog/item-sources.ts)',
    }),
    answer: Type.Optional(
      Type.Object(
        {
          position: Type.Union([Type.Literal('confirm'), Type.Literal('concede')]),
          evidence: Type.String(),
          by: ActorRef,
          at: DateTime('When'),
          withinLimit: Type.Boolean(),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);
export type JointSide = Static<typeof JointSide>;

export const JointVerification = Type.Object(
  {
    semanticId: Type.String({ pattern: SEMANTIC_ID_PATTERN }),
    recordKeyHash: Type.String({
      pattern: HEX64,
      description: 'The record key as the audit trail’s subject hash (never the clear ID number)',
    }),
    maskedKey: Type.Optional(
      Type.String({
        maxLength: 200,
        description: 'The key masked as quality reports show it, to help the departments find the record',
      }),
    ),
    finding: Type.String({
      pattern: HEX64,
      description: 'Resource pair + item + record key: one case per finding, deduplicated across runs',
    }),
    origin: Type.Union([Type.Literal('quality-run'), Type.Literal('manual')]),
    runId: Type.Optional(Type.String({ description: 'The quality run that found it' })),
    authoritativeSource: Type.Optional(
      Type.String({ pattern: RESOURCE_CODE_PATTERN, description: 'The item’s source in the catalog' }),
    ),
    /** The authoritative side first when the catalog names one. */
    sides: Type.Array(JointSide, { minItems: 2, maxItems: 2 }),
    outcome: Type.Optional(
      Type.Object(
        {
          correctSource: Type.String({ pattern: RESOURCE_CODE_PATTERN }),
          by: Type.Union([Type.Literal('agreement'), Type.Literal('bureau')]),
          correctionDept: Type.String({ pattern: USCC_PATTERN }),
          correctionCaseId: Type.Optional(
            Type.String({
              pattern: CASE_ID_PATTERN,
              description: 'The rectification order that makes the other department correct its value',
            }),
          ),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);
export type JointVerification = Static<typeof JointVerification>;

export const CaseTransition = transitionSchema(CaseState, {});
export type CaseTransition = Static<typeof CaseTransition>;

export const Case = Type.Object(
  {
    id: Type.String({ pattern: CASE_ID_PATTERN }),
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
    responsible: Type.String({
      description:
        '"bureau", the department that must act on the clock, or "departments" (a joint verification awaiting both answers)',
    }),
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
    verification: Type.Optional(JointVerification),
    /** A rectification order that follows a joint verification: the case it came from. */
    relatedCase: Type.Optional(Type.String({ pattern: CASE_ID_PATTERN })),
    closedAt: Type.Optional(DateTime('When it ended')),
    history: Type.Array(CaseTransition),
  },
  { additionalProperties: false },
);
export type Case = Static<typeof Case>;
