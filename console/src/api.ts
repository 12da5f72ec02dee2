/**
 * The console's only way to the server: the public /v1 API, with the session cookie (sent by the
 * browser, HttpOnly) and the session's CSRF token on every change. The token is kept in memory only.
 */
export interface Problem {
  code: string;
  status: number;
  title?: string;
  detail: string;
  requestId?: string;
  retryAfterSeconds?: number;
  errors?: { field: string; message: string }[];
}

export class ApiError extends Error {
  constructor(readonly problem: Problem) {
    super(problem.detail);
  }
}

let csrfToken: string | undefined;
let onSessionLost: (() => void) | undefined;

export function setCsrfToken(token: string | undefined): void {
  csrfToken = token;
}

export function whenSessionLost(listener: () => void): void {
  onSessionLost = listener;
}

const CHANGING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (CHANGING.has(method) && csrfToken) headers['x-csrf-token'] = csrfToken;
  let response: Response;
  try {
    response = await fetch(path, {
      method,
      headers,
      credentials: 'same-origin',
      cache: 'no-store',
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
  } catch {
    throw new ApiError({ code: 'NETWORK', status: 0, detail: 'network error' });
  }
  if (response.status === 204) return undefined as T;
  const text = await response.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  if (!response.ok) {
    const problem = (json as Problem | undefined) ?? {
      code: 'HTTP_ERROR',
      status: response.status,
      detail: text.slice(0, 200),
    };
    if (problem.code === 'SESSION_INVALID' || problem.code === 'AUTH_TOKEN_MISSING') onSessionLost?.();
    throw new ApiError(problem);
  }
  return json as T;
}

/** Saves a JSON answer (or a text such as a PEM) as a file, without it entering storage or a URL of its own. */
export function download(filename: string, data: unknown): void {
  const text = typeof data === 'string' ? data : `${JSON.stringify(data, null, 2)}\n`;
  const blob = new Blob([text], {
    type: typeof data === 'string' ? 'application/x-pem-file' : 'application/json',
  });
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
