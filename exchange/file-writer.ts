/**
 * Writing a job file in checkpointed segments (see runner.ts for the whole picture). Each segment is one
 * gzip member of `segmentPages` pages, sealed by the envelope encryptor and ended on a frame boundary;
 * after the fsync the checkpoint is stored with the run's fencing token. Pages are processed one at a
 * time and flow with backpressure through gzip to the file, so memory does not grow with the file.
 * A connector that reads array pages (SQL) is read that way: its rows are filtered, masked and
 * serialized from the arrays in one pass (array-rows.ts), into the same text as the object path.
 * A SQL source is read in one COPY per run (connectors/sql/copy-pages.ts) that goes on across segments:
 * only the granted items, the filters' items and the watermark are selected, the filters run in SQL
 * where that is exact (and again here), and the pages and cursors are those of page reads, so the file,
 * the checkpoints and a resume are the same as with them.
 */
import { createHash } from 'node:crypto';
import { createReadStream, constants as fsConstants } from 'node:fs';
import { type FileHandle, mkdir, open } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Readable, type TransformOptions, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip, type ZlibOptions } from 'node:zlib';
import { createDecryptStream, EnvelopeEncryptor } from '../certs/envelope.js';
import { type ArrayPage, readsArrayPages } from '../connectors/sql/array-pages.js';
import { readsCopyPages } from '../connectors/sql/copy-pages.js';
import type { Connector, Page, Row } from '../connectors/types.js';
import { applyObligations, type Obligations } from '../policies/obligations.js';
import { type ArrayPagePlan, arrayPagePlan, arrayPageText } from './array-rows.js';
import { type ExchangeDeps, nowOf, settingsOf } from './deps.js';
import { jobFilePath } from './paths.js';
import type { Checkpoint, ExchangeJob, Progress } from './schema.js';
import { type Serializer, serializerFor } from './serialize.js';
import type { ExchangeStore } from './store.js';
import { WatermarkMax } from './watermark.js';

/** Bytes of page text buffered ahead of gzip (a page of 1000 rows is ~200 KB of jsonl). */
const PIPE_BYTES = 512 * 1024;
/** Output chunk of gzip: one thread-pool round trip per 64 KiB of compressed bytes, not per 16 KiB. */
const GZIP_CHUNK = 64 * 1024;

export interface WriteOptions {
  signal?: AbortSignal;
  /** Called after each checkpoint is stored (tests throw here to simulate a crash). */
  afterCheckpoint?: (checkpoint: Checkpoint, job: ExchangeJob) => void | Promise<void>;
}

export interface WriteContext {
  token: string;
  dataKey: Buffer;
  connector: Connector;
  obligations: Obligations;
  watermarkItem: string | undefined;
  store: ExchangeStore;
  options: WriteOptions;
  /** The page after the last one processed, already asked for. */
  prefetched?: Prefetch;
  /** The COPY read in progress (SQL sources) and the cursor of the page it yields next. */
  copy?: { after: string | undefined; pages: AsyncGenerator<ArrayPage> };
  /** Writes one part of a job cut into parts (parts.ts) instead of the job's one file. */
  part?: PartTarget;
}

/** A part file: its own path, header and checkpoint, and the range of the read it holds. */
export interface PartTarget {
  index: number;
  path: string;
  headerBytes: Buffer;
  /** Cursor of the row before the part (absent: the first part). */
  after?: string;
  /** Cursor of the part's last row, inclusive (absent: the last part). */
  until?: string;
  checkpoint?: Checkpoint;
  /** Stores the part's checkpoint (fenced by the part run's token). */
  save(checkpoint: Checkpoint): Promise<void>;
}

interface Prefetch {
  after: string | undefined;
  page: Promise<Page | ArrayPage>;
}

export async function writeFile(
  deps: ExchangeDeps,
  initial: ExchangeJob,
  ctx: WriteContext,
): Promise<{ job: ExchangeJob; bytes: number; checkpoint: Checkpoint }> {
  const settings = settingsOf(deps);
  const { part } = ctx;
  const path = part?.path ?? jobFilePath(settings.exchangeDir, initial.id, initial.format);
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const headerBytes = part?.headerBytes ?? Buffer.from(initial.envelopeHeader, 'base64');
  let job = initial;
  const handle = await open(path, fsConstants.O_RDWR | fsConstants.O_CREAT, 0o600);
  try {
    let checkpoint = part ? part.checkpoint : job.checkpoint;
    const size = (await handle.stat()).size;
    // A file shorter than its checkpoint was lost or replaced: start it over.
    if (checkpoint && size < checkpoint.bytes) checkpoint = undefined;
    const file = new PositionedFile(handle, checkpoint?.bytes ?? 0);
    await handle.truncate(file.position);
    // Stopped between the last checkpoint and completion: the file is whole, nothing to read again.
    if (checkpoint?.complete) return { job, bytes: file.position, checkpoint };
    if (!checkpoint) await file.write([headerBytes]);
    const encryptor = new EnvelopeEncryptor(ctx.dataKey, headerBytes, checkpoint?.nextChunk ?? 0);
    const state: Checkpoint = checkpoint
      ? { ...checkpoint }
      : {
          segment: 0,
          rows: 0,
          scanned: 0,
          pagesDone: 0,
          bytes: file.position,
          nextChunk: 0,
          ...(part?.after === undefined ? {} : { cursor: part.after }),
        };
    const serializer = serializerFor(job.format, job.items);
    for (;;) {
      const last = await writeSegment(deps, job, ctx, state, serializer, encryptor, file);
      await handle.sync();
      state.segment++;
      state.bytes = file.position;
      state.nextChunk = encryptor.nextChunk;
      if (last) state.complete = true;
      if (part) await part.save({ ...state });
      else {
        const now = nowOf(deps);
        job = {
          ...job,
          checkpoint: { ...state },
          progress: progressOf(state, false),
          updatedAt: new Date(now).toISOString(),
        };
        await ctx.store.saveOwned(job, ctx.token);
      }
      await ctx.options.afterCheckpoint?.({ ...state }, job);
      if (last) return { job, bytes: file.position, checkpoint: { ...state } };
    }
  } finally {
    // A COPY not read to its end holds a connection: stopping it closes that connection.
    const copy = ctx.copy;
    ctx.copy = undefined;
    await copy?.pages.return(undefined).catch(() => undefined);
    await handle.close();
  }
}

/** Writes one segment (one gzip member, ending on a frame boundary); true when it was the last. */
async function writeSegment(
  deps: ExchangeDeps,
  job: ExchangeJob,
  ctx: WriteContext,
  state: Checkpoint,
  serializer: Serializer,
  encryptor: EnvelopeEncryptor,
  file: PositionedFile,
): Promise<boolean> {
  const settings = settingsOf(deps);
  const { signal } = ctx.options;
  const since =
    job.kind === 'incremental' && job.watermark?.from !== undefined
      ? { watermark: job.watermark.item, value: job.watermark.from }
      : undefined;
  const filter = job.filter;
  const reader = readsArrayPages(ctx.connector) ? ctx.connector : undefined;
  const copier = readsCopyPages(ctx.connector) ? ctx.connector : undefined;
  if (ctx.part && !copier) throw new Error('only a connector that reads with COPY writes parts');
  /** The page at `after` from the COPY read, started (again) there unless it is already there. */
  const copied = async (after: string | undefined): Promise<ArrayPage> => {
    if (!ctx.copy || ctx.copy.after !== after) {
      await ctx.copy?.pages.return(undefined).catch(() => undefined);
      const rowFilter = ctx.obligations.rowFilter;
      const equals = [
        ...(rowFilter ? [{ item: rowFilter.item, value: rowFilter.equals }] : []),
        ...(filter ? [{ item: filter.item, value: filter.equals }] : []),
      ];
      ctx.copy = {
        after,
        pages: copier!.copyPages({
          // Only what the job writes or tests is read: the granted items, the filters' items, the watermark.
          columns: [
            ...ctx.obligations.items,
            ...equals.map((e) => e.item),
            ...(ctx.watermarkItem ? [ctx.watermarkItem] : []),
          ],
          pageRows: settings.pageSize,
          equals,
          requestId: job.id,
          ...(after === undefined ? {} : { after }),
          ...(ctx.part?.until === undefined ? {} : { until: ctx.part.until }),
          ...(since ? { since } : {}),
          ...(signal ? { signal } : {}),
        }),
      };
    }
    const next = await ctx.copy!.pages.next();
    if (next.done) throw new Error('the COPY read ended without its last page');
    ctx.copy!.after = next.value.next;
    return next.value;
  };
  let plan: ArrayPagePlan | undefined;
  let last = false;
  const fetch = (after: string | undefined): Prefetch => {
    const options = {
      limit: settings.pageSize,
      requestId: job.id,
      ...(after === undefined ? {} : { after }),
      ...(since ? { since } : {}),
      ...(signal ? { signal } : {}),
    };
    const page = reader ? reader.arrayPage(options) : ctx.connector.page(options);
    // Awaited later (or dropped with a failed run): never an unhandled rejection meanwhile.
    page.catch(() => undefined);
    return { after, page };
  };
  /** The page's text and rows written, and its largest watermark folded into `watermark`. */
  const pageText = (page: Page | ArrayPage, watermark: WatermarkMax | undefined) => {
    if ('columns' in page) {
      if (plan?.columns !== page.columns)
        plan = arrayPagePlan(job.format, ctx.obligations, page.columns, filter);
      if (watermark) {
        const at = page.columns.indexOf(ctx.watermarkItem!);
        if (at !== -1) for (const row of page.rows) watermark.add(row[at]);
      }
      return arrayPageText(plan, page.rows);
    }
    if (watermark) {
      const item = ctx.watermarkItem!;
      for (const row of page.rows) watermark.add(Object.hasOwn(row, item) ? row[item] : undefined);
    }
    const kept = filter ? page.rows.filter((row) => matches(row, filter.item, filter.equals)) : page.rows;
    const rows = applyObligations(kept, ctx.obligations);
    return { text: rows.length > 0 ? [serializer.page(rows)] : [], rows: rows.length };
  };
  async function* text(): AsyncGenerator<Buffer> {
    // A csv header row starts the file: the first part's, not every part's.
    if (state.segment === 0 && serializer.preamble && (ctx.part?.index ?? 0) === 0)
      yield Buffer.from(serializer.preamble, 'utf8');
    const watermark = ctx.watermarkItem ? new WatermarkMax(state.watermarkTo) : undefined;
    for (let p = 0; p < settings.segmentPages; p++) {
      signal?.throwIfAborted();
      let page: Page | ArrayPage;
      if (copier) page = await copied(state.cursor);
      else {
        const ahead =
          ctx.prefetched && ctx.prefetched.after === state.cursor ? ctx.prefetched : fetch(state.cursor);
        page = await ahead.page;
        // The provider prepares the next page while this one is masked, gzipped and encrypted.
        ctx.prefetched = page.next === undefined ? undefined : fetch(page.next);
      }
      state.scanned += page.rows.length;
      state.pagesDone++;
      if (page.total !== undefined) state.total = page.total;
      const out = pageText(page, watermark);
      if (watermark && watermark.value !== undefined) state.watermarkTo = watermark.value;
      state.rows += out.rows;
      if (page.next === undefined) delete state.cursor;
      else state.cursor = page.next;
      if (out.text.length > 0) yield utf8(out.text);
      if (page.next === undefined) {
        last = true;
        return;
      }
    }
  }
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      file.write(encryptor.write(chunk)).then(() => callback(), callback);
    },
  });
  const gzipOptions: ZlibOptions & TransformOptions = {
    level: settings.gzipLevel,
    chunkSize: GZIP_CHUNK,
    writableHighWaterMark: PIPE_BYTES,
  };
  await pipeline(
    // Room for about two pages of text before gzip: the next page is masked and serialized while gzip
    // compresses this one on the thread pool (with the 16 KiB defaults each waited for the other).
    Readable.from(text(), { objectMode: false, highWaterMark: PIPE_BYTES }),
    createGzip(gzipOptions),
    sink,
  );
  await file.write(encryptor.endSegment(last));
  return last;
}

/** SHA-256 of the encrypted file and of its decrypted content; decrypting also proves the file is sound. */
export async function digestFile(
  path: string,
  dataKey: Buffer,
): Promise<{ bytes: number; sha256: string; plaintextSha256: string }> {
  const outer = createHash('sha256');
  const inner = createHash('sha256');
  let bytes = 0;
  const source = createReadStream(path);
  source.on('data', (chunk) => {
    bytes += chunk.length;
    outer.update(chunk);
  });
  await pipeline(
    source,
    createDecryptStream({ dataKey }),
    new Writable({
      write(chunk: Buffer, _encoding, callback) {
        inner.update(chunk);
        callback();
      },
    }),
  );
  return { bytes, sha256: outer.digest('hex'), plaintextSha256: inner.digest('hex') };
}

export function progressOf(state: Checkpoint, done: boolean): Progress {
  const progress: Progress = {
    rows: state.rows,
    scanned: state.scanned,
    pagesDone: state.pagesDone,
    segments: state.segment,
  };
  if (state.total !== undefined) {
    progress.total = state.total;
    progress.percent = done
      ? 100
      : Math.min(99, Math.floor((state.scanned * 100) / Math.max(1, state.total)));
  } else if (done) {
    progress.percent = 100;
  }
  return progress;
}

function matches(row: Row, item: string, equals: string): boolean {
  const value = Object.hasOwn(row, item) ? row[item] : undefined;
  return value !== undefined && value !== null && String(value) === equals;
}

/**
 * The pieces of a page's text as one UTF-8 buffer. Encoding needs a flat string: a whole page flattened
 * at once is a string of several hundred KB, allocated where only a full GC frees it; pieces of a few
 * rows stay in the young generation. Writing into a buffer of the largest size the text can need also
 * spares the measuring pass of Buffer.from.
 */
export function utf8(pieces: readonly string[]): Buffer {
  let units = 0;
  for (const piece of pieces) units += piece.length;
  const buffer = Buffer.allocUnsafe(units * 3);
  let at = 0;
  for (const piece of pieces) at += buffer.write(piece, at, 'utf8');
  return buffer.subarray(0, at);
}

/** Writes at explicit offsets, so a resumed run continues exactly at its checkpoint. */
class PositionedFile {
  constructor(
    private readonly handle: FileHandle,
    public position: number,
  ) {}

  async write(buffers: Buffer[]): Promise<void> {
    if (buffers.length === 0) return;
    const length = buffers.reduce((sum, b) => sum + b.length, 0);
    const { bytesWritten } = await this.handle.writev(buffers, this.position);
    if (bytesWritten !== length) throw new Error(`short write: ${bytesWritten} of ${length} bytes`);
    this.position += length;
  }
}
