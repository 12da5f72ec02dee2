/**
 * The compact per-resource document the search reads instead of the full records: what the filters,
 * the sort and the summaries need, plus one normalized text (code, name, summary, provider, item names
 * and labels) for substring search. Written by the store in the same script as the records.
 */
import type { CatalogResource, CatalogVersion, ResourceStatus, VersionState } from './records.js';
import type { ShareType, UpdateCycle } from './schema.js';

export interface SearchPart {
  version: number;
  state: VersionState;
  name: string;
  providerName: string;
  category: 'base' | 'theme' | 'department';
  classificationCode: string;
  shareType: ShareType;
  updateCycle: UpdateCycle;
  formatType: string;
  publishedDate?: string;
  /** Normalized (NFKC, lower case) searchable text; fields separated by newlines. */
  text: string;
}

export interface SearchDocument {
  code: string;
  providerCode: string;
  /** Status declarations as [status, effectiveFrom in ms], in the order filed. */
  timeline: [ResourceStatus, number][];
  /** The version in force. */
  current?: SearchPart;
  /** The latest version when it is not the one in force (draft, submitted or rejected). */
  pending?: SearchPart;
}

/**
 * Query text and document text are normalized alike, so full-width letters and case do not matter.
 * NUL is removed: it separates documents in the search index.
 */
export function normalizeText(text: string): string {
  return text.normalize('NFKC').toLowerCase().replaceAll('\u0000', '');
}

function part(version: CatalogVersion): SearchPart {
  const { entry } = version;
  const text = [
    entry.code,
    entry.name,
    entry.summary,
    entry.provider.name,
    ...entry.items.flatMap((item) => [item.name, item.label]),
  ].join('\n');
  const result: SearchPart = {
    version: version.version,
    state: version.state,
    name: entry.name,
    providerName: entry.provider.name,
    category: entry.classification.category,
    classificationCode: entry.classification.code,
    shareType: entry.share.type,
    updateCycle: entry.updateCycle as UpdateCycle,
    formatType: entry.format.type,
    text: normalizeText(text),
  };
  if (version.publishedDate) result.publishedDate = version.publishedDate;
  return result;
}

export function buildSearchDocument(
  resource: CatalogResource,
  current: CatalogVersion | undefined,
  latest: CatalogVersion | undefined,
): SearchDocument {
  const doc: SearchDocument = {
    code: resource.code,
    providerCode: resource.providerCode,
    timeline: resource.status.timeline.map((d) => [d.status, Date.parse(d.effectiveFrom)]),
  };
  if (current) doc.current = part(current);
  if (latest && latest.version !== current?.version) doc.pending = part(latest);
  return doc;
}

export function effectiveFromTimeline(timeline: [ResourceStatus, number][], at: number): ResourceStatus {
  let status: ResourceStatus = 'active';
  for (const [declared, from] of timeline) if (from <= at) status = declared;
  return status;
}
