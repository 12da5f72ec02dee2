/**
 * A gateway with the workflow's routes on a real Redis, the workflow itself (queues; workers when a test
 * starts them), the parties and resources of the application tests, and a platform clock moved by hand.
 * The workflow is closed with the app.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import type { Test } from 'tap';
import type { ActorRef } from '../../../catalog/records.js';
import type { Workflow, WorkflowOptions } from '../../../gateway/app/workflow.js';
import type { BuildAppOptions } from '../../../gateway/app.js';
import { buildTestApp } from '../../helpers/app.js';
import { publishResources, registerParties, TestClock } from '../../policies/applications/fixtures.js';

export async function buildWorkflowApp(
  t: Test,
  options: {
    workflow?: WorkflowOptions;
    extraRoutes?: BuildAppOptions['extraRoutes'];
    /** Connect as another Redis user (the test's shared server and key prefix). */
    redisUrl?: string;
    /** GOVSHARE_ settings of the gateway (e.g. working-day limits). */
    env?: Record<string, string>;
  } = {},
) {
  const clock = new TestClock();
  const testApp = await buildTestApp(t, {
    now: clock.now,
    ...(options.redisUrl ? { redisUrl: options.redisUrl } : {}),
    ...(options.env ? { env: options.env } : {}),
    workflow: { log: pino({ level: 'silent' }), ...options.workflow },
    ...(options.extraRoutes ? { extraRoutes: options.extraRoutes } : {}),
  });
  const workflow: Workflow = testApp.app.workflow;
  await registerParties(testApp.context.certs, clock.now());
  await publishResources(testApp.context.catalog);
  /** Bearer headers of a person acting as `actor` (its name is the token's subject). */
  const as = (actor: ActorRef) =>
    testApp.auth({
      sub: actor.name,
      role: actor.role as 'bureau' | 'dept-admin' | 'auditor' | 'security-admin',
      ...(actor.dept ? { dept: actor.dept } : {}),
    });
  return { ...testApp, clock, workflow, as };
}

/** Polls `check` every 10 ms until it returns a value (jobs run on real BullMQ workers). */
export async function eventually<T>(
  check: () => Promise<T | undefined>,
  what: string,
  timeoutMs = 5000,
): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

export interface Received {
  url: string;
  headers: IncomingMessage['headers'];
  body: Buffer;
}

/** A webhook receiver on 127.0.0.1 answering with `statusFor(n)` for the n-th request (1-based). */
export async function startReceiver(t: Test, statusFor: (n: number) => number) {
  const received: Received[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const { port } = server.address() as AddressInfo;
      received.push({
        url: `http://127.0.0.1:${port}${req.url}`,
        headers: req.headers,
        body: Buffer.concat(chunks),
      });
      res.statusCode = statusFor(received.length);
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const { port } = server.address() as AddressInfo;
  return { received, url: (path: string) => `http://127.0.0.1:${port}${path}` };
}
