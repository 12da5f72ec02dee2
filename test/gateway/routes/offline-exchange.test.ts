/**
 * Offline (medium) exchange only with approval, [HB-S] 16: the consumer department requests, the provider
 * is told and objects, the bureau refuses or approves (answering the objection), and only a live approval
 * produces a package, once, through the real exchange worker and runner into the offline outbox (masked,
 * encrypted for the consumer system, signed manifest with the use restriction, files 0600). The hand-over
 * and the receipt close it. Every refused production is audited; every step is audited before it is
 * stored and told to both departments.
 */
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import type { AuditRecord } from '../../../audit/record.js';
import { revokeCertificate } from '../../../certs/registry.js';
import { produceOfflinePackage, productionRefusal } from '../../../exchange/offline.js';
import type { OfflineRequest } from '../../../exchange/offline-schema.js';
import { createExchange, createOffline } from '../../../gateway/app/exchange.js';
import { exchangeDecryptCommand } from '../../../gateway/cli/commands/exchange.js';
import { startExchangeWorker } from '../../../gateway/jobs/exchange.js';
import { createRedisClient } from '../../../platform/redis.js';
import { buildTestApp } from '../../helpers/app.js';
import { auditRecordsOf } from '../../helpers/audit.js';
import { cli } from '../../helpers/cli.js';
import { buildWorld, grantPopulation, signedInject } from '../../helpers/world.js';

const tempDir = (t: Test, name: string) => {
  const dir = mkdtempSync(join(tmpdir(), `govshare-offline-${name}-`));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
};

/** A test app with a movable clock, an offline outbox of its own and the population granted in bulk. */
async function setup(t: Test, env: Record<string, string> = {}) {
  let shiftMs = 0;
  const outbox = tempDir(t, 'outbox');
  const gw = await buildTestApp(t, {
    env: { GOVSHARE_OFFLINE_OUTBOX: outbox, ...env },
    now: () => new Date(Date.now() + shiftMs),
  });
  const world = await buildWorld(t, gw.context);
  const grant = await grantPopulation(gw, world, {
    modes: ['api', 'bulk'],
    validTo: new Date(Date.now() + 40 * 86400_000).toISOString(),
  });
  const people = {
    amr: { sub: 'li.na', role: 'dept-admin', dept: world.systems.amr.deptCode },
    psb: { sub: 'wu.gang', role: 'dept-admin', dept: world.systems.psb.deptCode },
    hrss: { sub: 'he.ping', role: 'dept-admin', dept: world.systems.hrss.deptCode },
    bureau: { sub: 'zhao.lei', role: 'bureau' },
    auditor: { sub: 'sun.li', role: 'auditor' },
  } as const;
  const call = (person: keyof typeof people, method: 'GET' | 'POST', url: string, payload?: unknown) =>
    gw.app.inject({
      method,
      url,
      headers: gw.auth(people[person]),
      ...(payload === undefined ? {} : { payload: payload as object }),
    });
  const body = {
    resource: world.codes.population,
    systemId: world.systems.amr.systemId,
    purpose: 'market-supervision',
    format: 'jsonl',
    reason: { kind: 'network-isolation', text: '登记注册系统部署在涉企业务专网，与共享平台物理隔离' },
    medium: 'optical-disc',
    contact: { name: '李娜', phone: '027-85551234' },
  };
  const inbox = async (person: keyof typeof people, type: string) =>
    (await call(person, 'GET', `/v1/inbox?type=${type}`)).json().events as {
      data: Record<string, unknown>;
    }[];
  const records = () => auditRecordsOf(gw.context.redis, gw.context.prefix, gw.context.audit.instance);
  return {
    gw,
    world,
    grant,
    outbox,
    call,
    body,
    inbox,
    records,
    people,
    shift: (ms: number) => {
      shiftMs = ms;
    },
  };
}

t.test(
  'an approved request produces one package through the worker; handed over, then received',
  async (t) => {
    const { gw, world, grant, outbox, call, body, inbox, records } = await setup(t);

    // The request: decided like a bulk export of the grant.
    t.equal(
      (await call('amr', 'POST', '/v1/exchange/offline', { ...body, medium: 'floppy' })).statusCode,
      400,
    );
    const wrongPurpose = await call('amr', 'POST', '/v1/exchange/offline', {
      ...body,
      purpose: 'tax-collection',
    });
    t.equal(wrongPurpose.json().code, 'PURPOSE_MISMATCH', 'the grant decides the purpose');
    const noGrant = await call('hrss', 'POST', '/v1/exchange/offline', {
      ...body,
      systemId: world.systems.hrss.systemId,
    });
    t.equal(noGrant.json().code, 'GRANT_MISSING', 'a department without a grant cannot ask');
    const otherSystem = await call('amr', 'POST', '/v1/exchange/offline', { ...body, systemId: 'nope' });
    t.equal(otherSystem.json().code, 'OFFLINE_REQUEST_INVALID');
    t.equal((await call('bureau', 'POST', '/v1/exchange/offline', body)).json().code, 'ROLE_FORBIDDEN');

    const created = await call('amr', 'POST', '/v1/exchange/offline', body);
    t.equal(created.statusCode, 201, created.body);
    const request = created.json() as OfflineRequest;
    t.match(request, {
      state: 'requested',
      consumer: { deptCode: world.systems.amr.deptCode, certSerial: world.systems.amr.serial },
      providerCode: world.systems.psb.deptCode,
      grantId: grant.id,
      items: ['idNumber', 'name', 'gender'],
      requestedBy: { name: 'li.na' },
    });
    t.match(
      await inbox('psb', 'offline.requested'),
      [{ data: { offlineId: request.id } }],
      'the provider is told',
    );
    t.match(
      await inbox('bureau', 'offline.requested'),
      [{ data: { offlineId: request.id } }],
      'and the bureau',
    );
    t.equal(
      (await call('hrss', 'GET', `/v1/exchange/offline/${request.id}`)).statusCode,
      404,
      'others never see it',
    );
    t.equal(
      (await call('psb', 'GET', '/v1/exchange/offline')).json().requests.length,
      1,
      'the provider lists it',
    );
    t.equal((await call('hrss', 'GET', '/v1/exchange/offline')).json().requests.length, 0);

    // Nothing is produced before an approval: refused, and audited.
    const early = await call('bureau', 'POST', `/v1/exchange/offline/${request.id}/package`);
    t.equal(early.statusCode, 403);
    t.equal(early.json().code, 'OFFLINE_APPROVAL_REQUIRED');
    const exchange = createExchange(gw.context);
    t.teardown(() => exchange.queue.close());
    const offline = createOffline(gw.context, exchange, gw.app.workflow);
    await t.rejects(produceOfflinePackage(offline, request.id), { code: 'OFFLINE_APPROVAL_REQUIRED' });

    // The provider objects; the bureau approves only by answering it.
    const objected = await call('psb', 'POST', `/v1/exchange/offline/${request.id}/objection`, {
      reason: '数据量不大，建议通过共享平台在线交换',
    });
    t.equal(objected.statusCode, 200, objected.body);
    t.equal(
      (await call('amr', 'POST', `/v1/exchange/offline/${request.id}/objection`, { reason: 'x' })).statusCode,
      404,
    );
    const twice = await call('psb', 'POST', `/v1/exchange/offline/${request.id}/objection`, {
      reason: 'again',
    });
    t.equal(twice.json().code, 'OFFLINE_STATE_CONFLICT');
    t.match(await inbox('bureau', 'offline.objected'), [
      { data: { objection: '数据量不大，建议通过共享平台在线交换' } },
    ]);
    const unanswered = await call('bureau', 'POST', `/v1/exchange/offline/${request.id}/decision`, {
      approve: true,
    });
    t.equal(unanswered.json().code, 'OFFLINE_DECISION_INVALID', 'an objection must be answered');
    const noReason = await call('bureau', 'POST', `/v1/exchange/offline/${request.id}/decision`, {
      approve: false,
    });
    t.equal(noReason.json().code, 'OFFLINE_DECISION_INVALID', 'a refusal needs a reason');
    t.equal(
      (await call('psb', 'POST', `/v1/exchange/offline/${request.id}/decision`, { approve: true })).json()
        .code,
      'ROLE_FORBIDDEN',
    );
    const approved = await call('bureau', 'POST', `/v1/exchange/offline/${request.id}/decision`, {
      approve: true,
      answer: '使用部门业务系统处于隔离网络，无法在线获取',
    });
    t.equal(approved.statusCode, 200, approved.body);
    const due = gw.app.workflow.calendar.deadline(new Date(approved.json().decision.at), 10).dueAt;
    t.equal(
      approved.json().approvalExpiresAt,
      due.toISOString(),
      'good until 24:00 CST of the 10th working day',
    );
    t.match(await inbox('amr', 'offline.approved'), [{ data: { offlineId: request.id } }]);
    t.match(await inbox('psb', 'offline.approved'), [{ data: { offlineId: request.id } }]);

    // The package: ordered, produced by the real worker through the runner into the outbox.
    const ordered = await call('bureau', 'POST', `/v1/exchange/offline/${request.id}/package`);
    t.equal(ordered.statusCode, 202, ordered.body);
    t.equal(ordered.json().state, 'producing');
    t.match(
      await inbox('psb', 'offline.ordered'),
      [{ data: { offlineId: request.id } }],
      'both are told of the order',
    );
    t.match(await inbox('amr', 'offline.ordered'), [{ data: { offlineId: request.id } }]);
    const connection = createRedisClient(gw.redisUrl, { maxRetriesPerRequest: null });
    const worker = await startExchangeWorker(exchange.deps, { connection, queue: exchange.queue, offline });
    t.teardown(async () => {
      await worker.close(true);
      await connection.quit();
    });
    let produced: OfflineRequest | undefined;
    for (let i = 0; i < 300 && produced?.state !== 'produced'; i++) {
      await new Promise((r) => setTimeout(r, 100));
      produced = (await call('bureau', 'GET', `/v1/exchange/offline/${request.id}`)).json();
    }
    t.equal(produced?.state, 'produced', 'the worker produced the package');
    const jobId = produced!.production!.jobId;
    t.equal(produced!.package!.rows, 2000);
    const dir = join(outbox, jobId);
    t.equal(statSync(dir).mode & 0o777, 0o700);
    for (const file of produced!.package!.files) {
      t.equal(statSync(join(dir, file.name)).mode & 0o777, 0o600, `${file.name} is 0600`);
      t.equal(statSync(join(dir, file.name)).size, file.bytes);
    }
    const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
    t.match(manifest.manifest, {
      offlineRequest: request.id,
      grantId: grant.id,
      rows: 2000,
      useRestriction: { ownUseOnly: true, onwardDisclosure: 'forbidden' },
      encryption: { recipientSerial: world.systems.amr.serial },
    });
    t.match(await inbox('psb', 'offline.produced'), [{ data: { offlineId: request.id } }]);

    // The consumer opens it offline with its system key: the manifest is genuine, the rows masked.
    const work = tempDir(t, 'open');
    writeFileSync(join(work, 'key.pem'), world.systems.amr.keyPem, { mode: 0o600 });
    writeFileSync(join(work, 'signing.pem'), gw.context.platform.signingCertX509.toString());
    const lines: string[] = [];
    const io = { out: (l: string) => lines.push(l), err: (l: string) => lines.push(l), env: {} };
    const opened = await exchangeDecryptCommand.run(
      [
        ...['--key', join(work, 'key.pem'), '--in', join(dir, 'data.jsonl.gz.enc')],
        ...['--out', join(work, 'rows.jsonl'), '--gunzip', '--manifest', join(dir, 'manifest.json')],
        ...['--platform-cert', join(work, 'signing.pem')],
      ],
      io,
    );
    t.equal(opened, 0, lines.join('\n'));
    const rows = readFileSync(join(work, 'rows.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    t.equal(rows.length, 2000);
    t.same(Object.keys(rows[0]), ['idNumber', 'name', 'gender'], 'the granted items, in catalog order');
    t.ok(
      rows.every((r) => /\*/.test(r.idNumber) && /\*/.test(r.name)),
      'ID numbers and names are masked',
    );

    // One delivery: the approval is used; the job is never downloaded over the network.
    const again = await call('bureau', 'POST', `/v1/exchange/offline/${request.id}/package`);
    t.equal(again.json().code, 'OFFLINE_APPROVAL_REQUIRED', 'the approval was used');
    const online = await signedInject(gw.app, world.systems.amr, {
      method: 'GET',
      path: `/v1/exchange/jobs/${jobId}/file`,
    });
    t.equal(online.json().code, 'EXCHANGE_JOB_OFFLINE', 'an offline package is not downloaded');

    // Hand-over, then receipt (which clears the outbox).
    const early2 = await call('amr', 'POST', `/v1/exchange/offline/${request.id}/receipt`, {});
    t.equal(early2.json().code, 'OFFLINE_STATE_CONFLICT', 'nothing to receive before the hand-over');
    const handed = await call('bureau', 'POST', `/v1/exchange/offline/${request.id}/handover`, {
      mediumSerial: 'DVD-2026-0042',
      handedTo: '李娜',
    });
    t.equal(handed.statusCode, 200, handed.body);
    t.match(handed.json().handover, {
      mediumSerial: 'DVD-2026-0042',
      handedTo: '李娜',
      by: { name: 'zhao.lei' },
    });
    t.match(await inbox('amr', 'offline.handed-over'), [{ data: { mediumSerial: 'DVD-2026-0042' } }]);
    const received = await call('amr', 'POST', `/v1/exchange/offline/${request.id}/receipt`, {
      note: '已解密并核对清单',
    });
    t.equal(received.statusCode, 200, received.body);
    t.equal(received.json().state, 'received');
    t.throws(() => statSync(dir), 'the package left the outbox');
    t.match(await inbox('psb', 'offline.received'), [{ data: { offlineId: request.id } }]);

    // Every step is in the trail, each with its person; the refused productions too.
    const trail = await records();
    const actions = (action: string) => trail.filter((r: AuditRecord) => r.action === action);
    for (const action of [
      'offline.request',
      'offline.object',
      'offline.decide',
      'offline.order',
      'offline.handover',
      'offline.receipt',
    ]) {
      t.ok(
        actions(action).some((r) => r.decision === 'allow' && r.detail?.offlineId === request.id),
        action,
      );
    }
    const produceRecords = actions('offline.produce');
    t.same(
      produceRecords.map((r) => [r.decision, r.reasonCode ?? '', r.actor.person ?? r.actor.systemId]),
      [
        ['deny', 'OFFLINE_APPROVAL_REQUIRED', 'zhao.lei'],
        ['deny', 'OFFLINE_APPROVAL_REQUIRED', world.systems.amr.systemId],
        ['allow', '', world.systems.amr.systemId],
        ['deny', 'OFFLINE_APPROVAL_REQUIRED', 'zhao.lei'],
      ],
      'refused before the approval (route and worker), produced once, refused after',
    );
  },
);

t.test(
  'refusals, withdrawals and expired approvals never produce; a step whose record fails is not made',
  async (t) => {
    const { gw, call, body, inbox, shift, people } = await setup(t, {
      GOVSHARE_OFFLINE_APPROVAL_WORKDAYS: '1',
    });
    const ask = async () =>
      (await call('amr', 'POST', '/v1/exchange/offline', body)).json() as OfflineRequest;

    const refusedOne = await ask();
    const refused = await call('bureau', 'POST', `/v1/exchange/offline/${refusedOne.id}/decision`, {
      approve: false,
      reason: '数据量较小，应通过共享平台在线交换',
    });
    t.equal(refused.json().state, 'refused');
    t.match(await inbox('amr', 'offline.refused'), [
      { data: { reason: '数据量较小，应通过共享平台在线交换' } },
    ]);
    t.equal(
      (await call('bureau', 'POST', `/v1/exchange/offline/${refusedOne.id}/package`)).json().code,
      'OFFLINE_APPROVAL_REQUIRED',
    );

    // The same through the CLI: a request by the consumer, a refusal by the bureau, each read back.
    const origin = await gw.app.listen({ host: '127.0.0.1', port: 0 });
    const as = (person: 'amr' | 'bureau') => ['--gateway', origin, '--token', gw.token(people[person])];
    const asked = await cli(
      [
        ...['exchange', 'offline', 'request', '--resource', body.resource, '--system', body.systemId],
        ...[
          '--purpose',
          body.purpose,
          '--format',
          'csv',
          '--reason-kind',
          'volume',
          '--reason',
          '全量数据约两千万行',
        ],
        ...['--medium', 'portable-disk', '--contact-name', '李娜', '--contact-phone', '027-85551234'],
        ...as('amr'),
      ],
      {},
    );
    t.equal(asked.code, 0, asked.err.join('\n'));
    const [cliId, cliState] = asked.out[0]!.split(/\s+/);
    t.equal(cliState, 'requested');
    const noReasonCli = await cli(['exchange', 'offline', 'refuse', cliId!, ...as('bureau')], {});
    t.equal(noReasonCli.code, 2, 'a refusal without --reason is a usage error');
    const refusedCli = await cli(
      ['exchange', 'offline', 'refuse', cliId!, '--reason', '应在线交换', ...as('bureau')],
      {},
    );
    t.equal(refusedCli.code, 0, refusedCli.err.join('\n'));
    t.match(refusedCli.out[0], new RegExp(`^${cliId}\\s+refused`));
    const producedCli = await cli(['exchange', 'offline', 'produce', cliId!, ...as('bureau')], {});
    t.equal(producedCli.code, 1);
    t.match(producedCli.err.join('\n'), /HTTP 403\): OFFLINE_APPROVAL_REQUIRED/);
    const listed = await cli(['exchange', 'offline', 'list', '--state', 'refused', ...as('amr')], {});
    t.equal(listed.out.length, 2, 'both refused requests of the department');

    const withdrawnOne = await ask();
    t.equal(
      (await call('psb', 'POST', `/v1/exchange/offline/${withdrawnOne.id}/withdrawal`)).statusCode,
      404,
    );
    t.equal(
      (await call('amr', 'POST', `/v1/exchange/offline/${withdrawnOne.id}/withdrawal`)).json().state,
      'withdrawn',
    );
    t.equal(
      (
        await call('bureau', 'POST', `/v1/exchange/offline/${withdrawnOne.id}/decision`, { approve: true })
      ).json().code,
      'OFFLINE_STATE_CONFLICT',
    );

    // A record that cannot be written: nothing is decided, nobody told.
    const pending = await ask();
    const writer = gw.context.audit;
    const append = writer.append.bind(writer);
    writer.append = ((record: AuditRecord, ...rest: unknown[]) =>
      record.action === 'offline.decide'
        ? Promise.reject(new Error('Redis went away'))
        : (append as (r: AuditRecord, ...x: unknown[]) => ReturnType<typeof append>)(
            record,
            ...rest,
          )) as typeof append;
    const failed = await call('bureau', 'POST', `/v1/exchange/offline/${pending.id}/decision`, {
      approve: true,
    });
    writer.append = append;
    t.equal(failed.statusCode, 503);
    t.equal((await call('bureau', 'GET', `/v1/exchange/offline/${pending.id}`)).json().state, 'requested');
    t.same(
      (await inbox('amr', 'offline.approved')).filter((e) => e.data.offlineId === pending.id),
      [],
      'not approved, not announced',
    );

    // An approval is good until the end of its last working day, then expired.
    const approved = await call('bureau', 'POST', `/v1/exchange/offline/${pending.id}/decision`, {
      approve: true,
    });
    t.equal(approved.json().state, 'approved');
    const expiresAt = Date.parse(approved.json().approvalExpiresAt);
    t.equal(productionRefusal(approved.json(), expiresAt - 1), undefined, 'live until then');
    t.match(productionRefusal(approved.json(), expiresAt), /expired/);
    shift(expiresAt - Date.now() + 60_000);
    t.equal((await call('amr', 'GET', `/v1/exchange/offline/${pending.id}`)).json().state, 'expired');
    const late = await call('bureau', 'POST', `/v1/exchange/offline/${pending.id}/package`);
    t.equal(late.statusCode, 403);
    t.match(late.json(), { code: 'OFFLINE_APPROVAL_REQUIRED', detail: /expired/ });
  },
);

t.test(
  'the terms are decided again when the package is made: a certificate revoked after the order fails it',
  async (t) => {
    const { gw, world, call, body, inbox, records } = await setup(t);
    const request = (await call('amr', 'POST', '/v1/exchange/offline', body)).json() as OfflineRequest;
    t.equal(
      (await call('bureau', 'POST', `/v1/exchange/offline/${request.id}/decision`, { approve: true })).json()
        .state,
      'approved',
    );
    t.equal((await call('bureau', 'POST', `/v1/exchange/offline/${request.id}/package`)).statusCode, 202);
    await revokeCertificate(gw.context.certs, world.systems.amr.serial, 'keyCompromise', new Date());

    const exchange = createExchange(gw.context);
    t.teardown(() => exchange.queue.close());
    const offline = createOffline(gw.context, exchange, gw.app.workflow);
    const connection = createRedisClient(gw.redisUrl, { maxRetriesPerRequest: null });
    const worker = await startExchangeWorker(exchange.deps, { connection, queue: exchange.queue, offline });
    t.teardown(async () => {
      await worker.close(true);
      await connection.quit();
    });
    let seen: OfflineRequest | undefined;
    for (let i = 0; i < 300 && seen?.state !== 'failed'; i++) {
      await new Promise((r) => setTimeout(r, 100));
      seen = (await call('amr', 'GET', `/v1/exchange/offline/${request.id}`)).json();
    }
    t.match(seen, { state: 'failed', error: { code: 'EXCHANGE_CERT_UNUSABLE' } }, 'nothing is produced');
    t.notOk(seen?.package);
    t.match(await inbox('amr', 'offline.failed'), [{ data: { offlineId: request.id } }]);
    t.match(await inbox('psb', 'offline.failed'), [{ data: { offlineId: request.id } }]);
    t.ok(
      (await records()).some(
        (r) =>
          r.action === 'exchange.submit' &&
          r.decision === 'deny' &&
          r.reasonCode === 'EXCHANGE_CERT_UNUSABLE',
      ),
      'the refused export is in the trail',
    );
    t.equal(
      (await call('bureau', 'POST', `/v1/exchange/offline/${request.id}/package`)).json().code,
      'OFFLINE_APPROVAL_REQUIRED',
      'a failed request produces nothing more',
    );
  },
);
