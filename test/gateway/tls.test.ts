/**
 * HTTPS on every hop: the gateway serves TLS 1.2/1.3 with a platform-issued server certificate, mutual
 * TLS binds the connection to the signature's keyid, and the HTTP connector reaches a front-end
 * processor over HTTPS with the platform CA pinned.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import t from 'tap';
import { Agent, request } from 'undici';
import { SignedClient } from '../../certs/client.js';
import { signRequest } from '../../certs/httpsig/index.js';
import { initPlatform, loadPlatform } from '../../certs/platform.js';
import { issueTlsServerCertificate } from '../../certs/tls.js';
import { HttpConnectorFactory } from '../../connectors/http-connector.js';
import { sampleKeys } from '../../connectors/simulator/datasets.js';
import { startSimulator } from '../../connectors/simulator/server.js';
import { loadConfig } from '../../gateway/app/config.js';
import { tlsServerOptions } from '../../gateway/app/tls.js';
import { buildTestApp, usePlatformDir } from '../helpers/app.js';
import { buildWorld, enc, grantPopulation } from '../helpers/world.js';

const [idNumber] = sampleKeys('residents', 1);
const work = mkdtempSync(join(tmpdir(), 'govshare-tls-'));
t.teardown(() => rmSync(work, { recursive: true, force: true }));
const platform = loadPlatform(await usePlatformDir());
const server = await issueTlsServerCertificate(platform, { hosts: ['127.0.0.1', 'localhost'] });
const files = {
  cert: join(work, 'server-cert.pem'),
  key: join(work, 'server-key.pem'),
  ca: join(work, 'ca.pem'),
};
writeFileSync(files.cert, server.certPem);
writeFileSync(files.key, server.keyPem, { mode: 0o600 });
writeFileSync(files.ca, platform.caCertPem);
const tlsEnv = (clientAuth: string) => ({
  GOVSHARE_TLS_CERT: files.cert,
  GOVSHARE_TLS_KEY: files.key,
  GOVSHARE_TLS_CA: files.ca,
  GOVSHARE_TLS_CLIENT_AUTH: clientAuth,
});

async function listen(app: import('fastify').FastifyInstance): Promise<string> {
  await app.listen({ host: '127.0.0.1', port: 0 });
  return `https://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
}

t.test('HTTPS and mutual TLS round trips; a certificate that is not the signer is refused', async (t) => {
  const testApp = await buildTestApp(t, { env: tlsEnv('optional') });
  const world = await buildWorld(t, testApp.context);
  const { amr, psb } = world.systems;
  await grantPopulation(testApp, world, { items: ['idNumber', 'gender'] });
  const origin = await listen(testApp.app);
  const path = `/v1/data/${enc(world.codes.population)}?idNumber=${idNumber}`;
  const call = {
    method: 'GET',
    url: `${origin}${path}`,
    purpose: 'market-supervision',
    userId: 'wang.keyuan',
  };
  const credentials = { keyPem: amr.keyPem, certPem: amr.certPem, caPem: platform.caCertPem };

  const tlsClient = new SignedClient(credentials, { ca: platform.caCertPem });
  const mtlsClient = new SignedClient(credentials, { ca: platform.caCertPem, clientCertificate: true });
  t.teardown(() => Promise.all([tlsClient.close(), mtlsClient.close()]));
  const tls = await tlsClient.call(call);
  t.equal(tls.status, 200, tls.body.toString());
  t.equal(tls.responseSignature.verified, true, 'the response signature verifies over HTTPS too');

  const mtls = await new SignedClient(credentials, { ca: platform.caCertPem, clientCertificate: true }).call(
    call,
  );
  t.equal(mtls.status, 200, mtls.body.toString());

  // The connection presents AMR's certificate, the signature names PSB's: refused.
  const headers = { 'x-purpose': 'market-supervision', 'x-user-id': 'wang.keyuan' };
  const signed = signRequest({
    method: 'GET',
    url: `${origin}${path}`,
    headers,
    keyId: psb.serial,
    privateKey: psb.keyPem,
  });
  const dispatcher = new Agent({ connect: { ca: platform.caCertPem, cert: amr.certPem, key: amr.keyPem } });
  t.teardown(() => dispatcher.close());
  const mismatch = await request(`${origin}${path}`, { dispatcher, headers: { ...headers, ...signed } });
  t.equal(mismatch.statusCode, 401);
  const problem = (await mismatch.body.json()) as { code: string; detail: string };
  t.equal(problem.code, 'TLS_CLIENT_CERT_MISMATCH');
  t.match(problem.detail, psb.serial);

  // A client certificate of another CA is refused even though the client authentication is optional.
  const otherDir = join(work, 'other-ca');
  await initPlatform(otherDir);
  const other = await issueTlsServerCertificate(loadPlatform(otherDir), { hosts: ['client'] });
  const foreign = new Agent({ connect: { ca: platform.caCertPem, cert: other.certPem, key: other.keyPem } });
  t.teardown(() => foreign.close());
  const signedAmr = signRequest({
    method: 'GET',
    url: `${origin}${path}`,
    headers,
    keyId: amr.serial,
    privateKey: amr.keyPem,
  });
  const untrusted = await request(`${origin}${path}`, {
    dispatcher: foreign,
    headers: { ...headers, ...signedAmr },
  });
  t.equal(untrusted.statusCode, 401);
  t.equal(((await untrusted.body.json()) as { code: string }).code, 'TLS_CLIENT_CERT_MISMATCH');

  // TLS 1.1 and older are refused in the handshake.
  const port = Number(new URL(origin).port);
  const old = await new Promise<string>((resolve) => {
    const socket = connect({
      host: '127.0.0.1',
      port,
      ca: platform.caCertPem,
      maxVersion: 'TLSv1.1',
      minVersion: 'TLSv1',
    });
    socket.once('secureConnect', () => {
      socket.end();
      resolve('connected');
    });
    socket.once('error', (err) => resolve((err as NodeJS.ErrnoException).code ?? err.message));
  });
  t.not(old, 'connected', `TLS 1.1 refused (${old})`);
});

t.test('client authentication required: no client certificate, no connection', async (t) => {
  const testApp = await buildTestApp(t, { env: tlsEnv('require') });
  const origin = await listen(testApp.app);
  const plain = new Agent({ connect: { ca: platform.caCertPem } });
  t.teardown(() => plain.close());
  await t.rejects(
    request(`${origin}/v1/ca/platform-cert`, { dispatcher: plain }).then((res) => res.body.text()),
    'the handshake fails without a client certificate',
  );
  const amrKey = await buildWorld(t, testApp.context);
  const withCert = new Agent({
    connect: { ca: platform.caCertPem, cert: amrKey.systems.amr.certPem, key: amrKey.systems.amr.keyPem },
  });
  t.teardown(() => withCert.close());
  const ok = await request(`${origin}/v1/ca/platform-cert`, { dispatcher: withCert });
  t.equal(ok.statusCode, 200);
  await ok.body.text();
});

t.test('TLS configuration is checked at start-up', async (t) => {
  const base = { GOVSHARE_REDIS_URL: 'redis://127.0.0.1:6379' };
  t.throws(() => loadConfig({ ...base, GOVSHARE_TLS_CERT: files.cert }), /GOVSHARE_TLS_KEY must be set too/);
  t.throws(
    () =>
      loadConfig({
        ...base,
        GOVSHARE_TLS_CERT: files.cert,
        GOVSHARE_TLS_KEY: files.key,
        GOVSHARE_TLS_CLIENT_AUTH: 'require',
      }),
    /GOVSHARE_TLS_CA/,
  );
  t.throws(() => loadConfig({ ...base, GOVSHARE_TLS_CLIENT_AUTH: 'sometimes' }), /GOVSHARE_TLS_CLIENT_AUTH/);
});

t.test('the HTTP connector speaks HTTPS to a front-end processor with the platform CA pinned', async (t) => {
  const sim = await startSimulator({
    datasets: { residents: 100 },
    tls: { cert: server.certPem, key: server.keyPem },
  });
  t.teardown(() => sim.close());
  t.match(sim.url, /^https:/);
  const service = { connector: 'http' as const, endpoint: sim.endpoint('residents') };
  const [key] = sampleKeys('residents', 1);
  const pinned = new HttpConnectorFactory({ tlsCa: platform.caCertPem });
  t.teardown(() => pinned.close());
  const rows = await pinned.create(service).lookup('idNumber', [key!]);
  t.equal(rows.length, 1);
  const otherCa = loadPlatform(join(work, 'other-ca')).caCertPem;
  const wrong = new HttpConnectorFactory({ tlsCa: otherCa });
  t.teardown(() => wrong.close());
  await t.rejects(wrong.create(service).lookup('idNumber', [key!]), 'a certificate of another CA is refused');
});

t.test('a gm platform issues no TLS server certificate and refuses mutual TLS in Node', async (t) => {
  const gmDir = join(work, 'gm');
  await initPlatform(gmDir, { crypto: 'gm' });
  await t.rejects(issueTlsServerCertificate(loadPlatform(gmDir), { hosts: ['localhost'] }), {
    code: 'CERT_KEY_TYPE_INVALID',
  });
  t.throws(
    () => tlsServerOptions(loadConfig({ GOVSHARE_DATA_DIR: gmDir, ...tlsEnv('optional') }), 'gm'),
    /GOVSHARE_TLS_CLIENT_AUTH must be none on a gm platform/,
  );
  // With an intl server certificate (from an intl CA) a gm platform serves HTTPS.
  const gm = await buildTestApp(t, { env: { GOVSHARE_DATA_DIR: gmDir, ...tlsEnv('none') } });
  const origin = await listen(gm.app);
  const plain = new Agent({ connect: { ca: platform.caCertPem } });
  t.teardown(() => plain.close());
  const res = await request(`${origin}/v1/ca/platform-cert`, { dispatcher: plain });
  t.equal(res.statusCode, 200);
  t.match(await res.body.text(), /BEGIN CERTIFICATE/);
});
