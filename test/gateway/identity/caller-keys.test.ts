import t from 'tap';
import { CertsStore } from '../../../certs/store.js';
import { CallerKeys } from '../../../gateway/identity/caller-keys.js';
import { InvalidationBus } from '../../../platform/invalidation.js';
import { buildTestApp } from '../../helpers/app.js';
import { buildWorld } from '../../helpers/world.js';

/** A store whose certificate reads wait at a gate the test opens: a revocation can land mid-read. */
class GatedCerts extends CertsStore {
  gate: Promise<void> | undefined;
  override async getCertificate(serial: string) {
    const record = await super.getCertificate(serial);
    if (this.gate) await this.gate;
    return record;
  }
}

t.test('a key read while its certificate is revoked is not cached afterwards', async (t) => {
  const { context } = await buildTestApp(t);
  const world = await buildWorld(t, context);
  const serial = world.systems.amr.serial;
  const certs = new GatedCerts(context.redis, context.prefix);
  // Polling is slowed down so that only the revocation message can invalidate the cache here.
  const keys = new CallerKeys(certs, context.platform, { now: () => new Date(), pollMs: 3_600_000 });
  const subscriber = context.redis.duplicate();
  t.teardown(() => {
    keys.stop();
    subscriber.disconnect();
  });
  await keys.start(new InvalidationBus(subscriber));

  let open!: () => void;
  certs.gate = new Promise<void>((resolve) => {
    open = resolve;
  });
  const inFlight = keys.resolve(serial);
  await new Promise((resolve) => setTimeout(resolve, 50));
  await context.certs.revokeCertificate(serial, 'keyCompromise', new Date());
  await new Promise((resolve) => setTimeout(resolve, 200)); // the revocation message arrives meanwhile
  open();
  certs.gate = undefined;
  t.equal((await inFlight).serial, serial, 'the request already under way was read before the revocation');
  await t.rejects(keys.resolve(serial), { code: 'CERT_REVOKED' }, 'the next one reads the revocation');
});
