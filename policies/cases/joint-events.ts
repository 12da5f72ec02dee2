/** The events of a joint verification: each names the item, both resources and the catalog's source. */
import { BUREAU_RECIPIENT, makeEvent } from '../applications/events.js';
import type { EventType, WorkflowEvent } from '../applications/schema.js';
import type { Case, JointVerification } from './schema.js';
import { caseData } from './timeline.js';

export function event(
  type: EventType,
  at: Date,
  recipients: string[],
  c: Case,
  extra: Record<string, unknown> = {},
): WorkflowEvent {
  const v = c.verification!;
  return makeEvent(
    type,
    at,
    recipients,
    caseData(c, {
      semanticId: v.semanticId,
      resources: v.sides.map((s) => s.resourceCode),
      ...(v.authoritativeSource ? { authoritativeSource: v.authoritativeSource } : {}),
      ...extra,
    }),
  );
}

export function referredEvent(c: Case, at: Date, reason: string): WorkflowEvent {
  const depts = c.verification!.sides.map((s) => s.dept);
  return event('joint-verification.referred', at, [BUREAU_RECIPIENT, ...depts], c, { reason });
}

export function decidedEvent(c: Case, v: JointVerification, at: Date): WorkflowEvent {
  const outcome = v.outcome!;
  return event('joint-verification.decided', at, [...v.sides.map((s) => s.dept), BUREAU_RECIPIENT], c, {
    correctSource: outcome.correctSource,
    by: outcome.by,
    correctionDept: outcome.correctionDept,
  });
}
