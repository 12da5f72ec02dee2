/**
 * `govshare exchange offline ACTION`: offline (medium) exchange with approval ([HB-S] 16) through the API,
 * as a person (a dept-admin or the bureau, by their token): request, list, show, object, approve, refuse,
 * withdraw, produce, handover, receive. Each action is one call of /v1/exchange/offline…; a refusal prints
 * its problem code and exits 1.
 */
import { request } from 'undici';
import type { OfflineRequest } from '../../../exchange/offline-schema.js';
import { type Command, parseFlags, required, UsageError } from '../command.js';

const ACTIONS = [
  'request',
  'list',
  'show',
  'object',
  'approve',
  'refuse',
  'withdraw',
  'produce',
  'handover',
  'receive',
] as const;
type Action = (typeof ACTIONS)[number];

/** One line per request: what a person needs to take the next step. */
export function offlineLine(r: OfflineRequest): string {
  return [
    r.id,
    r.state,
    r.resource,
    `${r.consumer.deptCode}/${r.consumer.systemId}`,
    `medium=${r.medium}`,
    ...(r.approvalExpiresAt && r.state === 'approved' ? [`approval-until=${r.approvalExpiresAt}`] : []),
    ...(r.package ? [`package=${r.package.directory} rows=${r.package.rows}`] : []),
    ...(r.handover ? [`medium-serial=${r.handover.mediumSerial}`] : []),
  ].join('  ');
}

export const exchangeOfflineCommand: Command = {
  name: 'exchange offline',
  summary:
    'Offline (medium) exchange with approval ([HB-S] 16): request, decide, produce, hand over, receive',
  usage:
    'exchange offline request --resource CODE --system ID --purpose P --format jsonl|csv --reason-kind volume|network-isolation|no-network-link|other --reason TEXT --medium optical-disc|usb-drive|portable-disk|tape --contact-name NAME --contact-phone PHONE [--items a,b] --gateway URL --token JWT\n' +
    '       govshare exchange offline list|show ID|object ID --reason TEXT|approve ID [--answer TEXT]|refuse ID --reason TEXT|withdraw ID|produce ID|handover ID --medium-serial S --handed-to NAME|receive ID [--note TEXT] --gateway URL --token JWT',
  async run(argv, io) {
    const { values, positionals } = parseFlags(argv, {
      gateway: { type: 'string' },
      token: { type: 'string' },
      resource: { type: 'string' },
      system: { type: 'string' },
      purpose: { type: 'string' },
      format: { type: 'string' },
      items: { type: 'string' },
      'reason-kind': { type: 'string' },
      reason: { type: 'string' },
      answer: { type: 'string' },
      medium: { type: 'string' },
      'contact-name': { type: 'string' },
      'contact-phone': { type: 'string' },
      'medium-serial': { type: 'string' },
      'handed-to': { type: 'string' },
      note: { type: 'string' },
      state: { type: 'string' },
    });
    const [action, id] = positionals as [Action | undefined, string | undefined];
    if (!action || !ACTIONS.includes(action)) throw new UsageError(`ACTION is one of ${ACTIONS.join(', ')}`);
    const needsId = !['request', 'list'].includes(action);
    if (needsId && !id) throw new UsageError(`exchange offline ${action} needs the request ID`);
    const base = `${required(values, 'gateway').replace(/\/+$/, '')}/v1/exchange/offline`;
    const one = `${base}/${encodeURIComponent(id ?? '')}`;
    const call = async (method: 'GET' | 'POST', url: string, body?: unknown) => {
      const response = await request(url, {
        method,
        headers: {
          authorization: `Bearer ${required(values, 'token')}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const answer = (await response.body.json().catch(() => ({}))) as Record<string, unknown>;
      return { status: response.statusCode, answer };
    };
    const text = (name: string) => required(values, name);
    const plan: Record<Action, () => ['GET' | 'POST', string, unknown?]> = {
      request: () => [
        'POST',
        base,
        {
          resource: text('resource'),
          systemId: text('system'),
          purpose: text('purpose'),
          format: text('format'),
          ...(values.items ? { items: String(values.items).split(',') } : {}),
          reason: { kind: text('reason-kind'), text: text('reason') },
          medium: text('medium'),
          contact: { name: text('contact-name'), phone: text('contact-phone') },
        },
      ],
      list: () => ['GET', values.state ? `${base}?state=${encodeURIComponent(String(values.state))}` : base],
      show: () => ['GET', one],
      object: () => ['POST', `${one}/objection`, { reason: text('reason') }],
      approve: () => [
        'POST',
        `${one}/decision`,
        { approve: true, ...(values.answer ? { answer: values.answer } : {}) },
      ],
      refuse: () => ['POST', `${one}/decision`, { approve: false, reason: text('reason') }],
      withdraw: () => ['POST', `${one}/withdrawal`],
      produce: () => ['POST', `${one}/package`],
      handover: () => [
        'POST',
        `${one}/handover`,
        { mediumSerial: text('medium-serial'), handedTo: text('handed-to') },
      ],
      receive: () => ['POST', `${one}/receipt`, values.note ? { note: values.note } : {}],
    };
    const [method, url, body] = plan[action]();
    const { status, answer } = await call(method, url, body);
    if (status >= 300) {
      io.err(`refused (HTTP ${status}): ${answer.code ?? ''} ${answer.detail ?? ''}`.trim());
      return 1;
    }
    const list = action === 'list' ? (answer.requests as OfflineRequest[]) : [answer as OfflineRequest];
    for (const r of list) io.out(offlineLine(r));
    if (list.length === 0) io.out('no offline requests');
    return 0;
  },
};
