/**
 * Objections to shared records (疑义与纠错, [HB-S] 23; [HC-R] 30; [XY] 21): a consumer department that
 * doubts a record it received names it (resource, key value, item, what is wrong, evidence); the provider
 * verifies it within its working-day limit and answers: corrected, or the data is right, with a reason.
 * These TypeBox objects are the single source of the shapes (API and types).
 *
 * The key value usually is a citizen's ID number: it is stored (the provider must find the record) and
 * returned to the two departments and the bureau, but never logged, never put in events, and audited
 * only as a keyed hash.
 */
import { type Static, Type } from '@sinclair/typebox';
import { ActorRef, literalUnion } from '../../catalog/records.js';
import { ITEM_NAME_PATTERN, RESOURCE_CODE_PATTERN, USCC_PATTERN } from '../../catalog/schema.js';
import { SYSTEM_ID_PATTERN } from '../grant.js';
import { DEADLINE_CLOCK_FIELDS, DEADLINE_EVENT_FIELDS, transitionSchema } from '../record-store.js';

const DateTime = (description: string) => Type.String({ format: 'date-time', description });
const Text = (maxLength: number, description: string) =>
  Type.String({ minLength: 1, maxLength, description });

export const OBJECTION_ID_PATTERN = '^OBJ-[0-9]{8}-[0-9]{6,}$';
export const KEY_VALUE_MAX_LENGTH = 256;

export const Evidence = Type.Object(
  {
    text: Type.Optional(Text(4000, 'What the consumer holds that contradicts the record')),
    url: Type.Optional(
      Type.String({
        format: 'uri',
        pattern: '^https?://',
        maxLength: 2048,
        description: 'Where the provider can see the evidence (e.g. a document in the consumer’s system)',
      }),
    ),
  },
  { additionalProperties: false, minProperties: 1 },
);
export type Evidence = Static<typeof Evidence>;

/** What a consumer department's dept-admin posts. */
export const ObjectionRequest = Type.Object(
  {
    resourceCode: Type.String({ pattern: RESOURCE_CODE_PATTERN }),
    systemId: Type.Optional(
      Type.String({
        pattern: SYSTEM_ID_PATTERN,
        description: 'The system that received the record; its grant must be live. Any system when omitted',
      }),
    ),
    keyItem: Type.Optional(
      Type.String({
        pattern: ITEM_NAME_PATTERN,
        description: 'The key item the key value is of; the resource’s (first) key item when omitted',
      }),
    ),
    key: Text(KEY_VALUE_MAX_LENGTH, 'Key value of the doubtful record (e.g. the resident ID number)'),
    item: Type.String({ pattern: ITEM_NAME_PATTERN, description: 'The item whose value is doubted' }),
    description: Text(2000, 'What is wrong with the value'),
    evidence: Type.Optional(Evidence),
    to: Type.Optional(
      Type.Union([Type.Literal('provider'), Type.Literal('platform')], {
        description:
          'provider (default): straight to the provider for verification; platform: the bureau rechecks it first, within 5 working days ([XY] 21), then forwards or dismisses it',
      }),
    ),
  },
  { additionalProperties: false },
);
export type ObjectionRequest = Static<typeof ObjectionRequest>;

export const ANSWER_OUTCOMES = ['corrected', 'data-correct'] as const;
export const AnswerOutcome = literalUnion(ANSWER_OUTCOMES, {
  description: 'corrected: confirmed and corrected at the source; data-correct: verified, the data is right',
});
export type AnswerOutcome = Static<typeof AnswerOutcome>;

/** The provider's answer. */
export const ObjectionAnswer = Type.Object(
  {
    outcome: AnswerOutcome,
    reason: Text(2000, 'What was verified, and what was done'),
    correctedValue: Type.Optional(
      Type.String({ maxLength: 2000, description: 'The value now recorded (corrected only)' }),
    ),
  },
  { additionalProperties: false },
);
export type ObjectionAnswer = Static<typeof ObjectionAnswer>;

export const WithdrawBody = Type.Object(
  { reason: Type.Optional(Text(2000, 'Why the objection is withdrawn')) },
  { additionalProperties: false },
);

export const OBJECTION_STATES = [
  'rechecking',
  'open',
  'corrected',
  'data-correct',
  'dismissed',
  'withdrawn',
] as const;
export const ObjectionState = literalUnion(OBJECTION_STATES, {
  description:
    'rechecking: the platform rechecks it ([XY] 21); open: awaiting the provider’s answer; the rest are final',
});
export type ObjectionState = Static<typeof ObjectionState>;

/** The provider's answer deadline and what the clock did about it. */
export const AnswerDeadline = Type.Object(
  {
    limitWorkdays: Type.Integer({ minimum: 1 }),
    startedAt: DateTime('Platform record time when the objection was received'),
    ...DEADLINE_CLOCK_FIELDS,
    ...DEADLINE_EVENT_FIELDS,
  },
  { additionalProperties: false },
);
export type AnswerDeadline = Static<typeof AnswerDeadline>;

export const RecordedAnswer = Type.Object(
  {
    outcome: AnswerOutcome,
    reason: Type.String(),
    correctedValue: Type.Optional(Type.String()),
    at: DateTime('Platform record time of the answer'),
    by: ActorRef,
    withinLimit: Type.Boolean({ description: 'Answered before 24:00 CST of the due date' }),
  },
  { additionalProperties: false },
);
export type RecordedAnswer = Static<typeof RecordedAnswer>;

/** The platform's recheck of an objection it received ([XY] 21), and its deadline. */
export const Recheck = Type.Object(
  {
    deadline: AnswerDeadline,
    outcome: Type.Optional(
      Type.Union([Type.Literal('forwarded'), Type.Literal('dismissed')], {
        description: 'forwarded to the provider for verification, or dismissed with a reason',
      }),
    ),
    reason: Type.Optional(Type.String()),
    at: Type.Optional(DateTime('Platform record time of the recheck decision')),
    by: Type.Optional(ActorRef),
    withinLimit: Type.Optional(Type.Boolean({ description: 'Decided before 24:00 CST of the due date' })),
  },
  { additionalProperties: false },
);
export type Recheck = Static<typeof Recheck>;

export const RecheckDecision = Type.Object(
  {
    outcome: Type.Union([Type.Literal('forward'), Type.Literal('dismiss')]),
    reason: Text(2000, 'What the recheck found'),
  },
  { additionalProperties: false },
);
export type RecheckDecision = Static<typeof RecheckDecision>;

export const ObjectionTransition = transitionSchema(ObjectionState, {});
export type ObjectionTransition = Static<typeof ObjectionTransition>;

export const Objection = Type.Object(
  {
    id: Type.String({ pattern: OBJECTION_ID_PATTERN }),
    consumerDept: Type.String({ pattern: USCC_PATTERN }),
    systemId: Type.Optional(Type.String({ pattern: SYSTEM_ID_PATTERN })),
    grantId: Type.String({ description: 'The consumer’s grant the record was received under' }),
    resourceCode: Type.String({ pattern: RESOURCE_CODE_PATTERN }),
    resourceName: Type.String(),
    resourceVersion: Type.Integer({ minimum: 1 }),
    providerDept: Type.String({ pattern: USCC_PATTERN }),
    keyItem: Type.String({ pattern: ITEM_NAME_PATTERN }),
    key: Type.String({ maxLength: KEY_VALUE_MAX_LENGTH }),
    item: Type.String({ pattern: ITEM_NAME_PATTERN }),
    description: Type.String(),
    evidence: Type.Optional(Evidence),
    state: ObjectionState,
    submittedAt: DateTime('Platform record time of the objection'),
    submittedBy: ActorRef,
    deadline: AnswerDeadline,
    recheck: Type.Optional(Recheck),
    answer: Type.Optional(RecordedAnswer),
    closedAt: Type.Optional(DateTime('When it was answered or withdrawn')),
    history: Type.Array(ObjectionTransition),
  },
  { additionalProperties: false },
);
export type Objection = Static<typeof Objection>;
