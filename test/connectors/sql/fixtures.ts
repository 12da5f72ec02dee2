/**
 * Front-end database fixtures for the SQL connector tests: a people table with ties in its update
 * timestamps, and SQL sources pointing at a test database.
 */
import type pg from 'pg';
import { type ResolvedSqlSource, resolveSqlSources } from '../../../connectors/sql/sources.js';
import type { TestDatabase } from '../../helpers/postgres.js';

export const PEOPLE_SHAPE = {
  items: ['idNumber', 'name', 'birthDate', 'updatedAt', 'score', 'visits'],
  key: ['idNumber'],
};

/**
 * `rows` people with keys p0000001…; `updatedAt` advances by 1.000001 s every `tie` rows (so `tie` rows
 * share each timestamp, with microseconds). Keys are inserted in a shuffled order so that the heap
 * order is not the key order.
 */
export async function createPeople(pool: pg.Pool, rows: number, tie = 10, table = 'people'): Promise<void> {
  await pool.query(`
    CREATE TABLE ${table} (
      "idNumber" text PRIMARY KEY,
      "name" text NOT NULL,
      "birthDate" date,
      "updatedAt" timestamptz NOT NULL,
      "score" numeric,
      "visits" bigint,
      "internalNote" text
    )`);
  await pool.query(
    `INSERT INTO ${table}
     SELECT 'p' || lpad(i::text, 7, '0'), '张' || i, DATE '1980-01-01' + (i % 9000),
            TIMESTAMPTZ '2025-03-01 00:00:00+08' + (i / $2) * INTERVAL '1.000001 second',
            (i % 100) / 4.0, i::bigint * 3, 'not an item'
     FROM generate_series(1, $1) AS i ORDER BY md5(i::text)`,
    [rows, tie],
  );
  await pool.query(`CREATE INDEX ON ${table} ("updatedAt", "idNumber")`);
  await pool.query(`ANALYZE ${table}`);
}

export function sourcesFor(
  db: TestDatabase,
  overrides: Record<string, unknown> = {},
  name = 'frontdb',
): Map<string, ResolvedSqlSource> {
  return resolveSqlSources(
    {
      sources: {
        [name]: {
          dialect: 'postgres',
          host: db.connection.host,
          port: db.connection.port,
          database: db.connection.database,
          user: db.connection.user,
          passwordEnv: 'FRONTDB_PASSWORD',
          ...overrides,
        },
      },
    },
    { env: { FRONTDB_PASSWORD: db.connection.password } },
  );
}

export const pad = (i: number) => `p${String(i).padStart(7, '0')}`;
