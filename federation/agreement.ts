/**
 * The federation agreement: two platforms name each other (CA certificate, platform signing certificate,
 * gateway URL, operating bureau), the resources each offers the other, and the validity. The terms are
 * signed as the exact JSON text they are carried in (no canonicalisation to get wrong), first by the
 * offering platform's signing key, then countersigned by the accepting one's. A signature counts only
 * when its certificate is the platform signing certificate issued by the CA the terms name for that party.
 */
import { constants, createHash, type KeyObject, sign, verify, X509Certificate } from 'node:crypto';
import { type Static, Type } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { RESOURCE_CODE_PATTERN, USCC_PATTERN } from '../catalog/schema.js';
import { isPlatformSigningCertificate, type Platform } from '../certs/platform.js';
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

function signText(key: KeyObject, text: string): string {
  return sign('sha256', Buffer.from(text, 'utf8'), { key, ...PSS }).toString('base64');
}

function verifyText(key: KeyObject, text: string, signature: string): boolean {
  try {
    return verify('sha256', Buffer.from(text, 'utf8'), { key, ...PSS }, Buffer.from(signature, 'base64'));
  } catch {
    return false;
  }
}

/** Offers terms: `terms.offerer` must be this platform (its signing certificate); signs them. */
export function offerAgreement(platform: Platform, terms: AgreementTerms): SignedAgreement {
  checkTerms(terms);
  if (terms.offerer.signingCertPem.trim() !== platform.signingCertPem.trim()) {
    throw new federationErrors.FEDERATION_AGREEMENT_INVALID('the offerer must be this platform');
  }
  const text = JSON.stringify(terms);
  return { terms: text, signatures: { offerer: signText(platform.signingKey, text) } };
}

/** Countersigns an offer made to this platform, after verifying the offerer's signature. */
export function acceptAgreement(platform: Platform, document: SignedAgreement, now: Date): SignedAgreement {
  const opened = openAgreement(document, now, { requireBoth: false });
  if (opened.terms.accepter.signingCertPem.trim() !== platform.signingCertPem.trim()) {
    throw new federationErrors.FEDERATION_AGREEMENT_INVALID(
      `agreement ${opened.terms.id} is offered to ${opened.terms.accepter.platformId}, not to this platform`,
    );
  }
  if (document.signatures.accepter) return document;
  return {
    terms: document.terms,
    signatures: { ...document.signatures, accepter: signText(platform.signingKey, document.terms) },
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
    if (!verifyText(cert.publicKey, document.terms, signature)) {
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
