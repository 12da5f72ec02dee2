/**
 * The federation agreement: two platforms name each other (CA certificate, platform signing certificate,
 * gateway URL, operating bureau), the resources each offers the other, and the validity. The terms are
 * signed as the exact JSON text they are carried in (no canonicalisation to get wrong), first by the
 * offering platform's signing key, then countersigned by the accepting one's. A signature counts only
 * when its certificate is the platform signing certificate issued by the CA the terms name for that party.
 *
 * Both platforms sign through their `Signer` with their profile's algorithm: RSASSA-PSS with SHA-256 (salt
 * 32) between two intl platforms, SM2 over SM3(Z‖M) with the default ID 1234567812345678 (64-byte r‖s)
 * between two gm platforms; the verifier reads which from the signing certificate's key. A gm and an intl
 * platform cannot federate (FEDERATION_PROFILE_MISMATCH): the gm platform would have to trust RSA signatures
 * and certificates on a hop it must protect with the national algorithms (GB/T 39786).
 */
import { constants, createHash, verify, X509Certificate } from 'node:crypto';
import { type Static, Type } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { RESOURCE_CODE_PATTERN, USCC_PATTERN } from '../catalog/schema.js';
import type { CryptoProfile } from '../certs/crypto-profile.js';
import { isPlatformSigningCertificate, type Platform } from '../certs/platform.js';
import type { Signer } from '../certs/signer.js';
import { isSm2Key, sm2PublicKeyOf, sm2Verify } from '../certs/sm2.js';
import { federationErrors } from './errors.js';

export const PLATFORM_ID_PATTERN = '^[a-z0-9][a-z0-9-]{1,62}$';
export const AGREEMENT_ID_PATTERN = '^[A-Za-z0-9_-]{8,64}$';
const ISO = '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d{3})?Z$';
const PEM_CERT = '^-----BEGIN CERTIFICATE-----[A-Za-z0-9+/=\\r\\n]+-----END CERTIFICATE-----\\s*$';

export const FederationParty = Type.Object(
  {
    platformId: Type.String({ pattern: PLATFORM_ID_PATTERN, description: 'Short name, e.g. hubei-province' }),
    name: Type.String({ minLength: 1, maxLength: 200, description: 'e.g. 湖北省政务数据共享平台' }),
    operator: Type.String({
      pattern: USCC_PATTERN,
      description:
        'USCC of the bureau operating the platform; the peer registers it as a department whose system `federation` grants name',
    }),
    gatewayUrl: Type.String({ minLength: 8, maxLength: 500, description: 'Origin of its gateway, http(s)' }),
    caCertPem: Type.String({ pattern: PEM_CERT, maxLength: 10_000 }),
    signingCertPem: Type.String({ pattern: PEM_CERT, maxLength: 10_000 }),
    offers: Type.Array(Type.String({ pattern: RESOURCE_CODE_PATTERN }), {
      maxItems: 1000,
      uniqueItems: true,
      description: 'Resource codes of this platform the other platform may call (under a grant)',
    }),
  },
  { additionalProperties: false },
);
export type FederationParty = Static<typeof FederationParty>;

export const AgreementTerms = Type.Object(
  {
    version: Type.Literal(1),
    id: Type.String({ pattern: AGREEMENT_ID_PATTERN }),
    offerer: FederationParty,
    accepter: FederationParty,
    validFrom: Type.String({ pattern: ISO }),
    validTo: Type.String({ pattern: ISO }),
  },
  { additionalProperties: false },
);
export type AgreementTerms = Static<typeof AgreementTerms>;

/** The file exchanged between the two bureaus. */
export const SignedAgreement = Type.Object(
  {
    terms: Type.String({ minLength: 2, maxLength: 100_000, description: 'AgreementTerms as JSON text' }),
    signatures: Type.Object(
      {
        offerer: Type.String({ pattern: '^[A-Za-z0-9+/=]{16,2048}$' }),
        accepter: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9+/=]{16,2048}$' })),
      },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false },
);
export type SignedAgreement = Static<typeof SignedAgreement>;

const termsChecker = TypeCompiler.Compile(AgreementTerms);
const documentChecker = TypeCompiler.Compile(SignedAgreement);
const PSS = { padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 };

export type Side = 'offerer' | 'accepter';

export function otherSide(side: Side): Side {
  return side === 'offerer' ? 'accepter' : 'offerer';
}

/** Checks a gateway URL: http(s), no credentials, query or fragment; returned without a trailing slash. */
export function gatewayOrigin(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new federationErrors.FEDERATION_AGREEMENT_INVALID(
      `gateway URL ${JSON.stringify(url)} is not a URL`,
    );
  }
  if (
    (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') ||
    parsed.username ||
    parsed.password ||
    parsed.search ||
    parsed.hash ||
    parsed.pathname !== '/'
  ) {
    throw new federationErrors.FEDERATION_AGREEMENT_INVALID(
      `gateway URL ${JSON.stringify(url)} must be an http(s) origin without path, credentials, query or fragment`,
    );
  }
  return parsed.origin;
}

/** This platform as a party: its CA and signing certificates from the data dir, the rest from the operator. */
export function localParty(
  platform: Platform,
  input: Omit<FederationParty, 'caCertPem' | 'signingCertPem'>,
): FederationParty {
  return {
    ...input,
    gatewayUrl: gatewayOrigin(input.gatewayUrl),
    caCertPem: platform.caCertPem,
    signingCertPem: platform.signingCertPem,
  };
}

/** Signs the terms text through the platform's Signer: `sm2-sm3` with an SM2 key, RSA-PSS SHA-256 otherwise. */
async function signText(signer: Signer, text: string): Promise<string> {
  const scheme = signer.keyType === 'sm2' ? 'sm2-sm3' : 'rsa-pss-sha256';
  return (await signer.sign(Buffer.from(text, 'utf8'), scheme)).toString('base64');
}

/** Verifies a terms signature with the certificate's key, by its kind (SM2 or RSA). Never throws. */
function verifyText(cert: X509Certificate, text: string, signature: string): boolean {
  const data = Buffer.from(text, 'utf8');
  const value = Buffer.from(signature, 'base64');
  if (isSm2Key(cert.publicKey)) {
    const key = sm2PublicKeyOf(cert.publicKey);
    return key !== undefined && sm2Verify(data, value, key);
  }
  try {
    return verify('sha256', data, { key: cert.publicKey, ...PSS }, value);
  } catch {
    return false;
  }
}

/** The crypto profile of a party, from its CA certificate's key: SM2 → gm, otherwise intl. */
export function partyProfile(party: FederationParty): CryptoProfile {
  try {
    return isSm2Key(new X509Certificate(party.caCertPem).publicKey) ? 'gm' : 'intl';
  } catch {
    throw new federationErrors.FEDERATION_AGREEMENT_INVALID(
      `the CA certificate of ${party.platformId} cannot be parsed`,
    );
  }
}

/** Refuses terms joining a gm and an intl platform (see the module comment for why). */
function checkSameProfile(terms: AgreementTerms): void {
  const offerer = partyProfile(terms.offerer);
  const accepter = partyProfile(terms.accepter);
  if (offerer !== accepter) {
    throw new federationErrors.FEDERATION_PROFILE_MISMATCH(
      `agreement ${terms.id} joins ${terms.offerer.platformId} (${offerer}) and ${terms.accepter.platformId} (${accepter}): ` +
        'platforms of different crypto profiles cannot federate; a gm platform federates with gm platforms only',
    );
  }
}

/** Offers terms: `terms.offerer` must be this platform (its signing certificate); signs them. */
export async function offerAgreement(platform: Platform, terms: AgreementTerms): Promise<SignedAgreement> {
  checkTerms(terms);
  if (terms.offerer.signingCertPem.trim() !== platform.signingCertPem.trim()) {
    throw new federationErrors.FEDERATION_AGREEMENT_INVALID('the offerer must be this platform');
  }
  checkSameProfile(terms);
  const text = JSON.stringify(terms);
  return { terms: text, signatures: { offerer: await signText(platform.platformSigner, text) } };
}

/** Countersigns an offer made to this platform, after verifying the offerer's signature. */
export async function acceptAgreement(
  platform: Platform,
  document: SignedAgreement,
  now: Date,
): Promise<SignedAgreement> {
  const opened = openAgreement(document, now, { requireBoth: false });
  if (opened.terms.accepter.signingCertPem.trim() !== platform.signingCertPem.trim()) {
    throw new federationErrors.FEDERATION_AGREEMENT_INVALID(
      `agreement ${opened.terms.id} is offered to ${opened.terms.accepter.platformId}, not to this platform`,
    );
  }
  if (document.signatures.accepter) return document;
  return {
    terms: document.terms,
    signatures: {
      ...document.signatures,
      accepter: await signText(platform.platformSigner, document.terms),
    },
  };
}

export interface OpenedAgreement {
  terms: AgreementTerms;
  document: SignedAgreement;
  /** Both signatures present and verified. */
  countersigned: boolean;
  /** SHA-256 hex of the terms text: what both signatures cover. */
  digest: string;
}

/**
 * Parses and verifies an agreement document: the shape, each party's signing certificate against the CA
 * the terms name for it, and the signatures present (both, when `requireBoth`). Validity dates are checked
 * by whoever uses the agreement, since a stored agreement outlives them.
 */
export function openAgreement(
  document: unknown,
  now: Date,
  options: { requireBoth: boolean },
): OpenedAgreement {
  if (!documentChecker.Check(document)) {
    const first = documentChecker.Errors(document).First();
    throw new federationErrors.FEDERATION_AGREEMENT_INVALID(
      `not a federation agreement document: ${first ? `${first.path || '/'} ${first.message}` : 'bad shape'}`,
    );
  }
  let terms: unknown;
  try {
    terms = JSON.parse(document.terms);
  } catch {
    throw new federationErrors.FEDERATION_AGREEMENT_INVALID('the agreement terms are not JSON');
  }
  checkTerms(terms);
  const checked = terms as AgreementTerms;
  checkSameProfile(checked);
  const sides: Side[] =
    options.requireBoth || document.signatures.accepter ? ['offerer', 'accepter'] : ['offerer'];
  for (const side of sides) {
    const signature = document.signatures[side];
    if (!signature) {
      throw new federationErrors.FEDERATION_AGREEMENT_INVALID(
        `agreement ${checked.id} is not countersigned by ${checked.accepter.platformId} yet`,
      );
    }
    const cert = platformSigningCert(checked[side], now, side);
    if (!verifyText(cert, document.terms, signature)) {
      throw new federationErrors.FEDERATION_AGREEMENT_INVALID(
        `the ${side}'s signature on agreement ${checked.id} does not verify with the signing certificate of ${checked[side].platformId}`,
      );
    }
  }
  return {
    terms: checked,
    document,
    countersigned: sides.length === 2,
    digest: createHash('sha256').update(document.terms).digest('hex'),
  };
}

function checkTerms(terms: unknown): asserts terms is AgreementTerms {
  if (!termsChecker.Check(terms)) {
    const first = termsChecker.Errors(terms).First();
    throw new federationErrors.FEDERATION_AGREEMENT_INVALID(
      `agreement terms: ${first ? `${first.path || '/'} ${first.message}` : 'bad shape'}`,
    );
  }
  gatewayOrigin(terms.offerer.gatewayUrl);
  gatewayOrigin(terms.accepter.gatewayUrl);
  if (terms.offerer.platformId === terms.accepter.platformId) {
    throw new federationErrors.FEDERATION_AGREEMENT_INVALID('the two parties must be different platforms');
  }
  if (!(Date.parse(terms.validFrom) < Date.parse(terms.validTo))) {
    throw new federationErrors.FEDERATION_AGREEMENT_INVALID('validFrom must be before validTo');
  }
}

/** The party's signing certificate, checked to be the platform signing certificate of the CA it names. */
export function platformSigningCert(party: FederationParty, now: Date, side: string): X509Certificate {
  let ca: X509Certificate;
  let cert: X509Certificate;
  try {
    ca = new X509Certificate(party.caCertPem);
    cert = new X509Certificate(party.signingCertPem);
  } catch {
    throw new federationErrors.FEDERATION_AGREEMENT_INVALID(
      `the ${side}'s certificates (${party.platformId}) cannot be parsed`,
    );
  }
  if (!ca.ca || !isPlatformSigningCertificate(cert, ca, now)) {
    throw new federationErrors.FEDERATION_AGREEMENT_INVALID(
      `the ${side}'s signing certificate is not the platform signing certificate of the CA named for ${party.platformId} (or is outside its validity)`,
    );
  }
  return cert;
}

/** Which side of the terms this platform is, by its signing certificate; undefined when neither. */
export function sideOf(platform: Platform, terms: AgreementTerms): Side | undefined {
  const mine = platform.signingCertPem.trim();
  if (terms.offerer.signingCertPem.trim() === mine) return 'offerer';
  if (terms.accepter.signingCertPem.trim() === mine) return 'accepter';
  return undefined;
}
