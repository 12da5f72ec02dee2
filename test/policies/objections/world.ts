/** The objection service on a real Redis, without the gateway: for the policies tests. */
import type { Test } from 'tap';
import { CatalogService } from '../../../catalog/service.js';
import { CertsStore } from '../../../certs/store.js';
import type { OutboxEntry } from '../../../policies/applications/schema.js';
import { WorkdayCalendar } from '../../../policies/calendar/calendar.js';
import { type RegionLimitsConfig, resolveLimits } from '../../../policies/calendar/limits.js';
import { GrantStore } from '../../../policies/grant-store.js';
import { ObjectionService } from '../../../policies/objections/service.js';
import { ObjectionStore } from '../../../policies/objections/store.js';
import { useRedis } from '../../helpers/redis.js';
import { publishResources, registerParties, TestClock } from '../applications/fixtures.js';
import { grantInsurance } from './fixtures.js';

export async function buildObjectionWorld(
  t: Test,
  options: { calendar?: WorkdayCalendar; limits?: RegionLimitsConfig } = {},
) {
  const { redis, prefix } = await useRedis(t);
  const clock = new TestClock();
  const certs = new CertsStore(redis, prefix);
  const catalog = new CatalogService(redis, prefix, { now: clock.now });
  const grants = new GrantStore(redis, prefix, { now: clock.now });
  const store = new ObjectionStore(redis, prefix);
  const calendar = options.calendar ?? new WorkdayCalendar();
  const service = new ObjectionService({
    store,
    grants,
    catalog,
    calendar,
    limits: resolveLimits(options.limits),
    now: clock.now,
  });
  await registerParties(certs, clock.now());
  await publishResources(catalog);
  const grant = await grantInsurance(grants);
  /** Reads and acknowledges the outbox: what the gateway would queue. */
  const takeOutbox = async (): Promise<OutboxEntry[]> => {
    const records = await store.readOutbox(1000);
    await store.ackOutbox(records.map((r) => r.id));
    return records.map((r) => r.entry);
  };
  return { redis, prefix, clock, catalog, grants, grant, store, service, calendar, takeOutbox };
}
