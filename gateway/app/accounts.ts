/** The console's account and session stores, built from the configuration. */
import { AccountStore, totpSealKey } from '../auth/accounts.js';
import { OidcSignIn } from '../auth/oidc.js';
import { OidcLinks } from '../auth/oidc-links.js';
import { SessionStore } from '../auth/sessions.js';
import type { GovshareConfig } from './config.js';
import type { GatewayContext } from './context.js';

export interface Accounts {
  accounts: AccountStore;
  sessions: SessionStore;
  /** Links of OpenID Connect identities to accounts (kept whether or not sign-in through OIDC is on). */
  oidcLinks: OidcLinks;
  /** Sign-in through the identity service; undefined when GOVSHARE_OIDC_ISSUER is empty. */
  oidc: OidcSignIn | undefined;
}

export function createAccounts(context: GatewayContext): Accounts {
  const { config, redis, prefix, now, platform } = context;
  return {
    accounts: new AccountStore(redis, prefix, {
      maxFailures: config.GOVSHARE_LOGIN_MAX_FAILURES,
      lockSeconds: config.GOVSHARE_LOGIN_LOCK_MINUTES * 60,
      sealKey: totpSealKey(platform.subjectHmacKey),
      now,
    }),
    sessions: new SessionStore(redis, prefix, {
      idleSeconds: config.GOVSHARE_SESSION_IDLE_MINUTES * 60,
      maxSeconds: config.GOVSHARE_SESSION_MAX_HOURS * 3600,
      now,
    }),
    oidcLinks: new OidcLinks(redis, prefix, platform.subjectHmacKey, now),
    oidc: config.GOVSHARE_OIDC_ISSUER ? new OidcSignIn(redis, prefix, oidcSettings(config)) : undefined,
  };
}

/** The identity service's settings (validated by loadConfig: all or nothing). */
export function oidcSettings(config: GovshareConfig) {
  return {
    issuer: new URL(config.GOVSHARE_OIDC_ISSUER),
    clientId: config.GOVSHARE_OIDC_CLIENT_ID,
    clientSecret: config.GOVSHARE_OIDC_CLIENT_SECRET,
    redirectUrl: new URL(config.GOVSHARE_OIDC_REDIRECT_URL),
  };
}
