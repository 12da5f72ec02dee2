import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { startLocalRedis } from '../../scripts/lib/local-redis.js';

t.test('a port already served by another redis-server is refused, and nothing is left behind', async (t) => {
  const first = await startLocalRedis();
  t.teardown(() => first.stop());
  // A private temporary root (os.tmpdir reads TMPDIR on each call): only this start creates dirs in it.
  const root = mkdtempSync(join(tmpdir(), 'govshare-harness-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  const saved = process.env.TMPDIR;
  process.env.TMPDIR = root;
  try {
    await t.rejects(startLocalRedis({ port: first.port }), /did not start on port/);
  } finally {
    if (saved === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = saved;
  }
  t.same(readdirSync(root), [], 'its temporary directory is removed');
  t.ok(existsSync(first.dir), 'the first server is untouched');
});
