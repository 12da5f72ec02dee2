/**
 * The configuration schema is the source of truth: every GOVSHARE_* variable is declared here once, with
 * its type, default and description (the README's configuration table is generated from this object by
 * `govshare config --markdown` and checked by a test). Start-up stops on the first bad value with a
 * message that names the variable and what is expected.
 */
import { isIP } from 'node:net';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { type Static, Type } from '@sinclair/typebox';
import { Ajv } from 'ajv';
import { MAX_LOOKUP_VALUES, MAX_PAGE_LIMIT } from '../../connectors/wire.js';
import { parseRedisUrl } from '../../platform/redis.js';

export const ConfigSchema = Type.Object(
  {
    GOVSHARE_REDIS_URL: Type.String({
      default: 'redis://127.0.0.1:6379',
      description:
        'Redis to use: redis://, rediss://, redis+sentinel://h:p,h:p/master or redis+cluster://h:p,h:p',
    }),
    GOVSHARE_REDIS_PREFIX: Type.String({
      default: 'gs:',
      pattern: '^[A-Za-z0-9:_{}.-]{1,64}$',
      description: 'Prefix of every Redis key govshare writes (several platforms can share one Redis)',
    }),
    GOVSHARE_HOST: Type.String({
      default: '127.0.0.1',
      minLength: 1,
      description: 'Address the gateway listens on',
    }),
    GOVSHARE_PORT: Type.Integer({
      default: 8080,
      minimum: 0,
      maximum: 65535,
      description: 'Port the gateway listens on',
    }),
    GOVSHARE_DATA_DIR: Type.String({
      default: './data',
      minLength: 1,
      description: 'Directory of the platform CA, platform keys and token key (private keys are mode 0600)',
    }),
    GOVSHARE_LOG_LEVEL: Type.Union(
      ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)),
      { default: 'info', description: 'pino log level' },
    ),
    GOVSHARE_INSTANCE_ID: Type.String({
      default: '',
      pattern: '^[A-Za-z0-9_.-]{0,64}$',
      description: 'Name of this gateway instance in audit records; hostname-pid when empty',
    }),
    GOVSHARE_JWT_ISSUER: Type.String({
      default: 'govshare',
      minLength: 1,
      description: 'Expected `iss` of people tokens',
    }),
    GOVSHARE_JWT_AUDIENCE: Type.String({
      default: 'govshare',
      minLength: 1,
      description: 'Expected `aud` of people tokens',
    }),
    GOVSHARE_JWT_JWKS_URL: Type.String({
      default: '',
      description:
        'JWKS URL of an external identity provider; when empty, tokens are verified with the platform token key',
    }),
    GOVSHARE_BODY_LIMIT: Type.Integer({
      default: 1_048_576,
      minimum: 1024,
      maximum: 104_857_600,
      description: 'Largest request body accepted, in bytes',
    }),
    GOVSHARE_SIG_WINDOW_SECONDS: Type.Integer({
      default: 300,
      minimum: 30,
      maximum: 3600,
      description:
        'Signed calls: `created` must be within ± this many seconds of the gateway clock; nonces are kept twice as long',
    }),
    GOVSHARE_BATCH_MAX_KEYS: Type.Integer({
      default: 100,
      minimum: 1,
      // One batch is one connector lookup, and connectors take at most this many key values.
      maximum: MAX_LOOKUP_VALUES,
      description: 'Most keys in one POST /v1/data/{code}/query',
    }),
    GOVSHARE_PUBLIC_ORIGIN: Type.String({
      default: '',
      pattern: '^(https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?)?$',
      description:
        'Origin clients sign in @target-uri when a proxy terminates TLS (e.g. https://gw.example.gov.cn); else http://<Host>',
    }),
    GOVSHARE_CONNECTOR_TIMEOUT_MS: Type.Integer({
      default: 5000,
      minimum: 50,
      maximum: 120_000,
      description:
        'Default timeout of a call to a provider front-end processor (a catalog entry can set its own)',
    }),
    GOVSHARE_CONNECTOR_CONNECTIONS: Type.Integer({
      default: 32,
      minimum: 1,
      maximum: 1024,
      description: 'Keep-alive connections per provider front-end processor',
    }),
    GOVSHARE_REGION: Type.Union([Type.Literal('hubei'), Type.Literal('shanxi'), Type.Literal('hechi')], {
      default: 'hubei',
      description:
        'Region profile of the statutory working-day limits (check / authorize / notify / direct grant)',
    }),
    GOVSHARE_CALENDAR_FILE: Type.String({
      default: '',
      description:
        "Operator's working-day override file (a new year's holiday notice, a regional holiday); empty: built-in table",
    }),
    GOVSHARE_SQL_SOURCES_FILE: Type.String({
      default: '',
      description:
        "JSON file naming the providers' front-end databases (host, user, passwordFile/passwordEnv); empty: SQL connector off",
    }),
    GOVSHARE_AUDIT_STORE_URL: Type.String({
      default: '',
      pattern: '^(postgres(ql)?://\\S+)?$',
      description:
        'PostgreSQL audit store (postgres://user@host:port/db; the password from PGPASSWORD or ~/.pgpass); empty: the trail stays in Redis only',
    }),
    GOVSHARE_RETURN_DATABASE_URL: Type.String({
      default: '',
      pattern: '^(postgres(ql)?://\\S+)?$',
      description:
        "Front-end PostgreSQL database the worker's scheduled data return (回流) jobs write into (the password from PGPASSWORD or ~/.pgpass); empty: no scheduled returns run",
    }),
    GOVSHARE_AUDIT_BACKLOG_MAX: Type.Integer({
      default: 1_000_000,
      minimum: 1000,
      description:
        'With an audit store: most records an instance may hold unshipped before data calls get 503 AUDIT_BACKLOG',
    }),
    GOVSHARE_AUDIT_SHIP_INTERVAL_MS: Type.Integer({
      default: 250,
      minimum: 10,
      maximum: 60_000,
      description: 'With an audit store: how often the worker ships new records when it has caught up',
    }),
    GOVSHARE_AUDIT_RETENTION_DAYS: Type.Integer({
      default: 1095,
      minimum: 180,
      maximum: 36_500,
      description:
        'With an audit store: months older than this are archived to signed segments and dropped (never below 180 days)',
    }),
    GOVSHARE_AUDIT_ARCHIVE_DIR: Type.String({
      default: '',
      maxLength: 4096,
      description: 'Where archive segments are written; default `<GOVSHARE_DATA_DIR>/audit-archive`',
    }),
    GOVSHARE_AUDIT_TSA_URL: Type.String({
      default: '',
      pattern: '^(https?://\\S+)?$',
      description:
        'RFC 3161 time-stamping authority each audit checkpoint is sent to (needs GOVSHARE_AUDIT_TSA_CA); empty: checkpoints are signed only',
    }),
    GOVSHARE_AUDIT_TSA_CA: Type.String({
      default: '',
      description: "PEM file of the TSA's trust anchor: timestamp tokens must chain to it",
    }),
    GOVSHARE_AUDIT_TSA_TIMEOUT_MS: Type.Integer({
      default: 5000,
      minimum: 100,
      maximum: 60_000,
      description: 'Most time a checkpoint waits for the TSA before it is stored signed only',
    }),
    GOVSHARE_TRANSPARENCY_DELAY_DAYS: Type.Integer({
      default: 90,
      minimum: 0,
      maximum: 3650,
      description:
        "Days before a citizen's transparency query shows a call made under a grant flagged for an investigation",
    }),
    GOVSHARE_QUALITY_THRESHOLD: Type.Number({
      default: 90,
      minimum: 0,
      maximum: 100,
      description: 'A quality run scoring below this opens a correction task and notifies the provider',
    }),
    GOVSHARE_WORKER_CONCURRENCY: Type.Integer({
      default: 2,
      minimum: 1,
      maximum: 64,
      description: '`govshare worker`: jobs run at once per queue in one worker process',
    }),
    GOVSHARE_EXCHANGE_DIR: Type.String({
      default: '',
      description:
        'Directory of bulk exchange files (encrypted for their consumer); <GOVSHARE_DATA_DIR>/exchange when empty',
    }),
    GOVSHARE_EXCHANGE_FILE_TTL_HOURS: Type.Integer({
      default: 168,
      minimum: 1,
      maximum: 8760,
      description: 'Hours a finished bulk exchange file stays downloadable before it is deleted',
    }),
    GOVSHARE_EXCHANGE_PAGE_SIZE: Type.Integer({
      default: 1000,
      minimum: 10,
      // Connectors refuse larger pages: a larger setting would fail every export.
      maximum: MAX_PAGE_LIMIT,
      description: 'Rows per connector page in bulk exchange jobs and quality scans',
    }),
    GOVSHARE_EXCHANGE_PART_ROWS: Type.Integer({
      default: 1_000_000,
      minimum: 1000,
      maximum: 1_000_000_000,
      description:
        'Rows per part of a bulk job read from a SQL source: each part is its own file, written by its own worker job',
    }),
    GOVSHARE_EXCHANGE_PROVIDER_CONCURRENCY: Type.Integer({
      default: 2,
      minimum: 1,
      maximum: 64,
      description: "Bulk jobs running against one provider's front-end processor at once, across all workers",
    }),
    GOVSHARE_OFFLINE_OUTBOX: Type.String({
      default: '',
      description:
        'Directory where approved offline (medium) packages are written for hand-over ([HB-S] 16); <GOVSHARE_DATA_DIR>/offline-outbox when empty',
    }),
    GOVSHARE_OFFLINE_APPROVAL_WORKDAYS: Type.Integer({
      default: 10,
      minimum: 1,
      maximum: 30,
      description:
        "Working days an approval of an offline delivery stays good for: its one package must be ordered before the end of the last one (the provider's authorization limit of [HB-S] 20)",
    }),
    GOVSHARE_REQUIRE_USE_TERMS: Type.Boolean({
      default: false,
      description:
        'Refuse data calls and bulk jobs on a resource that carries no data-use terms ([XY] 25, 33); when off, only resources with terms need an acceptance',
    }),
    GOVSHARE_WEBHOOK_ALLOW_LOOPBACK: Type.Boolean({
      default: false,
      description:
        'Let webhooks target loopback addresses (127.0.0.0/8, ::1, localhost): development and tests only. Link-local (169.254.0.0/16, fe80::/10), unspecified and multicast addresses are always refused',
    }),
    GOVSHARE_NOTICE_WORKDAYS: Type.Integer({
      default: 5,
      minimum: 0,
      maximum: 60,
      description:
        'Working days of notice before a suspension or withdrawal of a resource or a grant takes effect; sooner only with an emergency reason',
    }),
    GOVSHARE_OBJECTION_RECHECK_WORKDAYS: Type.Integer({
      default: 5,
      minimum: 1,
      maximum: 5,
      description:
        "Working days for the platform's recheck of an objection it received ([XY] 21 fixes 5: a longer limit is refused)",
    }),
    GOVSHARE_CATALOG_UPDATE_WORKDAYS: Type.Integer({
      default: 15,
      minimum: 2,
      maximum: 15,
      description:
        'Working days for a department to update its catalog after a law or its duties change ([HC-R] 13 fixes 15: a longer limit is refused)',
    }),
    GOVSHARE_CATALOG_UPDATE_REMIND_WORKDAYS: Type.Integer({
      default: 10,
      minimum: 1,
      maximum: 14,
      description:
        'Working days after such a change when the department is reminded; less than GOVSHARE_CATALOG_UPDATE_WORKDAYS',
    }),
    GOVSHARE_DISPUTE_DECISION_WORKDAYS: Type.Integer({
      default: 10,
      minimum: 1,
      maximum: 60,
      description:
        "Working days for the bureau's decision of a dispute between departments (the regulations fix none; at most 60)",
    }),
    GOVSHARE_RECTIFICATION_WORKDAYS: Type.Integer({
      default: 15,
      minimum: 1,
      maximum: 120,
      description:
        'Working days a rectification order gives when the bureau names none (the bureau sets the limit, [HB-S] 31; at most 120)',
    }),
    GOVSHARE_JOINT_VERIFICATION_WORKDAYS: Type.Integer({
      default: 5,
      minimum: 1,
      maximum: 30,
      description:
        'Working days for both departments to answer a joint verification of inconsistent data ([HB-S] 17 fixes none; 5 as the platform recheck of a doubted record, [XY] 21); then the bureau decides within GOVSHARE_DISPUTE_DECISION_WORKDAYS',
    }),
    GOVSHARE_MACHINE_CALLS: Type.Boolean({
      default: false,
      description:
        'Let data calls, bulk jobs, subscriptions and downloads omit x-user-id on grants the bureau marked machineToMachine; otherwise each names the acting official',
    }),
    GOVSHARE_METRICS_TOKEN: Type.String({
      default: '',
      description: 'Bearer token for GET /metrics; when empty, only loopback clients may scrape it',
    }),
    GOVSHARE_CRL_DAYS: Type.Integer({
      default: 7,
      minimum: 1,
      maximum: 365,
      description: 'Days until the nextUpdate of each CRL the platform issues',
    }),
    GOVSHARE_SESSION_IDLE_MINUTES: Type.Integer({
      default: 15,
      minimum: 1,
      maximum: 480,
      description: 'A console session ends after this many minutes without a request (等保: 15)',
    }),
    GOVSHARE_SESSION_MAX_HOURS: Type.Integer({
      default: 12,
      minimum: 1,
      maximum: 24,
      description: 'A console session ends this many hours after sign-in, however active',
    }),
    GOVSHARE_LOGIN_MAX_FAILURES: Type.Integer({
      default: 5,
      minimum: 1,
      maximum: 100,
      description: 'Failed console sign-ins (password or one-time code) that lock an account',
    }),
    GOVSHARE_LOGIN_LOCK_MINUTES: Type.Integer({
      default: 15,
      minimum: 1,
      maximum: 1440,
      description:
        'How long a locked console account stays locked (a security administrator can unlock it sooner)',
    }),
    GOVSHARE_TRUSTED_PROXIES: Type.String({
      default: '',
      pattern: '^([0-9A-Fa-f:.]+(/[0-9]{1,3})?(,[0-9A-Fa-f:.]+(/[0-9]{1,3})?)*)?$',
      description:
        'Addresses or CIDR ranges (comma-separated) of reverse proxies whose X-Forwarded-For names the client, for per-address limits; empty: the connecting address is the client',
    }),
    GOVSHARE_OIDC_STARTS_PER_MINUTE: Type.Integer({
      default: 30,
      minimum: 1,
      maximum: 10_000,
      description:
        'OpenID Connect sign-ins one client address may start a minute (counted in Redis across instances); more are answered 429 OIDC_START_RATE_LIMITED',
    }),
    GOVSHARE_OIDC_ISSUER: Type.String({
      default: '',
      maxLength: 2048,
      description:
        "OpenID Connect issuer of the province's unified identity service (https://…; http:// on loopback only), discovered at first use; empty: OIDC sign-in off",
    }),
    GOVSHARE_OIDC_CLIENT_ID: Type.String({
      default: '',
      maxLength: 255,
      pattern: '^[\\x21-\\x7e]*$',
      description: "The console's client id at the identity service (required with GOVSHARE_OIDC_ISSUER)",
    }),
    GOVSHARE_OIDC_CLIENT_SECRET: Type.String({
      default: '',
      maxLength: 1024,
      description:
        'Its client secret (client_secret_basic); empty: a public client, authenticated by PKCE alone',
    }),
    GOVSHARE_OIDC_REDIRECT_URL: Type.String({
      default: '',
      maxLength: 2048,
      description:
        'Redirect URL registered for the client: the public address of GET /v1/session/oidc/callback (required with GOVSHARE_OIDC_ISSUER)',
    }),
    GOVSHARE_TLS_CERT: Type.String({
      default: '',
      description:
        'PEM certificate (chain) the gateway serves HTTPS with (TLS 1.2/1.3); with GOVSHARE_TLS_KEY. Empty: plain HTTP (behind a TLS or TLCP proxy)',
    }),
    GOVSHARE_TLS_KEY: Type.String({
      default: '',
      description: 'PEM private key of GOVSHARE_TLS_CERT (mode 0600)',
    }),
    GOVSHARE_TLS_CA: Type.String({
      default: '',
      description: 'PEM of the CA client certificates must chain to for mutual TLS (the platform CA: ca.pem)',
    }),
    GOVSHARE_TLS_CLIENT_AUTH: Type.Union(
      ['none', 'optional', 'require'].map((mode) => Type.Literal(mode)),
      {
        default: 'none',
        description:
          'Mutual TLS with system certificates: a client certificate, when presented (optional) or always (require), must be the one named by the signature keyid',
      },
    ),
    GOVSHARE_CONNECTOR_CA: Type.String({
      default: '',
      description:
        "PEM of the CA(s) that issue the front-end processors' HTTPS certificates: https:// endpoints are trusted against these only",
    }),
  },
  { additionalProperties: false },
);

export type GovshareConfig = Static<typeof ConfigSchema>;

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(message);
    this.name = 'ConfigError';
  }
}

const ajv = new Ajv({ coerceTypes: true, useDefaults: true, allErrors: false, strict: true });
const validate = ajv.compile<GovshareConfig>(ConfigSchema);

function expectation(variable: string): string {
  const schema = (ConfigSchema.properties as Record<string, Record<string, unknown>>)[variable];
  if (!schema) return 'nothing: it is not a govshare setting';
  if (schema.anyOf) return `one of ${(schema.anyOf as { const: string }[]).map((s) => s.const).join(', ')}`;
  const parts: string[] = [schema.type === 'integer' ? 'an integer' : 'a string'];
  if (schema.minimum !== undefined && schema.maximum !== undefined)
    parts.push(`from ${schema.minimum} to ${schema.maximum}`);
  if (schema.pattern) parts.push(`matching ${schema.pattern}`);
  if (schema.minLength) parts.push('that is not empty');
  return parts.join(' ');
}

/**
 * Reads GOVSHARE_* variables from `env`, then applies `overrides` (CLI flags win over the environment).
 * Unknown GOVSHARE_* variables are refused: a misspelt setting should not be silently ignored.
 */
export function loadConfig(
  env: NodeJS.ProcessEnv = process.env,
  overrides: Partial<Record<keyof GovshareConfig, string | number>> = {},
): GovshareConfig {
  const known = Object.keys(ConfigSchema.properties);
  const raw: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith('GOVSHARE_') || value === undefined) continue;
    if (!known.includes(name)) {
      throw new ConfigError(name, `${name} is not a govshare setting. Known settings: ${known.join(', ')}`);
    }
    raw[name] = value;
  }
  for (const [name, value] of Object.entries(overrides)) if (value !== undefined) raw[name] = value;
  if (!validate(raw)) {
    const error = validate.errors?.[0];
    const variable = error?.instancePath.replace(/^\//, '') ?? 'configuration';
    const given = JSON.stringify(raw[variable]);
    throw new ConfigError(variable, `${variable} must be ${expectation(variable)} (got ${given})`);
  }
  const config = raw as GovshareConfig;
  try {
    parseRedisUrl(config.GOVSHARE_REDIS_URL);
  } catch (err) {
    throw new ConfigError('GOVSHARE_REDIS_URL', `GOVSHARE_REDIS_URL is invalid: ${(err as Error).message}`);
  }
  if (config.GOVSHARE_JWT_JWKS_URL && !/^https?:\/\/\S+$/.test(config.GOVSHARE_JWT_JWKS_URL)) {
    throw new ConfigError('GOVSHARE_JWT_JWKS_URL', 'GOVSHARE_JWT_JWKS_URL must be an http(s) URL or empty');
  }
  if (config.GOVSHARE_AUDIT_TSA_URL && !config.GOVSHARE_AUDIT_TSA_CA) {
    throw new ConfigError(
      'GOVSHARE_AUDIT_TSA_CA',
      "GOVSHARE_AUDIT_TSA_CA must name the TSA's trust anchor PEM file when GOVSHARE_AUDIT_TSA_URL is set",
    );
  }
  if (config.GOVSHARE_AUDIT_TSA_CA) config.GOVSHARE_AUDIT_TSA_CA = resolve(config.GOVSHARE_AUDIT_TSA_CA);
  if (config.GOVSHARE_CATALOG_UPDATE_REMIND_WORKDAYS >= config.GOVSHARE_CATALOG_UPDATE_WORKDAYS) {
    throw new ConfigError(
      'GOVSHARE_CATALOG_UPDATE_REMIND_WORKDAYS',
      `GOVSHARE_CATALOG_UPDATE_REMIND_WORKDAYS must be less than GOVSHARE_CATALOG_UPDATE_WORKDAYS (${config.GOVSHARE_CATALOG_UPDATE_WORKDAYS}): the reminder comes before the due date (got ${config.GOVSHARE_CATALOG_UPDATE_REMIND_WORKDAYS})`,
    );
  }
  checkTlsConfig(config);
  checkOidcConfig(config);
  checkTrustedProxies(config);
  config.GOVSHARE_DATA_DIR = resolve(config.GOVSHARE_DATA_DIR);
  // Job files are addressed by absolute paths: a relative setting would fail every export later.
  if (config.GOVSHARE_EXCHANGE_DIR) config.GOVSHARE_EXCHANGE_DIR = resolve(config.GOVSHARE_EXCHANGE_DIR);
  if (config.GOVSHARE_OFFLINE_OUTBOX)
    config.GOVSHARE_OFFLINE_OUTBOX = resolve(config.GOVSHARE_OFFLINE_OUTBOX);
  if (!config.GOVSHARE_INSTANCE_ID) {
    // Any host name must make a usable instance id (the audit stream's name), however long or odd.
    const suffix = `-${process.pid}`;
    const host =
      hostname()
        .replace(/[^A-Za-z0-9._-]/g, '-')
        .slice(0, 64 - suffix.length) || 'host';
    config.GOVSHARE_INSTANCE_ID = `${host}${suffix}`;
  }
  return config;
}

/** Settings whose values are secrets: shown masked wherever the configuration is printed. */
export const SECRET_SETTINGS: ReadonlySet<keyof GovshareConfig> = new Set([
  'GOVSHARE_METRICS_TOKEN',
  'GOVSHARE_OIDC_CLIENT_SECRET',
]);

/** The value as it may be printed: secrets masked, and the password of a Redis URL. */
/** Where the audit archive segments go: the configured directory, else `<data dir>/audit-archive`. */
export function auditArchiveDir(config: GovshareConfig): string {
  return config.GOVSHARE_AUDIT_ARCHIVE_DIR || join(config.GOVSHARE_DATA_DIR, 'audit-archive');
}

export function printableSetting(name: string, value: unknown): string {
  if (SECRET_SETTINGS.has(name as keyof GovshareConfig)) return value === '' ? '' : '***';
  if (name === 'GOVSHARE_REDIS_URL') return String(value).replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@');
  return String(value);
}

/** The configuration table for the README, generated from the schema so the two cannot drift. */
export function configMarkdownTable(): string {
  const rows = Object.entries(
    ConfigSchema.properties as Record<string, { default?: unknown; description?: string }>,
  ).map(
    ([name, schema]) =>
      `| \`${name}\` | \`${JSON.stringify(schema.default)}\` | ${schema.description ?? ''} |`,
  );
  return ['| variable | default | meaning |', '|---|---|---|', ...rows].join('\n');
}

/** TLS files come in pairs, mutual TLS needs the CA; paths are made absolute. */
function checkTlsConfig(config: GovshareConfig): void {
  if (Boolean(config.GOVSHARE_TLS_CERT) !== Boolean(config.GOVSHARE_TLS_KEY)) {
    const missing = config.GOVSHARE_TLS_CERT ? 'GOVSHARE_TLS_KEY' : 'GOVSHARE_TLS_CERT';
    throw new ConfigError(
      missing,
      `${missing} must be set too: HTTPS needs both GOVSHARE_TLS_CERT and GOVSHARE_TLS_KEY`,
    );
  }
  if (config.GOVSHARE_TLS_CLIENT_AUTH !== 'none' && !(config.GOVSHARE_TLS_CERT && config.GOVSHARE_TLS_CA)) {
    throw new ConfigError(
      'GOVSHARE_TLS_CA',
      'GOVSHARE_TLS_CLIENT_AUTH needs HTTPS (GOVSHARE_TLS_CERT, GOVSHARE_TLS_KEY) and GOVSHARE_TLS_CA (the platform ca.pem)',
    );
  }
  for (const name of [
    'GOVSHARE_TLS_CERT',
    'GOVSHARE_TLS_KEY',
    'GOVSHARE_TLS_CA',
    'GOVSHARE_CONNECTOR_CA',
  ] as const) {
    if (config[name]) config[name] = resolve(config[name]);
  }
}

/** Each trusted proxy must be an IP address or CIDR range (proxy-addr refuses anything else at start). */
function checkTrustedProxies(config: GovshareConfig): void {
  const list = config.GOVSHARE_TRUSTED_PROXIES;
  if (!list) return;
  for (const entry of list.split(',')) {
    const [address, bits] = entry.split('/') as [string, string | undefined];
    const family = isIP(address);
    const max = family === 4 ? 32 : 128;
    if (family === 0 || (bits !== undefined && (!/^[0-9]{1,3}$/.test(bits) || Number(bits) > max))) {
      throw new ConfigError(
        'GOVSHARE_TRUSTED_PROXIES',
        `GOVSHARE_TRUSTED_PROXIES: ${JSON.stringify(entry)} is not an IP address or a CIDR range`,
      );
    }
  }
}

/** The callback path the redirect URL must end with: the identity service sends the browser there. */
export const OIDC_CALLBACK_PATH = '/v1/session/oidc/callback';

/**
 * OpenID Connect sign-in is all or nothing: the issuer needs the client id and the redirect URL. The
 * issuer speaks HTTPS, except on loopback (a test or a local identity service), because its discovery
 * document and keys decide who may sign in; the redirect URL must be the gateway's callback.
 */
function checkOidcConfig(config: GovshareConfig): void {
  const issuer = config.GOVSHARE_OIDC_ISSUER;
  if (!issuer) {
    for (const name of [
      'GOVSHARE_OIDC_CLIENT_ID',
      'GOVSHARE_OIDC_CLIENT_SECRET',
      'GOVSHARE_OIDC_REDIRECT_URL',
    ] as const) {
      if (config[name]) throw new ConfigError(name, `${name} is set but GOVSHARE_OIDC_ISSUER is empty`);
    }
    return;
  }
  const url = httpUrl(issuer);
  if (!url || url.search || url.hash || url.username || url.password) {
    throw new ConfigError(
      'GOVSHARE_OIDC_ISSUER',
      `GOVSHARE_OIDC_ISSUER must be an https:// issuer URL without query or credentials (got ${JSON.stringify(issuer)})`,
    );
  }
  if (url.protocol === 'http:' && !isLoopbackHost(url.hostname)) {
    throw new ConfigError(
      'GOVSHARE_OIDC_ISSUER',
      'GOVSHARE_OIDC_ISSUER must use https:// (plain http:// is accepted on loopback addresses only)',
    );
  }
  if (!config.GOVSHARE_OIDC_CLIENT_ID) {
    throw new ConfigError(
      'GOVSHARE_OIDC_CLIENT_ID',
      'GOVSHARE_OIDC_CLIENT_ID is required with GOVSHARE_OIDC_ISSUER',
    );
  }
  const redirect = httpUrl(config.GOVSHARE_OIDC_REDIRECT_URL);
  if (!redirect?.pathname.endsWith(OIDC_CALLBACK_PATH) || redirect.search || redirect.hash) {
    throw new ConfigError(
      'GOVSHARE_OIDC_REDIRECT_URL',
      `GOVSHARE_OIDC_REDIRECT_URL must be the http(s) URL of the gateway's ${OIDC_CALLBACK_PATH}, without a query (got ${JSON.stringify(config.GOVSHARE_OIDC_REDIRECT_URL)})`,
    );
  }
}

function httpUrl(value: string): URL | undefined {
  try {
    const url = new URL(value);
    return url.protocol === 'https:' || url.protocol === 'http:' ? url : undefined;
  } catch {
    return undefined;
  }
}

function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}
