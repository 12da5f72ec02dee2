import { createPublicKey } from 'node:crypto';
import t from 'tap';
import {
  type RequestMessage,
  type ResponseMessage,
  signatureBase,
  verifySignatureBase,
} from '../../../certs/httpsig/index.js';

// RFC 9421 Appendix B.1.2 (test-key-rsa-pss) and the B.2 test-request.
const RFC_PSS_PUBLIC_KEY = createPublicKey(`-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAr4tmm3r20Wd/PbqvP1s2
+QEtvpuRaV8Yq40gjUR8y2Rjxa6dpG2GXHbPfvMs8ct+Lh1GH45x28Rw3Ry53mm+
oAXjyQ86OnDkZ5N8lYbggD4O3w6M6pAvLkhk95AndTrifbIFPNU8PPMO7OyrFAHq
gDsznjPFmTOtCEcN2Z1FpWgchwuYLPL+Wokqltd11nqqzi+bJ9cvSKADYdUAAN5W
Utzdpiy6LbTgSxP7ociU4Tn0g5I6aDZJ7A8Lzo0KSyZYoA485mqcO0GVAdVw9lq4
aOT9v6d+nb4bnNkQVklLQ3fVAvJm+xdDOp9LCNCN48V2pnDOkFV6+U9nV5oyc6XI
2wIDAQAB
-----END PUBLIC KEY-----`);
const REQUEST_DIGEST =
  'sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:';
const rfcRequest: RequestMessage = {
  method: 'POST',
  url: 'https://example.com/foo?param=Value&Pet=dog',
  headers: {
    Host: 'example.com',
    Date: 'Tue, 20 Apr 2021 02:07:55 GMT',
    'Content-Type': 'application/json',
    'Content-Digest': REQUEST_DIGEST,
    'Content-Length': '18',
  },
};

t.test('RFC 9421 §2.5 Figure 1: the base of the example request', async (t) => {
  const base = signatureBase(
    rfcRequest,
    ['@method', '@authority', '@path', 'content-digest', 'content-length', 'content-type'],
    { created: 1618884473, keyid: 'test-key-rsa-pss' },
  );
  t.equal(
    base,
    [
      '"@method": POST',
      '"@authority": example.com',
      '"@path": /foo',
      `"content-digest": ${REQUEST_DIGEST}`,
      '"content-length": 18',
      '"content-type": application/json',
      '"@signature-params": ("@method" "@authority" "@path" "content-digest" "content-length" "content-type");created=1618884473;keyid="test-key-rsa-pss"',
    ].join('\n'),
  );
});

// Appendix B.2.1-B.2.3: the bases, and the RSA-PSS signatures published in the RFC over them.
const vectors = [
  {
    name: 'B.2.1 minimal',
    components: [],
    params: { created: 1618884473, keyid: 'test-key-rsa-pss', nonce: 'b3k2pp5k7z-50gnwp.yemd' },
    base: [
      '"@signature-params": ();created=1618884473;keyid="test-key-rsa-pss";nonce="b3k2pp5k7z-50gnwp.yemd"',
    ],
    signature:
      'd2pmTvmbncD3xQm8E9ZV2828BjQWGgiwAaw5bAkgibUopemLJcWDy/lkbbHAve4cRAtx31Iq786U7it++wgGxbtRxf8Udx7zFZsckzXaJMkA7ChG52eSkFxykJeNqsrWH5S+oxNFlD4dzVuwe8DhTSja8xxbR/Z2cOGdCbzR72rgFWhzx2VjBqJzsPLMIQKhO4DGezXehhWwE56YCE+O6c0mKZsfxVrogUvA4HELjVKWmAvtl6UnCh8jYzuVG5WSb/QEVPnP5TmcAnLH1g+s++v6d4s8m0gCw1fV5/SITLq9mhho8K3+7EPYTU8IU1bLhdxO5Nyt8C8ssinQ98Xw9Q==',
  },
  {
    name: 'B.2.2 selective, with @query-param',
    components: ['@authority', 'content-digest', '"@query-param";name="Pet"'],
    params: { created: 1618884473, keyid: 'test-key-rsa-pss', tag: 'header-example' },
    base: [
      '"@authority": example.com',
      `"content-digest": ${REQUEST_DIGEST}`,
      '"@query-param";name="Pet": dog',
      '"@signature-params": ("@authority" "content-digest" "@query-param";name="Pet");created=1618884473;keyid="test-key-rsa-pss";tag="header-example"',
    ],
    signature:
      'LjbtqUbfmvjj5C5kr1Ugj4PmLYvx9wVjZvD9GsTT4F7GrcQEdJzgI9qHxICagShLRiLMlAJjtq6N4CDfKtjvuJyE5qH7KT8UCMkSowOB4+ECxCmT8rtAmj/0PIXxi0A0nxKyB09RNrCQibbUjsLS/2YyFYXEu4TRJQzRw1rLEuEfY17SARYhpTlaqwZVtR8NV7+4UKkjqpcAoFqWFQh62s7Cl+H2fjBSpqfZUJcsIk4N6wiKYd4je2U/lankenQ99PZfB4jY3I5rSV2DSBVkSFsURIjYErOs0tFTQosMTAoxk//0RoKUqiYY8Bh0aaUEb0rQl3/XaVe4bXTugEjHSw==',
  },
  {
    name: 'B.2.3 full coverage',
    components: [
      'date',
      '@method',
      '@path',
      '@query',
      '@authority',
      'content-type',
      'content-digest',
      'content-length',
    ],
    params: { created: 1618884473, keyid: 'test-key-rsa-pss' },
    base: [
      '"date": Tue, 20 Apr 2021 02:07:55 GMT',
      '"@method": POST',
      '"@path": /foo',
      '"@query": ?param=Value&Pet=dog',
      '"@authority": example.com',
      '"content-type": application/json',
      `"content-digest": ${REQUEST_DIGEST}`,
      '"content-length": 18',
      '"@signature-params": ("date" "@method" "@path" "@query" "@authority" "content-type" "content-digest" "content-length");created=1618884473;keyid="test-key-rsa-pss"',
    ],
    signature:
      'bbN8oArOxYoyylQQUU6QYwrTuaxLwjAC9fbY2F6SVWvh0yBiMIRGOnMYwZ/5MR6fb0Kh1rIRASVxFkeGt683+qRpRRU5p2voTp768ZrCUb38K0fUxN0O0iC59DzYx8DFll5GmydPxSmme9v6ULbMFkl+V5B1TP/yPViV7KsLNmvKiLJH1pFkh/aYA2HXXZzNBXmIkoQoLd7YfW91kE9o/CCoC1xMy7JA1ipwvKvfrs65ldmlu9bpG6A9BmzhuzF8Eim5f8ui9eH8LZH896+QIF61ka39VBrohr9iyMUJpvRX2Zbhl5ZJzSRxpJyoEZAFL2FUo5fTIztsDZKEgM4cUA==',
  },
];

for (const vector of vectors) {
  t.test(`RFC 9421 Appendix ${vector.name}`, async (t) => {
    const base = signatureBase(rfcRequest, vector.components, vector.params);
    t.equal(base, vector.base.join('\n'), 'the base matches the RFC');
    const signature = Buffer.from(vector.signature, 'base64');
    t.ok(
      await verifySignatureBase('rsa-pss-sha512', RFC_PSS_PUBLIC_KEY, base, signature),
      'the RFC signature verifies',
    );
    t.notOk(
      await verifySignatureBase(
        'rsa-pss-sha512',
        RFC_PSS_PUBLIC_KEY,
        base.replace('created=1618884473', 'created=1618884474'),
        signature,
      ),
      'a changed base does not',
    );
  });
}

t.test('RFC 9421 §2.4: a response covering request components with ;req', async (t) => {
  const response: ResponseMessage = {
    status: 503,
    headers: {
      'content-digest':
        'sha-512=:0Y6iCBzGg5rZtoXS95Ijz03mslf6KAMCloESHObfwnHJDbkkWWQz6PhhU9kxsTbARtY2PTBOzq24uJFpHsMuAg==:',
      'content-type': 'application/json',
    },
    request: rfcRequest,
  };
  const base = signatureBase(
    response,
    [
      '@status',
      'content-digest',
      'content-type',
      '"@authority";req',
      '"@method";req',
      '"@path";req',
      '"content-digest";req',
    ],
    { created: 1618884479, keyid: 'test-key-ecc-p256' },
  );
  t.equal(
    base,
    [
      '"@status": 503',
      '"content-digest": sha-512=:0Y6iCBzGg5rZtoXS95Ijz03mslf6KAMCloESHObfwnHJDbkkWWQz6PhhU9kxsTbARtY2PTBOzq24uJFpHsMuAg==:',
      '"content-type": application/json',
      '"@authority";req: example.com',
      '"@method";req: POST',
      '"@path";req: /foo',
      `"content-digest";req: ${REQUEST_DIGEST}`,
      '"@signature-params": ("@status" "content-digest" "content-type" "@authority";req "@method";req "@path";req "content-digest";req);created=1618884479;keyid="test-key-ecc-p256"',
    ].join('\n'),
  );
});

/** The value lines of a base, without the @signature-params line. */
function lines(message: RequestMessage | ResponseMessage, components: string[]): string[] {
  return signatureBase(message, components).split('\n').slice(0, -1);
}

t.test('derived components (RFC 9421 §2.2)', async (t) => {
  const request: RequestMessage = {
    method: 'POST',
    url: 'https://www.example.com/path?param=value',
    headers: {},
  };
  t.same(
    lines(request, ['@method', '@target-uri', '@authority', '@scheme', '@request-target', '@path', '@query']),
    [
      '"@method": POST',
      '"@target-uri": https://www.example.com/path?param=value',
      '"@authority": www.example.com',
      '"@scheme": https',
      '"@request-target": /path?param=value',
      '"@path": /path',
      '"@query": ?param=value',
    ],
  );
  const cases: [string, string, string][] = [
    ['https://WWW.Example.com:443/x', '@authority', 'www.example.com'],
    ['http://example.com:8080/x', '@authority', 'example.com:8080'],
    ['https://example.com', '@path', '/'],
    ['https://example.com/path', '@query', '?'],
    ['https://example.com/path?', '@query', '?'],
    ['https://example.com/path?queryString', '@query', '?queryString'],
    ['https://example.com/a%20b?x=%41', '@request-target', '/a%20b?x=%41'],
  ];
  for (const [url, component, value] of cases) {
    t.same(
      lines({ method: 'GET', url, headers: {} }, [component]),
      [`"${component}": ${value}`],
      `${component} of ${url}`,
    );
  }
  t.same(lines({ status: 200, headers: {} }, ['@status']), ['"@status": 200']);
});

t.test('@query-param (RFC 9421 §2.2.8 examples)', async (t) => {
  const first: RequestMessage = {
    method: 'GET',
    url: 'https://www.example.com/path?param=value&foo=bar&baz=batman&qux=',
    headers: {},
  };
  t.same(
    lines(first, ['"@query-param";name="baz"', '"@query-param";name="qux"', '"@query-param";name="param"']),
    [
      '"@query-param";name="baz": batman',
      '"@query-param";name="qux": ',
      '"@query-param";name="param": value',
    ],
  );
  const second: RequestMessage = {
    method: 'GET',
    url: 'https://example.com/parameters?var=this%20is%20a%20big%0Amultiline%20value&bar=with+plus+whitespace&k%C3%A9y=(v)',
    headers: {},
  };
  t.same(
    lines(second, [
      '"@query-param";name="var"',
      '"@query-param";name="bar"',
      '"@query-param";name="k%C3%A9y"',
    ]),
    [
      '"@query-param";name="var": this%20is%20a%20big%0Amultiline%20value',
      '"@query-param";name="bar": with%20plus%20whitespace',
      '"@query-param";name="k%C3%A9y": %28v%29',
    ],
  );
});

t.test('HTTP fields (RFC 9421 §2.1): lowercase names, trimmed lines joined with ", "', async (t) => {
  const request: RequestMessage = {
    method: 'GET',
    url: 'https://example.com/',
    headers: {
      Host: 'www.example.com',
      'X-OWS-Header': '   Leading and trailing whitespace.   ',
      'X-Obs-Fold-Header': 'Obsolete\r\n    line folding.',
      'Cache-Control': ['max-age=60', '   must-revalidate'],
      'X-Empty-Header': '',
      'x-skipped': undefined,
    },
  };
  t.same(lines(request, ['host', 'x-ows-header', 'x-obs-fold-header', 'cache-control', 'X-Empty-Header']), [
    '"host": www.example.com',
    '"x-ows-header": Leading and trailing whitespace.',
    '"x-obs-fold-header": Obsolete line folding.',
    '"cache-control": max-age=60, must-revalidate',
    '"x-empty-header": ',
  ]);
});

t.test('structured field parameters: ;key, ;sf, ;bs (RFC 9421 §2.1.1-2.1.3)', async (t) => {
  const request: RequestMessage = {
    method: 'GET',
    url: 'https://example.com/',
    headers: {
      'example-dict': ' a=1,    b=2;x=1;y=2,   c=(a   b   c), d',
      'example-header': ['value, with, lots', 'of, commas'],
      'content-digest': 'sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:,   sha-512=:YWJj:',
      signature: 'sig1=:YWJj:, sig2=:ZGVm:',
    },
  };
  t.same(
    lines(request, [
      '"example-dict";key="a"',
      '"example-dict";key="d"',
      '"example-dict";key="b"',
      '"example-dict";key="c"',
      '"example-header";bs',
      '"content-digest";sf',
      '"signature";key="sig2"',
    ]),
    [
      '"example-dict";key="a": 1',
      '"example-dict";key="d": ?1',
      '"example-dict";key="b": 2;x=1;y=2',
      '"example-dict";key="c": (a b c)',
      '"example-header";bs: :dmFsdWUsIHdpdGgsIGxvdHM=:, :b2YsIGNvbW1hcw==:',
      '"content-digest";sf: sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:, sha-512=:YWJj:',
      '"signature";key="sig2": :ZGVm:',
    ],
  );
});

t.test('components that cannot be resolved are errors (RFC 9421 §2.5)', async (t) => {
  const request: RequestMessage = {
    method: 'GET',
    url: 'https://example.com/p?a=1&a=2&b=3',
    headers: { 'x-dict': 'a=1', 'x-list': '(a b', 'x-latin': 'caf\u00e9' },
  };
  const response: ResponseMessage = { status: 200, headers: {} };
  const cases: [string, RequestMessage | ResponseMessage, string, RegExp][] = [
    ['unknown parameter', request, '"x-dict";foo', /unknown parameter ;foo/],
    ['unknown derived component', request, '@fragment', /not a derived component/],
    ['@status in a request', request, '@status', /only be covered in a response/],
    [';req in a request', request, '"@method";req', /;req can only be used in a response/],
    ['request component in a response', response, '@method', /cover it with ;req/],
    [';req without the request', response, '"@method";req', /needs the request/],
    ['absent header', request, 'x-purpose', /no x-purpose header/],
    ['absent query parameter', request, '"@query-param";name="c"', /no query parameter c/],
    ['repeated query parameter', request, '"@query-param";name="a"', /more than once/],
    ['@query-param without name', request, '@query-param', /needs ;name/],
    [';name on a field', request, '"x-dict";name="a"', /"@query-param" only/],
    [';key member absent', request, '"x-dict";key="z"', /no member z/],
    [';key on a non-dictionary', request, '"x-list";key="a"', /not a structured dictionary/],
    [';sf on an unknown field', request, '"x-dict";sf', /not a known structured field/],
    [';bs with ;sf', request, '"x-dict";bs;sf', /cannot be combined/],
    ['trailers', request, '"x-dict";tr', /trailer/],
    ['@signature-params', request, '@signature-params', /cannot be a covered component/],
    ['uppercase quoted name', request, '"X-Dict"', /lowercase/],
    ['non-ASCII value', request, 'x-latin', /non-ASCII/],
  ];
  for (const [name, message, component, pattern] of cases) {
    t.throws(() => signatureBase(message, [component]), { code: 'SIG_MALFORMED', message: pattern }, name);
  }
  t.throws(() => signatureBase(request, ['x-dict', '"x-dict"']), { code: 'SIG_MALFORMED', message: /twice/ });
  t.throws(() => signatureBase({ method: 'GET', url: '/relative', headers: {} }, ['@path']), {
    code: 'SIG_MALFORMED',
    message: /not an absolute URI/,
  });
  t.throws(() => signatureBase(request, ['"x-dict']), { code: 'SIG_ARGUMENT_INVALID' });
  t.same(
    lines(request, ['"x-latin";bs']),
    ['"x-latin";bs: :Y2Fm6Q==:'],
    ';bs makes a non-ASCII value signable',
  );
});
