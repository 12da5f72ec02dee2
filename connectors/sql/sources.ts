/**
 * The front-end databases the gateway may read, by name. A catalog entry's sql data service names one
 * (`endpoint: "<source name>"`): the catalog never holds a host, a user or a password. The file is the
 * operator's (GOVSHARE_SQL_SOURCES_FILE); passwords come from a file (re-read for every new connection,
 * so a rotated password is picked up without a restart) or from an environment variable.
 *
 * {
 *   "sources": {
 *     "hr-frontdb": { "dialect": "postgres", "host": "10.1.2.3", "port": 5432, "database": "share",
 *                     "user": "govshare_reader", "passwordFile": "/run/secrets/hr-frontdb" }
 *   }
 * }
 */
import { readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { type Static, Type } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { sqlConnectorErrors } from './errors.js';

export const SQL_SOURCE_NAME_PATTERN = '^[a-z][a-z0-9_-]{0,62}$';

export const SqlSource = Type.Object(
  {
    dialect: Type.Literal('postgres', { description: 'Database product; MySQL is planned' }),
    host: Type.String({ minLength: 1, maxLength: 255, description: 'Host name or address of the database' }),
    port: Type.Optional(Type.Integer({ minimum: 1, maximum: 65535, description: 'Port; 5432 when omitted' })),
    database: Type.String({ minLength: 1, maxLength: 63 }),
    user: Type.String({ minLength: 1, maxLength: 63, description: 'A read-only role is strongly advised' }),
    passwordFile: Type.Optional(
      Type.String({
        minLength: 1,
        description: 'File holding the password (relative paths are relative to the sources file)',
      }),
    ),
    passwordEnv: Type.Optional(
      Type.String({
        pattern: '^[A-Z_][A-Z0-9_]{0,127}$',
        description: 'Environment variable holding the password',
      }),
    ),
    poolSize: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 200,
        description: 'Connections to this database per process; 10 when omitted',
      }),
    ),
    statementTimeoutMs: Type.Optional(
      Type.Integer({
        minimum: 50,
        maximum: 3_600_000,
        description: 'Statement timeout when the data service has no timeoutMs; 30000 when omitted',
      }),
    ),
    connectTimeoutMs: Type.Optional(
      Type.Integer({
        minimum: 50,
        maximum: 120_000,
        description: 'Time to get a connection; 5000 when omitted',
      }),
    ),
    countTotal: Type.Optional(
      Type.Boolean({
        description:
          'Run count(*) once at the start of each bulk read so that pages carry `total`; false when omitted',
      }),
    ),
    localTimeOffset: Type.Optional(
      Type.String({
        pattern: '^[+-](0[0-9]|1[0-4]):[0-5][0-9]$',
        description:
          'UTC offset given to `timestamp without time zone` values, which the database stores as local time; "+08:00" when omitted',
      }),
    ),
  },
  { additionalProperties: false },
);
export type SqlSource = Static<typeof SqlSource>;

export const SqlSources = Type.Object(
  {
    sources: Type.Record(Type.String({ pattern: SQL_SOURCE_NAME_PATTERN }), SqlSource, {
      additionalProperties: false,
    }),
  },
  { additionalProperties: false },
);
export type SqlSources = Static<typeof SqlSources>;

const checkSources = TypeCompiler.Compile(SqlSources);

/** A source with its defaults applied and its password as a function (read when a connection opens). */
export interface ResolvedSqlSource {
  name: string;
  dialect: SqlSource['dialect'];
  host: string;
  port: number;
  database: string;
  user: string;
  password: () => string;
  poolSize: number;
  statementTimeoutMs: number;
  connectTimeoutMs: number;
  countTotal: boolean;
  localTimeOffset: string;
}

/**
 * Checks sources (parsed JSON) and resolves defaults and passwords. `baseDir` anchors relative password
 * files. Fails on the first problem with a message naming the source and the field.
 */
export function resolveSqlSources(
  value: unknown,
  options: { env?: NodeJS.ProcessEnv; baseDir?: string } = {},
): Map<string, ResolvedSqlSource> {
  const env = options.env ?? process.env;
  if (!checkSources.Check(value)) {
    const first = checkSources.Errors(value).First();
    const where = first?.path || '/';
    const hint = /\/password$/.test(where)
      ? ' (use passwordFile or passwordEnv, never a password in the file)'
      : '';
    throw new sqlConnectorErrors.SQL_SOURCES_INVALID(
      `SQL sources: ${where} ${first?.message ?? 'is invalid'}${hint}`,
    );
  }
  const resolved = new Map<string, ResolvedSqlSource>();
  for (const [name, source] of Object.entries(value.sources)) {
    resolved.set(name, {
      name,
      dialect: source.dialect,
      host: source.host,
      port: source.port ?? 5432,
      database: source.database,
      user: source.user,
      password: passwordReader(name, source, env, options.baseDir ?? process.cwd()),
      poolSize: source.poolSize ?? 10,
      statementTimeoutMs: source.statementTimeoutMs ?? 30_000,
      connectTimeoutMs: source.connectTimeoutMs ?? 5_000,
      countTotal: source.countTotal ?? false,
      localTimeOffset: source.localTimeOffset ?? '+08:00',
    });
  }
  return resolved;
}

function passwordReader(
  name: string,
  source: SqlSource,
  env: NodeJS.ProcessEnv,
  baseDir: string,
): () => string {
  const invalid = (message: string) =>
    new sqlConnectorErrors.SQL_SOURCES_INVALID(`SQL source "${name}": ${message}`);
  if ((source.passwordFile === undefined) === (source.passwordEnv === undefined)) {
    throw invalid('give exactly one of passwordFile and passwordEnv');
  }
  if (source.passwordEnv !== undefined) {
    const variable = source.passwordEnv;
    if (!env[variable]) throw invalid(`environment variable ${variable} is not set`);
    return () => env[variable] ?? '';
  }
  const file = isAbsolute(source.passwordFile!)
    ? source.passwordFile!
    : resolve(baseDir, source.passwordFile!);
  try {
    if (!statSync(file).isFile()) throw new Error('not a file');
  } catch {
    throw invalid(`password file ${file} cannot be read`);
  }
  // A trailing newline (echo secret > file) is not part of the password.
  return () => readFileSync(file, 'utf8').replace(/\r?\n$/, '');
}

/** Reads and resolves a sources file (GOVSHARE_SQL_SOURCES_FILE). */
export function loadSqlSources(
  file: string,
  env: NodeJS.ProcessEnv = process.env,
): Map<string, ResolvedSqlSource> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    throw new sqlConnectorErrors.SQL_SOURCES_INVALID(`SQL sources file ${file} cannot be read`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new sqlConnectorErrors.SQL_SOURCES_INVALID(`SQL sources file ${file} is not valid JSON`);
  }
  return resolveSqlSources(value, { env, baseDir: dirname(resolve(file)) });
}
