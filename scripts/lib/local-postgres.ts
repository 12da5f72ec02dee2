/**
 * Starts a private PostgreSQL server for tests, the demo and benchmarks: `initdb` into its own temporary
 * directory, listening only on 127.0.0.1 on a free port, its unix socket inside that directory, and one
 * password-authenticated role (scram-sha-256) that owns the database `govshare`. Nothing here is used in
 * production, where each provider's front-end database is configured in the SQL sources file.
 *
 * Durability is switched off (`fsync=off`, `synchronous_commit=off`, `full_page_writes=off`): a crash
 * of a test server may lose or corrupt its data, which a throw-away server can afford, and tests and
 * benchmark loads run several times faster.
 *
 * PostgreSQL refuses to run as root. When this process is root, initdb and postgres run as the `postgres`
 * system user (created by the Debian package), and the temporary directory is handed over to it.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  chownSync,
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { findFreePort, requireBinary } from './local-tools.js';

export interface LocalPostgresOptions {
  /**
   * Directory of the cluster (`data/`), the socket, the log and the role's password. A fresh temporary
   * directory (removed on stop) when omitted; an existing one is reused without a new initdb.
   */
  dir?: string;
  /** @defaultValue a free loopback port */
  port?: number;
}

export interface LocalPostgres {
  /** postgres://govshare:PASSWORD@127.0.0.1:PORT/govshare */
  url: string;
  host: '127.0.0.1';
  port: number;
  user: string;
  password: string;
  database: string;
  dir: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

const ROLE = 'govshare';
const DATABASE = 'govshare';

/** initdb and postgres of the highest installed version under /usr/lib/postgresql, else from PATH. */
export function postgresBinaries(): { initdb: string; postgres: string } {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((v) => /^[0-9]+$/.test(v) && existsSync(join(root, v, 'bin', 'initdb')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  const dirs = versions.map((v) => join(root, v, 'bin'));
  return {
    initdb: requireBinary('initdb', 'postgresql', dirs),
    postgres: requireBinary('postgres', 'postgresql', dirs),
  };
}

/** uid/gid to run the server as: the `postgres` system user when we are root, else ourselves. */
function serverIdentity(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  try {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    return { uid, gid };
  } catch {
    throw new Error(
      'running as root, PostgreSQL must run as the "postgres" system user, which does not exist. Install it with:\n' +
        '  apt-get update && apt-get install -y postgresql',
    );
  }
}

function chownTree(path: string, id: { uid: number; gid: number }): void {
  chownSync(path, id.uid, id.gid);
  for (const entry of readdirSync(path, { withFileTypes: true })) {
    const child = join(path, entry.name);
    if (entry.isDirectory()) chownTree(child, id);
    else chownSync(child, id.uid, id.gid);
  }
}

export async function startLocalPostgres(options: LocalPostgresOptions = {}): Promise<LocalPostgres> {
  const bin = postgresBinaries();
  const identity = serverIdentity();
  const ownDir = options.dir === undefined;
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'govshare-pg-'));
  const dataDir = join(dir, 'data');
  const socketDir = join(dir, 'socket');
  const passwordFile = join(dir, 'password');
  const logFile = join(dir, 'postgres.log');
  const fresh = !existsSync(join(dataDir, 'PG_VERSION'));
  mkdirSync(socketDir, { recursive: true, mode: 0o700 });
  if (!existsSync(passwordFile))
    writeFileSync(passwordFile, randomBytes(18).toString('base64url'), { mode: 0o600 });
  const password = readFileSync(passwordFile, 'utf8').trim();
  if (identity) chownTree(dir, identity);
  const asServer = identity ? { uid: identity.uid, gid: identity.gid } : {};

  if (fresh) {
    try {
      execFileSync(
        bin.initdb,
        [
          '--pgdata',
          dataDir,
          '--username',
          ROLE,
          '--pwfile',
          passwordFile,
          '--auth-host=scram-sha-256',
          '--auth-local=scram-sha-256',
          '--encoding=UTF8',
          '--no-locale',
          '--no-sync',
        ],
        { ...asServer, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, LC_ALL: 'C' } },
      );
    } catch (err) {
      if (ownDir) rmSync(dir, { recursive: true, force: true });
      const stderr = (err as { stderr?: Buffer }).stderr?.toString() ?? String(err);
      throw new Error(`initdb failed: ${stderr.trim()}`);
    }
  }

  const port = options.port ?? (await findFreePort());
  const settings = {
    listen_addresses: '127.0.0.1',
    port: String(port),
    unix_socket_directories: socketDir,
    fsync: 'off',
    synchronous_commit: 'off',
    full_page_writes: 'off',
    max_connections: '100',
    shared_buffers: '128MB',
    logging_collector: 'off',
  };
  const args = ['-D', dataDir, ...Object.entries(settings).flatMap(([k, v]) => ['-c', `${k}=${v}`])];
  const logFd = openSync(logFile, 'a');
  const child = spawn(bin.postgres, args, { ...asServer, stdio: ['ignore', logFd, logFd] });
  closeSync(logFd);
  let exited = false;
  const exitPromise = new Promise<void>((resolve) => {
    child.once('exit', () => {
      exited = true;
      resolve();
    });
  });

  const server: LocalPostgres = {
    url: `postgres://${ROLE}:${encodeURIComponent(password)}@127.0.0.1:${port}/${DATABASE}`,
    host: '127.0.0.1',
    port,
    user: ROLE,
    password,
    database: DATABASE,
    dir,
    process: child,
    async stop() {
      if (!exited) {
        // SIGINT is PostgreSQL's "fast shutdown": active sessions are ended, no waiting for clients.
        child.kill('SIGINT');
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exitPromise;
        clearTimeout(timer);
      }
      if (ownDir) rmSync(dir, { recursive: true, force: true });
    },
  };

  try {
    await waitUntilReady(server, 20_000, () => exited);
    if (fresh) await ensureDatabase(server);
  } catch (err) {
    const log = existsSync(logFile) ? readFileSync(logFile, 'utf8').split('\n').slice(-15).join('\n') : '';
    await server.stop();
    throw new Error(`postgres did not start on port ${port}: ${String(err)}\n${log}`);
  }
  return server;
}

function clientFor(server: LocalPostgres, database: string): pg.Client {
  return new pg.Client({
    host: server.host,
    port: server.port,
    user: server.user,
    password: server.password,
    database,
    connectionTimeoutMillis: 2_000,
  });
}

async function waitUntilReady(
  server: LocalPostgres,
  timeoutMs: number,
  gaveUp: () => boolean,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    if (gaveUp()) throw new Error('process exited');
    const client = clientFor(server, 'postgres');
    client.on('error', () => undefined);
    try {
      await client.connect();
      await client.query('SELECT 1');
      await client.end();
      return;
    } catch (err) {
      last = err;
      await client.end().catch(() => undefined);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  throw new Error(`timed out (${String(last)})`);
}

async function ensureDatabase(server: LocalPostgres): Promise<void> {
  await withAdmin(server, async (client) => {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [DATABASE]);
    if (rowCount === 0) await client.query(`CREATE DATABASE ${DATABASE}`);
  });
}

/** Runs `fn` with a client connected to the maintenance database `postgres` as the server's role. */
export async function withAdmin<T>(server: LocalPostgres, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = clientFor(server, 'postgres');
  client.on('error', () => undefined);
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}
