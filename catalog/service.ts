/**
 * The catalog's operations: registering, editing, submitting, reviewing and versioning entries, and
 * stopping resources. Every write is computed from what was read and committed only if nothing changed
 * meanwhile (see store.ts); it returns the change for the caller's audit record.
 */
import type { RedisClient } from '../platform/redis.js';
import {
  actorRef,
  assertBureau,
  assertImporter,
  assertOwner,
  assertOwnerOrBureau,
  seesUnpublished,
} from './access.js';
import {
  CatalogConflict,
  CatalogExists,
  CatalogIllegalTransition,
  CatalogItemSourceTaken,
  CatalogNotFound,
  CatalogProviderUnknown,
  CatalogReasonRequired,
} from './errors.js';
import { type ItemSourceArbitration, ItemSources } from './item-sources.js';
import {
  assertOpenForChanges,
  cstDate,
  effectiveStatus,
  nextResourceStatus,
  nextVersionState,
  parseEffectiveFrom,
  type StatusAction,
} from './lifecycle.js';
import {
  assertSameIdentity,
  canonicalJson,
  change,
  isVisible,
  newResource,
  newVersion,
  notFound,
  optionalReason,
  publicResource,
  requiredReason,
  review,
  withoutReview,
} from './record-builders.js';
import type {
  ActorRef,
  CatalogAction,
  CatalogChange,
  CatalogResource,
  CatalogVersion,
  CatalogView,
  PublishedEntry,
  ResourceStatus,
} from './records.js';
import { checkEntry, sourcedItems } from './rules.js';
import type { ResourceEntry } from './schema.js';
import { CatalogSearch, type SearchQuery, type SearchResult } from './search.js';
import { CatalogStore, type LoadedResource } from './store.js';

export interface CatalogServiceOptions {
  now?: () => Date;
  /** Whether a department (USCC) is registered on the platform; when omitted, any provider is accepted. */
  isKnownDepartment?: (code: string) => Promise<boolean>;
}

export interface CatalogWriteResult {
  /** What to put in the audit record. */
  change: CatalogChange;
  resource: CatalogResource;
  /** The version the action created or moved. */
  version?: CatalogVersion;
}

export interface StatusRequest {
  reason?: string;
  /** `YYYY-MM-DD` (start of that day, China Standard Time) or an ISO date-time with zone; a future value schedules. */
  effectiveFrom?: string;
}

interface Plan {
  resource: CatalogResource;
  written: CatalogVersion[];
  change: CatalogChange;
  version?: CatalogVersion;
  /** Semantic ids the version being published is the source of (一数一源), claimed with the write. */
  claims?: string[];
}

export interface SubmitOptions {
  /**
   * When another resource is already the source of an item this entry claims (一数一源): send the
   * contest to the bureau for arbitration instead of refusing the submission.
   */
  arbitrate?: boolean;
  /** Why this resource should be the source (required with arbitrate). */
  reason?: string;
}

export interface SubmitResult extends CatalogWriteResult {
  /** Arbitrations opened by this submission. */
  arbitrations?: ItemSourceArbitration[];
}

const MAX_ATTEMPTS = 8;

export class CatalogService {
  readonly store: CatalogStore;
  readonly searcher: CatalogSearch;
  /** 一数一源: who is the source of each item, and the bureau's arbitration of contested ones. */
  readonly sources: ItemSources;
  /** The catalog's clock (injected in tests). */
  readonly now: () => Date;
  private readonly isKnownDepartment: ((code: string) => Promise<boolean>) | undefined;

  constructor(redis: RedisClient, prefix: string, options: CatalogServiceOptions = {}) {
    this.now = options.now ?? (() => new Date());
    this.isKnownDepartment = options.isKnownDepartment;
    this.store = new CatalogStore(redis, prefix);
    this.searcher = new CatalogSearch(redis, prefix, { now: this.now });
    this.sources = new ItemSources(this.store, this.now);
  }

  async createDraft(actor: ActorRef, entry: ResourceEntry): Promise<CatalogWriteResult> {
    const by = actorRef(actor);
    checkEntry(entry, { forPublication: false });
    assertOwner(by, entry.provider.code, 'register a resource');
    await this.assertKnownProvider(entry.provider.code);
    return this.mutate(entry.code, by, 'create', (loaded, at) => {
      if (loaded) throw new CatalogExists(`resource ${entry.code} is already registered`);
      const version = newVersion(entry, 1, 'draft', by, at);
      const resource = newResource(entry, by, at);
      return { resource, written: [version], change: change('create', entry.code, 1, by, at), version };
    });
  }

  async updateDraft(actor: ActorRef, code: string, entry: ResourceEntry): Promise<CatalogWriteResult> {
    const by = actorRef(actor);
    return this.mutate(code, by, 'update', (loaded, at) => {
      const { resource, latest } = this.require(loaded, code);
      assertOwner(by, resource.providerCode, `edit ${code}`);
      assertOpenForChanges(resource.status.declared, 'edit', `resource ${code}`);
      nextVersionState(latest.state, 'edit', `version ${latest.version} of ${code}`);
      assertSameIdentity(entry, resource);
      checkEntry(entry, { forPublication: false });
      // Back to a plain draft: the earlier submission and review no longer apply (history keeps them).
      const { submittedAt: _submitted, ...unreviewed } = withoutReview(latest);
      const version: CatalogVersion = { ...unreviewed, state: 'draft', entry: structuredClone(entry) };
      return this.withHistory(resource, [version], change('update', code, version.version, by, at), version);
    });
  }

  /**
   * Submits the latest draft for review. An item it claims to be the source of while another resource
   * is (一数一源) refuses the submission, or with `arbitrate` opens an arbitration before the bureau.
   */
  async submit(actor: ActorRef, code: string, options: SubmitOptions = {}): Promise<SubmitResult> {
    const by = actorRef(actor);
    if (options.arbitrate && !options.reason?.trim()) {
      throw new CatalogReasonRequired(
        'reason: say why this resource should be the source of the contested items, for the bureau to arbitrate',
      );
    }
    let contested: { semanticId: string; holder: string }[] = [];
    const result = await this.mutate(code, by, 'submit', async (loaded, at) => {
      const { resource, latest } = this.require(loaded, code);
      assertOwner(by, resource.providerCode, `submit ${code}`);
      assertOpenForChanges(resource.status.declared, 'submit', `resource ${code}`);
      const state = nextVersionState(latest.state, 'submit', `version ${latest.version} of ${code}`);
      checkEntry(latest.entry, { forPublication: true });
      contested = await this.sources.contested(code, sourcedItems(latest.entry));
      if (contested.length > 0 && !options.arbitrate) throw sourceTaken(code, contested[0]!);
      const version: CatalogVersion = { ...latest, state, submittedAt: at.toISOString() };
      return this.withHistory(resource, [version], change('submit', code, version.version, by, at), version);
    });
    if (contested.length === 0) return result;
    const arbitrations: ItemSourceArbitration[] = [];
    for (const { semanticId, holder } of contested) {
      arbitrations.push(
        await this.sources.open(by, { semanticId, claimant: code, holder, reason: options.reason }),
      );
    }
    return { ...result, arbitrations };
  }

  /** Publishes the submitted version; the version in force until now becomes superseded. */
  async approve(actor: ActorRef, code: string, reason?: string): Promise<CatalogWriteResult> {
    const by = actorRef(actor);
    assertBureau(by, 'approve catalog entries');
    const stated = optionalReason(reason);
    return this.mutate(code, by, 'approve', (loaded, at) => {
      const { resource, latest, current } = this.require(loaded, code);
      assertOpenForChanges(resource.status.declared, 'approve', `resource ${code}`);
      const state = nextVersionState(latest.state, 'approve', `version ${latest.version} of ${code}`);
      const version: CatalogVersion = {
        ...review(latest, by, at, stated),
        state,
        publishedDate: cstDate(at),
      };
      const written = [version];
      if (current) {
        nextVersionState(current.state, 'supersede', `version ${current.version} of ${code}`);
        written.push({ ...current, state: 'superseded', supersededAt: at.toISOString() });
      }
      const updated = { ...resource, current: version.version };
      const plan = this.withHistory(
        updated,
        written,
        change('approve', code, version.version, by, at, stated),
        version,
      );
      return { ...plan, claims: sourcedItems(version.entry) };
    });
  }

  async reject(actor: ActorRef, code: string, reason: string): Promise<CatalogWriteResult> {
    const by = actorRef(actor);
    assertBureau(by, 'reject catalog entries');
    const stated = requiredReason(reason, 'rejecting');
    return this.mutate(code, by, 'reject', (loaded, at) => {
      const { resource, latest } = this.require(loaded, code);
      assertOpenForChanges(resource.status.declared, 'reject', `resource ${code}`);
      const state = nextVersionState(latest.state, 'reject', `version ${latest.version} of ${code}`);
      const version: CatalogVersion = { ...review(latest, by, at, stated), state };
      return this.withHistory(
        resource,
        [version],
        change('reject', code, version.version, by, at, stated),
        version,
      );
    });
  }

  /** Opens version N+1 as a draft while the published version N stays in force. */
  async proposeChange(actor: ActorRef, code: string, entry: ResourceEntry): Promise<CatalogWriteResult> {
    const by = actorRef(actor);
    return this.mutate(code, by, 'propose', (loaded, at) => {
      const { resource, latest } = this.require(loaded, code);
      assertOwner(by, resource.providerCode, `change ${code}`);
      assertOpenForChanges(resource.status.declared, 'propose', `resource ${code}`);
      nextVersionState(latest.state, 'propose', `version ${latest.version} of ${code}`);
      assertSameIdentity(entry, resource);
      checkEntry(entry, { forPublication: false });
      const version = newVersion(entry, resource.latest + 1, 'draft', by, at);
      const updated = { ...resource, latest: version.version };
      return this.withHistory(updated, [version], change('propose', code, version.version, by, at), version);
    });
  }

  /** Stops the resource from `effectiveFrom` (required: today's date or a moment now stops it at once). */
  suspend(actor: ActorRef, code: string, request: StatusRequest): Promise<CatalogWriteResult> {
    return this.declareStatus(actor, code, 'suspend', request);
  }

  resume(actor: ActorRef, code: string, request: StatusRequest = {}): Promise<CatalogWriteResult> {
    return this.declareStatus(actor, code, 'resume', request);
  }

  /** Final. Filed in advance with a reason ([HC-R] 29): effectiveFrom must lie in the future. */
  withdraw(actor: ActorRef, code: string, request: StatusRequest): Promise<CatalogWriteResult> {
    return this.declareStatus(actor, code, 'withdraw', request);
  }

  async get(actor: ActorRef, code: string): Promise<CatalogView> {
    const by = actorRef(actor);
    const loaded = await this.store.load(code);
    if (!loaded) throw notFound(code);
    const { resource, current, latest } = loaded;
    const effective = effectiveStatus(resource.status, this.now());
    if (seesUnpublished(by, resource.providerCode)) {
      return { resource, effectiveStatus: effective, ...(current && { current }), ...(latest && { latest }) };
    }
    if (!current) throw notFound(code);
    return { resource: publicResource(resource), effectiveStatus: effective, current, latest: current };
  }

  async getVersion(actor: ActorRef, code: string, version: number): Promise<CatalogVersion> {
    const by = actorRef(actor);
    const loaded = await this.store.load(code);
    if (!loaded) throw notFound(code);
    const [found] = await this.store.readVersions(code, [version]);
    if (!found || !isVisible(found, seesUnpublished(by, loaded.resource.providerCode))) {
      throw new CatalogNotFound(`resource ${code} has no version ${version} visible to you`);
    }
    return found;
  }

  /** Every version kept, oldest first (drafts and rejected ones only for the owner and the bureau). */
  async listVersions(actor: ActorRef, code: string): Promise<CatalogVersion[]> {
    const by = actorRef(actor);
    const loaded = await this.store.load(code);
    if (!loaded) throw notFound(code);
    const privileged = seesUnpublished(by, loaded.resource.providerCode);
    if (!privileged && loaded.resource.current === undefined) throw notFound(code);
    const numbers = Array.from({ length: loaded.resource.latest }, (_, i) => i + 1);
    const versions = await this.store.readVersions(code, numbers);
    return versions.filter((v): v is CatalogVersion => v !== undefined && isVisible(v, privileged));
  }

  effectiveStatus(resource: CatalogResource, at: Date = this.now()): ResourceStatus {
    return effectiveStatus(resource.status, at);
  }

  /** The entry in force and its effective status now, in one Redis round trip; null if never published. */
  async publishedEntry(code: string): Promise<PublishedEntry | null> {
    const view = await this.store.readPublished(code);
    if (!view) return null;
    const { status, ...rest } = view;
    return { ...rest, status: effectiveStatus(status, this.now()) };
  }

  search(actor: ActorRef, query: SearchQuery = {}): Promise<SearchResult> {
    return this.searcher.search(actorRef(actor), query);
  }

  /** The resource and the versions the actor may see, for export; undefined when nothing is visible. */
  async exportResource(
    actor: ActorRef,
    resource: CatalogResource,
  ): Promise<{ resource: CatalogResource; versions: CatalogVersion[] } | undefined> {
    const privileged = seesUnpublished(actor, resource.providerCode);
    if (!privileged && resource.current === undefined) return undefined;
    const numbers = Array.from({ length: resource.latest }, (_, i) => i + 1);
    const versions = (await this.store.readVersions(resource.code, numbers)).filter(
      (v): v is CatalogVersion => v !== undefined && isVisible(v, privileged),
    );
    return { resource: privileged ? resource : publicResource(resource), versions };
  }

  /**
   * Publishes an entry directly (catalog import by the bureau or the platform). The entry must pass the
   * publication rules. Identical to the entry in force → nothing written. Refused while a newer version
   * is pending review or editing, since the import would overtake it.
   */
  async importEntry(
    actor: ActorRef,
    entry: ResourceEntry,
  ): Promise<{ outcome: 'created' | 'updated' | 'unchanged'; result?: CatalogWriteResult }> {
    const by = actorRef(actor);
    assertImporter(by);
    checkEntry(entry, { forPublication: true });
    let outcome: 'created' | 'updated' | 'unchanged' = 'created';
    let checkedProvider = false;
    const result = await this.mutate(entry.code, by, 'import', async (loaded, at) => {
      if (!loaded) {
        if (!checkedProvider) await this.assertKnownProvider(entry.provider.code);
        checkedProvider = true;
        outcome = 'created';
        const version = newVersion(entry, 1, 'published', by, at, cstDate(at));
        const resource = { ...newResource(entry, by, at, 'import'), current: 1 };
        const created = change('import', entry.code, 1, by, at);
        return { resource, written: [version], change: created, version, claims: sourcedItems(entry) };
      }
      const { resource, latest, current } = this.require(loaded, entry.code);
      assertOpenForChanges(resource.status.declared, 'import a new version', `resource ${entry.code}`);
      assertSameIdentity(entry, resource);
      if (current && canonicalJson(current.entry) === canonicalJson(entry)) {
        outcome = 'unchanged';
        return undefined;
      }
      if (latest.version !== current?.version) {
        throw new CatalogIllegalTransition(
          `version ${latest.version} of ${entry.code} is ${latest.state}: approve, reject or finish it before importing a new version`,
        );
      }
      outcome = 'updated';
      const version = newVersion(entry, resource.latest + 1, 'published', by, at, cstDate(at));
      const written = [version, { ...current, state: 'superseded' as const, supersededAt: at.toISOString() }];
      const updated = { ...resource, latest: version.version, current: version.version };
      const plan = this.withHistory(
        updated,
        written,
        change('import', entry.code, version.version, by, at),
        version,
      );
      return { ...plan, claims: sourcedItems(entry) };
    });
    return result ? { outcome, result } : { outcome };
  }

  private async declareStatus(
    actor: ActorRef,
    code: string,
    action: StatusAction,
    request: StatusRequest,
  ): Promise<CatalogWriteResult> {
    const by = actorRef(actor);
    const reason =
      action === 'resume' ? optionalReason(request.reason) : requiredReason(request.reason, `${action}ing`);
    return this.mutate(code, by, action, (loaded, at) => {
      const { resource } = this.require(loaded, code);
      assertOwnerOrBureau(by, resource.providerCode, `${action} ${code}`);
      const declared = nextResourceStatus(resource.status.declared, action, `resource ${code}`);
      if (action === 'suspend' && resource.current === undefined) {
        throw new CatalogIllegalTransition(`resource ${code} was never published: cannot suspend`);
      }
      const from = parseEffectiveFrom(request.effectiveFrom, at, {
        required: action !== 'resume',
        inAdvance: action === 'withdraw',
      });
      const declaration = {
        status: declared,
        ...(reason !== undefined && { reason }),
        effectiveFrom: from.toISOString(),
        by,
        at: at.toISOString(),
      };
      const status = {
        declared,
        ...(reason !== undefined && { reason }),
        effectiveFrom: declaration.effectiveFrom,
        timeline: [...resource.status.timeline, declaration],
      };
      return this.withHistory(
        { ...resource, status },
        [],
        change(action, code, resource.current, by, at, reason),
      );
    });
  }

  /**
   * Reads, plans and commits, retrying when another writer changed the resource in between: the plan
   * is recomputed from fresh state, so the loser of a race meets the new state (e.g. already published).
   * A plan of undefined means nothing to write.
   */
  private async mutate(
    code: string,
    by: ActorRef,
    action: CatalogAction,
    planner: (loaded: LoadedResource | undefined, at: Date) => Plan | undefined | Promise<Plan | undefined>,
  ): Promise<CatalogWriteResult> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const loaded = await this.store.load(code);
      const at = this.now();
      const plan = await planner(loaded, at);
      if (!plan) return { change: change(action, code, undefined, by, at), resource: loaded!.resource };
      const known = [loaded?.current, loaded?.latest];
      const outcome = await this.store.write(loaded?.raw, plan.resource, plan.written, known, plan.claims);
      if (typeof outcome === 'object') {
        throw sourceTaken(code, { semanticId: outcome.sourceTaken, holder: outcome.holder });
      }
      if (outcome === 'written') {
        return {
          change: plan.change,
          resource: plan.resource,
          ...(plan.version && { version: plan.version }),
        };
      }
    }
    throw new CatalogConflict(`resource ${code} kept changing while ${action} was attempted; try again`);
  }

  private withHistory(
    resource: CatalogResource,
    written: CatalogVersion[],
    change: CatalogChange,
    version?: CatalogVersion,
  ) {
    const { code: _code, ...record } = change;
    const updated = { ...resource, history: [...resource.history, record] };
    return { resource: updated, written, change, ...(version && { version }) };
  }

  private require(loaded: LoadedResource | undefined, code: string) {
    if (!loaded?.latest) throw notFound(code);
    return { resource: loaded.resource, latest: loaded.latest, current: loaded.current };
  }

  private async assertKnownProvider(providerCode: string): Promise<void> {
    if (this.isKnownDepartment && !(await this.isKnownDepartment(providerCode))) {
      throw new CatalogProviderUnknown(
        `provider.code ${providerCode} is not a department registered on the platform; register the department first`,
      );
    }
  }
}

function sourceTaken(code: string, contest: { semanticId: string; holder: string }) {
  return new CatalogItemSourceTaken(
    `resource ${contest.holder} is the authoritative source of "${contest.semanticId}" (一数一源, [HB-S] 14; [HC-R] 18): ${code} may reuse the item (source: false), or submit with arbitrate: true and a reason for the bureau to decide`,
  );
}
