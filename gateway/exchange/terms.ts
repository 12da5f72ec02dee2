/**
 * The terms a bulk export runs under, decided the same way at submission and again at the start of every
 * run (a grant revoked or a resource suspended meanwhile stops the job): the published catalog entry,
 * the grant, `decide` in mode bulk, and the checks bulk adds (a data service, a watermark for incremental
 * exports, a filter that agrees with the grant's row filter, a usable consumer certificate).
 */
import type { DataService, ResourceEntry } from '../../catalog/schema.js';
import { effectiveStatus } from '../../certs/registry.js';
import type { CertificateRecord } from '../../certs/schema.js';
import { type Caller, decide } from '../../policies/decide.js';
import { denyError } from '../../policies/errors.js';
import type { Grant } from '../../policies/grant.js';
import type { Obligations } from '../../policies/obligations.js';
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
}

export interface Terms {
  entry: ResourceEntry;
  resourceVersion: number;
  grant: Grant;
  obligations: Obligations;
  service: DataService;
}

export async function resolveTerms(
  deps: Pick<ExchangeDeps, 'catalog' | 'grants'>,
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
  });
  if (!decision.allow) throw denyError(decision);
  const { entry } = published;
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
