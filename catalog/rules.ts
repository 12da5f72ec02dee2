/**
 * Rules every catalog entry obeys whenever it is saved, beyond what the schema alone can say.
 * Each refusal has its own error code and a message naming the offending field or item.
 */
import {
  CatalogBaseItemRestricted,
  CatalogBaseKeyNotIdentifier,
  CatalogClassified,
  CatalogCodeMismatch,
  CatalogConfidentialityUnreviewed,
  CatalogControlParamUnknown,
  CatalogEntryInvalid,
  CatalogItemDuplicate,
  CatalogItemSourceInvalid,
  CatalogKeyRequired,
  CatalogLegalBasisRequired,
  CatalogServiceRequired,
  CatalogWatermarkUnknown,
} from './errors.js';
import { ResourceEntry } from './schema.js';
import { describeFirstError, firstErrorAjv } from './validation.js';

const validateEntry = firstErrorAjv.compile<ResourceEntry>(ResourceEntry);

const CATEGORY_DIGIT = { base: '1', theme: '2', department: '3' } as const;

export interface CheckOptions {
  /** Submitting for (or importing as) a published version: a mounted data service is required. */
  forPublication: boolean;
}

/** Throws the first rule the entry breaks; returns nothing when the entry may be saved. */
export function checkEntry(entry: ResourceEntry, { forPublication }: CheckOptions): void {
  if (!validateEntry(entry)) {
    throw new CatalogEntryInvalid(`entry ${describeFirstError(validateEntry.errors)}`);
  }
  checkCodes(entry);
  checkItems(entry);
  checkLegalBasis(entry);
  checkBaseItems(entry);
  checkReferences(entry);
  checkItemSources(entry);
  if (forPublication && !entry.confidentiality) {
    throw new CatalogConfidentialityUnreviewed(
      `confidentiality: record the confidentiality review (保密审查) of ${entry.code} (result not-classified or classified, reviewedBy, reviewedOn) before it is submitted for publication or imported ([HB-S] 3; [HC-R] 21, 39)`,
    );
  }
  if (forPublication && entry.confidentiality?.result === 'classified') {
    throw new CatalogClassified(
      `confidentiality: resource ${entry.code} is classified (涉密) by the review of ${entry.confidentiality.reviewedBy} on ${entry.confidentiality.reviewedOn}; classified data is never shared through the platform ([HB-S] 3; [HC-R] 21, 39)`,
    );
  }
  if (forPublication && !entry.service) {
    throw new CatalogServiceRequired(
      `service: mount a data service (connector and endpoint) before publishing ${entry.code} ([HB-S] 11)`,
    );
  }
}

function checkCodes(entry: ResourceEntry): void {
  const { category, code } = entry.classification;
  const digit = CATEGORY_DIGIT[category];
  if (code[0] !== digit) {
    throw new CatalogCodeMismatch(
      `classification.code "${code}" must start with ${digit} for category "${category}"`,
    );
  }
  const prefix = entry.code.split('/')[0];
  if (prefix !== code) {
    throw new CatalogCodeMismatch(
      `code "${entry.code}": the part before "/" must equal classification.code "${code}"`,
    );
  }
}

function checkItems(entry: ResourceEntry): void {
  const seen = new Set<string>();
  entry.items.forEach((item, index) => {
    if (seen.has(item.name)) {
      throw new CatalogItemDuplicate(`items/${index}: the name "${item.name}" is used by an earlier item`);
    }
    seen.add(item.name);
  });
  if (!entry.items.some((item) => item.key)) {
    throw new CatalogKeyRequired(
      'items: mark at least one item with key: true (resident ID number for persons, USCC for organisations)',
    );
  }
}

const isRestricted = (type: string | undefined) => type === 'conditional' || type === 'none';

function checkLegalBasis(entry: ResourceEntry): void {
  if ((entry.share.legalBasis ?? '').trim() !== '') return;
  if (isRestricted(entry.share.type)) {
    throw new CatalogLegalBasisRequired(
      `share.legalBasis: a ${entry.share.type} entry must cite the law, regulation or policy it rests on; without one it is unconditional`,
    );
  }
  const item = entry.items.find((i) => isRestricted(i.shareType));
  if (item) {
    throw new CatalogLegalBasisRequired(
      `share.legalBasis: item "${item.name}" is ${item.shareType}, so the entry must cite its legal basis`,
    );
  }
}

/**
 * Base resources (class 1: population, legal entities, natural resources and geography, electronic
 * licences) are shared with every department: all their items are unconditional ([HB-S] 8(2); [HC-R] 26),
 * and they are keyed by the identifier of their subject, the resident ID number or the unified social
 * credit code ([HC-R] 19; [XY] 16).
 */
function checkBaseItems(entry: ResourceEntry): void {
  if (entry.classification.category !== 'base') return;
  if (isRestricted(entry.share.type)) {
    throw new CatalogBaseItemRestricted(
      `share.type: a base resource is shared unconditionally with every department, not ${entry.share.type}; move restricted items to a department resource`,
    );
  }
  for (const item of entry.items) {
    if (isRestricted(item.shareType)) {
      throw new CatalogBaseItemRestricted(
        `items: ${item.key ? 'key ' : ''}item "${item.name}" of a base resource is always shared unconditionally, not ${item.shareType}`,
      );
    }
    if (item.key && item.sensitive !== 'idNumber' && item.sensitive !== 'uscc') {
      throw new CatalogBaseKeyNotIdentifier(
        `items: key item "${item.name}" of a base resource must be a resident ID number or a unified social credit code (sensitive: "idNumber" or "uscc")`,
      );
    }
  }
}

function checkReferences(entry: ResourceEntry): void {
  const names = new Set(entry.items.map((i) => i.name));
  for (const param of entry.share.controlParams ?? []) {
    if (!names.has(param)) {
      throw new CatalogControlParamUnknown(`share.controlParams: "${param}" is not an item of the entry`);
    }
  }
  const watermark = entry.service?.watermark;
  if (watermark !== undefined && !names.has(watermark)) {
    throw new CatalogWatermarkUnknown(`service.watermark: "${watermark}" is not an item of the entry`);
  }
}

/** 一数一源 ([HB-S] 14; [HC-R] 18): a source item names what it is the source of, once per entry. */
function checkItemSources(entry: ResourceEntry): void {
  const seen = new Map<string, string>();
  for (const item of entry.items) {
    if (item.source && item.semanticId === undefined) {
      throw new CatalogItemSourceInvalid(
        `items: "${item.name}" says source: true; name what it is the source of in semanticId (e.g. person.name)`,
      );
    }
    if (item.semanticId === undefined) continue;
    const earlier = seen.get(item.semanticId);
    if (earlier !== undefined) {
      throw new CatalogItemSourceInvalid(
        `items: "${item.name}" and "${earlier}" both have semanticId "${item.semanticId}"; one item per meaning`,
      );
    }
    seen.set(item.semanticId, item.name);
  }
}

/** The semantic ids the entry declares itself the authoritative source of. */
export function sourcedItems(entry: ResourceEntry): string[] {
  return entry.items.flatMap((i) => (i.source && i.semanticId !== undefined ? [i.semanticId] : []));
}
