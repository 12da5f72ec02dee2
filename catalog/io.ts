/**
 * Export and import of the whole catalog: to move a catalog between platforms, seed a new one, or load
 * entries prepared offline. An import publishes each entry in force as the importing actor (the bureau
 * or the platform) after the same rules as any publication; importing the same file twice changes
 * nothing the second time.
 */
import { type Static, Type } from '@sinclair/typebox';
import { actorRef, assertImporter } from './access.js';
import { CatalogImportInvalid } from './errors.js';
import { type ActorRef, CatalogResource, CatalogVersion } from './records.js';
import { checkEntry } from './rules.js';
import { ResourceEntry } from './schema.js';
import type { CatalogService } from './service.js';
import { describeFirstError, firstErrorAjv } from './validation.js';

export const CatalogExport = Type.Object(
  {
    format: Type.Literal('govshare-catalog'),
    formatVersion: Type.Literal(1),
    exportedAt: Type.String({ format: 'date-time' }),
    resources: Type.Array(
      Type.Object(
        { resource: CatalogResource, versions: Type.Array(CatalogVersion) },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);
export type CatalogExport = Static<typeof CatalogExport>;

export interface ImportSummary {
  created: number;
  updated: number;
  unchanged: number;
  /** Resources of an export that have no version in force (only drafts): nothing to publish. */
  skipped: number;
}

const validateExport = firstErrorAjv.compile<CatalogExport>(CatalogExport);
const validateEntry = firstErrorAjv.compile<ResourceEntry>(ResourceEntry);

/** Every resource the actor may see, with the versions the actor may see, ordered by code. */
export async function exportCatalog(service: CatalogService, actor: ActorRef): Promise<CatalogExport> {
  const by = actorRef(actor);
  const codes = await service.store.listCodes();
  const resources: CatalogExport['resources'] = [];
  for (const resource of await service.store.readResources(codes)) {
    const visible = await service.exportResource(by, resource);
    if (visible) resources.push(visible);
  }
  return { format: 'govshare-catalog', formatVersion: 1, exportedAt: service.now().toISOString(), resources };
}

/**
 * Imports a catalog export (its entries in force) or a plain array of entries. The whole file is checked
 * before anything is written; a bad file names the entry index and the field.
 */
export async function importCatalog(
  service: CatalogService,
  actor: ActorRef,
  data: unknown,
): Promise<ImportSummary> {
  assertImporter(actorRef(actor));
  const { entries, skipped } = entriesOf(data);
  const seen = new Map<string, number>();
  entries.forEach(({ entry, label }) => {
    try {
      checkEntry(entry, { forPublication: true });
    } catch (error) {
      throw new CatalogImportInvalid(`${label}: ${(error as Error).message}`);
    }
    const earlier = seen.get(entry.code);
    if (earlier !== undefined) {
      throw new CatalogImportInvalid(
        `${label}: code ${entry.code} already appears in ${entries[earlier]!.label}`,
      );
    }
    seen.set(entry.code, seen.size);
  });
  const summary: ImportSummary = { created: 0, updated: 0, unchanged: 0, skipped };
  for (const { entry, label } of entries) {
    try {
      const { outcome } = await service.importEntry(actor, entry);
      summary[outcome]++;
    } catch (error) {
      const done = summary.created + summary.updated + summary.unchanged;
      throw new CatalogImportInvalid(
        `${label} (${entry.code}): ${(error as Error).message} (${done} earlier entries were imported; importing again skips them)`,
      );
    }
  }
  return summary;
}

interface LabelledEntry {
  entry: ResourceEntry;
  label: string;
}

function entriesOf(data: unknown): { entries: LabelledEntry[]; skipped: number } {
  if (Array.isArray(data)) {
    const entries = data.map((entry, index) => {
      if (!validateEntry(entry)) {
        throw new CatalogImportInvalid(`entries[${index}]: ${describeFirstError(validateEntry.errors)}`);
      }
      return { entry, label: `entries[${index}]` };
    });
    return { entries, skipped: 0 };
  }
  if (
    typeof data !== 'object' ||
    data === null ||
    (data as { format?: unknown }).format !== 'govshare-catalog'
  ) {
    throw new CatalogImportInvalid(
      'file: expected a catalog export ({"format": "govshare-catalog", ...}) or an array of catalog entries',
    );
  }
  if (!validateExport(data)) {
    throw new CatalogImportInvalid(`file: ${describeFirstError(validateExport.errors)}`);
  }
  const entries: LabelledEntry[] = [];
  let skipped = 0;
  data.resources.forEach(({ resource, versions }, index) => {
    const inForce = versions.find((v) => v.version === resource.current && v.state === 'published');
    if (resource.current === undefined) skipped++;
    else if (!inForce) {
      throw new CatalogImportInvalid(
        `resources[${index}] (${resource.code}): version ${resource.current} in force is missing from versions`,
      );
    } else entries.push({ entry: inForce.entry, label: `resources[${index}]` });
  });
  return { entries, skipped };
}
