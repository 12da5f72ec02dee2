/** Agreement terms signed by both platforms: what verifies, and each way a forged or altered one fails. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { initPlatform, loadPlatform, type Platform } from '../../certs/platform.js';
import {
  type AgreementTerms,
  acceptAgreement,
  gatewayOrigin,
  localParty,
  offerAgreement,
  openAgreement,
  sideOf,
} from '../../federation/agreement.js';
import { CITY, PROVINCE } from '../helpers/federation.js';

async function platform(name: string): Promise<Platform> {
  const dir = mkdtempSync(join(tmpdir(), 'govshare-agreement-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  await initPlatform(dir, { caName: { organization: name } });
  return loadPlatform(dir);
}

const [province, city, rogue] = await Promise.all([
  platform('province'),
  platform('city'),
  platform('rogue'),
]);
const now = new Date();

function terms(overrides: Partial<AgreementTerms> = {}): AgreementTerms {
  return {
    version: 1,
    id: 'agreement-0001',
    offerer: localParty(province, {
      ...PROVINCE,
      gatewayUrl: 'https://gw.hubei.example',
      offers: ['101001/000001'],
    }),
    accepter: localParty(city, { ...CITY, gatewayUrl: 'https://gw.yichang.example', offers: [] }),
    validFrom: now.toISOString(),
    validTo: new Date(now.getTime() + 86_400_000).toISOString(),
    ...overrides,
  };
}

t.test('offered, countersigned, verified on both sides', async (t) => {
  const offer = await offerAgreement(province, terms());
  t.equal(openAgreement(offer, now, { requireBoth: false }).countersigned, false);
  t.throws(() => openAgreement(offer, now, { requireBoth: true }), { code: 'FEDERATION_AGREEMENT_INVALID' });
  const signed = await acceptAgreement(city, offer, now);
  const opened = openAgreement(signed, now, { requireBoth: true });
  t.equal(opened.countersigned, true);
  t.match(opened.digest, /^[0-9a-f]{64}$/);
  t.equal(sideOf(province, opened.terms), 'offerer');
  t.equal(sideOf(city, opened.terms), 'accepter');
  t.equal(sideOf(rogue, opened.terms), undefined);
  t.same(await acceptAgreement(city, signed, now), signed, 'accepting twice changes nothing');
});

t.test('altered terms, foreign keys and the wrong accepter are refused', async (t) => {
  const signed = await acceptAgreement(city, await offerAgreement(province, terms()), now);
  const widened = signed.terms.replace('"offers":[]', '"offers":["301001/000001"]');
  t.not(widened, signed.terms);
  t.throws(() => openAgreement({ ...signed, terms: widened }, now, { requireBoth: true }), {
    code: 'FEDERATION_AGREEMENT_INVALID',
    message: /signature/,
  });
  // A third party names its own CA for the province and signs: its signing cert is not the province's.
  const forged = terms({
    offerer: { ...localParty(rogue, { ...PROVINCE, gatewayUrl: 'https://gw.hubei.example', offers: [] }) },
  });
  const forgedOffer = await offerAgreement(rogue, forged);
  t.ok(openAgreement(forgedOffer, now, { requireBoth: false }), 'it verifies as the rogue platform...');
  t.not(forgedOffer, undefined);
  // ...but a signing certificate under a CA other than the one named is refused.
  const mixed = JSON.stringify({
    ...forged,
    offerer: { ...forged.offerer, caCertPem: province.caCertPem },
  });
  t.throws(
    () =>
      openAgreement({ terms: mixed, signatures: { offerer: forgedOffer.signatures.offerer } }, now, {
        requireBoth: false,
      }),
    { code: 'FEDERATION_AGREEMENT_INVALID', message: /not the platform signing certificate/ },
  );
  const offered = await offerAgreement(province, terms());
  await t.rejects(acceptAgreement(rogue, offered, now), {
    code: 'FEDERATION_AGREEMENT_INVALID',
    message: /offered to yichang-city/,
  });
  await t.rejects(offerAgreement(city, terms()), { message: /offerer must be this platform/ });
  t.throws(
    () =>
      openAgreement({ terms: '{', signatures: { offerer: 'AAAAAAAAAAAAAAAAAAAA' } }, now, {
        requireBoth: false,
      }),
    {
      code: 'FEDERATION_AGREEMENT_INVALID',
    },
  );
  t.throws(() => openAgreement({ nonsense: true }, now, { requireBoth: false }), {
    code: 'FEDERATION_AGREEMENT_INVALID',
  });
  await t.rejects(offerAgreement(province, terms({ validTo: terms().validFrom })), { message: /validFrom/ });
  await t.rejects(
    offerAgreement(province, terms({ accepter: { ...terms().accepter, platformId: PROVINCE.platformId } })),
    { message: /different platforms/ },
  );
});

t.test('gateway URLs are bare http(s) origins', async (t) => {
  t.equal(gatewayOrigin('https://gw.hubei.example/'), 'https://gw.hubei.example');
  for (const bad of [
    'ftp://x.example',
    'https://u:p@x.example',
    'https://x.example/v1',
    'https://x.example?a=1',
    'nonsense',
  ])
    t.throws(() => gatewayOrigin(bad), { code: 'FEDERATION_AGREEMENT_INVALID' }, bad);
});
