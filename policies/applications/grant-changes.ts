/**
 * Suspension and revocation of a single grant with advance notice ([XY] 13; [JY] 19): filed with a reason,
 * it takes effect no earlier than the platform's notice period (policies/notice.ts) unless an emergency
 * reason is stated. The consumer (and the provider) are told when it is filed; a `grant-status` timer on
 * the deadlines queue applies it at its time, idempotently (a grant already changed meanwhile is left
 * alone). An emergency change is applied at once and reported to the bureau. Resumption needs no notice.
 */
import { cstDate } from '../../platform/plain-date.js';
import type { WorkdayCalendar } from '../calendar/calendar.js';
import { GRANT_NOT_FOUND } from '../errors.js';
import type { Actor, Grant } from '../grant.js';
import type { GrantStore } from '../grant-store.js';
import { checkNotice } from '../notice.js';
import { PLATFORM } from './commit.js';
import { BUREAU_RECIPIENT, grantEvent, makeEvent } from './events.js';
import type { OutboxEntry, Timer, WorkflowEvent } from './schema.js';

export interface GrantChangeDeps {
  grants: GrantStore;
  calendar: WorkdayCalendar;
  noticeWorkdays: number;
  now: () => Date;
  /** Commits an outbox entry (events, timers) and delivers it. */
  outbox: (entry: OutboxEntry) => Promise<void>;
}

export interface GrantChangeRequest {
  status: 'suspended' | 'revoked';
  reason: string;
  /** When it takes effect; at once when absent (which then needs an emergency reason). */
  effectiveFrom?: Date;
  /** Why it cannot wait for the notice period; recorded and reported to the bureau. */
  emergency?: string;
}

export type GrantChangeOutcome =
  | { applied: true; grant: Grant; emergency: boolean }
  | { applied: false; grant: Grant; scheduledFor: string; earliest: string };

const EVENT = { suspended: 'grant.suspended', revoked: 'grant.revoked' } as const;

export class GrantChanges {
  readonly #deps: GrantChangeDeps;

  constructor(deps: GrantChangeDeps) {
    this.#deps = deps;
  }

  /**
   * Files a change. One applied at once (an emergency) runs `beforeApply` (the caller's audit record) and
   * reports the emergency to the bureau before the grant changes: when either fails, nothing changes.
   */
  async change(
    actor: Actor,
    id: string,
    request: GrantChangeRequest,
    hooks: { beforeApply?: () => Promise<void> } = {},
  ): Promise<GrantChangeOutcome> {
    const { grants, calendar, noticeWorkdays } = this.#deps;
    const grant = await grants.get(id);
    if (!grant) throw new GRANT_NOT_FOUND(`no grant has id "${id}"`);
    const now = this.#deps.now();
    const what = `${request.status === 'suspended' ? 'suspending' : 'revoking'} grant ${id}`;
    const notice = checkNotice(calendar, noticeWorkdays, now, request.effectiveFrom, request.emergency, what);
    const recipients = [grant.deptCode, grant.providerCode];
    if (notice.effectiveFrom.getTime() > now.getTime()) {
      // Checks who may make the change now, so that a refused one is never announced or scheduled.
      await grants.checkStatusChange(actor, id, request.status);
      const runAt = notice.effectiveFrom.getTime();
      const timer: Timer = {
        id: `grant.${id}.${request.status}.${runAt}`,
        kind: 'grant-status',
        runAt,
        grantId: id,
        status: request.status,
        reason: request.reason,
        actor,
      };
      const event = makeEvent('grant.change-scheduled', now, recipients, {
        grantId: id,
        resourceCode: grant.resourceCode,
        consumerDept: grant.deptCode,
        systemId: grant.systemId,
        providerDept: grant.providerCode,
        status: request.status,
        reason: request.reason,
        effectiveFrom: notice.effectiveFrom.toISOString(),
        noticeWorkdays,
        ...(notice.emergency ? { emergency: request.emergency } : {}),
      });
      const events = [event, ...this.#emergencyReport(notice.emergency, grant, request, now)];
      await this.#deps.outbox({ timers: [timer], events });
      return {
        applied: false,
        grant,
        scheduledFor: notice.effectiveFrom.toISOString(),
        earliest: cstDate(notice.earliest),
      };
    }
    const reason = notice.emergency
      ? `${request.reason} (emergency: ${request.emergency!.trim()})`
      : request.reason;
    // A change that would be refused is neither recorded nor reported.
    await grants.checkStatusChange(actor, id, request.status);
    await hooks.beforeApply?.();
    const report = this.#emergencyReport(notice.emergency, grant, request, now);
    if (report.length > 0) await this.#deps.outbox({ events: report });
    const changed = await grants.setStatus(actor, id, request.status, reason);
    const events: WorkflowEvent[] = [
      { ...grantEvent(EVENT[request.status], changed, now, reason), recipients },
    ];
    await this.#deps.outbox({ events });
    return { applied: true, grant: changed, emergency: notice.emergency };
  }

  /** The timer of a scheduled change: applies it at its time, unless the grant changed meanwhile. */
  async fireTimer(timer: Timer): Promise<'done' | 'stale' | 'early'> {
    if (timer.kind !== 'grant-status' || !timer.grantId) return 'stale';
    if (timer.status !== 'suspended' && timer.status !== 'revoked') return 'stale';
    if (this.#deps.now().getTime() < timer.runAt) return 'early';
    const grant = await this.#deps.grants.get(timer.grantId);
    // Already suspended, revoked or expired: the scheduled change has nothing left to do.
    if (
      !grant ||
      (grant.status !== 'active' && !(timer.status === 'revoked' && grant.status === 'suspended'))
    )
      return 'stale';
    const by: Actor =
      timer.actor?.role === 'dept-admin' || timer.actor?.role === 'bureau'
        ? (timer.actor as Actor)
        : { role: 'bureau', name: PLATFORM.name };
    const reason = `${timer.reason ?? 'scheduled change'} (filed in advance, effective ${new Date(timer.runAt).toISOString()})`;
    const changed = await this.#deps.grants.setStatus(by, grant.id, timer.status, reason);
    const event = grantEvent(EVENT[timer.status], changed, this.#deps.now(), reason);
    await this.#deps.outbox({ events: [{ ...event, recipients: [changed.deptCode, changed.providerCode] }] });
    return 'done';
  }

  #emergencyReport(emergency: boolean, grant: Grant, request: GrantChangeRequest, at: Date): WorkflowEvent[] {
    if (!emergency) return [];
    return [
      makeEvent('change.emergency', at, [BUREAU_RECIPIENT], {
        subject: 'grant',
        grantId: grant.id,
        resourceCode: grant.resourceCode,
        consumerDept: grant.deptCode,
        status: request.status,
        reason: request.reason,
        emergency: request.emergency,
      }),
    ];
  }
}
