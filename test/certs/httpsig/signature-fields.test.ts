import { randomBytes } from 'node:crypto';
import { isInnerList, parseDictionary, serializeInnerList } from 'structured-headers';
import t from 'tap';
import { readSignature } from '../../../certs/httpsig/signature-fields.js';

/**
 * readSignature reads the common form of Signature-Input and Signature without the general RFC 8941
 * parser and reuses the received inner list as the "@signature-params" line. Both are only sound where
 * the result is what the general parser gives and the received text is its own serialization: checked
 * here against structured-headers on generated members, the common form and every way around it.
 */

const NAMES = ['@method', '@target-uri', '@authority', 'x-purpose', 'x-user-id', 'content-digest'];
const STRINGS = ['abc', 'rsa-pss-sha512', 'GPMhmNj7ae8D4dh5jN-lAA', '', 'a b', 'quote"d', 'back\\slash', 'ü'];

function pick<T>(values: readonly T[]): T {
  return values[randomBytes(1)[0]! % values.length]!;
}

function quoted(value: string): string {
  return `"${value.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

/** A Signature-Input value: mostly the common form, sometimes with a detail the fast path must refuse. */
function generatedInput(): string {
  const components = NAMES.filter(() => randomBytes(1)[0]! < 160).map((name) =>
    randomBytes(1)[0]! < 12 ? `${quoted(name)};req` : quoted(name),
  );
  const params: string[] = [];
  for (const key of ['keyid', 'alg', 'created', 'expires', 'nonce', 'tag']) {
    if (randomBytes(1)[0]! < 90) continue;
    const roll = randomBytes(1)[0]!;
    if (key === 'created' || key === 'expires') {
      params.push(`;${key}=${roll < 10 ? '-5' : roll < 20 ? '0' : String(1_796_684_001 + roll)}`);
    } else params.push(`;${key}=${roll < 15 ? 'token' : quoted(pick(STRINGS))}`);
  }
  if (randomBytes(1)[0]! < 15) params.push(';alg="again"'); // a duplicate parameter: the last one wins
  const separator = randomBytes(1)[0]! < 15 ? '  ' : ' ';
  const label = randomBytes(1)[0]! < 15 ? 'proxy' : 'sig1';
  const member = `${label}=(${components.join(separator)})${params.join('')}`;
  return randomBytes(1)[0]! < 15 ? `${member}, other=("@method")` : member;
}

function generatedSignature(): string {
  const roll = randomBytes(1)[0]!;
  const bytes = randomBytes(roll < 10 ? 0 : 64 + (roll % 3));
  const text = roll < 20 ? bytes.toString('base64').replace(/=+$/, '') : bytes.toString('base64');
  return `${roll > 240 ? 'proxy' : 'sig1'}=:${text}:`;
}

/** What the general parser makes of the same fields, or the fact that readSignature must refuse them. */
function expected(input: string, signature: string) {
  let inputs: ReturnType<typeof parseDictionary>;
  let signatures: ReturnType<typeof parseDictionary>;
  try {
    inputs = parseDictionary(input);
    signatures = parseDictionary(signature);
  } catch {
    return undefined;
  }
  const label = inputs.keys().next().value!;
  const list = inputs.get(label);
  const bytes = signatures.get(label);
  if (!list || !isInnerList(list) || !bytes || isInnerList(bytes) || !(bytes[0] instanceof ArrayBuffer))
    return undefined;
  if (bytes[0].byteLength === 0) return undefined;
  if (list[0].some((item) => typeof item[0] !== 'string')) return undefined;
  return { label, list, signature: Buffer.from(bytes[0]), serialized: serializeInnerList(list) };
}

t.test('the common form reads as the general parser reads it, on generated members', async (t) => {
  let fast = 0;
  for (let i = 0; i < 3000; i++) {
    const input = generatedInput();
    const signature = generatedSignature();
    const headers = { 'signature-input': input, signature };
    const want = expected(input, signature);
    if (!want) {
      t.throws(() => readSignature(headers), `refused: ${input} / ${signature}`);
      continue;
    }
    const member = readSignature(headers);
    if (member.serializedInnerList !== undefined) {
      fast++;
      // Reusing the received text is sound only when it is the serialization itself.
      if (member.serializedInnerList !== want.serialized)
        t.fail(`not its own serialization: ${member.serializedInnerList}`);
    }
    if (member.label !== want.label) t.fail(`label ${member.label} for ${input}`);
    if (!member.signature.equals(want.signature)) t.fail(`signature bytes differ for ${signature}`);
    if (serializeInnerList(member.innerList) !== want.serialized)
      t.fail(`inner list ${serializeInnerList(member.innerList)} for ${input}`);
  }
  t.ok(fast > 300, `the common form took the direct path (${fast} of 3000)`);
});

t.test('a detail outside the common form is left to the general parser', async (t) => {
  const signature = `sig1=:${randomBytes(64).toString('base64')}:`;
  const cases = {
    'a duplicate parameter (the last wins)': 'sig1=("@method");alg="a";alg="rsa-pss-sha512";created=1',
    'an escaped quote': 'sig1=("@method");keyid="a\\"b";alg="rsa-pss-sha512";created=1',
    'a component parameter': 'sig1=("@method" "signature";req;key="sig1");alg="rsa-pss-sha512";created=1',
    'two spaces': 'sig1=("@method"  "x-purpose");alg="rsa-pss-sha512";created=1',
    'a token value': 'sig1=("@method");alg=rsa;created=1',
    'a leading zero': 'sig1=("@method");alg="rsa-pss-sha512";created=01',
  };
  for (const [name, input] of Object.entries(cases)) {
    const member = readSignature({ 'signature-input': input, signature });
    t.equal(member.serializedInnerList, undefined, name);
    t.equal(serializeInnerList(member.innerList), expected(input, signature)!.serialized, name);
  }
  const unpadded = `sig1=:${randomBytes(64).toString('base64').replace(/=+$/, '')}:`;
  const member = readSignature({ 'signature-input': 'sig1=("@method");created=1', signature: unpadded });
  t.equal(member.serializedInnerList, undefined, 'unpadded base64');
  t.equal(member.signature.length, 64);
});

t.test('a label asked for is honoured on both paths', async (t) => {
  const signature = `sig1=:${randomBytes(64).toString('base64')}:`;
  const headers = { 'signature-input': 'sig1=("@method");created=1', signature };
  t.equal(readSignature(headers, 'sig1').label, 'sig1');
  t.throws(() => readSignature(headers, 'sig2'), { code: 'SIG_MISSING' });
});
