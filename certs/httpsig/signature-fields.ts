/**
 * Reading the Signature-Input and Signature fields (RFC 9421 §4) and the checks every verifier
 * shares: which signature, its parameters, its algorithm, its coverage and its time window.
 */
import {
  type Dictionary,
  type InnerList,
  type Item,
  isInnerList,
  type Parameters,
  parseDictionary,
  serializeItem,
} from 'structured-headers';
import { isSignatureAlgorithm, type SignatureAlgorithm, unsupportedAlgorithm } from './algorithms.js';
import { type ComponentId, componentId, componentItem, componentKey } from './components.js';
import { SigComponentMissing, SigExpired, SigMalformed, SigMissing } from './errors.js';
import { fieldValue, type Headers } from './message.js';

export interface SignatureMember {
  label: string;
  components: Item[];
  innerList: InnerList;
  signature: Buffer;
  /**
   * The member's inner list exactly as received, when it is already in the serialized form RFC 8941
   * would write (the `"@signature-params"` line, with no need to serialize it again).
   */
  serializedInnerList?: string;
}

// The form every signer here and the common RFC 9421 libraries write: one member per field, components
// as plain quoted names, parameters as quoted strings or integers. Within it a received value is its own
// RFC 8941 serialization, so it is read without the general parser; anything else takes the general path.
const PLAIN_STRING = '"[\\x20\\x21\\x23-\\x5b\\x5d-\\x7e]*"';
const KEY = '[a-z*][a-z0-9_.*-]*';
const COMMON_INPUT = new RegExp(
  `^(${KEY})=(\\((?:${PLAIN_STRING}(?: ${PLAIN_STRING})*)?\\)((?:;${KEY}=(?:${PLAIN_STRING}|0|[1-9][0-9]{0,14}))*))$`,
);
const COMMON_SIGNATURE =
  /^([a-z*][a-z0-9_.*-]*)=:((?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?):$/;
const PLAIN_ITEMS = new RegExp(PLAIN_STRING, 'g');
const PARAMETER = new RegExp(`;(${KEY})=(?:"([^"]*)"|([0-9]+))`, 'g');

/**
 * The common form read directly (see COMMON_INPUT), or undefined for the general parser. It gives what
 * the general parser gives for the same text: a duplicate parameter or a label mismatch is left to it.
 */
function readCommonSignature(
  inputValue: string,
  signatureValue: string,
  label: string | undefined,
): SignatureMember | undefined {
  const input = COMMON_INPUT.exec(inputValue);
  const signature = COMMON_SIGNATURE.exec(signatureValue);
  if (!input || !signature || signature[1] !== input[1] || (label !== undefined && label !== input[1]))
    return undefined;
  const serializedInnerList = input[2]!;
  const listEnd = serializedInnerList.length - input[3]!.length;
  const components: Item[] = [];
  for (const [quoted] of serializedInnerList.slice(0, listEnd).matchAll(PLAIN_ITEMS))
    components.push([quoted.slice(1, -1), new Map()]);
  const params: Parameters = new Map();
  for (const [, key, text, digits] of input[3]!.matchAll(PARAMETER)) {
    if (params.has(key!)) return undefined;
    params.set(key!, text ?? Number(digits));
  }
  if (signature[2] === '') return undefined;
  return {
    label: input[1]!,
    components,
    innerList: [components, params],
    signature: Buffer.from(signature[2]!, 'base64'),
    serializedInnerList,
  };
}

function parseField(name: string, value: string): Dictionary {
  try {
    return parseDictionary(value);
  } catch (error) {
    throw new SigMalformed(
      `${name} is not a valid structured dictionary (${(error as Error).message}): write it as ` +
        (name === 'Signature'
          ? 'sig1=:<base64 signature>:'
          : 'sig1=("@method" ...);keyid="...";alg="...";created=...'),
    );
  }
}

/** The signature to verify: the one labelled `label`, or the first one. */
export function readSignature(headers: Headers, label?: string): SignatureMember {
  const inputValue = fieldValue(headers, 'signature-input');
  const signatureValue = fieldValue(headers, 'signature');
  if (inputValue === undefined && signatureValue === undefined) {
    throw new SigMissing('the message has no Signature-Input and Signature headers: sign it with RFC 9421');
  }
  if (inputValue === undefined || signatureValue === undefined) {
    const [sent, absent] =
      inputValue === undefined ? ['Signature', 'Signature-Input'] : ['Signature-Input', 'Signature'];
    throw new SigMissing(`the message has ${sent} but no ${absent}: send both headers`);
  }
  const common = readCommonSignature(inputValue, signatureValue, label);
  if (common) return common;
  const inputs = parseField('Signature-Input', inputValue);
  const signatures = parseField('Signature', signatureValue);
  const chosen = label ?? inputs.keys().next().value;
  if (chosen === undefined) throw new SigMissing('Signature-Input is empty: send label=(components);params');
  const input = inputs.get(chosen);
  if (input === undefined) {
    throw new SigMissing(
      `no signature labelled ${chosen} (Signature-Input has ${[...inputs.keys()].join(', ')})`,
    );
  }
  const signature = signatures.get(chosen);
  if (signature === undefined) {
    throw new SigMissing(
      `Signature-Input has the label ${chosen} but Signature has no member ${chosen}: use the same label in both headers`,
    );
  }
  if (!isInnerList(input)) {
    throw new SigMalformed(
      `Signature-Input ${chosen} must be an inner list: ${chosen}=("@method" ...);params`,
    );
  }
  if (isInnerList(signature) || !(signature[0] instanceof ArrayBuffer) || signature[0].byteLength === 0) {
    throw new SigMalformed(`Signature ${chosen} must be a byte sequence: ${chosen}=:<base64 signature>:`);
  }
  for (const item of input[0]) {
    if (typeof item[0] !== 'string') {
      throw new SigMalformed(
        `Signature-Input ${chosen}: every component must be a quoted string like "@method"`,
      );
    }
  }
  return { label: chosen, components: input[0], innerList: input, signature: Buffer.from(signature[0]) };
}

export interface SignatureParameters {
  keyid?: string;
  alg: SignatureAlgorithm;
  created: number;
  expires?: number;
  nonce?: string;
  tag?: string;
}

/**
 * Type-check the parameters (§2.3) and require those the caller needs. An alg parameter is always
 * required: the algorithm must never be guessed from the key.
 */
export function readParameters(
  member: SignatureMember,
  required: { keyid: boolean; nonce: boolean },
): SignatureParameters {
  const params = member.innerList[1];
  const where = `Signature-Input ${member.label}`;
  const text = (name: string, isRequired: boolean, hint: string): string | undefined => {
    const value = params.get(name);
    if (value === undefined && !isRequired) return undefined;
    if (typeof value !== 'string' || value === '' || value.length > 256) {
      throw new SigMalformed(`${where} needs ${name}="${hint}" (a quoted string of 1-256 characters)`);
    }
    return value;
  };
  const integer = (name: string, isRequired: boolean): number | undefined => {
    const value = params.get(name);
    if (value === undefined && !isRequired) return undefined;
    if (typeof value !== 'number' || !Number.isInteger(value)) {
      throw new SigMalformed(`${where} needs ${name}=<UNIX time in whole seconds> (an integer, no quotes)`);
    }
    return value;
  };
  const keyid = text('keyid', required.keyid, 'certificate serial in lowercase hex');
  const alg = text('alg', true, 'rsa-pss-sha512')!;
  const created = integer('created', true)!;
  const expires = integer('expires', false);
  const nonce = text('nonce', required.nonce, 'fresh random value, e.g. 16 random bytes in base64url');
  const tag = text('tag', false, 'tag');
  if (!isSignatureAlgorithm(alg)) throw unsupportedAlgorithm(alg);
  return {
    alg,
    created,
    ...(keyid === undefined ? {} : { keyid }),
    ...(expires === undefined ? {} : { expires }),
    ...(nonce === undefined ? {} : { nonce }),
    ...(tag === undefined ? {} : { tag }),
  };
}

// Required components come from code and configuration, a handful of ids: parsed once each.
const requiredComponents = new Map<ComponentId, { item: Item; key: string }>();

function requiredComponent(id: ComponentId): { item: Item; key: string } {
  let known = requiredComponents.get(id);
  if (!known) {
    const item = componentItem(id);
    known = { item, key: componentKey(item) };
    if (requiredComponents.size < 256) requiredComponents.set(id, known);
  }
  return known;
}

/** Every required component must be covered; the error names all the missing ones at once. */
export function checkCoverage(member: SignatureMember, required: ComponentId[]): void {
  const covered = new Set(member.components.map(componentKey));
  const missing: Item[] = [];
  for (const id of required) {
    const { item, key } = requiredComponent(id);
    if (!covered.has(key)) missing.push(item);
  }
  if (missing.length === 0) return;
  const list = (items: Item[]) => items.map((item) => serializeItem(item)).join(', ') || 'nothing';
  throw new SigComponentMissing(
    `the signature must cover ${list(missing)} (it covers ${list(member.components)}): add ${
      missing.length === 1 ? 'it' : 'them'
    } to the covered components`,
  );
}

/** `created` within ±maxSkew of the gateway clock, and `expires`, when given, not passed. */
export function checkTimeWindow(params: SignatureParameters, nowMs: number, maxSkewSeconds: number): void {
  const now = Math.floor(nowMs / 1000);
  const drift = params.created - now;
  if (Math.abs(drift) > maxSkewSeconds) {
    throw new SigExpired(
      `signature created=${params.created} is ${Math.abs(drift)} s ${drift > 0 ? 'in the future of' : 'older than'} ` +
        `the gateway time ${now} (allowed ±${maxSkewSeconds} s): sign each request just before sending it and keep ` +
        'your clock synchronized (NTP)',
    );
  }
  if (params.expires !== undefined && now > params.expires) {
    throw new SigExpired(
      `signature expired at expires=${params.expires}; the gateway time is ${now} (created=${params.created}): ` +
        'sign each request just before sending it',
    );
  }
}

/** The ComponentId notation of the covered components. */
export function coveredComponents(member: SignatureMember): ComponentId[] {
  return member.components.map(componentId);
}
