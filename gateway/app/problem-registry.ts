/**
 * Every stable error code govshare can answer with, gathered from each area's errors.ts. The problem
 * handler trusts only codes listed here (anything else becomes INTERNAL), and docs/errors.md is generated
 * from it and checked by a test, so the code, its status and its documentation cannot drift apart.
 */
import type { FastifyErrorConstructor } from '@fastify/error';
import {
  auditErrorDocs,
  auditErrors,
  transparencyErrorDocs,
  transparencyErrors,
} from '../../audit/errors.js';
import { catalogErrorDocs, catalogErrors } from '../../catalog/errors.js';
import { envelopeErrorDocs, envelopeErrors } from '../../certs/envelope.js';
import { certsErrorDocs, certsErrors } from '../../certs/errors.js';
import { httpsigErrorDocs, httpsigErrors } from '../../certs/httpsig/errors.js';
import { connectorErrorDocs, connectorErrors } from '../../connectors/errors.js';
import { sqlConnectorErrorDocs, sqlConnectorErrors } from '../../connectors/sql/errors.js';
import { exchangeErrorDocs, exchangeErrors } from '../../exchange/errors.js';
import { federationErrorDocs, federationErrors } from '../../federation/errors.js';
import { notificationsErrorDocs, notificationsErrors } from '../../notifications/errors.js';
import { applicationsErrorDocs, applicationsErrors } from '../../policies/applications/errors.js';
import { calendarErrorDocs, calendarErrors } from '../../policies/calendar/errors.js';
import { casesErrorDocs, casesErrors } from '../../policies/cases/errors.js';
import { policiesErrorDocs, policiesErrors } from '../../policies/errors.js';
import { objectionsErrorDocs, objectionsErrors } from '../../policies/objections/errors.js';
import { statsErrorDocs, statsErrors } from '../../policies/stats/errors.js';
import { accountErrorDocs, accountErrors } from '../auth/errors.js';
import { gatewayErrorDocs, gatewayErrors, identityErrorDocs, identityErrors } from './errors.js';

export interface RegisteredProblem {
  code: string;
  status: number;
  area: string;
  doc: string;
}

const AREAS: [string, Record<string, FastifyErrorConstructor>, Record<string, string>][] = [
  ['gateway', gatewayErrors, gatewayErrorDocs],
  ['identity', identityErrors, identityErrorDocs],
  ['signatures', httpsigErrors, httpsigErrorDocs],
  ['certificates', certsErrors, certsErrorDocs],
  ['catalog', catalogErrors, catalogErrorDocs],
  ['policies', policiesErrors, policiesErrorDocs],
  ['applications', applicationsErrors, applicationsErrorDocs],
  ['objections', objectionsErrors, objectionsErrorDocs],
  ['cases', casesErrors, casesErrorDocs],
  ['calendar', calendarErrors, calendarErrorDocs],
  ['notifications', notificationsErrors, notificationsErrorDocs],
  ['statistics', statsErrors, statsErrorDocs],
  ['connectors', connectorErrors, connectorErrorDocs],
  ['exchange', exchangeErrors, exchangeErrorDocs],
  ['envelope', envelopeErrors, envelopeErrorDocs],
  ['sql connector', sqlConnectorErrors, sqlConnectorErrorDocs],
  ['audit', auditErrors, auditErrorDocs],
  ['transparency', transparencyErrors, transparencyErrorDocs],
  ['federation', federationErrors, federationErrorDocs],
  ['accounts and sessions', accountErrors, accountErrorDocs],
];

function collect(): Map<string, RegisteredProblem> {
  const registry = new Map<string, RegisteredProblem>();
  for (const [area, constructors, docs] of AREAS) {
    for (const Constructor of Object.values(constructors)) {
      const sample = new Constructor('');
      const code = sample.code;
      if (registry.has(code)) continue; // re-exported under another name
      registry.set(code, { code, status: sample.statusCode ?? 500, area, doc: docs[code] ?? '' });
    }
  }
  return registry;
}

export const problemRegistry: ReadonlyMap<string, RegisteredProblem> = collect();

/** docs/errors.md, generated: `govshare errors --markdown > docs/errors.md`. */
export function problemsMarkdown(): string {
  const lines = [
    '# Error codes',
    '',
    'Every error is an RFC 9457 problem detail (`application/problem+json`) with `type`, `title`, `status`,',
    '`detail`, a stable `code` and the `requestId`. Codes never change meaning; new ones may be added.',
    'Generated from the code by `govshare errors --markdown`; a test keeps this file in sync.',
  ];
  for (const [area] of AREAS) {
    lines.push('', `## ${area}`, '', '| code | status | meaning |', '|---|---|---|');
    for (const problem of problemRegistry.values()) {
      if (problem.area === area)
        lines.push(`| \`${problem.code}\` | ${problem.status} | ${problem.doc.replaceAll('|', '\\|')} |`);
    }
  }
  return `${lines.join('\n')}\n`;
}
