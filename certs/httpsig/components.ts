/**
 * Covered components (RFC 9421 §2.1, §2.2, §2.4): how a component identifier is written and how its
 * value is taken from a message. Any component that cannot be resolved is an error (§2.5), never an
 * empty value.
 */
import {
  type InnerList,
  type Item,
  isInnerList,
  type Parameters,
  parseDictionary,
  parseItem,
  parseList,
  serializeDictionary,
  serializeInnerList,
  serializeItem,
  serializeList,
} from 'structured-headers';
import { SigArgumentInvalid, SigMalformed } from './errors.js';
import { fieldLines, type Headers, type HttpMessage, isResponse, type RequestMessage } from './message.js';

/**
 * A covered component as callers write it: a bare name (`@method`, `x-purpose`) or, when it has
 * parameters, its RFC 8941 serialization (`"@query-param";name="id"`, `"signature";req;key="sig1"`).
 */
export type ComponentId = string;

const DERIVED = new Set([
  '@method',
  '@target-uri',
  '@authority',
  '@scheme',
  '@request-target',
  '@path',
  '@query',
  '@query-param',
  '@status',
]);

// Fields whose structured type is known, for the `sf` parameter (§2.1.1).
const STRUCTURED_FIELDS: Record<string, 'dictionary' | 'list' | 'item'> = {
  'accept-signature': 'dictionary',
  'content-digest': 'dictionary',
  'repr-digest': 'dictionary',
  'want-content-digest': 'dictionary',
  'want-repr-digest': 'dictionary',
  signature: 'dictionary',
  'signature-input': 'dictionary',
  priority: 'dictionary',
  'cache-status': 'list',
  'proxy-status': 'list',
  'client-cert-chain': 'list',
  'client-cert': 'item',
};

/** Parse a ComponentId given by a caller of the signing helpers or by gateway configuration. */
export function componentItem(id: ComponentId): Item {
  if (!id.startsWith('"')) return [id.toLowerCase(), new Map()];
  let item: Item;
  try {
    item = parseItem(id);
  } catch (error) {
    throw new SigArgumentInvalid(
      `component ${id} is not a valid RFC 8941 string item (${(error as Error).message})`,
    );
  }
  if (typeof item[0] !== 'string') throw new SigArgumentInvalid(`component ${id} must be a quoted string`);
  return item;
}

/** The ComponentId notation of an item: the bare name, or the serialization when it has parameters. */
export function componentId(item: Item): ComponentId {
  return item[1].size === 0 ? String(item[0]) : serializeItem(item);
}

/** The identifier as it appears in a signature base line, e.g. `"@method"` or `"signature";req;key="sig1"`. */
export function serializedIdentifier(item: Item): string {
  // The common case (a plain name, no parameters) without the general serializer: it is on the hot path.
  if (item[1].size === 0 && typeof item[0] === 'string' && /^[a-z0-9@._*-]+$/.test(item[0]))
    return `"${item[0]}"`;
  return serializeItem(item);
}

/** A comparison key: the same component with its parameters in another order is the same component. */
export function componentKey(item: Item): string {
  if (item[1].size <= 1) return serializedIdentifier(item);
  const params = [...item[1].entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return serializeItem([item[0], new Map(params)]);
}

const describe = serializedIdentifier;

function checkParameters(name: string, params: Parameters, label: string): void {
  for (const [param, value] of params) {
    switch (param) {
      case 'req':
      case 'sf':
      case 'bs':
        if (value !== true) throw new SigMalformed(`component ${label}: ;${param} takes no value`);
        if (param !== 'req' && name.startsWith('@')) {
          throw new SigMalformed(
            `component ${label}: ;${param} applies to header fields, not derived components`,
          );
        }
        break;
      case 'key':
        if (typeof value !== 'string')
          throw new SigMalformed(`component ${label}: ;key must be a quoted string`);
        if (name.startsWith('@'))
          throw new SigMalformed(`component ${label}: ;key applies to header fields only`);
        break;
      case 'name':
        if (typeof value !== 'string')
          throw new SigMalformed(`component ${label}: ;name must be a quoted string`);
        if (name !== '@query-param')
          throw new SigMalformed(`component ${label}: ;name applies to "@query-param" only`);
        break;
      case 'tr':
        throw new SigMalformed(
          `component ${label}: trailer fields (;tr) are not supported, sign header fields`,
        );
      default:
        throw new SigMalformed(`component ${label} has the unknown parameter ;${param}`);
    }
  }
  if (params.has('bs') && (params.has('sf') || params.has('key'))) {
    throw new SigMalformed(`component ${label}: ;bs cannot be combined with ;sf or ;key`);
  }
}

/** The value of one covered component in a message (§2.5 step 2), without the identifier. */
export function componentValue(message: HttpMessage, item: Item): string {
  const [name, params] = item;
  const label = describe(item);
  if (typeof name !== 'string' || name === '')
    throw new SigMalformed('component identifiers must be non-empty strings');
  if (name !== name.toLowerCase()) throw new SigMalformed(`component ${label} must be written in lowercase`);
  if (name === '@signature-params')
    throw new SigMalformed('"@signature-params" cannot be a covered component');
  checkParameters(name, params, label);

  let context: HttpMessage = message;
  if (params.has('req')) {
    if (!isResponse(message))
      throw new SigMalformed(`component ${label}: ;req can only be used in a response`);
    if (!message.request)
      throw new SigMalformed(`component ${label} needs the request this response answers`);
    context = message.request;
  }
  if (name.startsWith('@')) return derivedValue(context, name, params, label);
  return fieldComponentValue(context.headers, name, params, label);
}

function derivedValue(context: HttpMessage, name: string, params: Parameters, label: string): string {
  if (!DERIVED.has(name)) {
    throw new SigMalformed(
      `component ${label} is not a derived component of RFC 9421 (${[...DERIVED].join(' ')})`,
    );
  }
  if (name === '@status') {
    if (!isResponse(context)) throw new SigMalformed(`component ${label} can only be covered in a response`);
    const status = String(context.status);
    if (!/^[1-5]\d\d$/.test(status))
      throw new SigMalformed(`status ${status} is not a three-digit HTTP status`);
    return status;
  }
  if (isResponse(context)) {
    throw new SigMalformed(`component ${label} belongs to the request: in a response cover it with ;req`);
  }
  if (name === '@method') return context.method;
  if (name === '@target-uri') return context.url;
  const url = absoluteUrl(context);
  switch (name) {
    case '@authority':
      return url.host;
    case '@scheme':
      return url.protocol.slice(0, -1);
    case '@request-target':
      return `${url.pathname}${url.search}`;
    case '@path':
      return url.pathname || '/';
    case '@query':
      return url.search || '?';
    default:
      return queryParamValue(url, params.get('name'), label);
  }
}

function absoluteUrl(request: RequestMessage): URL {
  try {
    return new URL(request.url);
  } catch {
    throw new SigMalformed(`the request URL ${JSON.stringify(request.url)} is not an absolute URI`);
  }
}

// HTML URL "percent-encode after encoding" with the application/x-www-form-urlencoded set, a space as %20
// (§2.2.8): encodeURIComponent plus the five characters it leaves alone but that set encodes.
function formEncode(value: string): string {
  return encodeURIComponent(value).replace(
    /[!'()~]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

function queryParamValue(url: URL, name: unknown, label: string): string {
  if (typeof name !== 'string') throw new SigMalformed(`component ${label} needs ;name="<query parameter>"`);
  const values: string[] = [];
  for (const [key, value] of url.searchParams) {
    if (formEncode(key) === name) values.push(value);
  }
  if (values.length === 0)
    throw new SigMalformed(`component ${label}: the URL has no query parameter ${name}`);
  if (values.length > 1) {
    throw new SigMalformed(
      `component ${label}: the query parameter ${name} occurs more than once: cover "@query"`,
    );
  }
  return formEncode(values[0]!);
}

// §2.1: strip leading and trailing whitespace, turn obsolete line folding into one space.
function canonicalLine(line: string): string {
  return line.replace(/\r?\n[ \t]+/g, ' ').replace(/^[ \t]+|[ \t]+$/g, '');
}

function fieldComponentValue(headers: Headers, name: string, params: Parameters, label: string): string {
  const lines = fieldLines(headers, name);
  if (lines === undefined) {
    throw new SigMalformed(`the signature covers ${label} but the message has no ${name} header: send it`);
  }
  const canonical = lines.map(canonicalLine);
  if (params.has('bs'))
    return canonical.map((l) => `:${Buffer.from(l, 'latin1').toString('base64')}:`).join(', ');
  const joined = canonical.join(', ');
  const key = params.get('key');
  if (typeof key === 'string') return dictionaryMember(joined, name, key, label);
  if (params.has('sf')) return strictSerialization(joined, name, label);
  return joined;
}

function dictionaryMember(value: string, name: string, key: string, label: string): string {
  let member: Item | InnerList | undefined;
  try {
    member = parseDictionary(value).get(key);
  } catch {
    throw new SigMalformed(`component ${label}: the ${name} header is not a structured dictionary`);
  }
  if (member === undefined)
    throw new SigMalformed(`component ${label}: the ${name} header has no member ${key}`);
  return isInnerList(member) ? serializeInnerList(member) : serializeItem(member);
}

function strictSerialization(value: string, name: string, label: string): string {
  const type = STRUCTURED_FIELDS[name];
  if (type === undefined)
    throw new SigMalformed(`component ${label}: ${name} is not a known structured field`);
  try {
    if (type === 'dictionary') return serializeDictionary(parseDictionary(value));
    if (type === 'list') return serializeList(parseList(value));
    return serializeItem(parseItem(value));
  } catch {
    throw new SigMalformed(`component ${label}: the ${name} header is not a valid structured ${type}`);
  }
}
