/**
 * Data-quality re-checks as the gateway and the worker see them: the report store (with the provider
 * notified through the webhook system when a run falls below the threshold) and the job queue.
 */
import { randomUUID } from 'node:crypto';
import type { Queue } from 'bullmq';
import { QualityStore } from '../../catalog/quality/store.js';
import { createQualityQueue, type QualityJobData, type QualityJobResult } from '../jobs/quality.js';
import type { GatewayContext } from './context.js';
import type { Workflow } from './workflow.js';

export interface Quality {
  store: QualityStore;
  queue: Queue<QualityJobData, QualityJobResult>;
  close(): Promise<void>;
}

export function createQuality(context: GatewayContext, workflow: Workflow): Quality {
  const store = new QualityStore(context.redis, context.prefix, {
    threshold: context.config.GOVSHARE_QUALITY_THRESHOLD,
    now: () => context.now().getTime(),
    onBelowThreshold: async ({ report, task, opened }) => {
      const published = await context.catalog.publishedEntry(report.resource);
      if (!published) return;
      await workflow.notifications.fanOut({
        id: `quality-${report.id}-${randomUUID()}`,
        type: 'quality.below-threshold',
        at: context.now().toISOString(),
        recipients: [published.entry.provider.code, 'bureau'],
        data: { resource: report.resource, score: report.score, taskId: task.id, opened },
      });
    },
  });
  const queue = createQualityQueue(context.redis, context.prefix);
  return { store, queue, close: () => queue.close() };
}
