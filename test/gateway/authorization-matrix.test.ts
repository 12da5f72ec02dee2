/**
 * The authorization matrix: every route × every kind of caller (anonymous, each role, dept-admins of two
 * departments, signed systems of two departments). The expected answer is derived from the route's
 * declared access, so a route added later is covered without editing this test. Department isolation
 * within an allowed role (A never reads B's grants, applications, jobs, webhooks) is asserted by the
 * route tests of each area.
 */
import t from 'tap';
import { buildTestApp } from '../helpers/app.js';
import { buildWorld, signedHeaders } from '../helpers/world.js';

/** The problem code of an answer, or '' for a success body that is not a problem (e.g. JSON Lines). */
function codeOf(res: { json(): unknown }): string {
  try {
    return String((res.json() as { code?: unknown }).code ?? '');
  } catch {
    return '';
  }
}

t.test('every route refuses callers its declared access does not name', async (t) => {
  const { app, context, auth } = await buildTestApp(t);
  const world = await buildWorld(t, context);
  const people = {
    bureau: { sub: 'b', role: 'bureau' },
    'dept-admin of A': { sub: 'a', role: 'dept-admin', dept: world.systems.amr.deptCode },
    'dept-admin of B': { sub: 'p', role: 'dept-admin', dept: world.systems.psb.deptCode },
    auditor: { sub: 'au', role: 'auditor' },
    'security-admin': { sub: 's', role: 'security-admin' },
  } as const;
  const fill = (url: string) =>
    url
      .replace(':code', encodeURIComponent(world.codes.population))
      .replace(':serial', world.systems.amr.serial)
      .replace(':version', '1')
      .replace(/:[a-zA-Z]+/g, 'x0000000000000000000000000000000');
  let checked = 0;
  for (const route of app.routeAccess) {
    if (!route.url.startsWith('/v1/')) continue;
    const url = fill(route.url);
    const method = route.method as 'GET';
    const send = (headers: Record<string, string>) =>
      app.inject({
        method,
        url,
        headers,
        ...(method === 'GET' || method === 'DELETE' ? {} : { payload: {} }),
      });
    const label = `${route.method} ${route.url}`;

    const anonymous = await send({});
    if (route.access === 'public') {
      t.ok(anonymous.statusCode !== 401 && anonymous.statusCode !== 403, `${label}: public`);
      checked++;
      continue;
    }
    t.equal(anonymous.statusCode, 401, `${label}: anonymous is refused`);
    for (const [name, person] of Object.entries(people)) {
      const res = await send(auth(person));
      if (route.access === 'system') {
        t.equal(codeOf(res), 'SIG_MISSING', `${label}: ${name} with a token but no signature is refused`);
      } else if ((route.access as readonly string[]).includes(person.role)) {
        t.not(codeOf(res), 'ROLE_FORBIDDEN', `${label}: ${name} passes the role check`);
        t.not(res.statusCode, 401, `${label}: ${name} is authenticated`);
      } else {
        t.equal(codeOf(res), 'ROLE_FORBIDDEN', `${label}: ${name} is refused (${res.statusCode})`);
      }
      checked++;
    }
    for (const [name, system] of [
      ['system of A', world.systems.amr],
      ['system of B', world.systems.psb],
    ] as const) {
      const headers = signedHeaders(system, {
        method: method as 'GET',
        path: url,
        ...(method === 'GET' || method === 'DELETE' ? {} : { body: {} }),
      });
      const res = await app.inject({
        method,
        url,
        headers,
        ...(method === 'GET' || method === 'DELETE' ? {} : { payload: '{}' }),
      });
      if (route.access === 'system' && url.startsWith('/v1/federation/'))
        t.equal(res.statusCode, 401, `${label}: a signed ${name} is not a peer platform (${codeOf(res)})`);
      else if (route.access === 'system')
        t.not(
          res.statusCode,
          401,
          `${label}: a signed ${name} is identified (${codeOf(res) ?? res.statusCode})`,
        );
      else t.equal(codeOf(res), 'AUTH_TOKEN_MISSING', `${label}: a signed ${name} is not a person`);
      checked++;
    }
  }
  t.ok(checked > 300, `${checked} route × caller pairs checked`);
});
