/**
 * `node dist/scripts/lib/redis-cli-main.js DIR [PORT]`: runs a private redis-server for the demo with its
 * data (AOF) in DIR, prints `REDIS_URL=...` once it answers, and stops it on SIGINT/SIGTERM.
 */
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { startLocalRedis } from './local-redis.js';

const dir = resolve(process.argv[2] ?? './data/redis');
mkdirSync(dir, { recursive: true, mode: 0o700 });
const port = process.argv[3] ? Number(process.argv[3]) : undefined;
const redis = await startLocalRedis({ dir, ...(port ? { port } : {}) });
process.stdout.write(`REDIS_URL=${redis.url}\n`);
const stop = () => {
  redis.stop().then(() => process.exit(0));
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
redis.process.once('exit', (code) => {
  process.stderr.write(`redis-server exited (${code}); see ${dir}/redis.log\n`);
  process.exit(1);
});
