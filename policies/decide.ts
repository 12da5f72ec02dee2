/**
 * The access decision of the data path: a pure function of the caller, the resource, the caller's grant
 * and the request. Checks run in a fixed order and the first failure is the answer, so a caller's
 * developer always sees the most basic problem first:
 *
 *   resource withdrawn (410) / suspended (403) → share type none → classified → grant missing for this exact
 *   department + system + resource → grant suspended / revoked / expired / not yet valid → mode →
 *   purpose → acting official (x-user-id, 400) → items (unknown 400, not granted 403) → query items and
 *   control parameters (400)
 *
 * Quota is not decided here: it needs the shared counters (see quota.ts); `checkQuota` is the pure rule.
 */

import type { MaskRule } from '../catalog/masks.js';
import type { ResourceEntry, SensitiveKind } from '../catalog/schema.js';
import { type Deny, deny } from './errors.js';
import type { Grant, GrantMode } from './grant.js';
import { maskRuleFor } from './masking.js';
import type { Obligations } from './obligations.js';
import { secondsToNextCstDay, secondsToNextMinute } from './quota-windows.js';

export interface Caller {
  deptCode: string;
  systemId: string;
  /** Certificate serial (lowercase hex); not part of the decision, carried for the audit record. */
  serial: string;
}

export type ResourceStatus = 'active' | 'suspended' | 'withdrawn';

export interface AccessRequest {
  /** The `x-purpose` header. */
  purpose: string;
  /** Items asked for; undefined means every granted item. */
  items?: string[];
  mode: GrantMode;
  /** Items the query is keyed or filtered by, e.g. ['idNumber']. */
  queryItems: string[];
  now: number;
  /**
   * The acting official (signed `x-user-id`), checked when given: required unless the platform allows
   * machine calls and the bureau marked the grant machine-to-machine ([HC-R] 41: responsibility).
   */
  actingUser?: { userId: string | undefined; machineCallsAllowed: boolean };
}

export type Decision = { allow: true; obligations: Obligations } | Deny;

interface EntryIndex {
  shared: Set<string>;
  known: Set<string>;
  keyItems: string[];
  controlParams: string[];
}

const entryIndexes = new WeakMap<ResourceEntry, EntryIndex>();

function indexEntry(entry: ResourceEntry): EntryIndex {
  let index = entryIndexes.get(entry);
  if (!index) {
    index = {
      known: new Set(entry.items.map((i) => i.name)),
      shared: new Set(
        entry.items.filter((i) => (i.shareType ?? entry.share.type) !== 'none').map((i) => i.name),
      ),
      keyItems: entry.items.filter((i) => i.key).map((i) => i.name),
      controlParams: entry.share.controlParams ?? [],
    };
    entryIndexes.set(entry, index);
  }
  return index;
}

interface GrantView {
  entry: ResourceEntry;
  from: number;
  to: number;
  /** Granted items the catalog still shares: an item removed or reclassified since is never released. */
  granted: Set<string>;
  /** The obligations of a call that asks for every granted item (the common case), built once. */
  all?: Obligations;
}

// Grants and entries are immutable values (the stores hand out fresh objects on every change), so
// what is derived from them is cached by identity.
const grantViews = new WeakMap<Grant, GrantView>();

function viewOf(grant: Grant, entry: ResourceEntry, index: EntryIndex): GrantView {
  let view = grantViews.get(grant);
  if (!view || view.entry !== entry) {
    view = {
      entry,
      from: Date.parse(grant.validFrom),
      to: Date.parse(grant.validTo),
      granted: new Set(grant.items.filter((name) => index.shared.has(name))),
    };
    grantViews.set(grant, view);
  }
  return view;
}

const list = (names: Iterable<string>) => [...names].join(', ');
const quoted = (value: string) => JSON.stringify(value.length > 64 ? `${value.slice(0, 64)}…` : value);

export function decide(
  caller: Caller,
  resource: { entry: ResourceEntry; status: ResourceStatus },
  grant: Grant | undefined,
  request: AccessRequest,
): Decision {
  const { entry } = resource;
  if (resource.status === 'withdrawn') {
    return deny(
      'RESOURCE_WITHDRAWN',
      `resource ${entry.code} was withdrawn from the catalog; stop calling it`,
    );
  }
  if (resource.status === 'suspended') {
    return deny(
      'RESOURCE_SUSPENDED',
      `resource ${entry.code} is suspended by its provider; retry after it resumes`,
    );
  }
  if (entry.share.type === 'none') {
    return deny('RESOURCE_NOT_SHARED', `resource ${entry.code} is classified not shared (不予共享)`);
  }
  if (entry.confidentiality?.result === 'classified') {
    return deny(
      'RESOURCE_CLASSIFIED',
      `resource ${entry.code} is classified (涉密) by its confidentiality review: it is never shared through the platform`,
    );
  }
  if (
    grant === undefined ||
    grant.deptCode !== caller.deptCode ||
    grant.systemId !== caller.systemId ||
    grant.resourceCode !== entry.code
  ) {
    return deny(
      'GRANT_MISSING',
      `system "${caller.systemId}" of department ${caller.deptCode} has no grant for resource ${entry.code}; ` +
        'apply for one for this system (grants of other systems do not carry over)',
    );
  }

  const index = indexEntry(entry);
  const view = viewOf(grant, entry, index);
  const stateDeny = checkGrantState(grant, view, request.now);
  if (stateDeny) return stateDeny;

  if (!grant.modes.includes(request.mode)) {
    return deny(
      'MODE_NOT_GRANTED',
      `mode ${request.mode} is not granted; the grant allows ${list(grant.modes)}`,
    );
  }
  if (!entry.share.modes.includes(request.mode)) {
    return deny('MODE_NOT_GRANTED', `resource ${entry.code} is no longer offered in mode ${request.mode}`);
  }
  if (!grant.purposes.includes(request.purpose)) {
    return deny(
      'PURPOSE_MISMATCH',
      `purpose ${quoted(request.purpose)} is not granted; send one of ${list(grant.purposes)} in x-purpose`,
    );
  }
  const acting = request.actingUser;
  if (acting && !acting.userId && !(acting.machineCallsAllowed && grant.machineToMachine === true)) {
    return deny(
      'USER_ID_REQUIRED',
      'name the official acting through the system in a signed x-user-id header (e.g. a staff number); ' +
        'every data call is attributed to a person',
    );
  }

  const { granted } = view;
  const itemsDeny = checkItems(request.items, index, granted);
  if (itemsDeny) return itemsDeny;
  const queryDeny = checkQuery(request, index, granted) ?? checkMaskedQuery(request, grant, entry, index);
  if (queryDeny) return queryDeny;

  if (request.items === undefined) {
    view.all ??= buildObligations(grant, entry, granted);
    return allowWith(view.all, entry);
  }
  return allowWith(buildObligations(grant, entry, new Set(request.items)), entry);
}

function allowWith(obligations: Obligations, entry: ResourceEntry): Decision {
  if (obligations.items.length === 0) {
    return deny('ITEM_NOT_GRANTED', `none of the granted items is still shared by resource ${entry.code}`);
  }
  return { allow: true, obligations };
}

/** Obligations for the wanted items (already checked to be granted), in catalog order. Read-only. */
function buildObligations(grant: Grant, entry: ResourceEntry, wanted: Set<string>): Obligations {
  const items: string[] = [];
  const masks: Record<string, MaskRule> = {};
  for (const item of entry.items) {
    if (!wanted.has(item.name)) continue;
    items.push(item.name);
    const setting = Object.hasOwn(grant.masking, item.name) ? grant.masking[item.name] : undefined;
    const rule = maskRuleFor(setting, item.sensitive as SensitiveKind | undefined);
    if (rule) masks[item.name] = rule;
  }
  // Not frozen: a frozen key makes the WeakMap lookup of applyObligations' plan about twice as slow.
  return {
    grantId: grant.id,
    items,
    masks,
    ...(grant.rowFilter ? { rowFilter: grant.rowFilter } : {}),
    signResponse: grant.signResponses,
    quota: grant.quota,
  };
}

function checkGrantState(grant: Grant, view: GrantView, now: number): Deny | undefined {
  switch (grant.status) {
    case 'suspended':
      return deny('GRANT_SUSPENDED', `grant ${grant.id} is suspended; ask the platform or the provider why`);
    case 'revoked':
      return deny('GRANT_REVOKED', `grant ${grant.id} was revoked; apply for a new grant`);
    case 'expired':
      return deny('GRANT_EXPIRED', `grant ${grant.id} expired; apply for a renewal`);
  }
  const { from, to } = view;
  if (now < from) return deny('GRANT_NOT_YET_VALID', `grant ${grant.id} is valid from ${grant.validFrom}`);
  if (now >= to)
    return deny('GRANT_EXPIRED', `grant ${grant.id} expired at ${grant.validTo}; apply for a renewal`);
  return undefined;
}

function checkItems(
  requested: string[] | undefined,
  index: EntryIndex,
  granted: Set<string>,
): Deny | undefined {
  if (requested === undefined) return undefined;
  if (requested.length === 0) {
    return deny(
      'ITEM_UNKNOWN',
      'the item list is empty: name at least one item, or leave it out for all granted items',
    );
  }
  const unknown = requested.filter((name) => !index.known.has(name));
  if (unknown.length > 0) {
    return deny(
      'ITEM_UNKNOWN',
      `unknown items ${list(unknown.map(quoted))}; granted items are ${list(granted)}`,
    );
  }
  const notGranted = requested.filter((name) => !granted.has(name));
  if (notGranted.length > 0) {
    return deny(
      'ITEM_NOT_GRANTED',
      `items ${list(notGranted)} are not granted; granted items are ${list(granted)}`,
    );
  }
  return undefined;
}

/**
 * A query may not filter by an item the answer masks, key items and control parameters apart (the
 * caller supplies those whole by design): each answer would say whether a guess of the hidden
 * characters was right, e.g. the four hidden digits of a phone number in at most 10,000 calls.
 */
function checkMaskedQuery(
  request: AccessRequest,
  grant: Grant,
  entry: ResourceEntry,
  index: EntryIndex,
): Deny | undefined {
  const masked = request.queryItems.filter((name) => {
    if (index.keyItems.includes(name) || index.controlParams.includes(name)) return false;
    const item = entry.items.find((i) => i.name === name);
    const setting = Object.hasOwn(grant.masking, name) ? grant.masking[name] : undefined;
    return maskRuleFor(setting, item?.sensitive as SensitiveKind | undefined) !== undefined;
  });
  if (masked.length === 0) return undefined;
  return deny(
    'ITEM_NOT_GRANTED',
    `the query filters by ${list(masked)}, which the grant masks: filtering by a masked item would reveal what the mask hides; query by key items or unmasked items`,
  );
}

/**
 * The rule for what a query may be keyed by:
 * - every query item must be an item of the resource (else ITEM_UNKNOWN), and either a granted item,
 *   a key item or a control parameter (else ITEM_NOT_GRANTED: filtering by an ungranted item would
 *   reveal its values);
 * - every control parameter (管控参数) must be among the query items, in every mode;
 * - in mode api the query must also supply every key item of the resource, and if the resource declares
 *   neither key items nor control parameters, at least one query item: the API serves lookups, never
 *   unkeyed scans (those go through bulk exchange).
 */
function checkQuery(request: AccessRequest, index: EntryIndex, granted: Set<string>): Deny | undefined {
  const { queryItems } = request;
  const unknown = queryItems.filter((name) => !index.known.has(name));
  if (unknown.length > 0)
    return deny('ITEM_UNKNOWN', `the query uses unknown items ${list(unknown.map(quoted))}`);
  const notAllowed = queryItems.filter(
    (name) => !granted.has(name) && !index.keyItems.includes(name) && !index.controlParams.includes(name),
  );
  if (notAllowed.length > 0) {
    return deny(
      'ITEM_NOT_GRANTED',
      `the query filters by ${list(notAllowed)}, which are not granted; query by granted or key items only`,
    );
  }
  const missingControl = index.controlParams.filter((name) => !queryItems.includes(name));
  if (missingControl.length > 0) {
    return deny(
      'CONTROL_PARAM_MISSING',
      `the provider requires every query to supply ${list(missingControl)}`,
    );
  }
  if (request.mode !== 'api') return undefined;
  const missingKeys = index.keyItems.filter((name) => !queryItems.includes(name));
  if (missingKeys.length > 0) {
    return deny(
      'CONTROL_PARAM_MISSING',
      `API queries must be keyed by ${list(index.keyItems)}; missing ${list(missingKeys)} (use bulk exchange for whole sets)`,
    );
  }
  if (index.keyItems.length === 0 && index.controlParams.length === 0 && queryItems.length === 0) {
    return deny(
      'CONTROL_PARAM_MISSING',
      'API queries must be keyed by at least one item; use bulk exchange for scans',
    );
  }
  return undefined;
}

export type QuotaCheck =
  | { allow: true }
  | { allow: false; code: 'QUOTA_EXCEEDED'; status: 429; retryAfterSeconds: number; message: string };

/**
 * The quota rule: `usage` counts the calls already made in the current minute and CST day (this call
 * not included); the call is allowed while both are under their limits. When the day is used up the
 * caller must wait for the next CST midnight, otherwise for the next minute.
 */
export function checkQuota(
  grant: Pick<Grant, 'id' | 'quota'>,
  usage: { minute: number; day: number },
  now: number,
): QuotaCheck {
  const { perMinute, perDay } = grant.quota;
  const dayFull = perDay !== undefined && usage.day >= perDay;
  const minuteFull = perMinute !== undefined && usage.minute >= perMinute;
  if (!dayFull && !minuteFull) return { allow: true };
  const retryAfterSeconds = dayFull ? secondsToNextCstDay(now) : secondsToNextMinute(now);
  const limit = dayFull ? `${perDay} calls per day (CST)` : `${perMinute} calls per minute`;
  return {
    allow: false,
    code: 'QUOTA_EXCEEDED',
    status: 429,
    retryAfterSeconds,
    message: `grant ${grant.id} allows ${limit}; retry after ${retryAfterSeconds} s`,
  };
}
