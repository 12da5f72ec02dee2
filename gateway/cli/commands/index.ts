import type { Command } from '../command.js';
import { auditArchiveCommand, auditSearchCommand, auditVerifyCommand, migrateCommand } from './audit.js';
import { auditVerifyProofCommand } from './audit-proof.js';
import { calendarAddWorkdaysCommand, calendarIsWorkdayCommand } from './calendar.js';
import { catalogExportCommand, catalogImportCommand, errorsCommand } from './catalog.js';
import { apiCommand, callCommand, simulatorCommand } from './data.js';
import { exchangeDecryptCommand, exchangeRetryCommand } from './exchange.js';
import { exchangeOfflineCommand } from './exchange-offline.js';
import { exchangeRunCommand } from './exchange-run.js';
import {
  federationAcceptCommand,
  federationListCommand,
  federationOfferCommand,
  federationReturnCommand,
  federationReturnScheduleCommand,
  federationRevokeCommand,
} from './federation.js';
import {
  certIssueCommand,
  certIssueTlsCommand,
  certListCommand,
  certRevokeCommand,
  deptAddCommand,
  deptListCommand,
  systemAddCommand,
} from './identities.js';
import {
  configCommand,
  initCommand,
  serveCommand,
  signingKeyRotateCommand,
  tokenCommand,
} from './platform.js';
import { statsCommand } from './stats.js';
import { userAddCommand, userLinkOidcCommand, userListCommand, userUnlockCommand } from './users.js';
import { workerCommand } from './worker.js';

/** Every command, in the order `govshare --help` lists them. */
export const commands: Command[] = [
  initCommand,
  migrateCommand,
  serveCommand,
  workerCommand,
  configCommand,
  tokenCommand,
  signingKeyRotateCommand,
  userAddCommand,
  userListCommand,
  userUnlockCommand,
  userLinkOidcCommand,
  deptAddCommand,
  deptListCommand,
  systemAddCommand,
  certIssueCommand,
  certIssueTlsCommand,
  certRevokeCommand,
  certListCommand,
  catalogImportCommand,
  catalogExportCommand,
  simulatorCommand,
  callCommand,
  apiCommand,
  auditVerifyCommand,
  auditVerifyProofCommand,
  auditSearchCommand,
  auditArchiveCommand,
  exchangeRunCommand,
  exchangeDecryptCommand,
  exchangeRetryCommand,
  exchangeOfflineCommand,
  calendarIsWorkdayCommand,
  calendarAddWorkdaysCommand,
  statsCommand,
  federationOfferCommand,
  federationAcceptCommand,
  federationListCommand,
  federationRevokeCommand,
  federationReturnCommand,
  federationReturnScheduleCommand,
  errorsCommand,
];
