/**
 * The two lookups of the hot path, cached per process: the catalog entry in force and the caller's grant.
 * Both stores announce every change on a pub/sub channel; entries also expire after a short TTL so a
 * suspension scheduled for a future moment takes effect within a second without any message.
 */

import type { PublishedEntry } from '../../catalog/records.js';
import type { CatalogService } from '../../catalog/service.js';
import { type InvalidationBus, LocalCache } from '../../platform/invalidation.js';
import type { Grant } from '../../policies/grant.js';
import { consumerKey, type GrantStore, parseGrantChange } from '../../policies/grant-store.js';

export class ResourceCache {
  private readonly cache = new LocalCache<PublishedEntry | null>(1000);

  constructor(
    private readonly catalog: CatalogService,
    private readonly channel: string,
  ) {}

  async start(bus: InvalidationBus): Promise<void> {
    await bus.listen(this.channel, {
      onMessage: (code) => this.cache.delete(code),
      onReset: () => this.cache.clear(),
    });
  }

  async get(code: string): Promise<PublishedEntry | null> {
    const cached = this.cache.get(code);
    if (cached !== undefined) return cached;
    const entry = await this.catalog.publishedEntry(code);
    this.cache.set(code, entry);
    return entry;
  }
}

export class GrantCache {
  private readonly cache = new LocalCache<Grant | null>(5000);

  constructor(private readonly grants: GrantStore) {}

  async start(bus: InvalidationBus): Promise<void> {
    await bus.listen(this.grants.channel, {
      onMessage: (message) => {
        const change = parseGrantChange(message);
        // A change names the consumer key (dept:system:resource) the cache is keyed by.
        if (change) this.cache.delete(change.consumer);
        else this.cache.clear();
      },
      onReset: () => this.cache.clear(),
    });
  }

  async find(deptCode: string, systemId: string, resourceCode: string): Promise<Grant | undefined> {
    const key = consumerKey(deptCode, systemId, resourceCode);
    const cached = this.cache.get(key);
    if (cached !== undefined) return cached ?? undefined;
    const grant = await this.grants.findActive(deptCode, systemId, resourceCode);
    this.cache.set(key, grant ?? null);
    return grant;
  }
}
