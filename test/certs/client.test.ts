/**
 * The client helper against a real gateway, and against one that serves a department system's certificate
 * as the platform's and signs with that system's key: the CA issued both, only the first may pass.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { SignedClient } from '../../certs/client.js';
import { signResponse } from '../../certs/httpsig/index.js';
import { FileKeySigner } from '../../certs/signer.js';
import { sampleKeys } from '../../connectors/simulator/datasets.js';
import { buildTestApp } from '../helpers/app.js';
import { cli } from '../helpers/cli.js';
import { buildWorld, enc, grantPopulation } from '../helpers/world.js';

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

t.test('a response is verified only under the platform signing certificate', async (t) => {
  const testApp = await buildTestApp(t);
  const world = await buildWorld(t, testApp.context);
  await grantPopulation(testApp, world, { items: ['idNumber', 'gender'] });
  await testApp.app.listen({ host: '127.0.0.1', port: 0 });
  const origin = `http://127.0.0.1:${(testApp.app.server.address() as AddressInfo).port}`;
  const { amr, psb } = world.systems;
  const caPem = testApp.context.platform.caCertPem;
  const client = new SignedClient({ keyPem: amr.keyPem, certPem: amr.certPem, caPem });
  const [idNumber] = sampleKeys('residents', 1);
  const path = `/v1/data/${enc(world.codes.population)}?idNumber=${idNumber}`;

  const real = await client.call({
    method: 'GET',
    url: `${origin}${path}`,
    purpose: 'market-supervision',
    userId: 'wang.keyuan',
  });
  t.equal(real.status, 200);
  t.match(real.responseSignature, { verified: true });

  // Someone holding another department's system key answers in the gateway's place.
  const forger = createServer(async (req, res) => {
    if (req.url === '/v1/ca/platform-cert') {
      res.end(psb.certPem);
      return;
    }
    const body = JSON.stringify({ data: [{ forged: true }] });
    const headers = { 'content-type': 'application/json' };
    const signed = await signResponse({
      status: 200,
      headers,
      body,
      request: {
        method: req.method!,
        url: `http://${req.headers.host}${req.url}`,
        headers: req.headers as Record<string, string>,
      },
      requestLabel: 'sig1',
      keyId: psb.serial,
      signer: FileKeySigner.fromPem(psb.keyPem),
      alg: 'rsa-pss-sha512',
      label: 'sig1',
    });
    res.writeHead(200, { ...headers, ...signed });
    res.end(body);
  });
  const forged = await listen(forger);
  t.teardown(() => new Promise<void>((resolve) => forger.close(() => resolve())));
  const fake = await new SignedClient({ keyPem: amr.keyPem, certPem: amr.certPem, caPem }).call({
    method: 'GET',
    url: `${forged}${path}`,
    purpose: 'market-supervision',
  });
  t.equal(fake.status, 200);
  t.match(fake.responseSignature, { verified: false, reason: /not the platform signing certificate/ });

  // govshare call says so even with --quiet, and exits 3.
  const dir = mkdtempSync(join(tmpdir(), 'govshare-call-'));
  writeFileSync(join(dir, 'key.pem'), amr.keyPem, { mode: 0o600 });
  writeFileSync(join(dir, 'cert.pem'), amr.certPem);
  writeFileSync(join(dir, 'ca.pem'), caPem);
  const args = [
    '--key',
    join(dir, 'key.pem'),
    '--cert',
    join(dir, 'cert.pem'),
    '--purpose',
    'market-supervision',
  ];
  const refused = await cli(['call', 'GET', `${forged}${path}`, ...args, '--quiet'], {});
  t.equal(refused.code, 3);
  t.match(refused.err.join('\n'), /response signature: not verified/);
  const anonymous = await cli(['call', 'GET', `${origin}${path}`, ...args], {});
  t.equal(anonymous.code, 1, 'a data call without the acting official is refused');
  t.match(anonymous.out.join('\n'), /"code": "USER_ID_REQUIRED"/);
  t.match(
    anonymous.err.join('\n'),
    /govshare call: pass --user-id with the official acting through this system/,
  );
  const accepted = await cli(['call', 'GET', `${origin}${path}`, ...args, '--user-id', 'wang.keyuan'], {});
  t.equal(accepted.code, 0, accepted.err.join('\n'));
  t.match(accepted.err.join('\n'), /response signature: verified/);
});
