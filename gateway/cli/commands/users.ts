/**
 * People's console accounts from the command line: the first accounts of a fresh platform (the security
 * administrator's own among them) are made here; later ones through the console or POST /v1/users.
 */
import { readFileSync } from 'node:fs';
import { loadPlatform } from '../../../certs/platform.js';
import type { RedisClient } from '../../../platform/redis.js';
import { oidcSettings } from '../../app/accounts.js';
import type { GovshareConfig } from '../../app/config.js';
import { AccountStore, randomPassword, totpSealKey } from '../../auth/accounts.js';
import { accountErrors } from '../../auth/errors.js';
import { OidcLinks } from '../../auth/oidc-links.js';
import { ROLES, type Role } from '../../auth/people.js';
import { cliAudit } from '../cli-audit.js';
import { CONFIG_FLAGS, type Command, configFrom, parseFlags, required, UsageError } from '../command.js';
import { withRedis } from './identities.js';

export const userAddCommand: Command = {
  name: 'user add',
  summary: "Create a person's console account, or give an existing person another role (三员分立 enforced)",
  usage:
    'user add --name LOGIN --role bureau|dept-admin|auditor|security-admin [--dept USCC] [--display-name NAME] [--totp] [--password-file FILE]',
  async run(argv, io) {
    const { values } = parseFlags(argv, {
      ...CONFIG_FLAGS,
      name: { type: 'string' },
      'display-name': { type: 'string' },
      role: { type: 'string' },
      dept: { type: 'string' },
      totp: { type: 'boolean' },
      'password-file': { type: 'string' },
    });
    const role = required(values, 'role');
    if (!(ROLES as readonly string[]).includes(role))
      throw new UsageError(`--role must be one of ${ROLES.join(', ')}`);
    const name = required(values, 'name');
    const given = values['password-file'] ? readFileSync(values['password-file'], 'utf8').trim() : undefined;
    const password = given ?? randomPassword();
    const config = configFrom(values, io);
    await withRedis(config, async (redis) => {
      const store = accountStore(config, redis);
      const result = await store.add({
        name,
        displayName: values['display-name'] ?? name,
        role: role as Role,
        ...(values.dept ? { dept: values.dept } : {}),
        password,
        ...(values.totp ? { totp: true } : {}),
      });
      await cliAudit(config, redis, 'user.add', {
        name,
        role,
        ...(values.dept ? { dept: values.dept } : {}),
        created: result.created,
      });
      io.out(
        result.created
          ? `created account ${name} (${role}${values.dept ? ` of ${values.dept}` : ''})`
          : `gave ${name} the role ${role}; it now holds ${result.account.roles.join(', ')}`,
      );
      if (result.created && !given) io.out(`initial password: ${password}`);
      if (result.totpSecret) {
        io.out(`TOTP secret: ${result.totpSecret}`);
        io.out(
          `authenticator URI: ${AccountStore.totpUri(config.GOVSHARE_JWT_ISSUER, name, result.totpSecret)}`,
        );
      }
    });
    return 0;
  },
};

export const userListCommand: Command = {
  name: 'user list',
  summary: "List people's console accounts",
  usage: 'user list',
  async run(argv, io) {
    const { values } = parseFlags(argv, CONFIG_FLAGS);
    const config = configFrom(values, io);
    await withRedis(config, async (redis) => {
      for (const a of await accountStore(config, redis).list()) {
        io.out(
          `${a.name}  ${a.roles.join(',')}${a.dept ? ` ${a.dept}` : ''}  ${a.displayName}${a.totp ? '  totp' : ''}${a.lockedForSeconds ? `  locked ${a.lockedForSeconds}s` : ''}`,
        );
      }
    });
    return 0;
  },
};

export const userUnlockCommand: Command = {
  name: 'user unlock',
  summary: 'Lift the lock of a console account after repeated failed sign-ins',
  usage: 'user unlock --name LOGIN',
  async run(argv, io) {
    const { values } = parseFlags(argv, { ...CONFIG_FLAGS, name: { type: 'string' } });
    const name = required(values, 'name');
    const config = configFrom(values, io);
    await withRedis(config, async (redis) => {
      await accountStore(config, redis).unlock(name);
      await cliAudit(config, redis, 'user.unlock', { name });
      io.out(`unlocked ${name}`);
    });
    return 0;
  },
};

export const userLinkOidcCommand: Command = {
  name: 'user link-oidc',
  summary:
    "Link a person's identity at the unified identity service (OpenID Connect `sub`) to their console account",
  usage: 'user link-oidc --name LOGIN --subject SUB',
  async run(argv, io) {
    const { values } = parseFlags(argv, {
      ...CONFIG_FLAGS,
      name: { type: 'string' },
      subject: { type: 'string' },
    });
    const name = required(values, 'name');
    const subject = required(values, 'subject');
    const config = configFrom(values, io);
    const issuer = config.GOVSHARE_OIDC_ISSUER;
    if (!issuer) {
      throw new UsageError('GOVSHARE_OIDC_ISSUER must be set: identities are linked per identity service');
    }
    await withRedis(config, async (redis) => {
      if (!(await accountStore(config, redis).get(name))) {
        throw new accountErrors.ACCOUNT_UNKNOWN(`no account "${name}"`);
      }
      const links = new OidcLinks(
        redis,
        config.GOVSHARE_REDIS_PREFIX,
        loadPlatform(config.GOVSHARE_DATA_DIR).subjectHmacKey,
      );
      const issuerId = oidcSettings(config).issuer.href;
      const { replaced } = await links.link(name, issuerId, subject);
      await cliAudit(config, redis, 'user.link-oidc', {
        name,
        identity: links.identityHash(issuerId, subject),
        replaced,
      });
      io.out(
        `linked ${name} to its identity at ${issuerId}${replaced ? ' (its previous identity no longer signs in)' : ''}`,
      );
    });
    return 0;
  },
};

/** The account store with the platform's lockout settings (the CLI shows and lifts the same locks). */
function accountStore(config: GovshareConfig, redis: RedisClient): AccountStore {
  return new AccountStore(redis, config.GOVSHARE_REDIS_PREFIX, {
    maxFailures: config.GOVSHARE_LOGIN_MAX_FAILURES,
    lockSeconds: config.GOVSHARE_LOGIN_LOCK_MINUTES * 60,
    sealKey: totpSealKey(loadPlatform(config.GOVSHARE_DATA_DIR).subjectHmacKey),
  });
}
