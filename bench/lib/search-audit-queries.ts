/**
 * Queries of bench/search.ts over the written audit trail, through audit/search.ts and
 * audit/verify.ts, and their baselines: scanning the streams with XRANGE, which is what answering
 * the same question without the indexes (or verifying without the chain checks) costs.
 */
import type { RawEntry } from '../../audit/entries.js';
import { parseRecord, readChainEntry, walkStream } from '../../audit/entries.js';
import { auditKeys } from '../../audit/keys.js';
import { searchAudit } from '../../audit/search.js';
import { subjectHash } from '../../audit/subject.js';
import { verifyAudit } from '../../audit/verify.js';
import type { RedisClient } from '../../platform/redis.js';
import { type AuditDataset, DAY_MS } from './search-audit.js';
import { seededRandom, timed } from './search-stats.js';

const PAGE = 100;

/** Every record of one person, following nextCursor: ms per whole answer, and how many records it held. */
export async function subjectQueries(redis: RedisClient, data: AuditDataset, count: number) {
  const random = seededRandom(21);
  const samples: number[] = [];
  const found: { idNumber: string; records: number }[] = [];
  for (let q = 0; q < count; q++) {
    const idNumber = data.subjectOf(Math.floor(random() * data.shape.records));
    const { ms, value } = await timed(async () => {
      let records = 0;
      let cursor: string | undefined;
      do {
        const page = await searchAudit(redis, data.prefix, data.secret, {
          subject: idNumber,
          limit: PAGE,
          ...(cursor && { cursor }),
        });
        records += page.records.length;
        cursor = page.nextCursor;
      } while (cursor);
      return records;
    });
    samples.push(ms);
    found.push({ idNumber, records: value });
  }
  return { samples, found };
}

export function dayWindow(data: AuditDataset, random: () => number) {
  const day = Math.floor(random() * data.shape.days);
  const from = data.startMs + day * DAY_MS;
  return { from, to: from + DAY_MS };
}

/**
 * One department over one day, newest first, pages of 100: each query reads 1 to 5 pages, as someone
 * leafing through the results would. Every page is one sample.
 */
export async function departmentPages(redis: RedisClient, data: AuditDataset, count: number) {
  const random = seededRandom(22);
  const samples: number[] = [];
  const firstPages: number[] = [];
  for (let q = 0; q < count; q++) {
    const deptCode = data.departments[Math.floor(random() * data.departments.length)]!;
    const { from, to } = dayWindow(data, random);
    const pages = 1 + Math.floor(random() * 5);
    let cursor: string | undefined;
    for (let p = 0; p < pages; p++) {
      const { ms, value } = await timed(() =>
        searchAudit(redis, data.prefix, data.secret, {
          deptCode,
          from: new Date(from).toISOString(),
          to: new Date(to).toISOString(),
          limit: PAGE,
          ...(cursor && { cursor }),
        }),
      );
      samples.push(ms);
      if (p === 0) firstPages.push(ms);
      if (value.records.length !== PAGE)
        throw new Error(`a department-day page held ${value.records.length} records`);
      cursor = value.nextCursor;
      if (!cursor) break;
    }
  }
  return { samples, firstPages };
}

/** The whole answer for one department and day, pages of 500 (as `audit export` reads it). */
export async function departmentDayExport(
  redis: RedisClient,
  data: AuditDataset,
  deptCode: string,
  from: number,
) {
  return timed(async () => {
    let records = 0;
    let cursor: string | undefined;
    do {
      const page = await searchAudit(redis, data.prefix, data.secret, {
        deptCode,
        from: new Date(from).toISOString(),
        to: new Date(from + DAY_MS).toISOString(),
        limit: 500,
        ...(cursor && { cursor }),
      });
      records += page.records.length;
      cursor = page.nextCursor;
    } while (cursor);
    return records;
  });
}

/**
 * Baseline: XRANGE every instance's stream (optionally only a time window) in pages of 1000 and keep the
 * records matching. A substring test on the stored JSON picks candidates, only those are parsed: the
 * cheapest honest scan.
 */
export async function scanStreams(
  redis: RedisClient,
  data: AuditDataset,
  needle: string,
  matches: (record: Record<string, unknown>) => boolean,
  window?: { from: number; to: number },
) {
  const keys = auditKeys(data.prefix);
  return timed(async () => {
    let found = 0;
    let scanned = 0;
    for (const instance of data.instances) {
      let start = window ? String(window.from) : '-';
      const end = window ? String(window.to - 1) : '+';
      for (;;) {
        const chunk = (await redis.xrange(keys.stream(instance), start, end, 'COUNT', 1000)) as RawEntry[];
        scanned += chunk.length;
        for (const raw of chunk) {
          const rec = raw[1][raw[1].indexOf('rec') + 1] ?? '';
          if (!rec.includes(needle)) continue;
          const record = parseRecord(rec);
          if (record && matches(record as unknown as Record<string, unknown>)) found++;
        }
        if (chunk.length < 1000) break;
        start = `(${chunk[chunk.length - 1]![0]}`;
      }
    }
    return { found, scanned };
  });
}

export function subjectScan(redis: RedisClient, data: AuditDataset, idNumber: string) {
  const hash = subjectHash(data.secret, idNumber);
  return scanStreams(redis, data, hash, (r) => (r.subjects as string[] | undefined)?.includes(hash) === true);
}

export function departmentScan(redis: RedisClient, data: AuditDataset, deptCode: string, from: number) {
  return scanStreams(
    redis,
    data,
    `"deptCode":"${deptCode}"`,
    (r) => (r.actor as { deptCode?: string }).deptCode === deptCode,
    { from, to: from + DAY_MS },
  );
}

/**
 * Baseline for the first page of a department and day: read every instance's stream newest first from
 * the end of the day (XREVRANGE, 1000 at a time) until it has given 100 matches, then merge by id.
 */
export async function departmentFirstPageScan(
  redis: RedisClient,
  data: AuditDataset,
  deptCode: string,
  from: number,
) {
  const keys = auditKeys(data.prefix);
  const needle = `"deptCode":"${deptCode}"`;
  return timed(async () => {
    const ids: string[] = [];
    for (const instance of data.instances) {
      let end = String(from + DAY_MS - 1);
      let kept = 0;
      while (kept < PAGE) {
        const chunk = (await redis.xrevrange(
          keys.stream(instance),
          end,
          String(from),
          'COUNT',
          1000,
        )) as RawEntry[];
        for (const raw of chunk) {
          const entry = readChainEntry(raw);
          if ('torn' in entry || !entry.rec.includes(needle)) continue;
          if (parseRecord(entry.rec)?.actor.deptCode !== deptCode) continue;
          ids.push(raw[0]);
          if (++kept === PAGE) break;
        }
        if (chunk.length < 1000) break;
        end = `(${chunk[chunk.length - 1]![0]}`;
      }
    }
    const byTime = (id: string) => id.split('-').map(Number) as [number, number];
    ids.sort((a, b) => {
      const [am, an] = byTime(a);
      const [bm, bn] = byTime(b);
      return bm - am || bn - an;
    });
    return ids.slice(0, PAGE).length;
  });
}

/** `audit verify` over every instance, and the baseline: the same XRANGE pages read and nothing checked. */
export async function verifyAgainstReading(redis: RedisClient, data: AuditDataset) {
  const publicKey = data.signer.certificate.publicKey;
  const verify = await timed(() => verifyAudit(redis, data.prefix, { publicKey, chunk: 1000 }));
  const keys = auditKeys(data.prefix);
  const read = await timed(async () => {
    let records = 0;
    for (const instance of data.instances) {
      for await (const chunk of walkStream(redis, keys.stream(instance), 1000)) records += chunk.length;
    }
    return records;
  });
  const verified = verify.value.instances.reduce((sum, i) => sum + i.records, 0);
  return {
    ok: verify.value.ok,
    checkpoints: verify.value.instances.reduce((sum, i) => sum + i.checkpoints, 0),
    verify: { records: verified, seconds: verify.ms / 1000, perSecond: (verified * 1000) / verify.ms },
    read: { records: read.value, seconds: read.ms / 1000, perSecond: (read.value * 1000) / read.ms },
  };
}
