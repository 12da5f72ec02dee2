/**
 * The manifest of a finished file, signed by the platform: a detached RSA-PSS (SHA-256, salt length 32)
 * signature over the canonical JSON (JCS, see audit/canonical.ts) of the manifest, with the
 * serial of the platform signing certificate as keyid. A consumer checks it with the platform signing
 * certificate (GET /v1/platform/certificates or the operator), then the file's SHA-256 against it.
 *
 * The manifest holds nothing that depends on when or how often the job ran (no completion time), so a
 * job resumed after a crash has the same manifest as one that ran straight through.
 */
import { constants, createPublicKey, verify, X509Certificate } from 'node:crypto';
import { canonicalJson } from '../audit/canonical.js';
import type { Signer } from '../certs/signer.js';
import { sm2PublicKeyOf, sm2Verify } from '../certs/sm2.js';
import { checkSignedManifest, type Manifest, type SignedManifest } from './schema.js';

const PSS = { padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 };

/** Signs through the platform's Signer: `sm2-sm3` with an SM2 key (gm), RSA-PSS SHA-256 otherwise. */
export async function signManifest(
  manifest: Manifest,
  signer: { platformSigner: Signer; signingCertX509: X509Certificate },
): Promise<SignedManifest> {
  const data = Buffer.from(canonicalJson(manifest), 'utf8');
  const alg = signer.platformSigner.keyType === 'sm2' ? 'sm2-sm3' : 'rsa-pss-sha256';
  const value = await signer.platformSigner.sign(data, alg);
  return {
    manifest,
    signature: {
      alg,
      keyid: signer.signingCertX509.serialNumber.toLowerCase(),
      value: value.toString('base64'),
    },
  };
}

export type ManifestCheck = { ok: true; manifest: Manifest } | { ok: false; reason: string };

/**
 * Checks a signed manifest (as parsed JSON) against the platform signing certificate (PEM). Never throws
 * for bad input: the reason says what is wrong.
 */
export function verifyManifest(signed: unknown, platformCertPem: string): ManifestCheck {
  if (!checkSignedManifest.Check(signed)) {
    const first = checkSignedManifest.Errors(signed).First();
    return { ok: false, reason: `not a signed manifest${first ? ` (${first.path}: ${first.message})` : ''}` };
  }
  // Version 1 is one file, version 2 a file in parts: exactly one of them, as the version says.
  const { version, file, parts } = signed.manifest;
  if (version === 1 ? file === undefined || parts !== undefined : parts === undefined || file !== undefined) {
    return {
      ok: false,
      reason: `a version ${version} manifest lists ${version === 1 ? 'one file' : 'its parts'} and nothing else`,
    };
  }
  if (parts?.some((part, i) => part.index !== i)) {
    return { ok: false, reason: 'the parts are not listed in order' };
  }
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(platformCertPem);
  } catch {
    return { ok: false, reason: 'the platform certificate is not a PEM certificate' };
  }
  if (signed.signature.keyid !== cert.serialNumber.toLowerCase()) {
    return {
      ok: false,
      reason: `signed by certificate ${signed.signature.keyid}, not by the certificate given (${cert.serialNumber.toLowerCase()})`,
    };
  }
  if (signed.signature.alg === 'sm2-sm3') {
    const sm2Key = sm2PublicKeyOf(cert.publicKey);
    const good =
      sm2Key !== undefined &&
      sm2Verify(
        Buffer.from(canonicalJson(signed.manifest), 'utf8'),
        Buffer.from(signed.signature.value, 'base64'),
        sm2Key,
      );
    return good
      ? { ok: true, manifest: signed.manifest }
      : { ok: false, reason: 'the signature does not verify' };
  }
  const key = createPublicKey(cert.publicKey.export({ type: 'spki', format: 'pem' }));
  const good = verify(
    'sha256',
    Buffer.from(canonicalJson(signed.manifest), 'utf8'),
    { key, ...PSS },
    Buffer.from(signed.signature.value, 'base64'),
  );
  return good
    ? { ok: true, manifest: signed.manifest }
    : { ok: false, reason: 'the signature does not verify' };
}
