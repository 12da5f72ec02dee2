/**
 * `govshare exchange decrypt`: opens a downloaded bulk file with the consumer system's private key. With
 * --manifest it first checks the file against the manifest (size and SHA-256) and, given the platform
 * signing certificate, the manifest's signature. Works offline: no Redis, no configuration.
 * `govshare exchange retry`: a person retries a failed job through the API (as the console's button does).
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { request } from 'undici';
import { decryptFile } from '../../../certs/envelope.js';
import { verifyManifest } from '../../../exchange/manifest.js';
import type { Manifest } from '../../../exchange/schema.js';
import { type Command, parseFlags, required, UsageError } from '../command.js';

export const exchangeDecryptCommand: Command = {
  name: 'exchange decrypt',
  summary: 'Decrypt a bulk exchange file with your system key (checks it against its manifest)',
  usage:
    'exchange decrypt --key key.pem --in data.jsonl.gz.enc --out data.jsonl.gz [--gunzip] [--manifest manifest.json [--platform-cert signing-cert.pem]]',
  async run(argv, io) {
    const { values } = parseFlags(argv, {
      key: { type: 'string' },
      in: { type: 'string' },
      out: { type: 'string' },
      manifest: { type: 'string' },
      'platform-cert': { type: 'string' },
      gunzip: { type: 'boolean' },
    });
    const keyPath = required(values, 'key');
    const inPath = required(values, 'in');
    const outPath = required(values, 'out');
    if (values['platform-cert'] && !values.manifest) throw new UsageError('--platform-cert needs --manifest');
    let manifest: Manifest | undefined;
    if (typeof values.manifest === 'string') {
      manifest = await checkAgainstManifest(inPath, values.manifest, values['platform-cert'], io.err);
    }
    const result = await decryptFile({ privateKey: await readFile(keyPath, 'utf8') }, inPath, outPath, {
      gunzip: values.gunzip === true,
    });
    io.out(
      `decrypted ${inPath} → ${outPath} (${result.bytes} bytes${values.gunzip ? ', gunzipped' : ', gzip'})`,
    );
    if (manifest)
      io.out(`${manifest.rows} rows of ${manifest.resource} (${manifest.format}), job ${manifest.jobId}`);
    return 0;
  },
};

async function checkAgainstManifest(
  inPath: string,
  manifestPath: string,
  platformCertPath: string | undefined,
  warn: (line: string) => void,
): Promise<Manifest> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(manifestPath, 'utf8'));
  } catch {
    throw new UsageError(`--manifest ${manifestPath} is not a JSON file`);
  }
  // Accept the signed manifest itself or the job record that carries it (GET /v1/exchange/jobs/{id}).
  const signed = (parsed as { manifest?: { signature?: unknown } }).manifest?.signature
    ? (parsed as { manifest: unknown }).manifest
    : parsed;
  const manifest = (signed as { manifest?: Manifest }).manifest;
  if (!manifest?.file && !manifest?.parts)
    throw new UsageError(`--manifest ${manifestPath} holds no exchange manifest`);
  if (platformCertPath) {
    const check = verifyManifest(signed, await readFile(platformCertPath, 'utf8'));
    if (!check.ok) throw new Error(`the manifest is not genuine: ${check.reason}`);
  } else {
    warn(
      'warning: the manifest signature was not checked (pass --platform-cert with the platform signing certificate)',
    );
  }
  const size = (await stat(inPath)).size;
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(inPath)) hash.update(chunk as Buffer);
  const sha256 = hash.digest('hex');
  if (manifest.parts) {
    // A job in parts: the file given must be one of them (each part decrypts on its own).
    const part = manifest.parts.find((p) => p.bytes === size && p.sha256 === sha256);
    if (!part) {
      throw new Error(
        `${inPath} is none of the ${manifest.parts.length} parts of the manifest (${size} bytes, SHA-256 ${sha256}): download it again`,
      );
    }
    warn(
      `${inPath} is part ${part.index} of ${manifest.parts.length}: the parts decrypted in order make the file`,
    );
    return manifest;
  }
  const file = manifest.file!;
  if (size !== file.bytes || sha256 !== file.sha256) {
    throw new Error(
      `${inPath} is not the file of the manifest (${size} bytes, SHA-256 ${sha256}; expected ${file.bytes} bytes, ${file.sha256}): download it again`,
    );
  }
  return manifest;
}

export const exchangeRetryCommand: Command = {
  name: 'exchange retry',
  summary:
    "Retry a failed bulk exchange job as a person (its consumer department's administrator or the bureau)",
  usage: 'exchange retry JOB_ID --gateway URL --token JWT',
  async run(argv, io) {
    const { values, positionals } = parseFlags(argv, {
      gateway: { type: 'string' },
      token: { type: 'string' },
    });
    const [jobId] = positionals;
    if (!jobId) throw new UsageError('JOB_ID is required');
    const base = required(values, 'gateway').replace(/\/+$/, '');
    const response = await request(`${base}/v1/exchange/department-jobs/${encodeURIComponent(jobId)}/retry`, {
      method: 'POST',
      headers: { authorization: `Bearer ${required(values, 'token')}` },
    });
    const answer = (await response.body.json().catch(() => ({}))) as {
      id?: string;
      state?: string;
      code?: string;
      detail?: string;
    };
    if (response.statusCode !== 202) {
      io.err(`refused (HTTP ${response.statusCode}): ${answer.code ?? ''} ${answer.detail ?? ''}`.trim());
      return 1;
    }
    io.out(`job ${jobId} retried as ${answer.id} (${answer.state})`);
    return 0;
  },
};

/** The exchange commands, for gateway/cli/commands/index.ts. */
export const exchangeCommands: Command[] = [exchangeDecryptCommand, exchangeRetryCommand];
