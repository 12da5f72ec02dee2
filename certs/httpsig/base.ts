/**
 * The signature base (RFC 9421 §2.5): one `identifier: value` line per covered component, then the
 * `"@signature-params"` line, which is the same inner list the Signature-Input member carries.
 */
import { type BareItem, type Item, type Parameters, serializeInnerList } from 'structured-headers';
import {
  type ComponentId,
  componentItem,
  componentKey,
  componentValue,
  serializedIdentifier,
} from './components.js';
import { SigArgumentInvalid, SigMalformed } from './errors.js';
import type { HttpMessage } from './message.js';

/** Signature parameters in the order they are to be serialized; undefined entries are skipped. */
export type SignatureParams = Record<string, string | number | boolean | undefined>;

export function parametersOf(params: SignatureParams): Parameters {
  const map: Parameters = new Map<string, BareItem>();
  for (const [name, value] of Object.entries(params)) if (value !== undefined) map.set(name, value);
  return map;
}

/** The serialized inner list of a signature: `("@method" "x-purpose");keyid="01ab";created=...`. */
export function signatureParamsValue(items: Item[], params: Parameters): string {
  try {
    return serializeInnerList([items, params]);
  } catch (error) {
    throw new SigArgumentInvalid(`signature parameters cannot be serialized (${(error as Error).message})`);
  }
}

export function signatureBase(
  message: HttpMessage,
  components: ComponentId[],
  params: SignatureParams = {},
): string {
  return buildSignatureBase(message, components.map(componentItem), parametersOf(params)).base;
}

/**
 * The base over already-parsed component items, as a verifier rebuilds it from Signature-Input, with
 * the serialized inner list of its last line (the Signature-Input member value). `serialized` is that
 * inner list when the caller has it already in serialized form (a received member read as such).
 */
export function buildSignatureBase(
  message: HttpMessage,
  items: Item[],
  params: Parameters,
  serialized?: string,
): { base: string; signatureParams: string } {
  const seen = new Set<string>();
  let base = '';
  for (const item of items) {
    const key = componentKey(item);
    if (seen.has(key)) throw new SigMalformed(`component ${key} is covered twice: list each component once`);
    seen.add(key);
    const value = componentValue(message, item);
    if (/[\r\n]/.test(value)) throw new SigMalformed(`component ${key} has a line break in its value`);
    base += `${serializedIdentifier(item)}: ${value}\n`;
  }
  const signatureParams = serialized ?? signatureParamsValue(items, params);
  base += `"@signature-params": ${signatureParams}`;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the ASCII range is the point of the check
  if (/[^\x00-\x7f]/.test(base)) {
    throw new SigMalformed(
      'the signature base has non-ASCII characters: covered values must be ASCII (use ;bs)',
    );
  }
  return { base, signatureParams };
}
