/**
 * Agreements in Redis and the per-instance view of those in force: storing, revoking (once), and a
 * revocation reaching another instance's cache within a second, by message or by the generation poll.
 */
import t from 'tap';
import { acceptAgreement, localParty, offerAgreement } from '../../federation/agreement.js';
import { FederationPeers } from '../../federation/peers.js';
import { storeAgreement } from '../../federation/service.js';
import { AgreementStore } from '../../federation/store.js';
import { InvalidationBus } from '../../platform/invalidation.js';
import { CITY, PROVINCE, startPlatform } from '../helpers/federation.js';

t.test('stored, listed, revoked once; every instance stops within a second', async (t) => {
  const [province, city] = await Promise.all([startPlatform(t, 'province'), startPlatform(t, 'city')]);
  const now = new Date();
  const offer = await offerAgreement(province.context.platform, {
    version: 1,
    id: 'agreement-peers-1',
    offerer: localParty(province.context.platform, {
      ...PROVINCE,
      gatewayUrl: province.url,
      offers: ['101001/000001'],
    }),
    accepter: localParty(city.context.platform, { ...CITY, gatewayUrl: city.url, offers: [] }),
    validFrom: new Date(now.getTime() - 1000).toISOString(),
    validTo: new Date(now.getTime() + 3_600_000).toISOString(),
  });
  const { context } = province;
  const offered = await storeAgreement(context.platform, context.agreements, context.certs, offer, now);
  t.equal(offered.record.status, 'offered');
  t.same(offered.registered, [], 'nothing registered before the peer countersigned');
  await t.rejects(context.peers.activeWith(CITY.platformId), {
    code: 'FEDERATION_AGREEMENT_INACTIVE',
    message: /not countersigned/,
  });
  await t.rejects(
    storeAgreement(city.context.platform, city.context.agreements, city.context.certs, offer, now),
    { message: /countersign it/ },
  );

  const signed = await acceptAgreement(city.context.platform, offer, now);
  const active = await storeAgreement(context.platform, context.agreements, context.certs, signed, now);
  t.equal(active.record.status, 'active');
  t.same(active.registered, [`department ${CITY.operator}`, `system ${CITY.operator}/federation`]);
  t.equal((await context.agreements.list()).length, 1);
  const link = await context.peers.activeWith(CITY.platformId);
  t.equal(link.peerSigningSerial, city.context.platform.signingCertX509.serialNumber.toLowerCase());

  // A second instance: its own cache, the same Redis.
  const subscriber = context.redis.duplicate();
  const bus = new InvalidationBus(subscriber);
  t.teardown(() => bus.close());
  const store = new AgreementStore(context.redis, context.prefix);
  const other = new FederationPeers(store, context.platform, { now: () => new Date(), pollMs: 200 });
  await other.start(bus);
  t.teardown(() => other.stop());
  t.ok(await other.resolveCaller('agreement-peers-1', link.peerSigningSerial));
  await t.rejects(other.resolveCaller('agreement-peers-1', 'abcdef'), { code: 'FEDERATION_PEER_UNKNOWN' });

  const revokedAt = Date.now();
  await context.agreements.revoke('agreement-peers-1', new Date(), 'ended');
  for (;;) {
    const refused = await other.resolveCaller('agreement-peers-1', link.peerSigningSerial).then(
      () => false,
      (err) => err.code === 'FEDERATION_AGREEMENT_INACTIVE',
    );
    if (refused) break;
    if (Date.now() - revokedAt > 1000) t.fail('still in force a second after the revocation');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  t.pass(`refused ${Date.now() - revokedAt} ms after the revocation`);
  await t.rejects(context.agreements.revoke('agreement-peers-1', new Date(), 'again'), {
    code: 'FEDERATION_AGREEMENT_INACTIVE',
  });
  await t.rejects(context.agreements.revoke('nope-nope-nope', new Date(), 'x'), {
    code: 'FEDERATION_AGREEMENT_NOT_FOUND',
  });
  await t.rejects(storeAgreement(context.platform, context.agreements, context.certs, signed, now), {
    code: 'FEDERATION_AGREEMENT_INACTIVE',
    message: /offer a new agreement/,
  });

  // Reloaded from Redis, the agreement is there, revoked.
  other.invalidate();
  t.equal((await other.links()).get('agreement-peers-1')?.status, 'revoked');
});
