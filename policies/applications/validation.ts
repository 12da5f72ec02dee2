/**
 * What is refused at submission (with a problem detail the applicant can act on), which path an
 * application takes, and whether a provider's terms stay within what was applied for.
 */
import type { ActorRef, PublishedEntry } from '../../catalog/records.js';
import type { ResourceEntry } from '../../catalog/schema.js';
import { parseInstant } from '../../platform/instant.js';
import { RESOURCE_CLASSIFIED_NOT_GRANTABLE } from '../errors.js';
import { type GrantRequest, itemShareType } from '../grant.js';
import {
  APPLICATION_FORBIDDEN,
  APPLICATION_INVALID,
  APPLICATION_ITEM_NOT_SHARED,
  APPLICATION_ITEM_UNKNOWN,
  APPLICATION_RESOURCE_NOT_SHARED,
  APPLICATION_RESOURCE_UNAVAILABLE,
  APPLICATION_TERMS_INVALID,
} from './errors.js';
import type { Application, ApplicationRequest, AuthorizationTerms } from './schema.js';

/** The consumer department: the token's; naming another one is a cross-department attempt (403). */
export function consumerDeptOf(actor: ActorRef, request: ApplicationRequest): string {
  if (actor.role !== 'dept-admin' || actor.dept === undefined) {
    throw new APPLICATION_FORBIDDEN(
      `role ${actor.role} cannot apply for data; an administrator of the consumer department applies`,
    );
  }
  if (request.deptCode !== undefined && request.deptCode !== actor.dept) {
    throw new APPLICATION_FORBIDDEN(
      `you act for department ${actor.dept}; system ${request.systemId} of department ${request.deptCode} is not yours to apply for`,
    );
  }
  return actor.dept;
}

/** Refuses a resource nobody may apply for now: not shared, suspended or withdrawn. */
export function checkResourceOpen(published: PublishedEntry): void {
  const { entry } = published;
  if (entry.share.type === 'none') {
    throw new APPLICATION_RESOURCE_NOT_SHARED(
      `resource ${entry.code} is classified 不予共享 (not shared)${entry.share.legalBasis ? ` under ${entry.share.legalBasis}` : ''}: it cannot be applied for`,
    );
  }
  if (entry.confidentiality?.result === 'classified') {
    throw new RESOURCE_CLASSIFIED_NOT_GRANTABLE(
      `resource ${entry.code} is classified (涉密) by its confidentiality review: it cannot be applied for ([HB-S] 3; [HC-R] 21, 39)`,
    );
  }
  if (published.status !== 'active') {
    throw new APPLICATION_RESOURCE_UNAVAILABLE(
      `resource ${entry.code} is ${published.status} by its provider ${entry.provider.code}; apply once it is active again`,
    );
  }
}

export function checkItems(entry: ResourceEntry, items: readonly string[]): void {
  const known = entry.items.map((i) => i.name);
  const unknown = items.filter((name) => !known.includes(name));
  if (unknown.length > 0) {
    throw new APPLICATION_ITEM_UNKNOWN(
      `resource ${entry.code} has no item ${unknown.join(', ')}; its items are ${known.join(', ')}`,
    );
  }
  const none = items.filter((name) => itemShareType(entry, name) === 'none');
  if (none.length > 0) {
    throw new APPLICATION_ITEM_NOT_SHARED(
      `items ${none.join(', ')} of ${entry.code} are classified 不予共享 (not shared)`,
    );
  }
}

export function checkModesAndValidity(entry: ResourceEntry, request: ApplicationRequest, now: number): void {
  const offered = entry.share.modes;
  const missing = request.modes.filter((m) => !offered.includes(m));
  if (missing.length > 0) {
    throw new APPLICATION_INVALID(
      `resource ${entry.code} is not offered in mode ${missing.join(', ')}; it offers ${offered.join(', ')}`,
    );
  }
  const from = request.validFrom === undefined ? now : parseInstant(request.validFrom);
  const to = parseInstant(request.validTo);
  if (Number.isNaN(from) || Number.isNaN(to)) {
    throw new APPLICATION_INVALID(
      'validFrom and validTo must be real instants, e.g. 2027-01-01T00:00:00+08:00',
    );
  }
  if (to <= from) throw new APPLICATION_INVALID('validTo must be after validFrom');
  if (to <= now) throw new APPLICATION_INVALID('validTo is in the past: the grant would never be usable');
}

/**
 * Unconditional without control parameters, and only unconditional items: the platform grants at once
 * ([HB-S] 12, 21). Everything else is checked by the bureau and authorized by the provider ([HB-S] 11).
 */
export function isDirectPath(entry: ResourceEntry, items: readonly string[]): boolean {
  return (
    entry.share.type === 'unconditional' &&
    (entry.share.controlParams ?? []).length === 0 &&
    items.every((name) => itemShareType(entry, name) === 'unconditional')
  );
}

/** The grant the application asks for, as it stands. */
export function requestedGrant(app: Application): GrantRequest {
  return {
    deptCode: app.consumerDept,
    systemId: app.systemId,
    resourceCode: app.resourceCode,
    items: [...app.items],
    purposes: [...app.purposes],
    modes: [...app.modes],
    ...(app.validFrom ? { validFrom: app.validFrom } : {}),
    validTo: app.validTo,
  };
}

/** The grant after the provider's terms; refuses terms that widen the application. */
export function authorizedGrant(app: Application, terms: AuthorizationTerms, now: number): GrantRequest {
  const items = terms.items ?? app.items;
  const extraItems = items.filter((i) => !app.items.includes(i));
  if (extraItems.length > 0) {
    throw new APPLICATION_TERMS_INVALID(
      `items ${extraItems.join(', ')} were not applied for; the application asks for ${app.items.join(', ')}`,
    );
  }
  const modes = terms.modes ?? app.modes;
  const extraModes = modes.filter((m) => !app.modes.includes(m));
  if (extraModes.length > 0) {
    throw new APPLICATION_TERMS_INVALID(`mode ${extraModes.join(', ')} was not applied for`);
  }
  const appliedFrom = app.validFrom === undefined ? now : Date.parse(app.validFrom);
  const from = terms.validFrom === undefined ? appliedFrom : parseInstant(terms.validFrom);
  const to = terms.validTo === undefined ? Date.parse(app.validTo) : parseInstant(terms.validTo);
  if (Number.isNaN(from) || Number.isNaN(to)) {
    throw new APPLICATION_TERMS_INVALID(
      'validFrom and validTo must be real instants, e.g. 2027-01-01T00:00:00+08:00',
    );
  }
  if (from < appliedFrom - 1000 || to > Date.parse(app.validTo)) {
    throw new APPLICATION_TERMS_INVALID(
      `validity may be narrowed, not extended: the application asks from ${app.validFrom ?? 'the grant time'} to ${app.validTo}`,
    );
  }
  for (const name of Object.keys(terms.masking ?? {})) {
    if (!items.includes(name)) {
      throw new APPLICATION_TERMS_INVALID(`masking names "${name}", which is not among the authorized items`);
    }
  }
  return {
    deptCode: app.consumerDept,
    systemId: app.systemId,
    resourceCode: app.resourceCode,
    items: [...items],
    purposes: [...app.purposes],
    modes: [...modes],
    validFrom: new Date(Math.max(from, now)).toISOString(),
    validTo: new Date(to).toISOString(),
    ...(terms.quota ? { quota: terms.quota } : {}),
    ...(terms.masking ? { masking: terms.masking } : {}),
    ...(terms.rowFilter ? { rowFilter: terms.rowFilter } : {}),
    ...(terms.signResponses !== undefined ? { signResponses: terms.signResponses } : {}),
    ...(terms.investigation ? { investigation: true } : {}),
  };
}
