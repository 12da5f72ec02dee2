import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { Test } from 'tap';
import { type LocalPostgres, startLocalPostgres, withAdmin } from '../../scripts/lib/local-postgres.js';

let shared: Promise<LocalPostgres> | undefined;

export interface TestDatabase {
  server: LocalPostgres;
  /** Name of the fresh database. */
  database: string;
  /** postgres:// URL of the fresh database. */
  url: string;
  /** Connection settings of the fresh database (for SQL sources in tests). */
  connection: { host: string; port: number; user: string; password: string; database: string };
  /** A small pool on the fresh database for fixtures; ended when the test ends. */
  pool: pg.Pool;
}

/**
 * One real PostgreSQL server per test file (tap runs files in separate processes), started on first use
 * and stopped when the file's root test ends. Each caller gets a fresh database, dropped when its test
 * ends, so tests never see each other's tables.
 */
export async function usePostgres(t: Test): Promise<TestDatabase> {
  if (!shared) {
    shared = startLocalPostgres();
    const root = await import('tap');
    root.default.teardown(async () => (await shared!).stop());
  }
  const server = await shared;
  const database = `t_${randomBytes(5).toString('hex')}`;
  await withAdmin(server, (client) => client.query(`CREATE DATABASE ${database}`));
  const connection = {
    host: server.host,
    port: server.port,
    user: server.user,
    password: server.password,
    database,
  };
  const pool = new pg.Pool({ ...connection, max: 4 });
  pool.on('error', () => undefined);
  t.teardown(async () => {
    await pool.end();
    // A server already shutting down (the file's root teardown) drops the database with itself.
    await withAdmin(server, (client) =>
      client.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`),
    ).catch((err: { code?: string }) => {
      if (err.code !== '57P01' && err.code !== 'ECONNREFUSED') throw err;
    });
  });
  return {
    server,
    database,
    url: `postgres://${server.user}:${encodeURIComponent(server.password)}@${server.host}:${server.port}/${database}`,
    connection,
    pool,
  };
}
