/**
 * The events the workflow announces, and to whom. Recipients are department codes or `bureau`; the
 * gateway delivers each event to the webhook endpoints its recipients registered. Every event has a
 * unique id, which becomes the idempotency key of its deliveries.
 */
import { randomUUID } from 'node:crypto';
import type { Grant } from '../grant.js';
import type { Application, EventType, Recipient, Stage, WorkflowEvent } from './schema.js';

export const BUREAU_RECIPIENT = 'bureau';

function unique(list: Recipient[]): Recipient[] {
  return [...new Set(list)];
}

export function makeEvent(
  type: EventType,
  at: Date,
  recipients: Recipient[],
  data: Record<string, unknown>,
): WorkflowEvent {
  return { id: randomUUID(), type, at: at.toISOString(), recipients: unique(recipients), data };
}

/** The fields every application event carries. */
export function applicationData(
  app: Application,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    applicationId: app.id,
    state: app.state,
    resourceCode: app.resourceCode,
    consumerDept: app.consumerDept,
    systemId: app.systemId,
    providerDept: app.providerDept,
    ...(app.grantId ? { grantId: app.grantId } : {}),
    // Across a federation agreement the peer platform finds its own application by this.
    ...(app.federation
      ? {
          federation: {
            peerPlatformId: app.federation.peerPlatformId,
            correlationId: app.federation.correlationId,
            ...(app.federation.peerApplicationId
              ? { peerApplicationId: app.federation.peerApplicationId }
              : {}),
          },
        }
      : {}),
    ...extra,
  };
}

export function stageData(stage: Stage): Record<string, unknown> {
  return { stage: stage.name, dueAt: stage.dueAt, dueDate: stage.dueDate, provisional: stage.provisional };
}

export function grantEvent(
  type: 'grant.suspended' | 'grant.resumed' | 'grant.revoked',
  grant: Grant,
  at: Date,
  reason: string,
) {
  return makeEvent(type, at, [grant.deptCode], {
    grantId: grant.id,
    resourceCode: grant.resourceCode,
    consumerDept: grant.deptCode,
    systemId: grant.systemId,
    providerDept: grant.providerCode,
    status: grant.status,
    reason,
  });
}

/** The terms of a grant, as events announce them. */
export function grantData(grant: Grant): Record<string, unknown> {
  return {
    grantId: grant.id,
    items: grant.items,
    modes: grant.modes,
    purposes: grant.purposes,
    validFrom: grant.validFrom,
    validTo: grant.validTo,
    masking: grant.masking,
    quota: grant.quota,
  };
}
