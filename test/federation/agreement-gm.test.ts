/**
 * Federation between gm platforms: agreements signed sm2-sm3 (SM2 with SM3 and the default ID) by both
 * platforms' Signers over SM2 CA and signing certificates, verified and tampering refused; a call
 * forwarded from a gm city to a gm province end to end; and a gm platform and an intl one refused with
 * FEDERATION_PROFILE_MISMATCH, however the mixed agreement is presented.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { initPlatform, loadPlatform, type Platform } from '../../certs/platform.js';
import { SM2_DEFAULT_ID, sm2PublicKeyOf, sm2Verify } from '../../certs/sm2.js';
import { sampleKeys } from '../../connectors/simulator/datasets.js';
import {
  type AgreementTerms,
  acceptAgreement,
  localParty,
  offerAgreement,
  openAgreement,
  partyProfile,
} from '../../federation/agreement.js';
import { FEDERATION_SYSTEM_ID } from '../../federation/origin.js';
import { buildCascade, CITY, CITY_DEPT, cityLookup, PROVINCE } from '../helpers/federation.js';

async function platform(name: string, crypto: 'gm' | 'intl'): Promise<Platform> {
  const dir = mkdtempSync(join(tmpdir(), 'govshare-agreement-gm-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  await initPlatform(dir, { crypto, caName: { organization: name } });
  return loadPlatform(dir);
}

const [gmProvince, gmCity, intlCity] = await Promise.all([
  platform('gm province', 'gm'),
  platform('gm city', 'gm'),
  platform('intl city', 'intl'),
]);
const now = new Date();

function terms(offerer: Platform, accepter: Platform): AgreementTerms {
  return {
    version: 1,
    id: 'agreement-gm-0001',
    offerer: localParty(offerer, {
      ...PROVINCE,
      gatewayUrl: 'https://gw.hubei.example',
      offers: ['101001/000001'],
    }),
    accepter: localParty(accepter, { ...CITY, gatewayUrl: 'https://gw.yichang.example', offers: [] }),
    validFrom: now.toISOString(),
    validTo: new Date(now.getTime() + 86_400_000).toISOString(),
  };
}

t.test('two gm platforms: offered and countersigned with SM2, verified on both sides', async (t) => {
  t.equal(SM2_DEFAULT_ID, '1234567812345678');
  const offered = terms(gmProvince, gmCity);
  t.equal(partyProfile(offered.offerer), 'gm');
  const offer = await offerAgreement(gmProvince, offered);
  const signed = await acceptAgreement(gmCity, offer, now);
  const opened = openAgreement(signed, now, { requireBoth: true });
  t.equal(opened.countersigned, true);
  // Each signature is a 64-byte r‖s over SM3(Z‖terms) under the signer's SM2 signing certificate.
  for (const [side, signer] of [
    ['offerer', gmProvince],
    ['accepter', gmCity],
  ] as const) {
    const signature = Buffer.from(signed.signatures[side]!, 'base64');
    t.equal(signature.length, 64, `${side}: r‖s`);
    const key = sm2PublicKeyOf(signer.signingCertX509.publicKey);
    t.ok(
      key && sm2Verify(Buffer.from(signed.terms), signature, key),
      `${side}: sm2-sm3 under its certificate`,
    );
  }
  const widened = JSON.stringify({ ...opened.terms, validTo: '2099-01-01T00:00:00.000Z' });
  t.throws(() => openAgreement({ ...signed, terms: widened }, now, { requireBoth: true }), {
    code: 'FEDERATION_AGREEMENT_INVALID',
    message: /offerer's signature .* does not verify/,
  });
  const swapped = {
    ...signed,
    signatures: { offerer: signed.signatures.accepter!, accepter: signed.signatures.offerer },
  };
  t.throws(() => openAgreement(swapped, now, { requireBoth: true }), {
    code: 'FEDERATION_AGREEMENT_INVALID',
  });
});

t.test('a gm and an intl platform cannot federate: FEDERATION_PROFILE_MISMATCH', async (t) => {
  await t.rejects(offerAgreement(gmProvince, terms(gmProvince, intlCity)), {
    code: 'FEDERATION_PROFILE_MISMATCH',
    statusCode: 400,
    message: /hubei-province \(gm\) and yichang-city \(intl\)/,
  });
  await t.rejects(offerAgreement(intlCity, terms(intlCity, gmCity)), { code: 'FEDERATION_PROFILE_MISMATCH' });
  // A mixed offer signed by the intl platform's own key, as if it came from elsewhere: refused on opening.
  const mixed = JSON.stringify(terms(intlCity, gmCity));
  const signature = (await intlCity.platformSigner.sign(Buffer.from(mixed), 'rsa-pss-sha256')).toString(
    'base64',
  );
  const document = { terms: mixed, signatures: { offerer: signature } };
  t.throws(() => openAgreement(document, now, { requireBoth: false }), {
    code: 'FEDERATION_PROFILE_MISMATCH',
  });
  await t.rejects(acceptAgreement(gmCity, document, now), { code: 'FEDERATION_PROFILE_MISMATCH' });
});

t.test('a call forwarded from a gm city to a gm province', async (t) => {
  const cascade = await buildCascade(t, { crypto: 'gm' });
  const { city, province, federatedCode } = cascade;
  t.equal(city.context.platform.profile, 'gm');
  t.equal(province.context.platform.profile, 'gm');
  const bureau = { sub: 'bureau-1', role: 'bureau' } as const;
  for (const [target, body] of [
    [city, { deptCode: CITY_DEPT.code, systemId: CITY_DEPT.system, items: ['idNumber', 'name', 'gender'] }],
    [
      province,
      { deptCode: CITY.operator, systemId: FEDERATION_SYSTEM_ID, items: ['idNumber', 'name', 'gender'] },
    ],
  ] as const) {
    const res = await target.app.inject({
      method: 'POST',
      url: '/v1/grants',
      headers: target.auth(bureau),
      payload: {
        purposes: ['market-supervision'],
        modes: ['api'],
        validTo: new Date(Date.now() + 86_400_000).toISOString(),
        basis: '《政务信息资源共享管理办法》第二十一条',
        resourceCode: federatedCode,
        ...body,
      },
    });
    t.equal(res.statusCode, 201, res.body);
  }
  const [idNumber] = sampleKeys('residents', 1);
  const res = await cityLookup(cascade, idNumber!);
  t.equal(res.statusCode, 200, res.body);
  t.equal(res.json().data[0].idNumber.slice(-4), idNumber!.slice(-4));
  t.match(cascade.agreement.signatures, {
    offerer: /^[A-Za-z0-9+/]{86}==$/,
    accepter: /^[A-Za-z0-9+/]{86}==$/,
  });
});
