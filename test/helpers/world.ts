/**
 * A small platform for data-path tests: the demo's three departments with a system and a certificate
 * each, the demo catalog mounted on a real front-end processor simulator, and a helper that makes signed
 * calls through `app.inject`.
 */
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { signRequest } from '../../certs/httpsig/index.js';
import * as registry from '../../certs/registry.js';
import { type Simulator, startSimulator } from '../../connectors/simulator/server.js';
import type { GatewayContext } from '../../gateway/app/context.js';
import { DEMO_CODES, DEMO_DEPARTMENTS, demoCatalog } from '../../scripts/lib/demo-catalog.js';
import type { TestApp } from './app.js';
import type { Scope } from './scope.js';

export interface SystemIdentity {
  deptCode: string;
  systemId: string;
  serial: string;
  keyPem: string;
  certPem: string;
}

export interface World {
  simulatorUrl: string;
  /** The provider's front-end processor simulator (setFault makes it misbehave). */
  simulator: Simulator;
  systems: { psb: SystemIdentity; amr: SystemIdentity; hrss: SystemIdentity };
  codes: typeof DEMO_CODES;
}

const platformActor = { role: 'system', name: 'test setup' } as const;

export async function buildWorld(t: Scope, context: GatewayContext): Promise<World> {
  const simulator = await startSimulator({
    datasets: { residents: 2000, enterprises: 500, socialInsurance: 2000 },
  });
  t.teardown(() => simulator.close());
  const now = new Date();
  const issued: Record<string, SystemIdentity> = {};
  for (const [name, dept] of Object.entries(DEMO_DEPARTMENTS)) {
    await registry.addDepartment(context.certs, { code: dept.code, name: dept.name }, now);
    await registry.addSystem(
      context.certs,
      { deptCode: dept.code, systemId: dept.system, name: dept.systemName },
      now,
    );
    const bundle = await registry.issueCertificate(
      context.platform,
      context.certs,
      { deptCode: dept.code, systemId: dept.system },
      now,
    );
    issued[name] = {
      deptCode: dept.code,
      systemId: dept.system,
      serial: bundle.serial,
      keyPem: bundle.keyPem!,
      certPem: bundle.certPem,
    };
  }
  for (const entry of demoCatalog(simulator.url)) await context.catalog.importEntry(platformActor, entry);
  return {
    simulatorUrl: simulator.url,
    simulator,
    systems: { psb: issued.publicSecurity!, amr: issued.marketRegulation!, hrss: issued.humanResources! },
    codes: DEMO_CODES,
  };
}

export interface SignedCall {
  method: 'GET' | 'POST' | 'HEAD';
  path: string;
  body?: unknown;
  purpose?: string;
  /** The acting official (x-user-id); `test.official` when omitted, none when ''. */
  userId?: string;
  headers?: Record<string, string>;
  /** Override signing inputs (created, nonce, components, alg, keyId) to build broken requests. */
  sign?: Partial<Parameters<typeof signRequest>[0]>;
}

/** The URL a client signs when it talks to `app.inject` (which sends Host: localhost:80). */
export const INJECT_ORIGIN = 'http://localhost:80';

export function signedHeaders(system: SystemIdentity, call: SignedCall): Record<string, string> {
  const body = call.body === undefined ? undefined : JSON.stringify(call.body);
  const headers: Record<string, string> = {
    ...(call.purpose === undefined
      ? { 'x-purpose': 'market-supervision' }
      : call.purpose
        ? { 'x-purpose': call.purpose }
        : {}),
    ...(call.userId === undefined
      ? { 'x-user-id': 'test.official' }
      : call.userId
        ? { 'x-user-id': call.userId }
        : {}),
    ...(body ? { 'content-type': 'application/json' } : {}),
    ...call.headers,
  };
  const signature = signRequest({
    method: call.method,
    url: `${INJECT_ORIGIN}${call.path}`,
    headers,
    ...(body ? { body } : {}),
    keyId: system.serial,
    privateKey: system.keyPem,
    ...call.sign,
  });
  return { ...headers, ...signature };
}

export function signedInject(
  app: FastifyInstance,
  system: SystemIdentity,
  call: SignedCall,
): Promise<LightMyRequestResponse> {
  return app.inject({
    method: call.method,
    url: call.path,
    headers: signedHeaders(system, call),
    ...(call.body === undefined ? {} : { payload: JSON.stringify(call.body) }),
  });
}

export const enc = (code: string) => encodeURIComponent(code);

/**
 * The bureau grants the market regulator's `registration` system the population resource over the API,
 * for market supervision, valid for a day; `terms` override or add to that (items, quota, modes...).
 * Throws unless it is granted.
 */
export async function grantPopulation(
  target: Pick<TestApp, 'app' | 'auth'>,
  world: World,
  terms: Record<string, unknown> = {},
): Promise<{ id: string } & Record<string, unknown>> {
  const res = await target.app.inject({
    method: 'POST',
    url: '/v1/grants',
    headers: target.auth({ sub: 'bureau-1', role: 'bureau' }),
    payload: {
      deptCode: world.systems.amr.deptCode,
      systemId: world.systems.amr.systemId,
      resourceCode: world.codes.population,
      items: ['idNumber', 'name', 'gender'],
      purposes: ['market-supervision'],
      modes: ['api'],
      validTo: new Date(Date.now() + 86400_000).toISOString(),
      basis: '《政务信息资源共享管理办法》第二十一条',
      ...terms,
    },
  });
  if (res.statusCode !== 201) throw new Error(`the grant was refused: ${res.body}`);
  return res.json();
}
