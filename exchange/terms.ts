/**
 * The terms a bulk export runs under, decided the same way at submission and again at the start of every
 * run (a grant revoked or a resource suspended meanwhile stops the job): the published catalog entry,
 * the grant, `decide` in mode bulk, and the checks bulk adds (a data service, a watermark for incremental
 * exports, a filter that agrees with the grant's row filter, a usable consumer certificate).
 */
import type { DataService, ResourceEntry } from '../catalog/schema.js';
import { effectiveStatus } from '../certs/registry.js';
import type { CertificateRecord } from '../certs/schema.js';
import { parseInstant } from '../platform/instant.js';
import { type Caller, decide } from '../policies/decide.js';
import { denyError } from '../policies/errors.js';
import type { Grant } from '../policies/grant.js';
import type { Obligations } from '../policies/obligations.js';
import { checkUseTerms } from '../policies/use-terms.js';
import type { ExchangeDeps } from './deps.js';
import { exchangeErrors } from './errors.js';
import type { ExchangeFilter, ExchangeKind } from './schema.js';

export interface TermsRequest {
  resource: string;
  items?: string[];
  filter?: ExchangeFilter;
  kind: ExchangeKind;
  purpose: string;
  /** Check this grant (a job's own); the caller's current grant when absent (a new submission). */
  grantId?: string;
  /** The watermark value an incremental export starts after: it must be of the watermark item's type. */
  since?: string;
  /**
   * The official acting through the system, checked like a data call's x-user-id (USER_ID_REQUIRED) at
   * submission and subscription; a run carries the person its job recorded and is not asked again.
   */
  actingUser?: { userId: string | undefined; machineCallsAllowed: boolean };
}

export interface Terms {
  entry: ResourceEntry;
  resourceVersion: number;
  grant: Grant;
  obligations: Obligations;
  service: DataService;
}

export async function resolveTerms(
  deps: Pick<ExchangeDeps, 'catalog' | 'grants' | 'useTerms'>,
  caller: Caller,
  request: TermsRequest,
  now: number,
): Promise<Terms> {
  const published = await deps.catalog.publishedEntry(request.resource);
  if (!published) {
    throw new exchangeErrors.EXCHANGE_RESOURCE_NOT_FOUND(
      `no published resource has the code ${request.resource}`,
    );
  }
  const grant =
    request.grantId === undefined
      ? await deps.grants.findActive(caller.deptCode, caller.systemId, request.resource)
      : await deps.grants.get(request.grantId);
  const decision = decide(caller, { entry: published.entry, status: published.status }, grant, {
    purpose: request.purpose,
    ...(request.items === undefined ? {} : { items: request.items }),
    mode: 'bulk',
    queryItems: request.filter ? [request.filter.item] : [],
    now,
    ...(request.actingUser ? { actingUser: request.actingUser } : {}),
  });
  if (!decision.allow) throw denyError(decision);
  const { entry } = published;
  if (deps.useTerms) {
    const accepted = entry.useTerms
      ? await deps.useTerms.acceptedVersion(caller.deptCode, entry.code, entry.useTerms.version)
      : undefined;
    const refusal = checkUseTerms(entry, accepted, { required: deps.useTerms.required });
    if (refusal) throw denyError(refusal);
  }
  const service = entry.service;
  if (!service) {
    throw new exchangeErrors.EXCHANGE_RESOURCE_NO_SERVICE(
      `resource ${entry.code} mounts no data service: its provider has not connected it yet`,
    );
  }
  if (request.kind === 'incremental' && !service.watermark) {
    throw new exchangeErrors.EXCHANGE_INCREMENTAL_UNSUPPORTED(
      `resource ${entry.code} declares no watermark item, so changes cannot be told apart: export it in full`,
    );
  }
  if (request.kind === 'incremental') {
    const item = entry.items.find((i) => i.name === service.watermark);
    // Runs read rows later than the last value they saw: with a whole day as the value, rows changed later
    // on the day a run read up to would never be exported.
    if (item?.dataType === 'D') {
      throw new exchangeErrors.EXCHANGE_INCREMENTAL_UNSUPPORTED(
        `the watermark item ${item.name} of resource ${entry.code} is a date: rows changed later on the day a run reads up to would be missed; incremental exports need a date-time or sequence watermark, so export it in full`,
      );
    }
  }
  if (request.since !== undefined) checkWatermarkValue(entry, service.watermark!, request.since);
  const rowFilter = grant!.rowFilter;
  if (
    request.filter &&
    rowFilter &&
    request.filter.item === rowFilter.item &&
    request.filter.equals !== rowFilter.equals
  ) {
    throw new exchangeErrors.EXCHANGE_FILTER_CONFLICT(
      `the grant covers only rows with ${rowFilter.item} = ${JSON.stringify(rowFilter.equals)}; a filter on another value would export nothing`,
    );
  }
  return {
    entry,
    resourceVersion: published.version,
    grant: grant!,
    obligations: decision.obligations,
    service,
  };
}

const WATERMARK_FORMS: Partial<Record<ResourceEntry['items'][number]['dataType'], [RegExp, string]>> = {
  D: [/^\d{4}-\d{2}-\d{2}$/, 'a date (YYYY-MM-DD)'],
  T: [
    /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}(:?\d{2})?)?$/,
    'a date-time (ISO 8601)',
  ],
  I: [/^-?\d{1,30}$/, 'an integer'],
  N: [/^-?\d{1,40}(\.\d{1,40})?$/, 'a number'],
  Y: [/^-?\d{1,40}(\.\d{1,40})?$/, 'a number'],
  B: [/^-?\d{1,40}(\.\d{1,40})?([eE][+-]?\d{1,3})?$/, 'a number'],
  F: [/^-?\d{1,40}(\.\d{1,40})?([eE][+-]?\d{1,3})?$/, 'a number'],
};

/**
 * A `since` the provider's database could not compare with the watermark column is refused at submission
 * (422), not found out by every run: a subscription would keep it and fail on each schedule.
 */
function checkWatermarkValue(entry: ResourceEntry, item: string, value: string): void {
  const dataType = entry.items.find((i) => i.name === item)?.dataType;
  const form = dataType === undefined ? undefined : WATERMARK_FORMS[dataType];
  if (!form) return;
  const [pattern, what] = form;
  const dated = dataType === 'D' || dataType === 'T';
  if (pattern.test(value) && (!dated || !Number.isNaN(parseInstant(value.slice(0, 10))))) return;
  throw new exchangeErrors.EXCHANGE_REQUEST_INVALID(
    `since ${JSON.stringify(value)} is not ${what}, the type of the watermark item ${item} of resource ${entry.code}`,
  );
}

/** The consumer certificate the file is encrypted for: it must be the caller's own, active and unexpired. */
export async function usableCertificate(
  deps: Pick<ExchangeDeps, 'certs'>,
  consumer: { deptCode: string; systemId: string; certSerial: string },
  now: number,
): Promise<CertificateRecord> {
  const record = await deps.certs.getCertificate(consumer.certSerial);
  if (!record || record.deptCode !== consumer.deptCode || record.systemId !== consumer.systemId) {
    throw new exchangeErrors.EXCHANGE_CERT_UNUSABLE(
      `certificate ${consumer.certSerial} is not a certificate of system "${consumer.systemId}" of department ${consumer.deptCode}`,
    );
  }
  const status = effectiveStatus(record, new Date(now));
  if (status !== 'active') {
    throw new exchangeErrors.EXCHANGE_CERT_UNUSABLE(
      `certificate ${consumer.certSerial} is ${status}: files are encrypted only for a valid certificate; renew it and submit again`,
    );
  }
  return record;
}
