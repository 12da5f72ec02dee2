/**
 * `govshare federation offer | accept | list | revoke` between two platforms (two data dirs, two key
 * prefixes): the offer file, the out-of-band CA fingerprint check, the countersigned file returned to the
 * offerer, and the revocation.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { initPlatform, platformFiles } from '../../../certs/platform.js';
import { cli } from '../../helpers/cli.js';
import { CITY, PROVINCE } from '../../helpers/federation.js';
import { useRedis } from '../../helpers/redis.js';

t.test('offer, accept with the fingerprint, return, list, revoke', async (t) => {
  const work = mkdtempSync(join(tmpdir(), 'govshare-federation-cli-'));
  t.teardown(() => rmSync(work, { recursive: true, force: true }));
  const [provinceDir, cityDir] = [join(work, 'province'), join(work, 'city')];
  const [provinceInit, cityInit] = await Promise.all([initPlatform(provinceDir), initPlatform(cityDir)]);
  const { server, prefix } = await useRedis(t);
  const env = (dir: string, side: string) => ({
    GOVSHARE_REDIS_URL: server.url,
    GOVSHARE_REDIS_PREFIX: `${prefix}${side}:`,
    GOVSHARE_DATA_DIR: dir,
    GOVSHARE_LOG_LEVEL: 'silent',
  });
  const province = env(provinceDir, 'p');
  const city = env(cityDir, 'c');
  const offerFile = join(work, 'offer.json');
  const signedFile = join(work, 'signed.json');

  const offer = await cli(
    [
      'federation',
      'offer',
      '--id',
      'hubei-yichang-2026',
      '--platform-id',
      PROVINCE.platformId,
      '--name',
      PROVINCE.name,
      '--operator',
      PROVINCE.operator,
      '--gateway-url',
      'https://gw.hubei.example',
      '--offers',
      '101001/000001,102001/000001',
      '--peer-platform-id',
      CITY.platformId,
      '--peer-name',
      CITY.name,
      '--peer-operator',
      CITY.operator,
      '--peer-gateway-url',
      'https://gw.yichang.example',
      '--peer-ca',
      join(cityDir, platformFiles.caCert),
      '--peer-signing-cert',
      join(cityDir, platformFiles.signingCert),
      '--valid-days',
      '365',
      '--out',
      offerFile,
    ],
    province,
  );
  t.equal(offer.code, 0, offer.err.join('\n'));
  t.match(offer.out[0], /offered to yichang-city/);
  t.match(offer.out[1], provinceInit.caFingerprint256);

  const wrong = await cli(
    ['federation', 'accept', offerFile, '--peer-ca-fingerprint', cityInit.caFingerprint256],
    city,
  );
  t.not(wrong.code, 0, 'a fingerprint that is not the offerer CA is refused');
  t.match(wrong.err.join('\n'), /do not accept this file/);

  const accepted = await cli(
    [
      'federation',
      'accept',
      offerFile,
      '--peer-ca-fingerprint',
      provinceInit.caFingerprint256,
      '--out',
      signedFile,
    ],
    city,
  );
  t.equal(accepted.code, 0, accepted.err.join('\n'));
  t.match(accepted.out.join('\n'), /hubei-yichang-2026 with hubei-province is active/);
  t.match(accepted.out.join('\n'), `registered department ${PROVINCE.operator}`);
  t.ok(JSON.parse(readFileSync(signedFile, 'utf8')).signatures.accepter, 'countersigned');

  const returned = await cli(['federation', 'accept', signedFile], province);
  t.equal(returned.code, 0, returned.err.join('\n'));
  t.match(returned.out.join('\n'), /with yichang-city is active/);

  const listed = await cli(['federation', 'list'], province);
  t.match(
    listed.out.join('\n'),
    /hubei-yichang-2026 {2}active {2}offerer with yichang-city .*offers 101001\/000001,102001\/000001/,
  );

  t.equal(
    (await cli(['federation', 'revoke', '--id', 'hubei-yichang-2026', '--reason', 'ended'], province)).code,
    0,
  );
  t.match((await cli(['federation', 'list'], province)).out.join('\n'), /revoked/);
  const again = await cli(['federation', 'revoke', '--id', 'hubei-yichang-2026', '--reason', 'x'], province);
  t.not(again.code, 0);
  t.match(again.err.join('\n'), /already revoked/);
});
