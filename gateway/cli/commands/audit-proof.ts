/**
 * `govshare audit verify-proof`: checks an inclusion proof (the JSON of GET /v1/audit/{requestId}/proof)
 * offline, with only the platform CA certificate and, for the timestamp, the TSA's CA. No Redis, no
 * configuration: this is what a court, a department or an outside auditor runs.
 */
import { readFile } from 'node:fs/promises';
import { type VerifiedInclusion, verifyInclusionBundle } from '../../../audit/proof.js';
import { type Command, parseFlags, required, UsageError } from '../command.js';

export const auditVerifyProofCommand: Command = {
  name: 'audit verify-proof',
  summary: "Verify an audit record's inclusion proof offline against the platform CA (and the TSA's CA)",
  usage: 'audit verify-proof FILE --ca ca.pem [--tsa-ca tsa-ca.pem]',
  async run(argv, io) {
    const { values, positionals } = parseFlags(argv, {
      ca: { type: 'string' },
      'tsa-ca': { type: 'string' },
    });
    if (positionals.length !== 1) throw new UsageError('give exactly one proof FILE');
    const file = positionals[0]!;
    const caPem = await readText(required(values, 'ca'), '--ca');
    const tsaCaPem = values['tsa-ca'] ? await readText(values['tsa-ca'], '--tsa-ca') : undefined;
    let bundle: unknown;
    try {
      bundle = JSON.parse(await readText(file, 'FILE'));
    } catch (err) {
      if (err instanceof UsageError) throw err;
      throw new UsageError(`${file} is not JSON`);
    }
    let verified: VerifiedInclusion;
    try {
      verified = await verifyInclusionBundle(bundle, { caPem, ...(tsaCaPem ? { tsaCaPem } : {}) });
    } catch (err) {
      const error = err as Error & { code?: string };
      io.out(`FAILED: ${error.code ? `${error.code}: ` : ''}${error.message}`);
      return 3;
    }
    for (const line of describeInclusion(verified)) io.out(line);
    io.out('OK: the record is in the signed audit trail as shown');
    return 0;
  },
};

export function describeInclusion(verified: VerifiedInclusion): string[] {
  const { record, timestamp } = verified;
  const lines = [
    `record: seq ${verified.seq} of instance ${verified.instance}, request ${record.requestId}, ${record.action} ${record.decision} at ${record.time}`,
    `checkpoint: seq ${verified.checkpointSeq}, signed ${verified.signedAt} by ${verified.signer} (chains to the CA)`,
    'inclusion: the audit path leads from the record to the signed tree head',
  ];
  if (timestamp.status === 'verified') {
    lines.push(`timestamp: RFC 3161 token verified, genTime ${timestamp.genTime}, TSA ${timestamp.tsa}`);
  } else if (timestamp.status === 'unchecked') {
    lines.push('timestamp: an RFC 3161 token is present but unchecked (give --tsa-ca)');
  } else {
    lines.push('timestamp: none, the checkpoint is signed only');
  }
  return lines;
}

async function readText(path: string, flag: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    throw new UsageError(`${flag} ${path} cannot be read: ${(err as Error).message}`);
  }
}
