/**
 * Cross-source consistency of the quality checks, from the catalog's 一数一源 registry ([HB-S] 14, 17):
 * an item that reuses an item of another resource (same semantic id, the other resource registered as its
 * source) must agree with it record by record. The rule looks the checked keys up in the source resource
 * through its connector, a batch at a time; both resources must be keyed by one item holding the same
 * kind of identifier (or the same semantic id). The inconsistencies found open joint verifications
 * between the two departments (policies/cases/joint.ts).
 */
import type { Logger } from 'pino';
import type { ConsistencyRule } from '../../catalog/quality/plan.js';
import { identifierKindOf } from '../../catalog/quality/plan.js';
import type { QualityReport } from '../../catalog/quality/report.js';
import type { Inconsistency } from '../../catalog/quality/run.js';
import type { DataService, Item, ResourceEntry } from '../../catalog/schema.js';
import { serviceShape } from '../../connectors/registry.js';
import type { Connector, ServiceShape } from '../../connectors/types.js';
import type { JointVerifications } from '../../policies/cases/joint.js';
import type { QualityCatalog } from './quality.js';

export interface ItemSourceConsistencyDeps {
  catalog: QualityCatalog;
  /** The resource registered as the source of a semantic id (catalog/item-sources.ts). */
  sourceOf(semanticId: string): Promise<string | undefined>;
  connectors: { get(service: DataService, shape?: ServiceShape): Connector };
}

function sameKey(a: Item, b: Item): boolean {
  if (a.semanticId !== undefined && a.semanticId === b.semanticId) return true;
  const kind = identifierKindOf(a);
  return kind !== undefined && kind === identifierKindOf(b);
}

/** The consistency rules of an entry: each item that reuses another resource's item, against that source. */
export function itemSourceConsistency(deps: ItemSourceConsistencyDeps) {
  return async (entry: ResourceEntry): Promise<Omit<ConsistencyRule, 'rule'>[]> => {
    const keys = entry.items.filter((i) => i.key === true);
    if (keys.length !== 1) return [];
    const rules: Omit<ConsistencyRule, 'rule'>[] = [];
    for (const item of entry.items) {
      if (!item.semanticId || item.source === true || item.key === true) continue;
      const holder = await deps.sourceOf(item.semanticId);
      if (!holder || holder === entry.code) continue;
      const published = await deps.catalog.publishedEntry(holder);
      if (published?.status !== 'active' || !published.entry.service) continue;
      const source = published.entry;
      const sourceKeys = source.items.filter((i) => i.key === true);
      const sourceItem = source.items.find((i) => i.semanticId === item.semanticId);
      if (sourceKeys.length !== 1 || !sourceItem || !sameKey(keys[0]!, sourceKeys[0]!)) continue;
      const keyItem = sourceKeys[0]!.name;
      const connector = deps.connectors.get(source.service!, serviceShape(source));
      rules.push({
        item: item.name,
        otherResource: holder,
        otherItem: sourceItem.name,
        semanticId: item.semanticId,
        async fetch(batch) {
          const rows = await connector.lookup(keyItem, batch);
          const values = new Map<string, unknown>();
          for (const row of rows) {
            const key = row[keyItem];
            if (key !== null && key !== undefined) values.set(String(key), row[sourceItem.name]);
          }
          return values;
        },
      });
    }
    return rules;
  };
}

/** Refusals that mean "not a joint matter" rather than a failure: skipped, not retried. */
const NOT_JOINT = new Set([
  'CASE_JOINT_SAME_DEPARTMENT',
  'CASE_JOINT_ITEM_UNKNOWN',
  'CASE_JOINT_VALUES_AGREE',
]);

/**
 * Opens (or finds, deduplicated) the joint verification of each inconsistency of a run with a semantic
 * id, at most `maxOpened` new ones per run: the rest are opened by the next runs, which find the earlier
 * ones already open.
 */
export function openJointVerifications(
  joint: Pick<JointVerifications, 'fromQualityRun'>,
  options: { maxOpened?: number; log?: Logger } = {},
) {
  const maxOpened = options.maxOpened ?? 200;
  return async (report: QualityReport, found: Inconsistency[]) => {
    let opened = 0;
    let deduplicated = 0;
    for (const f of found) {
      if (opened >= maxOpened) break;
      const semanticId = f.rule.semanticId;
      if (!semanticId) continue;
      try {
        const result = await joint.fromQualityRun({
          semanticId,
          resources: [report.resource, f.rule.otherResource],
          values: [f.value, f.otherValue],
          key: f.key,
          maskedKey: f.shownKey,
          runId: report.id,
        });
        if (result.deduplicated) deduplicated++;
        else opened++;
      } catch (error) {
        const code = (error as { code?: string }).code;
        if (!code || !NOT_JOINT.has(code)) throw error;
        options.log?.debug(
          { resource: report.resource, code },
          'inconsistency not opened for joint verification',
        );
      }
    }
    return { opened, deduplicated };
  };
}
