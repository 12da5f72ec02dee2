/**
 * A gateway process killed with SIGKILL under load: the other instance keeps serving, and no audit chain
 * is left broken (a record is appended by one atomic script, so a kill cannot tear it; verify checks).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import t from 'tap';
import { request } from 'undici';
import { verifyAudit } from '../../../audit/verify.js';
import { signRequest } from '../../../certs/httpsig/index.js';
import { sampleKeys } from '../../../connectors/simulator/datasets.js';
import { findFreePort } from '../../../scripts/lib/local-tools.js';
import { buildTestApp, usePlatformDir } from '../../helpers/app.js';
import { buildWorld, enc, grantPopulation, signedInject } from '../../helpers/world.js';

t.test('SIGKILL of one gateway under load: the other serves on, every chain verifies', async (t) => {
  const a = await buildTestApp(t);
  const world = await buildWorld(t, a.context);
  const { amr } = world.systems;
  await grantPopulation(a, world, { items: ['idNumber', 'gender'] });

  const port = await findFreePort();
  const child: ChildProcess = spawn(
    process.execPath,
    [new URL('../../../gateway/cli/bin.js', import.meta.url).pathname, 'serve', '--port', String(port)],
    {
      env: {
        PATH: process.env.PATH ?? '',
        GOVSHARE_REDIS_URL: a.config.GOVSHARE_REDIS_URL,
        GOVSHARE_REDIS_PREFIX: a.config.GOVSHARE_REDIS_PREFIX,
        GOVSHARE_DATA_DIR: await usePlatformDir(),
        GOVSHARE_INSTANCE_ID: 'gw-killed',
        GOVSHARE_LOG_LEVEL: 'silent',
      },
      stdio: 'ignore',
    },
  );
  t.teardown(() => {
    child.kill('SIGKILL');
  });
  const origin = `http://127.0.0.1:${port}`;
  // Up to 60 s: a cold start on a loaded two-core machine can take far longer than on a quiet one.
  let up = false;
  for (let i = 0; i < 1200 && !up; i++) {
    const ready = await request(`${origin}/ready`).then(
      async (r) => {
        await r.body.text();
        return r.statusCode;
      },
      () => 0,
    );
    up = ready === 200;
    if (!up) await new Promise((r) => setTimeout(r, 50));
  }
  if (!t.ok(up, 'the second gateway is ready')) return;

  const keys = sampleKeys('residents', 20);
  let served = 0;
  let killed = false;
  const call = async (i: number) => {
    const path = `/v1/data/${enc(world.codes.population)}?idNumber=${keys[i % keys.length]}`;
    const headers = { 'x-purpose': 'market-supervision', 'x-user-id': 'test.official' };
    const signed = signRequest({
      method: 'GET',
      url: `${origin}${path}`,
      headers,
      keyId: amr.serial,
      privateKey: amr.keyPem,
    });
    try {
      const res = await request(`${origin}${path}`, { headers: { ...headers, ...signed } });
      await res.body.text();
      if (res.statusCode === 200) served++;
    } catch {
      t.ok(killed, 'only calls in flight at the kill fail');
    }
  };
  const load = (async () => {
    for (let i = 0; !killed; i++) await Promise.all([0, 1, 2, 3].map((k) => call(i * 4 + k)));
  })();
  // Kill once it has served a fair number of calls (not after a fixed time: on a loaded machine the cold
  // child may take seconds for its first answers), or after 30 s at most.
  for (let waited = 0; served <= 20 && waited < 30_000; waited += 50)
    await new Promise((r) => setTimeout(r, 50));
  killed = true;
  child.kill('SIGKILL');
  await load;
  t.ok(served > 10, `the killed gateway had served ${served} calls`);

  const path = `/v1/data/${enc(world.codes.population)}?idNumber=${keys[0]}`;
  for (let i = 0; i < 5; i++) {
    t.equal(
      (await signedInject(a.app, amr, { method: 'GET', path })).statusCode,
      200,
      'the other instance keeps serving',
    );
  }
  const report = await verifyAudit(a.context.redis, a.context.prefix, {
    publicKey: a.context.platform.signingCertX509.publicKey,
  });
  t.ok(
    report.ok,
    `every chain verifies: ${JSON.stringify(report.instances.map((i) => [i.instance, i.records, i.firstBroken?.reason ?? 'intact']))}`,
  );
  const killedChain = report.instances.find((i) => i.instance === 'gw-killed');
  t.ok(
    killedChain && killedChain.records >= served,
    'the killed instance recorded at least every call it answered with 200',
  );
});
