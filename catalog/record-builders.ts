/**
 * Builders of the catalog's records and the small input checks the service applies to every write:
 * new resources and versions, history/audit records, review fields, reasons, and what readers outside
 * the provider and the bureau may see.
 */
import { CatalogCodeImmutable, CatalogNotFound, CatalogReasonRequired } from './errors.js';
import type { ActorRef, CatalogAction, CatalogChange, CatalogResource, CatalogVersion } from './records.js';
import type { ResourceEntry } from './schema.js';

export function newResource(
  entry: ResourceEntry,
  by: ActorRef,
  at: Date,
  action: CatalogAction = 'create',
): CatalogResource {
  const iso = at.toISOString();
  return {
    code: entry.code,
    providerCode: entry.provider.code,
    latest: 1,
    status: {
      declared: 'active',
      effectiveFrom: iso,
      timeline: [{ status: 'active', effectiveFrom: iso, by, at: iso }],
    },
    history: [{ action, version: 1, by, at: iso }],
  };
}

export function newVersion(
  entry: ResourceEntry,
  version: number,
  state: 'draft' | 'published',
  by: ActorRef,
  at: Date,
  publishedDate?: string,
): CatalogVersion {
  const iso = at.toISOString();
  const record: CatalogVersion = {
    code: entry.code,
    version,
    state,
    entry: structuredClone(entry),
    createdBy: by,
    createdAt: iso,
  };
  if (publishedDate) Object.assign(record, { reviewedBy: by, reviewedAt: iso, publishedDate });
  return record;
}

export function change(
  action: CatalogAction,
  code: string,
  version: number | undefined,
  by: ActorRef,
  at: Date,
  reason?: string,
): CatalogChange {
  return {
    action,
    code,
    ...(version !== undefined && { version }),
    by,
    at: at.toISOString(),
    ...(reason !== undefined && { reason }),
  };
}

export function review(
  version: CatalogVersion,
  by: ActorRef,
  at: Date,
  reason: string | undefined,
): CatalogVersion {
  return {
    ...withoutReview(version),
    reviewedBy: by,
    reviewedAt: at.toISOString(),
    ...(reason !== undefined && { reviewReason: reason }),
  };
}

export function withoutReview(version: CatalogVersion): CatalogVersion {
  const { reviewedBy: _by, reviewedAt: _at, reviewReason: _reason, ...rest } = version;
  return rest;
}

export function assertSameIdentity(entry: ResourceEntry, resource: CatalogResource): void {
  if (entry?.code !== resource.code) {
    throw new CatalogCodeImmutable(
      `code: "${entry?.code}" differs from the resource code "${resource.code}"`,
    );
  }
  if (entry.provider?.code !== resource.providerCode) {
    throw new CatalogCodeImmutable(
      `provider.code: "${entry.provider?.code}" differs from the resource's provider ${resource.providerCode}`,
    );
  }
}

export function requiredReason(reason: string | undefined, doing: string): string {
  const stated = optionalReason(reason);
  if (stated === undefined) throw new CatalogReasonRequired(`reason: state why; ${doing} needs a reason`);
  return stated;
}

export function optionalReason(reason: string | undefined): string | undefined {
  if (reason === undefined || reason.trim() === '') return undefined;
  if (reason.length > 2000) throw new CatalogReasonRequired('reason: at most 2000 characters');
  return reason.trim();
}

const PUBLIC_ACTIONS = new Set<CatalogAction>(['approve', 'suspend', 'resume', 'withdraw', 'import']);

/** The resource as readers outside the provider and the bureau see it: no trace of unpublished work. */
export function publicResource(resource: CatalogResource): CatalogResource {
  return {
    ...resource,
    latest: resource.current ?? resource.latest,
    history: resource.history.filter((h) => PUBLIC_ACTIONS.has(h.action)),
  };
}

export function isVisible(version: CatalogVersion, privileged: boolean): boolean {
  return privileged || version.state === 'published' || version.state === 'superseded';
}

export function notFound(code: string) {
  return new CatalogNotFound(`no catalog resource ${code} visible to you`);
}

/** JSON with sorted object keys, to compare entries regardless of key order. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1)))
      : v,
  );
}
