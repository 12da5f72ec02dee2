/**
 * Applications for data (申请) and what the workflow records about them: the stages with their statutory
 * deadlines, every transition with actor, time and reason, and the events and timers a transition
 * leaves in the outbox. These TypeBox objects are the single source of the shapes (API and types).
 */
import { type Static, Type } from '@sinclair/typebox';
import { ActorRef, literalUnion } from '../../catalog/records.js';
import { ITEM_NAME_PATTERN, RESOURCE_CODE_PATTERN, USCC_PATTERN } from '../../catalog/schema.js';
import {
  GrantMode,
  INSTANT_PATTERN,
  MaskSetting,
  PURPOSE_PATTERN,
  Quota,
  RowFilter,
  SYSTEM_ID_PATTERN,
} from '../grant.js';
import { DEADLINE_CLOCK_FIELDS, DEADLINE_EVENT_FIELDS, transitionSchema } from '../record-store.js';

const Instant = (description: string) => Type.String({ pattern: INSTANT_PATTERN, description });
const DateTime = (description: string) => Type.String({ format: 'date-time', description });
const Reason = (description: string) => Type.String({ minLength: 1, maxLength: 2000, description });
const ItemList = Type.Array(Type.String({ pattern: ITEM_NAME_PATTERN }), {
  minItems: 1,
  maxItems: 500,
  uniqueItems: true,
});
const ModeList = Type.Array(GrantMode, { minItems: 1, uniqueItems: true });

export const APPLICATION_ID_PATTERN = '^APP-[0-9]{8}-[0-9]{6,}$';

/** What a consumer department's dept-admin posts ([HB-S] 13: purpose, reason, items, system). */
export const ApplicationRequest = Type.Object(
  {
    deptCode: Type.Optional(
      Type.String({
        pattern: USCC_PATTERN,
        description: "Consumer department; the token's department when omitted",
      }),
    ),
    systemId: Type.String({
      pattern: SYSTEM_ID_PATTERN,
      description: 'The system (业务系统) that will use the data',
    }),
    resourceCode: Type.String({ pattern: RESOURCE_CODE_PATTERN }),
    items: ItemList,
    purposes: Type.Array(Type.String({ pattern: PURPOSE_PATTERN }), {
      minItems: 1,
      maxItems: 50,
      uniqueItems: true,
      description: '用途: purpose tokens the calls will carry in x-purpose',
    }),
    reason: Reason('理由: why the department needs the data'),
    modes: ModeList,
    validFrom: Type.Optional(Instant('Start of the validity wanted; the grant time when omitted')),
    validTo: Instant('End of the validity wanted (exclusive)'),
    renews: Type.Optional(
      Type.String({ minLength: 1, maxLength: 64, description: 'Id of the grant this application renews' }),
    ),
  },
  { additionalProperties: false },
);
export type ApplicationRequest = Static<typeof ApplicationRequest>;

/** The bureau's normative check (规范性检查): accept and forward to the provider, or reject with a reason. */
export const CheckDecision = Type.Object(
  {
    outcome: literalUnion(['accept', 'reject']),
    reason: Type.Optional(Reason('Required for a rejection')),
  },
  { additionalProperties: false },
);
export type CheckDecision = Static<typeof CheckDecision>;

/** The provider's authorization: may narrow what was applied for, never widen it. */
export const AuthorizationTerms = Type.Object(
  {
    items: Type.Optional(ItemList),
    modes: Type.Optional(ModeList),
    validFrom: Type.Optional(Instant('Not before the validity applied for')),
    validTo: Type.Optional(Instant('Not after the validity applied for')),
    quota: Type.Optional(Quota),
    masking: Type.Optional(Type.Record(Type.String({ pattern: ITEM_NAME_PATTERN }), MaskSetting)),
    rowFilter: Type.Optional(RowFilter),
    signResponses: Type.Optional(Type.Boolean()),
    investigation: Type.Optional(
      Type.Boolean({
        description:
          "The grant serves a confidential investigation: citizens see its calls only after the platform's transparency delay",
      }),
    ),
    reason: Type.Optional(Reason('Why the terms differ from the application, if they do')),
  },
  { additionalProperties: false },
);
export type AuthorizationTerms = Static<typeof AuthorizationTerms>;

export const ReasonBody = Type.Object(
  { reason: Reason('The stated reason') },
  { additionalProperties: false },
);
export const OptionalReasonBody = Type.Object(
  { reason: Type.Optional(Reason('The stated reason')) },
  { additionalProperties: false },
);

export const APPLICATION_STATES = [
  'checking',
  'granting',
  'authorizing',
  'granted',
  'rejected',
  'refused',
  'withdrawn',
  'closed',
] as const;
export const ApplicationState = literalUnion(APPLICATION_STATES, {
  description:
    'checking: awaiting the bureau’s check; granting: awaiting the platform’s direct grant; authorizing: awaiting the provider; the rest are final',
});
export type ApplicationState = Static<typeof ApplicationState>;

export const STAGE_NAMES = ['check', 'directGrant', 'authorize', 'notify'] as const;
export const StageName = literalUnion(STAGE_NAMES);
export type StageName = Static<typeof StageName>;

export const Stage = Type.Object(
  {
    seq: Type.Integer({ minimum: 1 }),
    name: StageName,
    startedAt: DateTime('Platform record time when the stage began'),
    limitWorkdays: Type.Integer({ minimum: 0 }),
    ...DEADLINE_CLOCK_FIELDS,
    completedAt: Type.Optional(DateTime('When the stage ended')),
    completedBy: Type.Optional(Type.String({ description: 'The action that ended it' })),
    ...DEADLINE_EVENT_FIELDS,
  },
  { additionalProperties: false },
);
export type Stage = Static<typeof Stage>;

export const Transition = transitionSchema(ApplicationState, {
  stage: Type.Optional(Type.Integer({ minimum: 1 })),
  grantId: Type.Optional(Type.String()),
  peer: Type.Optional(
    Type.String({
      description:
        "The upper platform's transition this entry mirrors (<platform>:<its application id>:<action>): each is applied once",
    }),
  ),
});
export type Transition = Static<typeof Transition>;

/**
 * An application that crosses a federation agreement (province ↔ city cascade). On the lower platform
 * (`forwarded`) it was filed here for a federated resource: this platform's bureau checks it, then it is
 * forwarded to the upper platform, whose bureau and provider decide it; their decisions come back as signed
 * webhooks. On the upper platform (`received`) it was forwarded by the lower platform, for the original
 * department and system the lower platform names.
 */
export const ApplicationFederation = Type.Object(
  {
    role: literalUnion(['forwarded', 'received']),
    peerPlatformId: Type.String({ pattern: '^[a-z0-9][a-z0-9-]{1,62}$' }),
    correlationId: Type.String({
      pattern: '^[A-Za-z0-9._:-]{8,128}$',
      description: 'Both platforms audit every transition of the application under it',
    }),
    peerApplicationId: Type.Optional(
      Type.String({
        pattern: APPLICATION_ID_PATTERN,
        description: "The application's id on the peer platform",
      }),
    ),
    agreementId: Type.Optional(Type.String({ maxLength: 64 })),
    forwardedAt: Type.Optional(DateTime('When the upper platform took the application')),
    official: Type.Optional(
      Type.String({ maxLength: 128, description: 'The official who filed it on the lower platform' }),
    ),
  },
  { additionalProperties: false },
);
export type ApplicationFederation = Static<typeof ApplicationFederation>;

export const Application = Type.Object(
  {
    id: Type.String({ pattern: APPLICATION_ID_PATTERN }),
    consumerDept: Type.String({ pattern: USCC_PATTERN }),
    systemId: Type.String({ pattern: SYSTEM_ID_PATTERN }),
    resourceCode: Type.String({ pattern: RESOURCE_CODE_PATTERN }),
    resourceName: Type.String(),
    resourceVersion: Type.Integer({ minimum: 1 }),
    providerDept: Type.String({ pattern: USCC_PATTERN }),
    items: ItemList,
    purposes: Type.Array(Type.String({ pattern: PURPOSE_PATTERN })),
    reason: Type.String(),
    modes: ModeList,
    validFrom: Type.Optional(Type.String({ format: 'date-time' })),
    validTo: Type.String({ format: 'date-time' }),
    renews: Type.Optional(Type.String()),
    path: literalUnion(['direct', 'authorization'], {
      description: 'direct: unconditional without control parameters, granted by the platform',
    }),
    state: ApplicationState,
    submittedAt: DateTime('Platform record time of the submission'),
    submittedBy: ActorRef,
    decidedAt: Type.Optional(DateTime('When it reached granted, rejected or refused')),
    grantId: Type.Optional(Type.String()),
    federation: Type.Optional(ApplicationFederation),
    stages: Type.Array(Stage),
    history: Type.Array(Transition),
  },
  { additionalProperties: false },
);
export type Application = Static<typeof Application>;

export const EVENT_TYPES = [
  'application.received',
  'application.checked',
  'application.granted',
  'application.authorized',
  'application.refused',
  'application.withdrawn',
  'application.closed',
  'application.reminder',
  'application.overdue',
  'application.escalated',
  'application.clock-pending',
  'calendar.expiring',
  'grant.suspended',
  'grant.resumed',
  'grant.revoked',
  'grant.direct',
  'grant.change-scheduled',
  'resource.withdrawn',
  'resource.suspension-scheduled',
  'change.emergency',
  'quality.below-threshold',
  'provider.outage',
  'stats.report',
  'objection.received',
  'objection.answered',
  'objection.withdrawn',
  'objection.reminder',
  'objection.overdue',
  'objection.escalated',
  'objection.forwarded',
  'objection.dismissed',
  'dispute.opened',
  'dispute.decided',
  'dispute.withdrawn',
  'rectification.ordered',
  'rectification.reported',
  'rectification.closed',
  'rectification.returned',
  'catalog-change.recorded',
  'catalog-change.closed',
  'joint-verification.opened',
  'joint-verification.answered',
  'joint-verification.referred',
  'joint-verification.decided',
  'case.reminder',
  'case.overdue',
  'case.escalated',
  'offline.requested',
  'offline.objected',
  'offline.approved',
  'offline.refused',
  'offline.withdrawn',
  'offline.ordered',
  'offline.produced',
  'offline.failed',
  'offline.handed-over',
  'offline.received',
] as const;
export const EventType = literalUnion(EVENT_TYPES);
export type EventType = Static<typeof EventType>;

/** `bureau` or a department's USCC: who an event is for. */
export type Recipient = string;

export const WorkflowEvent = Type.Object(
  {
    id: Type.String({ description: 'Unique; the idempotency key of every delivery of the event' }),
    type: EventType,
    at: DateTime('When it happened'),
    recipients: Type.Array(Type.String(), { description: '"bureau" or department codes' }),
    data: Type.Record(Type.String(), Type.Unknown()),
  },
  { additionalProperties: false },
);
export type WorkflowEvent = Static<typeof WorkflowEvent>;

export const TIMER_KINDS = [
  'remind',
  'overdue',
  'escalate',
  'resource-status',
  'grant-status',
  'forward',
  'forward-withdraw',
] as const;
export type TimerKind = (typeof TIMER_KINDS)[number];

/** A clock job: the gateway turns it into a delayed job whose id is `id` (so adding it twice is harmless). */
export interface Timer {
  id: string;
  kind: TimerKind;
  /** Epoch ms when it is due. */
  runAt: number;
  applicationId?: string;
  stage?: number;
  /** An objection's answer deadline (policies/objections/clock.ts); kinds remind, overdue, escalate. */
  objectionId?: string;
  /** A dispute's, rectification order's, catalog change event's or joint verification's deadline (policies/cases). */
  caseId?: string;
  resourceCode?: string;
  /** A grant's scheduled suspension or revocation (kind grant-status). */
  grantId?: string;
  status?: 'active' | 'suspended' | 'withdrawn' | 'revoked';
  reason?: string;
  actor?: ActorRef;
}

/**
 * The audit record of a change the platform made on its own (a clock timer fired), committed in the same
 * step as the change, so that a crash or a refused audit write between the two cannot leave the change
 * out of the trail: the relay appends it later instead.
 */
export interface PlatformAuditEntry {
  /** Audit action, e.g. `application.overdue`. */
  action: string;
  /** When the change was made (ISO 8601): the record's time, however late it is appended. */
  at: string;
  detail: Record<string, unknown>;
}

/**
 * What a committed change leaves for the gateway: events to deliver, timers to set, timers to drop, and
 * the audit records of changes the platform made itself (people's changes are audited by their request).
 */
export interface OutboxEntry {
  events?: WorkflowEvent[];
  timers?: Timer[];
  cancel?: string[];
  audit?: PlatformAuditEntry[];
}
