import { parseCryptoProfile } from '../../../certs/crypto-profile.js';
import { initPlatform, loadPlatform, rotateSigningKey } from '../../../certs/platform.js';
import { configMarkdownTable, printableSetting } from '../../app/config.js';
import { parseTtl, ROLES, type Role } from '../../auth/people.js';
import { issueToken } from '../../auth/tokens.js';
import { startServer } from '../../server.js';
import { CONFIG_FLAGS, type Command, configFrom, parseFlags, required, UsageError } from '../command.js';
import { migrateAuditStore } from './audit.js';

export const initCommand: Command = {
  name: 'init',
  summary: 'Create the platform root CA, signing key and token key, and migrate the audit store (idempotent)',
  usage: 'init [--data-dir DIR] [--crypto intl|gm]',
  async run(argv, io) {
    const { values } = parseFlags(argv, { ...CONFIG_FLAGS, crypto: { type: 'string' } });
    const config = configFrom(values, io);
    const crypto = values.crypto === undefined ? undefined : parseCryptoProfile(values.crypto);
    const result = await initPlatform(config.GOVSHARE_DATA_DIR, crypto ? { crypto } : {});
    if (result.created.length === 0) {
      io.out(
        `Platform already initialised in ${config.GOVSHARE_DATA_DIR}; kept the existing CA (nothing changed).`,
      );
    } else {
      for (const file of result.created) io.out(`created ${file}`);
      for (const file of result.kept) io.out(`kept    ${file}`);
    }
    io.out(`crypto profile ${result.profile}`);
    io.out(`CA serial ${result.caSerial}`);
    io.out(`CA SHA-256 fingerprint ${result.caFingerprint256}`);
    await migrateAuditStore(config, io);
    return 0;
  },
};

export const signingKeyRotateCommand: Command = {
  name: 'signing-key rotate',
  summary:
    'Replace the platform signing key and certificate, keeping the old certificate so earlier checkpoints and proofs still verify',
  usage: 'signing-key rotate [--data-dir DIR]',
  async run(argv, io) {
    const { values } = parseFlags(argv, CONFIG_FLAGS);
    const config = configFrom(values, io);
    const rotated = await rotateSigningKey(config.GOVSHARE_DATA_DIR);
    io.out(`kept    platform/signing-history/${rotated.previous}.pem`);
    io.out(
      `created platform/signing-key.pem, platform/signing-cert.pem (valid until ${rotated.notAfter.toISOString()})`,
    );
    io.out(`signing certificate SHA-256 ${rotated.current}`);
    io.out(
      'Restart every gateway and worker to sign with the new key; copy platform/signing-history/ to each of them.',
    );
    return 0;
  },
};

export const serveCommand: Command = {
  name: 'serve',
  summary: 'Start the gateway (HTTP API on GOVSHARE_HOST:GOVSHARE_PORT)',
  usage:
    'serve [--host H] [--port P] [--data-dir DIR] [--redis-url URL] [--tls-cert PEM --tls-key PEM [--tls-ca PEM --tls-client-auth optional|require]]',
  async run(argv, io) {
    const { values } = parseFlags(argv, {
      ...CONFIG_FLAGS,
      host: { type: 'string' },
      port: { type: 'string' },
      'tls-cert': { type: 'string' },
      'tls-key': { type: 'string' },
      'tls-ca': { type: 'string' },
      'tls-client-auth': { type: 'string' },
    });
    const config = configFrom(values, io, {
      ...(values.host ? { GOVSHARE_HOST: values.host } : {}),
      ...(values.port ? { GOVSHARE_PORT: values.port } : {}),
      ...(values['tls-cert'] ? { GOVSHARE_TLS_CERT: values['tls-cert'] } : {}),
      ...(values['tls-key'] ? { GOVSHARE_TLS_KEY: values['tls-key'] } : {}),
      ...(values['tls-ca'] ? { GOVSHARE_TLS_CA: values['tls-ca'] } : {}),
      ...(values['tls-client-auth'] ? { GOVSHARE_TLS_CLIENT_AUTH: values['tls-client-auth'] } : {}),
    });
    const server = await startServer(config);
    io.out(`govshare listening on ${server.url} (docs: ${server.url}/docs)`);
    return -1;
  },
};

export const configCommand: Command = {
  name: 'config',
  summary: 'Check the GOVSHARE_* configuration, or print its table (--markdown)',
  usage: 'config [--markdown]',
  async run(argv, io) {
    const { values } = parseFlags(argv, { ...CONFIG_FLAGS, markdown: { type: 'boolean' } });
    if (values.markdown) {
      io.out(configMarkdownTable());
      return 0;
    }
    const config = configFrom(values, io);
    for (const [name, value] of Object.entries(config)) io.out(`${name}=${printableSetting(name, value)}`);
    return 0;
  },
};

export const tokenCommand: Command = {
  name: 'token',
  summary: "Print a person's JWT signed with the platform token key (bootstrap users)",
  usage: 'token --sub NAME --role bureau|dept-admin|auditor|security-admin [--dept USCC] [--ttl 8h]',
  async run(argv, io) {
    const { values } = parseFlags(argv, {
      ...CONFIG_FLAGS,
      sub: { type: 'string' },
      role: { type: 'string' },
      dept: { type: 'string' },
      ttl: { type: 'string', default: '8h' },
    });
    const role = required(values, 'role');
    if (!(ROLES as readonly string[]).includes(role))
      throw new UsageError(`--role must be one of ${ROLES.join(', ')}`);
    const config = configFrom(values, io);
    const platform = loadPlatform(config.GOVSHARE_DATA_DIR);
    const person = {
      sub: required(values, 'sub'),
      role: role as Role,
      ...(values.dept ? { dept: values.dept } : {}),
    };
    let ttl: number;
    try {
      ttl = parseTtl(values.ttl ?? '8h');
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
    io.out(
      issueToken(
        {
          issuer: config.GOVSHARE_JWT_ISSUER,
          audience: config.GOVSHARE_JWT_AUDIENCE,
          privateKeyPem: platform.tokenPrivateKeyPem,
        },
        person,
        ttl,
      ),
    );
    return 0;
  },
};
