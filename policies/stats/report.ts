/**
 * The published statistics report ([HB-S] 26; [XY] 29): the statistics of one calendar month (China
 * Standard Time) kept as a signed document and announced to every registered department. The document
 * is the canonical JSON (audit/canonical.ts, RFC 8785 for these values) of `report`, signed with the
 * platform signing key through the Signer — `rsa-pss-sha256` under the intl profile, `sm2-sm3` under gm —
 * and carries the signing certificate, so anyone holding the platform CA certificate can check it
 * (`verifyStatsReport`). A period has one report: built once, never rebuilt, only for a month that has
 * ended; each department is told of it once (`stats.report`, inbox and webhooks), however many times the
 * monthly job or the bureau asks.
 */
import { createHash, X509Certificate } from 'node:crypto';
import { type Static, Type } from '@sinclair/typebox';
import { canonicalJson } from '../../audit/canonical.js';
import { verifyPayload } from '../../audit/checkpoint.js';
import { certificateFingerprint, isPlatformSigningCertificate } from '../../certs/platform.js';
import { type Signer, schemeFor } from '../../certs/signer.js';
import { addDays, cstDate } from '../../platform/plain-date.js';
import type { RedisClient } from '../../platform/redis.js';
import type { WorkflowEvent } from '../applications/schema.js';
import { STATS_REPORT_NOT_FOUND, STATS_REPORT_PERIOD_INVALID } from './errors.js';
import { statsKeys } from './keys.js';
import { Statistics } from './schema.js';
import type { StatsService } from './service.js';

export const PERIOD_PATTERN = '^\\d{4}-(0[1-9]|1[0-2])$';

export const StatsReport = Type.Object(
  {
    type: Type.Literal('govshare.stats-report'),
    period: Type.String({ pattern: PERIOD_PATTERN, description: 'The month, YYYY-MM (CST)' }),
    issuedAt: Type.String({ format: 'date-time' }),
    statistics: Statistics,
  },
  { additionalProperties: false },
);
export type StatsReport = Static<typeof StatsReport>;

export const SignedStatsReport = Type.Object(
  {
    report: StatsReport,
    signature: Type.Object(
      {
        alg: Type.Union([Type.Literal('rsa-pss-sha256'), Type.Literal('sm2-sm3')]),
        value: Type.String({ description: 'Base64 signature over the canonical JSON of `report`' }),
        signer: Type.String({ description: 'SHA-256 fingerprint of the signing certificate, lowercase hex' }),
        certificate: Type.String({ description: 'The platform signing certificate, PEM' }),
      },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false },
);
export type SignedStatsReport = Static<typeof SignedStatsReport>;

export const StatsReportSummary = Type.Object(
  {
    period: Type.String(),
    issuedAt: Type.String({ format: 'date-time' }),
    signer: Type.String(),
    digest: Type.String({ description: 'SHA-256 of the signed canonical JSON, lowercase hex' }),
  },
  { additionalProperties: false },
);
export type StatsReportSummary = Static<typeof StatsReportSummary>;

/** The first and last calendar day of a period `YYYY-MM`; refuses any other shape or an unfinished month. */
export function periodDays(period: string, today?: string): { from: string; to: string } {
  const match = /^(\d{4})-(\d{2})$/.exec(period);
  const year = Number(match?.[1]);
  const month = Number(match?.[2]);
  if (!match || year < 2000 || month < 1 || month > 12) {
    throw new STATS_REPORT_PERIOD_INVALID(`${JSON.stringify(period.slice(0, 20))} is not a month YYYY-MM`);
  }
  const from = `${match[1]}-${match[2]}-01`;
  const next = month === 12 ? `${year + 1}-01-01` : `${match[1]}-${String(month + 1).padStart(2, '0')}-01`;
  const to = addDays(next, -1);
  if (today !== undefined && to >= today) {
    throw new STATS_REPORT_PERIOD_INVALID(
      `${period} has not ended yet (today is ${today} CST); a report covers a whole month`,
    );
  }
  return { from, to };
}

/** The month before the one `now` falls in (CST): what the monthly job reports on. */
export function previousPeriod(now: Date | number): string {
  const first = `${cstDate(now).slice(0, 8)}01`;
  return addDays(first, -1).slice(0, 7);
}

function periodScore(period: string): number {
  return Number(period.slice(0, 4)) * 12 + Number(period.slice(5, 7)) - 1;
}

/** SHA-256 of the signed bytes, lowercase hex. */
export function reportDigest(report: StatsReport): string {
  return createHash('sha256').update(canonicalJson(report), 'utf8').digest('hex');
}

export async function signStatsReport(
  report: StatsReport,
  signer: Signer,
  certificatePem: string,
): Promise<SignedStatsReport> {
  const alg = schemeFor(signer.keyType, 'rsa-pss-sha256') as 'rsa-pss-sha256' | 'sm2-sm3';
  const value = await signer.sign(Buffer.from(canonicalJson(report), 'utf8'), alg);
  return {
    report,
    signature: {
      alg,
      value: value.toString('base64'),
      signer: certificateFingerprint(new X509Certificate(certificatePem)),
      certificate: certificatePem,
    },
  };
}

export type ReportVerification = { ok: true; period: string } | { ok: false; reason: string };

/**
 * Checks a signed report against the platform CA certificate: the certificate is the platform's signing
 * certificate issued by that CA and valid when the report was issued, the fingerprint names it, and the
 * signature holds over the canonical JSON of the report. Never throws. `at` is when the certificate
 * must have been valid; the report's `issuedAt` unless given (a platform clock set apart from the
 * certificate's, as in tests, passes the instant it trusts).
 */
export function verifyStatsReport(
  signed: unknown,
  caCertPem: string,
  options: { at?: Date } = {},
): ReportVerification {
  try {
    const doc = signed as SignedStatsReport;
    const sig = doc?.signature;
    if (!doc?.report || typeof sig?.certificate !== 'string' || typeof sig.value !== 'string') {
      return { ok: false, reason: 'not a signed statistics report' };
    }
    const cert = new X509Certificate(sig.certificate);
    const ca = new X509Certificate(caCertPem);
    const issuedAt = options.at ?? new Date(doc.report.issuedAt);
    if (Number.isNaN(issuedAt.getTime())) return { ok: false, reason: 'the report has no valid issuedAt' };
    if (!isPlatformSigningCertificate(cert, ca, issuedAt)) {
      return {
        ok: false,
        reason: 'the certificate is not the platform signing certificate of this CA at the time of issue',
      };
    }
    if (certificateFingerprint(cert) !== sig.signer) {
      return { ok: false, reason: 'the signer fingerprint does not name the certificate' };
    }
    if (!verifyPayload(cert.publicKey, canonicalJson(doc.report), sig.value, sig.alg)) {
      return { ok: false, reason: 'the signature does not match the report' };
    }
    return { ok: true, period: doc.report.period };
  } catch (err) {
    return { ok: false, reason: `unreadable: ${(err as Error).message}` };
  }
}

/** A stable UUID-shaped event id per (platform, period, department): announcing twice adds nothing. */
function reportEventId(prefix: string, period: string, dept: string): string {
  const hex = createHash('sha256').update(`stats.report\0${prefix}\0${period}\0${dept}`).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

export interface StatsReportsDeps {
  redis: RedisClient;
  prefix: string;
  stats: StatsService;
  signer: Signer;
  certificatePem: string;
  now: () => Date;
  /** Codes of every registered department (certs registry). */
  departments: () => Promise<string[]>;
  /** Commits events to the outbox and delivers them (Workflow.announce). */
  announce: (events: WorkflowEvent[]) => Promise<void>;
}

export interface PublishOutcome {
  signed: SignedStatsReport;
  /** False when the period's report existed already (it is never rebuilt). */
  created: boolean;
  /** Departments told of the report by this call (those told before are not told again). */
  delivered: string[];
}

/** What a publication will do, told to `beforeCommit` before anything is stored or delivered. */
export interface PublishPlan {
  summary: StatsReportSummary;
  /** True when this call builds the period's report (false: it was published before). */
  created: boolean;
  /** Departments not yet told of the report: this call tells them. */
  recipients: string[];
}

export interface PublishOptions {
  /**
   * Runs once the report is built (or found) and before it is stored or any department is told: the
   * caller's audit record of the publication. When it throws, nothing is stored or delivered.
   */
  beforeCommit?: (plan: PublishPlan) => Promise<void>;
}

export class StatsReports {
  readonly #deps: StatsReportsDeps;
  readonly #keys: ReturnType<typeof statsKeys>;

  constructor(deps: StatsReportsDeps) {
    this.#deps = deps;
    this.#keys = statsKeys(deps.prefix);
  }

  /**
   * Builds, signs and keeps the report of `period` (once), then tells every department not yet told.
   * `beforeCommit` (the audit record) runs before anything is stored or delivered.
   */
  async publish(period: string, options: PublishOptions = {}): Promise<PublishOutcome> {
    const now = this.#deps.now();
    const { from, to } = periodDays(period, cstDate(now));
    let signed = await this.get(period);
    let built: SignedStatsReport | undefined;
    if (!signed) {
      const statistics = await this.#deps.stats.compute({ from, to });
      const report: StatsReport = {
        type: 'govshare.stats-report',
        period,
        issuedAt: now.toISOString(),
        statistics,
      };
      built = await signStatsReport(report, this.#deps.signer, this.#deps.certificatePem);
    }
    await options.beforeCommit?.({
      summary: summaryOf(signed ?? built!),
      created: built !== undefined,
      recipients: await this.#pending(period),
    });
    let created = false;
    if (built) {
      const stored = await this.#deps.redis
        .multi()
        .set(this.#keys.report(period), JSON.stringify(built), 'NX')
        .zadd(this.#keys.reports, periodScore(period), period)
        .exec();
      created = stored?.[0]?.[1] === 'OK';
      // Another process built it first: theirs is the report.
      signed = created ? built : ((await this.get(period)) ?? built);
    }
    const delivered = await this.#deliver(signed!);
    return { signed: signed!, created, delivered };
  }

  /** Registered departments not yet told of the period's report. */
  async #pending(period: string): Promise<string[]> {
    const told = await this.#deps.redis.hgetall(this.#keys.reportDelivered(period));
    return (await this.#deps.departments()).filter((dept) => told[dept] === undefined);
  }

  async #deliver(signed: SignedStatsReport): Promise<string[]> {
    const { period } = signed.report;
    const pending = await this.#pending(period);
    if (pending.length === 0) return [];
    const at = this.#deps.now();
    const summary = summaryOf(signed);
    // Announced before being marked: a crash in between re-announces with the same event ids, which the
    // inboxes and delivery records take once.
    await this.#deps.announce(
      pending.map((dept) => ({
        id: reportEventId(this.#deps.prefix, period, dept),
        type: 'stats.report' as const,
        at: at.toISOString(),
        recipients: [dept],
        data: {
          period,
          from: signed.report.statistics.from,
          to: signed.report.statistics.to,
          issuedAt: summary.issuedAt,
          digest: summary.digest,
          signer: summary.signer,
          href: `/v1/stats/reports/${period}`,
        },
      })),
    );
    await this.#deps.redis.hset(
      this.#keys.reportDelivered(period),
      Object.fromEntries(pending.map((dept) => [dept, at.toISOString()])),
    );
    return pending;
  }

  async get(period: string): Promise<SignedStatsReport | undefined> {
    periodDays(period);
    const json = await this.#deps.redis.get(this.#keys.report(period));
    return json ? (JSON.parse(json) as SignedStatsReport) : undefined;
  }

  async require(period: string): Promise<SignedStatsReport> {
    const signed = await this.get(period);
    if (!signed) throw new STATS_REPORT_NOT_FOUND(`no statistics report has been published for ${period}`);
    return signed;
  }

  /** Every published report, newest period first. */
  async list(): Promise<StatsReportSummary[]> {
    const periods = await this.#deps.redis.zrevrange(this.#keys.reports, 0, -1);
    if (periods.length === 0) return [];
    const docs = await this.#deps.redis.mget(periods.map((p) => this.#keys.report(p)));
    return docs.flatMap((json) => (json ? [summaryOf(JSON.parse(json) as SignedStatsReport)] : []));
  }

  /** Departments told of the period's report, with when. */
  deliveredTo(period: string): Promise<Record<string, string>> {
    return this.#deps.redis.hgetall(this.#keys.reportDelivered(period));
  }
}

export function summaryOf(signed: SignedStatsReport): StatsReportSummary {
  return {
    period: signed.report.period,
    issuedAt: signed.report.issuedAt,
    signer: signed.signature.signer,
    digest: reportDigest(signed.report),
  };
}
