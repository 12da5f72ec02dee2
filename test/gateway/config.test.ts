import t from 'tap';
import { INSTANCE_ID_PATTERN } from '../../audit/record.js';
import { ConfigError, configMarkdownTable, loadConfig } from '../../gateway/app/config.js';
import { cli } from '../helpers/cli.js';

t.test('defaults apply when nothing is set', async (t) => {
  const config = loadConfig({});
  t.equal(config.GOVSHARE_REDIS_URL, 'redis://127.0.0.1:6379');
  t.equal(config.GOVSHARE_HOST, '127.0.0.1');
  t.equal(config.GOVSHARE_PORT, 8080);
  t.equal(config.GOVSHARE_LOG_LEVEL, 'info');
  t.ok(config.GOVSHARE_DATA_DIR.endsWith('/data'), 'data dir is made absolute');
});

t.test('numbers are coerced from strings and flags override the environment', async (t) => {
  const config = loadConfig({ GOVSHARE_PORT: '9000' }, { GOVSHARE_PORT: 9100 });
  t.equal(config.GOVSHARE_PORT, 9100);
});

const OIDC = {
  GOVSHARE_OIDC_ISSUER: 'https://idp.example.gov.cn/realms/hubei',
  GOVSHARE_OIDC_CLIENT_ID: 'govshare-console',
  GOVSHARE_OIDC_REDIRECT_URL: 'https://gw.example.gov.cn/v1/session/oidc/callback',
};

t.test('OpenID Connect settings: a complete set is accepted, loopback may use http', async (t) => {
  t.equal(loadConfig(OIDC).GOVSHARE_OIDC_CLIENT_ID, 'govshare-console');
  const local = loadConfig({
    ...OIDC,
    GOVSHARE_OIDC_ISSUER: 'http://127.0.0.1:9400',
    GOVSHARE_OIDC_CLIENT_SECRET: 's3cret',
  });
  t.equal(local.GOVSHARE_OIDC_ISSUER, 'http://127.0.0.1:9400');
  const { out } = await cli(['config'], { ...OIDC, GOVSHARE_OIDC_CLIENT_SECRET: 's3cret-value' });
  t.notMatch(out.join('\n'), /s3cret-value/, 'the client secret is shown masked');
  t.match(out.join('\n'), /GOVSHARE_OIDC_CLIENT_SECRET=\*\*\*/);
});

const bad: [Record<string, string>, string, RegExp][] = [
  [
    { GOVSHARE_TRUSTED_PROXIES: '10.0.0.1,1.2.3' },
    'GOVSHARE_TRUSTED_PROXIES',
    /"1\.2\.3" is not an IP address or a CIDR range/,
  ],
  [{ GOVSHARE_TRUSTED_PROXIES: '10.0.0.0/33' }, 'GOVSHARE_TRUSTED_PROXIES', /"10\.0\.0\.0\/33" is not/],
  [{ GOVSHARE_PORT: 'abc' }, 'GOVSHARE_PORT', /must be an integer from 0 to 65535 \(got "abc"\)/],
  [{ GOVSHARE_PORT: '70000' }, 'GOVSHARE_PORT', /from 0 to 65535/],
  [
    { GOVSHARE_LOG_LEVEL: 'loud' },
    'GOVSHARE_LOG_LEVEL',
    /one of fatal, error, warn, info, debug, trace, silent/,
  ],
  [{ GOVSHARE_REDIS_URL: 'http://x' }, 'GOVSHARE_REDIS_URL', /not a Redis URL/],
  [{ GOVSHARE_REDIS_URL: 'redis+sentinel://a:1,b:2' }, 'GOVSHARE_REDIS_URL', /master name/],
  [{ GOVSHARE_PROT: '1' }, 'GOVSHARE_PROT', /is not a govshare setting/],
  [{ GOVSHARE_HOST: '' }, 'GOVSHARE_HOST', /not empty/],
  [{ GOVSHARE_JWT_JWKS_URL: 'ftp://x' }, 'GOVSHARE_JWT_JWKS_URL', /http\(s\) URL/],
  [{ GOVSHARE_AUDIT_TSA_URL: 'ftp://tsa' }, 'GOVSHARE_AUDIT_TSA_URL', /matching/],
  [{ GOVSHARE_AUDIT_TSA_URL: 'https://tsa.example/' }, 'GOVSHARE_AUDIT_TSA_CA', /trust anchor PEM file/],
  [{ GOVSHARE_AUDIT_TSA_TIMEOUT_MS: '10' }, 'GOVSHARE_AUDIT_TSA_TIMEOUT_MS', /from 100 to 60000/],
  // Connectors read pages of at most 10,000 rows (connectors/wire.ts).
  [{ GOVSHARE_EXCHANGE_PAGE_SIZE: '20000' }, 'GOVSHARE_EXCHANGE_PAGE_SIZE', /from 10 to 10000/],
  // OpenID Connect sign-in: all or nothing, HTTPS off loopback, the redirect URL is the callback.
  [{ GOVSHARE_OIDC_CLIENT_ID: 'console' }, 'GOVSHARE_OIDC_CLIENT_ID', /GOVSHARE_OIDC_ISSUER is empty/],
  [
    { ...OIDC, GOVSHARE_OIDC_ISSUER: 'http://idp.example.gov.cn' },
    'GOVSHARE_OIDC_ISSUER',
    /https:\/\/ \(plain http:\/\/ is accepted on loopback addresses only\)/,
  ],
  [{ ...OIDC, GOVSHARE_OIDC_ISSUER: 'idp.example.gov.cn' }, 'GOVSHARE_OIDC_ISSUER', /https:\/\/ issuer URL/],
  [
    { ...OIDC, GOVSHARE_OIDC_ISSUER: 'https://idp.example.gov.cn/?realm=a' },
    'GOVSHARE_OIDC_ISSUER',
    /without query/,
  ],
  [{ ...OIDC, GOVSHARE_OIDC_CLIENT_ID: '' }, 'GOVSHARE_OIDC_CLIENT_ID', /required with GOVSHARE_OIDC_ISSUER/],
  [{ ...OIDC, GOVSHARE_OIDC_CLIENT_ID: 'has space' }, 'GOVSHARE_OIDC_CLIENT_ID', /matching/],
  [
    { ...OIDC, GOVSHARE_OIDC_REDIRECT_URL: 'https://gw.example.gov.cn/console/' },
    'GOVSHARE_OIDC_REDIRECT_URL',
    /\/v1\/session\/oidc\/callback/,
  ],
  [{ ...OIDC, GOVSHARE_OIDC_REDIRECT_URL: '' }, 'GOVSHARE_OIDC_REDIRECT_URL', /http\(s\) URL/],
];
for (const [env, variable, message] of bad) {
  t.test(`refuses ${JSON.stringify(env)}`, async (t) => {
    const err = t.throws(() => loadConfig(env)) as unknown as ConfigError;
    t.type(err, ConfigError);
    t.equal(err.variable, variable);
    t.match(err.message, message);
  });
}

t.test('trusted proxies: addresses and CIDR ranges of both families', async (t) => {
  const list = '10.0.0.1,192.168.0.0/16,::1,fd00::/8';
  t.equal(loadConfig({ GOVSHARE_TRUSTED_PROXIES: list }).GOVSHARE_TRUSTED_PROXIES, list);
});

t.test('a relative exchange directory is made absolute, as the data directory is', async (t) => {
  const config = loadConfig({ GOVSHARE_EXCHANGE_DIR: 'var/exchange' });
  t.ok(config.GOVSHARE_EXCHANGE_DIR.startsWith('/'), config.GOVSHARE_EXCHANGE_DIR);
  t.ok(config.GOVSHARE_EXCHANGE_DIR.endsWith('/var/exchange'));
  t.equal(loadConfig({}).GOVSHARE_EXCHANGE_DIR, '', 'empty still means "under the data directory"');
});

t.test('the default instance id is a valid audit instance name', async (t) => {
  const id = loadConfig({}).GOVSHARE_INSTANCE_ID;
  t.match(id, new RegExp(INSTANCE_ID_PATTERN));
  t.ok(id.endsWith(`-${process.pid}`));
});

t.test('govshare config masks secrets', async (t) => {
  const env = {
    GOVSHARE_METRICS_TOKEN: 'sekret-metrics-token',
    GOVSHARE_REDIS_URL: 'redis://user:sekret-redis-pw@127.0.0.1:6390',
  };
  const { out, code } = await cli(['config'], env);
  t.equal(code, 0);
  const text = out.join('\n');
  t.notMatch(text, /sekret/);
  t.match(text, /GOVSHARE_METRICS_TOKEN=\*\*\*/);
  t.match(text, /GOVSHARE_REDIS_URL=redis:\/\/user:\*\*\*@127\.0\.0\.1:6390/);
});

t.test('the README configuration table is the one generated from the schema, row for row', async (t) => {
  const { readFileSync } = await import('node:fs');
  const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
  // Cells compared without their padding, so a table reformatted by an editor still matches.
  const cells = (line: string) => line.split('|').map((cell) => cell.trim());
  const tableRows = (text: string) =>
    text
      .split('\n')
      .filter((line) => /^\|\s*`GOVSHARE_[A-Z_]+`/.test(line))
      .map(cells);
  const documented = tableRows(readme);
  const generated = tableRows(configMarkdownTable());
  t.ok(generated.length > 20);
  t.same(
    documented,
    generated,
    'regenerate with: npm run build && node scripts/lib/update-readme-config.mjs',
  );
});
