/** The console's account and session stores, built from the configuration. */
import { AccountStore, totpSealKey } from '../auth/accounts.js';
import { SessionStore } from '../auth/sessions.js';
import type { GatewayContext } from './context.js';

export interface Accounts {
  accounts: AccountStore;
  sessions: SessionStore;
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
  };
}
