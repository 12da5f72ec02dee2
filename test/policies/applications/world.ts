/** The workflow's domain services on a real Redis, without the gateway: for the policies tests. */
import type { Test } from 'tap';
import { CatalogService } from '../../../catalog/service.js';
import { CertsStore } from '../../../certs/store.js';
import { ResourceChanges } from '../../../policies/applications/resource-changes.js';
import type { OutboxEntry } from '../../../policies/applications/schema.js';
import { ApplicationService } from '../../../policies/applications/service.js';
import { ApplicationStore } from '../../../policies/applications/store.js';
import { WorkdayCalendar } from '../../../policies/calendar/calendar.js';
import { type RegionLimitsConfig, resolveLimits } from '../../../policies/calendar/limits.js';
import { GrantStore } from '../../../policies/grant-store.js';
import { useRedis } from '../../helpers/redis.js';
import { publishResources, registerParties, TestClock } from './fixtures.js';

export async function buildWorld(
  t: Test,
  options: { calendar?: WorkdayCalendar; limits?: RegionLimitsConfig } = {},
) {
  const { redis, prefix } = await useRedis(t);
  const clock = new TestClock();
  const certs = new CertsStore(redis, prefix);
  const catalog = new CatalogService(redis, prefix, { now: clock.now });
  const grants = new GrantStore(redis, prefix, { now: clock.now });
  const store = new ApplicationStore(redis, prefix);
  const calendar = options.calendar ?? new WorkdayCalendar();
  const service = new ApplicationService({
    store,
    grants,
    catalog,
    systems: certs,
    calendar,
    limits: resolveLimits(options.limits),
    now: clock.now,
  });
  const resources = new ResourceChanges({
    store,
    grants,
    catalog,
    close: (id, reason) => service.close(id, reason),
    now: clock.now,
  });
  await registerParties(certs, clock.now());
  await publishResources(catalog);
  /** Reads and acknowledges the outbox: what the gateway would queue. */
  const takeOutbox = async (): Promise<OutboxEntry[]> => {
    const records = await store.readOutbox(1000);
    await store.ackOutbox(records.map((r) => r.id));
    return records.map((r) => r.entry);
  };
  await takeOutbox();
  return { redis, prefix, clock, certs, catalog, grants, store, service, resources, calendar, takeOutbox };
}
