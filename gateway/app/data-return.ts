/**
 * One run of a data return (回流) job, as the CLI and the tests start it: pull the upper platform's
 * changes since the stored watermark into the front-end table, audit the run (rows, watermark,
 * correlation id) on this platform's trail, and only then advance the watermark.
 */
import { randomUUID } from 'node:crypto';
import type { AuditRecord } from '../../audit/record.js';
import {
  pullChanges,
  type ReturnRun,
  type ReturnSink,
  ReturnWatermarks,
} from '../../federation/data-return.js';
import { FEDERATION_SYSTEM_ID } from '../../federation/origin.js';
import type { GatewayContext } from './context.js';

export interface DataReturnJob {
  peer: string;
  code: string;
  sink: ReturnSink;
  /** A purpose the upper platform's grant to this platform allows. */
  purpose: string;
  pageSize?: number;
}

export async function runDataReturn(
  context: GatewayContext,
  job: DataReturnJob,
): Promise<ReturnRun & { correlationId: string }> {
  const started = Date.now();
  const link = await context.peers.activeWith(job.peer);
  const watermarks = new ReturnWatermarks(context.redis, context.prefix);
  const since = await watermarks.get(job.peer, job.code);
  const correlationId = `return-${randomUUID()}`;
  const connector = context.connectors.get({ connector: 'federation', endpoint: `${job.peer}/${job.code}` });
  const record = (
    run: ReturnRun | undefined,
    error?: Error & { code?: string; statusCode?: number },
  ): AuditRecord => ({
    time: new Date(started).toISOString(),
    requestId: correlationId,
    instance: context.audit.instance,
    kind: 'exchange',
    actor: { deptCode: link.local.operator, systemId: FEDERATION_SYSTEM_ID, userId: 'data-return-job' },
    action: 'federation.return',
    resource: job.code,
    purpose: job.purpose,
    ...(run ? { rowCount: run.rows } : {}),
    decision: error ? 'error' : 'allow',
    ...(error
      ? { reasonCode: error.code && /^[A-Z][A-Z0-9_]{1,63}$/.test(error.code) ? error.code : 'INTERNAL' }
      : {}),
    status: error ? (error.statusCode ?? 500) : 200,
    latencyMs: Date.now() - started,
    detail: {
      federation: { correlationId, peer: job.peer, agreementId: link.agreementId },
      ...(since === undefined ? {} : { since }),
      ...(run?.watermark === undefined ? {} : { watermark: run.watermark }),
      ...(run ? { pages: run.pages } : {}),
    },
  });
  let run: ReturnRun;
  try {
    run = await pullChanges({
      connector,
      sink: job.sink,
      origin: {
        deptCode: link.local.operator,
        systemId: FEDERATION_SYSTEM_ID,
        purpose: job.purpose,
        userId: 'data-return-job',
      },
      ...(since === undefined ? {} : { since }),
      ...(job.pageSize ? { pageSize: job.pageSize } : {}),
      correlationId,
    });
  } catch (error) {
    await context.audit.append(record(undefined, error as Error)).catch(() => undefined);
    throw error;
  }
  // Audited before the watermark moves: an unaudited run is pulled again (the upsert makes that harmless).
  await context.audit.append(record(run));
  if (run.watermark !== undefined) await watermarks.set(job.peer, job.code, run.watermark);
  return { ...run, correlationId };
}
