/**
 * Accept-Signature (RFC 9421 §5.1): the caller asks for a signed response, naming the label, the
 * components to cover and parameters such as keyid, alg, tag, nonce or created.
 */
import { type Dictionary, isInnerList, parseDictionary } from 'structured-headers';
import type { ComponentId } from './components.js';
import { componentId } from './components.js';
import { AcceptSignatureInvalid } from './errors.js';
import type { HeaderValue } from './message.js';

export interface RequestedSignature {
  label: string;
  components: ComponentId[];
  /** Parameter values; a bare parameter such as `created` is `true` ("include it"). */
  params: Record<string, string | number | boolean>;
}

export function parseAcceptSignature(header: HeaderValue): RequestedSignature[] {
  if (header === undefined) return [];
  let members: Dictionary;
  try {
    members = parseDictionary(Array.isArray(header) ? header.join(', ') : header);
  } catch (error) {
    throw new AcceptSignatureInvalid(
      `Accept-Signature is not a structured dictionary (${(error as Error).message})`,
    );
  }
  const requested: RequestedSignature[] = [];
  for (const [label, member] of members) {
    if (!isInnerList(member)) {
      throw new AcceptSignatureInvalid(
        `Accept-Signature ${label} must be an inner list: ${label}=("@status" ...)`,
      );
    }
    const components = member[0].map((item) => {
      if (typeof item[0] !== 'string') {
        throw new AcceptSignatureInvalid(
          `Accept-Signature ${label}: components must be quoted strings like "@status"`,
        );
      }
      return componentId(item);
    });
    const params: Record<string, string | number | boolean> = {};
    for (const [name, value] of member[1]) {
      if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
        throw new AcceptSignatureInvalid(
          `Accept-Signature ${label}: parameter ${name} must be a string, integer or bare`,
        );
      }
      params[name] = value;
    }
    requested.push({ label, components, params });
  }
  return requested;
}
