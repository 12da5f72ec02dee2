import t from 'tap';
import { usePostgres } from '../../helpers/postgres.js';

t.test('a fresh database per call on one loopback server', async (t) => {
  const a = await usePostgres(t);
  const b = await usePostgres(t);
  t.equal(a.server, b.server);
  t.not(a.database, b.database);
  t.match(a.url, /^postgres:\/\/govshare:[^@]+@127\.0\.0\.1:\d+\/t_[0-9a-f]{10}$/);
  await a.pool.query('CREATE TABLE only_in_a (id int)');
  const { rows } = await b.pool.query(
    "SELECT count(*)::int AS n FROM pg_tables WHERE tablename = 'only_in_a'",
  );
  t.equal(rows[0].n, 0, 'tables of one database are not seen in another');
  const settings = await a.pool.query(
    "SELECT current_setting('fsync') AS fsync, current_setting('listen_addresses') AS listen",
  );
  t.same(settings.rows[0], { fsync: 'off', listen: '127.0.0.1' });
});
