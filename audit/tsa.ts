/**
 * RFC 3161 trusted time for checkpoints: a client that asks a time-stamping authority (TSA) for a token
 * over SHA-256 of some bytes, and the verification of such a token, used both on receipt and later by
 * anyone holding the bytes and the TSA's trust anchor.
 *
 * A token is accepted only when the TSA granted it, its TSTInfo imprint is SHA-256 of exactly these
 * bytes (and, for a fresh request, carries our nonce), its CMS signature verifies, and the signer
 * certificate chains (at the token's genTime) to a configured trust anchor and carries the critical
 * timeStamping extended key usage as its only purpose (RFC 3161 §2.3). ASN.1 and CMS come from pkijs,
 * the hashing and signature checks from node:crypto's WebCrypto.
 *
 * The token is kept as the DER of the TimeStampToken (a CMS ContentInfo), so `openssl ts -verify
 * -token_in -in token.der -data payload.txt -CAfile tsa-ca.pem` checks it too.
 */
import { createHash, randomBytes, webcrypto, X509Certificate } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { request } from 'undici';
import {
  AuditSetupInvalid,
  AuditTimestampInvalid,
  AuditTimestampRefused,
  AuditTsaUnavailable,
} from './errors.js';

const SHA256_OID = '2.16.840.1.101.3.4.2.1';
const TST_INFO_OID = '1.2.840.113549.1.9.16.1.4';
const EXT_KEY_USAGE_OID = '2.5.29.37';
const TIME_STAMPING_OID = '1.3.6.1.5.5.7.3.8';
const MAX_REPLY_BYTES = 1_048_576;

type WebCrypto = ConstructorParameters<typeof pkijs.CryptoEngine>[0]['crypto'];
const engine = new pkijs.CryptoEngine({ name: 'node', crypto: webcrypto as unknown as WebCrypto });

export interface TimestampToken {
  /** DER of the TimeStampToken (CMS ContentInfo), base64. */
  token: string;
  /** The TSA's genTime, ISO 8601 UTC. */
  genTime: string;
}

export interface VerifiedTimestamp {
  genTime: Date;
  /** Serial number of the token, lowercase hex. */
  serialNumber: string;
  policy: string;
  /** Subject of the TSA certificate that signed, as node prints it. */
  signer: string;
}

export interface TsaClientOptions {
  /** http(s) URL the TimeStampReq is POSTed to. */
  url: string;
  /** PEM of the certificate(s) a TSA signer must chain to. */
  trustAnchorsPem: string;
  /** The whole exchange (connect, answer, body) must finish within this many ms. @defaultValue 5000 */
  timeoutMs?: number;
}

export class TsaClient {
  readonly url: string;
  private readonly anchors: pkijs.Certificate[];
  private readonly timeoutMs: number;

  constructor(options: TsaClientOptions) {
    let url: URL;
    try {
      url = new URL(options.url);
    } catch {
      throw new AuditSetupInvalid(`the TSA URL "${options.url}" is not a URL`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new AuditSetupInvalid(`the TSA URL "${options.url}" must be http or https`);
    }
    this.url = url.href;
    this.anchors = parseTrustAnchors(options.trustAnchorsPem);
    this.timeoutMs = options.timeoutMs ?? 5000;
  }

  /** A verified token over SHA-256 of `data`; rejects with AUDIT_TSA_UNAVAILABLE, _REFUSED or _INVALID. */
  async timestamp(data: Uint8Array): Promise<TimestampToken> {
    const digest = createHash('sha256').update(data).digest();
    const nonce = randomBytes(16);
    nonce[0] = (nonce[0]! & 0x7f) | 0x01; // a positive INTEGER in minimal DER form
    const query = new pkijs.TimeStampReq({
      version: 1,
      messageImprint: new pkijs.MessageImprint({
        hashAlgorithm: new pkijs.AlgorithmIdentifier({
          algorithmId: SHA256_OID,
          algorithmParams: new asn1js.Null(),
        }),
        hashedMessage: new asn1js.OctetString({ valueHex: digest }),
      }),
      nonce: new asn1js.Integer({ valueHex: nonce }),
      certReq: true,
    });
    const reply = await this.post(Buffer.from(query.toSchema().toBER()));
    const token = grantedToken(reply);
    const verified = await verifyTimestampToken(token, data, this.anchors, nonce);
    return { token: Buffer.from(token).toString('base64'), genTime: verified.genTime.toISOString() };
  }

  private async post(body: Buffer): Promise<Buffer> {
    const signal = AbortSignal.timeout(this.timeoutMs);
    try {
      const response = await request(this.url, {
        method: 'POST',
        headers: { 'content-type': 'application/timestamp-query', accept: 'application/timestamp-reply' },
        body,
        signal,
      });
      const type = String(response.headers['content-type'] ?? '');
      if (response.statusCode !== 200 || !type.toLowerCase().startsWith('application/timestamp-reply')) {
        await response.body.dump();
        throw new AuditTsaUnavailable(
          `the TSA at ${this.url} answered HTTP ${response.statusCode} (${type || 'no content type'}), not a timestamp reply`,
        );
      }
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of response.body) {
        size += (chunk as Buffer).length;
        if (size > MAX_REPLY_BYTES) {
          response.body.destroy();
          throw new AuditTsaUnavailable(`the TSA at ${this.url} sent more than ${MAX_REPLY_BYTES} bytes`);
        }
        chunks.push(chunk as Buffer);
      }
      return Buffer.concat(chunks);
    } catch (err) {
      if (err instanceof AuditTsaUnavailable) throw err;
      const why = signal.aborted ? `no answer within ${this.timeoutMs} ms` : (err as Error).message;
      throw new AuditTsaUnavailable(`the TSA at ${this.url} could not be asked: ${why}`);
    }
  }
}

/** The certificates of a PEM bundle, for verifying tokens; AUDIT_SETUP_INVALID when there is none. */
export function parseTrustAnchors(pem: string): pkijs.Certificate[] {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) throw new AuditSetupInvalid('the TSA trust anchor file holds no PEM certificate');
  return blocks.map((block) => {
    try {
      return pkijs.Certificate.fromBER(new X509Certificate(block).raw);
    } catch (err) {
      throw new AuditSetupInvalid(
        `a TSA trust anchor is not a readable certificate: ${(err as Error).message}`,
      );
    }
  });
}

/**
 * Verifies a TimeStampToken (DER) over SHA-256 of `data` against the trust anchors; with `nonce`, also
 * that the token answers the request that carried it. Throws AUDIT_TIMESTAMP_INVALID saying why not.
 */
export async function verifyTimestampToken(
  tokenDer: Uint8Array,
  data: Uint8Array,
  anchors: pkijs.Certificate[],
  nonce?: Uint8Array,
): Promise<VerifiedTimestamp> {
  const invalid = (why: string) => new AuditTimestampInvalid(`the timestamp token ${why}`);
  let signed: pkijs.SignedData;
  let info: pkijs.TSTInfo;
  try {
    const content = pkijs.ContentInfo.fromBER(tokenDer);
    if (content.contentType !== pkijs.ContentInfo.SIGNED_DATA) throw new Error('not CMS SignedData');
    signed = new pkijs.SignedData({ schema: content.content });
    if (signed.encapContentInfo.eContentType !== TST_INFO_OID || !signed.encapContentInfo.eContent) {
      throw new Error('does not encapsulate a TSTInfo');
    }
    info = pkijs.TSTInfo.fromBER(signed.encapContentInfo.eContent.getValue());
  } catch (err) {
    throw invalid(`is not a readable RFC 3161 token: ${(err as Error).message}`);
  }
  const imprint = info.messageImprint;
  if (imprint.hashAlgorithm.algorithmId !== SHA256_OID) {
    throw invalid(`imprint uses ${imprint.hashAlgorithm.algorithmId}, not SHA-256`);
  }
  const digest = createHash('sha256').update(data).digest();
  if (!digest.equals(Buffer.from(imprint.hashedMessage.valueBlock.valueHexView))) {
    throw invalid(
      `is for another digest (${hex(imprint.hashedMessage.valueBlock.valueHexView)}), not ${hex(digest)}`,
    );
  }
  if (nonce && (!info.nonce || !sameInteger(info.nonce.valueBlock.valueHexView, nonce))) {
    throw invalid('does not carry the nonce of the request');
  }
  if (signed.signerInfos.length !== 1) throw invalid(`has ${signed.signerInfos.length} signers, not one`);
  let result: pkijs.SignedDataVerifyResult;
  try {
    result = await signed.verify(
      { signer: 0, data: toArrayBuffer(data), trustedCerts: anchors, checkChain: true, extendedMode: true },
      engine,
    );
  } catch (err) {
    throw invalid(`does not verify: ${(err as Error).message}`);
  }
  if (result.signatureVerified !== true) throw invalid('signature does not verify');
  const signer = result.signerCertificate;
  if (!signer) throw invalid('names no signer certificate');
  const eku = signer.extensions?.find((e) => e.extnID === EXT_KEY_USAGE_OID);
  const purposes = (eku?.parsedValue as pkijs.ExtKeyUsage | undefined)?.keyPurposes ?? [];
  if (!eku?.critical || purposes.length !== 1 || purposes[0] !== TIME_STAMPING_OID) {
    throw invalid('is signed by a certificate without the critical timeStamping extended key usage');
  }
  return {
    genTime: info.genTime,
    serialNumber: hex(info.serialNumber.valueBlock.valueHexView),
    policy: info.policy,
    signer: new X509Certificate(Buffer.from(signer.toSchema().toBER())).subject.replaceAll('\n', ', '),
  };
}

/** The TimeStampToken of a reply the TSA granted, or AUDIT_TIMESTAMP_REFUSED / _INVALID. */
function grantedToken(reply: Buffer): Uint8Array {
  let response: pkijs.TimeStampResp;
  try {
    response = pkijs.TimeStampResp.fromBER(reply);
  } catch (err) {
    throw new AuditTimestampInvalid(`the TSA's reply is not a TimeStampResp: ${(err as Error).message}`);
  }
  const { status, statusStrings, failInfo } = response.status;
  // grantedWithMods (1) also carries a token; every check below still applies to it.
  if (status !== pkijs.PKIStatus.granted && status !== pkijs.PKIStatus.grantedWithMods) {
    const text = (statusStrings ?? []).map((s) => s.valueBlock.value).join('; ');
    const fail = failInfo ? ` failInfo bits ${failureBits(failInfo)}` : '';
    throw new AuditTimestampRefused(
      `the TSA did not grant a timestamp: status ${pkijs.PKIStatus[status] ?? status}${text ? ` (${text})` : ''}${fail}`,
    );
  }
  if (!response.timeStampToken)
    throw new AuditTimestampInvalid('the TSA granted a timestamp but sent no token');
  return new Uint8Array(response.timeStampToken.toSchema().toBER());
}

/** PKIFailureInfo bit numbers that are set (e.g. 0 badAlg, 2 badRequest, 5 badDataFormat). */
function failureBits(bits: asn1js.BitString): string {
  const bytes = bits.valueBlock.valueHexView;
  const set: number[] = [];
  bytes.forEach((byte, i) => {
    for (let b = 0; b < 8; b++) if (byte & (0x80 >> b)) set.push(i * 8 + b);
  });
  return set.join(',') || 'none';
}

function sameInteger(a: Uint8Array, b: Uint8Array): boolean {
  const strip = (x: Uint8Array) => {
    const first = x.findIndex((byte) => byte !== 0);
    return Buffer.from(first < 0 ? [] : x.subarray(first));
  };
  return strip(a).equals(strip(b));
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

function toArrayBuffer(data: Uint8Array): ArrayBuffer {
  return data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) as ArrayBuffer;
}
