/**
 * `govshare exchange run`: what a department system does for a bulk export, end to end. It submits the
 * signed job, shows its progress (rows, rows/s, ETA), downloads (MB/s, ETA) the encrypted file (resuming with Range when a download was
 * cut), checks it against the signed manifest (platform certificate verified against ca.pem), and
 * decrypts it with the system's key.
 */
import { createHash } from 'node:crypto';
import {
  createReadStream,
  createWriteStream,
  existsSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { request } from 'undici';
import { createDecryptStream, decryptFile } from '../../../certs/envelope.js';
import { verifyManifest } from '../../../exchange/manifest.js';
import { type Command, parseFlags, required, UsageError } from '../command.js';
import { SIGNING_FLAGS, SIGNING_USAGE, signingIdentity } from '../signing-flags.js';

interface JobView {
  id: string;
  state: string;
  progress: { rows: number; scanned?: number; percent?: number; total?: number };
  error?: { code: string; message: string };
  manifest?: {
    manifest: {
      rows: number;
      file?: { bytes: number; sha256: string };
      parts?: { index: number; bytes: number; sha256: string }[];
    };
    signature: string;
  };
}

/** One encrypted file to fetch: the job's file, or one of its parts. */
interface Piece {
  url: string;
  /** Where it is downloaded (and resumed). */
  path: string;
  bytes: number;
  sha256: string;
  /** "download" or "part 2/4" on the progress line. */
  label: string;
}

/** Status polls start 0.5 s apart and slow down to one every 5 s. */
export const POLL_MS = { first: 500, max: 5000 } as const;

/**
 * The wait before the next status poll: half as long again as the last one (at most 5 s), and back to
 * the first interval when the job changed state (queued → running), so that a short job is seen to finish
 * soon. Every poll is a signed, audited call: a long export must not add two audit records a second.
 */
export function nextPollDelayMs(previousMs: number, stateChanged: boolean): number {
  if (stateChanged) return POLL_MS.first;
  return Math.min(POLL_MS.max, Math.round(previousMs * 1.5));
}

/** Polls refused for a reason that passes (quota, gateway briefly unavailable) are retried this often. */
const TRANSIENT_POLL_RETRIES = 5;

function bar(percent: number | undefined, rows: number): string {
  if (percent === undefined) return `${rows.toLocaleString('en')} rows`;
  const filled = Math.round(percent / 5);
  return `[${'#'.repeat(filled)}${'-'.repeat(20 - filled)}] ${percent.toFixed(0).padStart(3)}%  ${rows.toLocaleString('en')} rows`;
}

/** Seconds as m:ss (h:mm:ss from an hour). */
export function clock(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

/**
 * The rate and time left of something that advances from `from` to `to` of `total` in `seconds`
 * (rows read by the export, or bytes downloaded shown as MB/s): "12,345 rows/s  ETA 1:02". Nothing until
 * it moved.
 */
export function rateAndEta(
  from: number,
  to: number,
  total: number | undefined,
  seconds: number,
  unit: 'rows' | 'MB',
): string {
  if (!(seconds > 0) || to <= from) return '';
  const perSecond = (to - from) / seconds;
  const rate =
    unit === 'rows'
      ? `${Math.round(perSecond).toLocaleString('en')} rows/s`
      : `${(perSecond / 1e6).toFixed(1)} MB/s`;
  return total !== undefined && total >= to ? `${rate}  ETA ${clock((total - to) / perSecond)}` : rate;
}

export const exchangeRunCommand: Command = {
  name: 'exchange run',
  summary:
    'Run a bulk export as a department system: submit, follow progress, download (resumable), verify, decrypt',
  usage: `exchange run GATEWAY_URL ${SIGNING_USAGE} (--resource CODE [--items a,b] [--kind full|incremental] [--format jsonl|csv] | --job ID) --out FILE`,
  async run(argv, io) {
    const { values, positionals } = parseFlags(argv, {
      ...SIGNING_FLAGS,
      resource: { type: 'string' },
      items: { type: 'string' },
      kind: { type: 'string', default: 'full' },
      format: { type: 'string', default: 'jsonl' },
      out: { type: 'string' },
      job: { type: 'string' },
    });
    const gateway = positionals[0]?.replace(/\/$/, '');
    if (!gateway || !/^https?:\/\//.test(gateway))
      throw new UsageError('GATEWAY_URL (e.g. http://127.0.0.1:8080) is required');
    if (values.kind !== 'full' && values.kind !== 'incremental')
      throw new UsageError('--kind must be full or incremental');
    if (values.format !== 'jsonl' && values.format !== 'csv')
      throw new UsageError('--format must be jsonl or csv');
    const { client, identity, keyPem } = signingIdentity(values);
    const out = required(values, 'out');

    // --job continues a job submitted earlier (e.g. a download that was cut): no new job, and a partial
    // file of that job is resumed.
    if (values.job !== undefined && !/^x[0-9a-f]{32}$/.test(values.job))
      throw new UsageError('--job must be a job id (x and 32 hex digits), as printed when it was submitted');
    const submitted = await client.call(
      values.job
        ? {
            method: 'GET',
            url: `${gateway}/v1/exchange/jobs/${values.job}`,
            ...identity,
            askSignedResponse: false,
          }
        : {
            method: 'POST',
            url: `${gateway}/v1/exchange/jobs`,
            ...identity,
            body: {
              resource: required(values, 'resource'),
              kind: values.kind,
              format: values.format,
              ...(values.items ? { items: values.items.split(',') } : {}),
            },
            askSignedResponse: false,
          },
    );
    if (submitted.status !== (values.job ? 200 : 202)) {
      io.out(submitted.body.toString('utf8'));
      if ((submitted.json as { code?: string } | undefined)?.code === 'USER_ID_REQUIRED') {
        io.err(
          'govshare exchange run: pass --user-id with the official acting through this system (e.g. a staff number); ' +
            'it is signed, recorded on the job and its manifest, and in the audit trail',
        );
      }
      return 1;
    }
    let job = submitted.json as JobView;
    io.err(values.job ? `job ${job.id}: ${job.state}` : `job ${job.id} submitted`);
    const tty = process.stderr.isTTY === true;
    let delayMs: number = POLL_MS.first;
    let transientLeft = TRANSIENT_POLL_RETRIES;
    let running: { read: number; at: number } | undefined;
    while (job.state === 'queued' || job.state === 'running') {
      await new Promise((r) => setTimeout(r, delayMs));
      const polled = await client.call({
        method: 'GET',
        url: `${gateway}/v1/exchange/jobs/${job.id}`,
        ...identity,
        askSignedResponse: false,
      });
      if (polled.status !== 200) {
        const problem = polled.json as { code?: string; detail?: string } | undefined;
        const reason = `${polled.status} ${problem?.code ?? ''} ${problem?.detail ?? polled.body.toString('utf8')}`;
        if ((polled.status === 429 || polled.status === 503) && transientLeft-- > 0) {
          const retryAfter = Number(polled.headers['retry-after']);
          delayMs = Math.min(
            60_000,
            Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter * 1000 : POLL_MS.max,
          );
          io.err(`job ${job.id}: status poll answered ${reason.trim()}; retrying in ${delayMs / 1000} s`);
          continue;
        }
        io.err(`job ${job.id}: status poll answered ${reason.trim()}`);
        return 1;
      }
      transientLeft = TRANSIENT_POLL_RETRIES;
      const previous = job;
      job = polled.json as JobView;
      delayMs = nextPollDelayMs(delayMs, job.state !== previous.state);
      // Rate and ETA from the rows read (before filters, as the total counts them) since running was seen.
      const read = job.progress.scanned ?? job.progress.rows;
      if (job.state === 'running') running ??= { read, at: Date.now() };
      const pace = running
        ? rateAndEta(running.read, read, job.progress.total, (Date.now() - running.at) / 1000, 'rows')
        : '';
      const line = `${job.state.padEnd(9)} ${bar(job.progress.percent, job.progress.rows)}${pace ? `  ${pace}` : ''}`;
      if (tty) process.stderr.write(`\r${line}`);
      else io.err(line);
    }
    if (tty) process.stderr.write('\n');
    if (job.state !== 'completed' || !job.manifest) {
      io.err(`job ${job.id} ${job.state}: ${job.error?.code ?? ''} ${job.error?.message ?? ''}`);
      return 1;
    }

    // Download, resuming a partial file with Range: only one of this same job (the job id is kept beside
    // it), since another job's file has another data key and other bytes. A job in parts (manifest
    // version 2) is fetched part by part, each resumed the same way.
    const encrypted = `${out}.enc`;
    const jobMark = `${encrypted}.job`;
    const listed = job.manifest.manifest;
    const sameJob = existsSync(jobMark) && readFileSync(jobMark, 'utf8').trim() === job.id;
    if (!sameJob) writeFileSync(jobMark, `${job.id}\n`);
    const pieces: Piece[] = listed.parts
      ? listed.parts.map((part, i, all) => ({
          url: `${gateway}/v1/exchange/jobs/${job.id}/parts/${part.index}/file`,
          path: `${encrypted}.part-${part.index}`,
          bytes: part.bytes,
          sha256: part.sha256,
          label: `part ${i + 1}/${all.length}`,
        }))
      : listed.file
        ? [
            {
              url: `${gateway}/v1/exchange/jobs/${job.id}/file`,
              path: encrypted,
              ...listed.file,
              label: 'download',
            },
          ]
        : [];
    if (pieces.length === 0) {
      io.err(`job ${job.id}: the manifest lists neither a file nor parts`);
      return 1;
    }
    for (const piece of pieces) {
      let have = sameJob && existsSync(piece.path) ? statSync(piece.path).size : 0;
      if (have > piece.bytes) have = 0;
      if (have < piece.bytes) {
        const prepared = client.prepare({
          method: 'GET',
          url: piece.url,
          ...identity,
          askSignedResponse: false,
        });
        const headers = have > 0 ? { ...prepared.headers, range: `bytes=${have}-` } : prepared.headers;
        const response = await request(piece.url, {
          method: 'GET',
          headers,
          headersTimeout: 60_000,
          bodyTimeout: 600_000,
        });
        if (response.statusCode !== 200 && response.statusCode !== 206) {
          io.err(`download answered ${response.statusCode}: ${await response.body.text()}`);
          return 1;
        }
        const append = have > 0 && response.statusCode === 206;
        const started = Date.now();
        const from = append ? have : 0;
        let got = from;
        let shown = started;
        const show = (last: boolean) => {
          const pace = rateAndEta(
            from / 1e6,
            got / 1e6,
            piece.bytes / 1e6,
            (Date.now() - started) / 1000,
            'MB',
          );
          const percent = piece.bytes > 0 ? (100 * got) / piece.bytes : 100;
          const line = `${piece.label.padEnd(9)} ${bar(percent, listed.rows)}${pace ? `  ${pace}` : ''}`;
          if (tty) process.stderr.write(`\r${line}${last ? '\n' : ''}`);
          else if (last) io.err(line);
        };
        const meter = new Transform({
          transform(chunk: Buffer, _encoding, callback) {
            got += chunk.length;
            if (Date.now() - shown >= 500) {
              shown = Date.now();
              show(false);
            }
            callback(null, chunk);
          },
        });
        await pipeline(response.body, meter, createWriteStream(piece.path, { flags: append ? 'a' : 'w' }));
        show(true);
        if (append)
          io.err(`resumed the ${piece.label === 'download' ? 'download' : piece.label} at byte ${have}`);
      }
      const hash = createHash('sha256');
      for await (const chunk of createReadStream(piece.path)) hash.update(chunk as Buffer);
      if (hash.digest('hex') !== piece.sha256) {
        const what = piece.label === 'download' ? 'file' : piece.label;
        io.err(
          `the downloaded ${what} does not match the manifest's SHA-256; delete ${piece.path} and run again`,
        );
        return 1;
      }
    }
    // The manifest is signed by the platform: checked with the CA's platform signing certificate.
    const platformCert = await client.platformCertificate(gateway);
    const check = verifyManifest(job.manifest, platformCert.toString());
    if (!check.ok) throw new Error(`the manifest signature does not verify: ${check.reason}`);
    writeFileSync(`${out}.manifest.json`, `${JSON.stringify(job.manifest, null, 2)}\n`);
    const result =
      pieces.length === 1 && !listed.parts
        ? await decryptFile({ privateKey: keyPem }, encrypted, out, { gunzip: true })
        : await decryptParts(
            keyPem,
            pieces.map((p) => p.path),
            out,
          );
    // Decrypted and checked: the encrypted copies are not needed to run again.
    for (const piece of pieces) rmSync(piece.path, { force: true });
    rmSync(jobMark, { force: true });
    const total = pieces.reduce((sum, p) => sum + p.bytes, 0);
    io.err(
      listed.parts
        ? `manifest signature verified; ${pieces.length} parts, ${total} encrypted bytes, each part's SHA-256 checked`
        : `manifest signature verified; ${total} encrypted bytes, SHA-256 ${pieces[0]!.sha256}`,
    );
    io.out(`${listed.rows} rows → ${out} (${result.bytes} bytes); manifest ${out}.manifest.json`);
    return 0;
  },
};

/**
 * The parts of a job decrypted (each with its own header, the same key wrap) and gunzipped in order into
 * one file, written beside it first and renamed: `out` is whole or absent.
 */
async function decryptParts(
  keyPem: string,
  paths: readonly string[],
  out: string,
): Promise<{ bytes: number }> {
  const temp = `${out}.${process.pid}.partial`;
  let bytes = 0;
  const sink = createWriteStream(temp, { mode: 0o600, flags: 'w' });
  const counter = () =>
    new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        bytes += chunk.length;
        callback(null, chunk);
      },
    });
  try {
    for (const path of paths) {
      await pipeline(
        createReadStream(path),
        createDecryptStream({ privateKey: keyPem }),
        createGunzip(),
        counter(),
        sink,
        { end: false },
      );
    }
    await new Promise<void>((resolve, reject) =>
      sink.end((error?: Error | null) => (error ? reject(error) : resolve())),
    );
    renameSync(temp, out);
  } catch (error) {
    sink.destroy();
    rmSync(temp, { force: true });
    throw error;
  }
  return { bytes };
}
