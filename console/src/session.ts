/** The signed-in person (in memory; the session itself is the HttpOnly cookie). */
import { reactive } from 'vue';
import { api, setCsrfToken } from './api';

export interface Person {
  name: string;
  displayName: string;
  role: 'bureau' | 'dept-admin' | 'auditor' | 'security-admin';
  dept?: string;
}

interface SessionAnswer {
  person: Person;
  csrfToken?: string;
  idleSeconds?: number;
}

export const session = reactive<{ person: Person | undefined; checked: boolean }>({
  person: undefined,
  checked: false,
});

function accept(answer: SessionAnswer): Person {
  setCsrfToken(answer.csrfToken);
  session.person = answer.person;
  return answer.person;
}

export async function signIn(name: string, password: string, totp: string): Promise<Person> {
  return accept(
    await api<SessionAnswer>('POST', '/v1/session', { name, password, ...(totp ? { totp } : {}) }),
  );
}

/** The one-time code after a sign-in at the identity service (OpenID Connect) that did not do MFA. */
export async function finishOidcSignIn(totp: string): Promise<Person> {
  return accept(await api<SessionAnswer>('POST', '/v1/session/oidc/totp', { totp }));
}

/** Whether the platform offers sign-in through the unified identity service. */
export async function oidcEnabled(): Promise<boolean> {
  try {
    return (await api<{ enabled: boolean }>('GET', '/v1/session/oidc')).enabled;
  } catch {
    return false;
  }
}

/** After a reload: the cookie may still be live. */
export async function restore(): Promise<void> {
  try {
    accept(await api<SessionAnswer>('GET', '/v1/session'));
  } catch {
    forget();
  }
  session.checked = true;
}

export async function signOut(): Promise<void> {
  try {
    await api('DELETE', '/v1/session');
  } finally {
    forget();
  }
}

export function forget(): void {
  setCsrfToken(undefined);
  session.person = undefined;
}
