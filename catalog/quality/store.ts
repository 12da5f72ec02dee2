/**
 * Redis keeps every quality run: the report history of each resource (newest first, bounded), the latest
 * score of every resource, and correction tasks. Saving a run is one Lua script: it adds the trend
 * against the previous run, and opens a correction task when the score is below the threshold (or
 * updates the one already open), or resolves the open task when the score is back at the threshold.
 * A run saved twice (a job retried after it saved) is stored once.
 */
import { randomUUID } from 'node:crypto';
import type { RedisClient } from '../../platform/redis.js';
import { type QualityKeys, qualityKeys } from './keys.js';
import type { CorrectionTask, QualityReport } from './report.js';

/**
 * KEYS[1] runs list of the resource, KEYS[2] scores (sorted set), KEYS[3] open tasks (hash),
 * KEYS[4] the task to open or update (the open task's key, or a new task's).
 * ARGV[1] code, ARGV[2] report JSON without trend, ARGV[3] report id, ARGV[4] score, ARGV[5] threshold,
 * ARGV[6] history limit, ARGV[7] now (ISO), ARGV[8] failing rules JSON, ARGV[9] id of the open task
 * the caller read ('' = none), ARGV[10] id for a new task, ARGV[11] resource version.
 * Returns {'retry'} when the open task changed since the caller read it, {'duplicate'} when the latest
 * stored run has this id, else {action, stored report JSON, task id or ''} with action one of
 * opened / updated / resolved / none.
 */
const SAVE_SCRIPT = `
local open = redis.call('HGET', KEYS[3], ARGV[1])
if (open or '') ~= ARGV[9] then return {'retry'} end
local previous = redis.call('LINDEX', KEYS[1], 0)
local score = tonumber(ARGV[4])
local trend = ''
if previous then
  local p = cjson.decode(previous)
  if p.id == ARGV[3] then return {'duplicate'} end
  local delta = math.floor((score - p.score) * 100 + 0.5) / 100
  trend = ',"trend":' .. cjson.encode({previousRunId = p.id, previousScore = p.score,
    previousFinishedAt = p.finishedAt, delta = delta})
end
local report = string.sub(ARGV[2], 1, -2) .. trend .. '}'
redis.call('LPUSH', KEYS[1], report)
redis.call('LTRIM', KEYS[1], 0, tonumber(ARGV[6]) - 1)
redis.call('ZADD', KEYS[2], score, ARGV[1])
local action = 'none'
local task = ''
if score < tonumber(ARGV[5]) then
  if open then
    redis.call('HSET', KEYS[4], 'updatedAt', ARGV[7], 'runId', ARGV[3], 'score', ARGV[4],
      'threshold', ARGV[5], 'failingRules', ARGV[8], 'version', ARGV[11])
    redis.call('HINCRBY', KEYS[4], 'failingRuns', 1)
    action = 'updated'
    task = open
  else
    redis.call('HSET', KEYS[4], 'id', ARGV[10], 'resource', ARGV[1], 'version', ARGV[11], 'state', 'open',
      'openedAt', ARGV[7], 'updatedAt', ARGV[7], 'runId', ARGV[3], 'score', ARGV[4], 'threshold', ARGV[5],
      'failingRules', ARGV[8], 'failingRuns', 1)
    redis.call('HSET', KEYS[3], ARGV[1], ARGV[10])
    action = 'opened'
    task = ARGV[10]
  end
elseif open then
  redis.call('HSET', KEYS[4], 'state', 'resolved', 'resolvedByRun', ARGV[3], 'updatedAt', ARGV[7])
  redis.call('HDEL', KEYS[3], ARGV[1])
  action = 'resolved'
  task = open
end
return {action, report, task}
`;

/**
 * KEYS[1] open tasks (hash), KEYS[2] the task. ARGV[1] task id, ARGV[2] closed by, ARGV[3] note,
 * ARGV[4] now (ISO). Returns 1 when closed, 0 when the task is not open.
 */
const CLOSE_SCRIPT = `
if redis.call('HGET', KEYS[2], 'state') ~= 'open' then return 0 end
local code = redis.call('HGET', KEYS[2], 'resource')
redis.call('HSET', KEYS[2], 'state', 'closed', 'closedBy', ARGV[2], 'note', ARGV[3], 'updatedAt', ARGV[4])
if redis.call('HGET', KEYS[1], code) == ARGV[1] then redis.call('HDEL', KEYS[1], code) end
return 1
`;

const SAVE_COMMAND = 'govshareQualitySave';
const CLOSE_COMMAND = 'govshareQualityClose';

export type TaskAction = 'opened' | 'updated' | 'resolved' | 'none';

export interface BelowThresholdEvent {
  report: QualityReport;
  task: CorrectionTask;
  /** True for the run that opened the task, false for later failing runs while it stays open. */
  opened: boolean;
}

export interface QualityStoreOptions {
  /** Runs scoring below it open a correction task. @defaultValue 90 */
  threshold?: number;
  /** Reports kept per resource. @defaultValue 100 */
  historyLimit?: number;
  /**
   * Told about every run below the threshold, after it is stored (the provider's notification, e.g. a
   * webhook). A failure here does not undo the stored run; it is returned as `notifyError`.
   */
  onBelowThreshold?: (event: BelowThresholdEvent) => void | Promise<void>;
  /** Clock in milliseconds. @defaultValue Date.now */
  now?: () => number;
}

export interface SaveResult {
  /** The report as stored (with its trend), or the one already stored under this id. */
  report: QualityReport;
  duplicate: boolean;
  taskAction: TaskAction;
  task?: CorrectionTask;
  notifyError?: string;
}

type ScriptCall = (numberOfKeys: number, ...args: string[]) => Promise<unknown>;

export class QualityStore {
  readonly keys: QualityKeys;
  readonly threshold: number;
  readonly #redis: RedisClient;
  readonly #options: QualityStoreOptions;
  readonly #save: ScriptCall;
  readonly #close: ScriptCall;

  constructor(redis: RedisClient, prefix: string, options: QualityStoreOptions = {}) {
    this.#redis = redis;
    this.#options = options;
    this.keys = qualityKeys(prefix);
    this.threshold = options.threshold ?? 90;
    const commands = redis as unknown as Record<string, ScriptCall>;
    if (typeof commands[SAVE_COMMAND] !== 'function') redis.defineCommand(SAVE_COMMAND, { lua: SAVE_SCRIPT });
    if (typeof commands[CLOSE_COMMAND] !== 'function')
      redis.defineCommand(CLOSE_COMMAND, { lua: CLOSE_SCRIPT });
    this.#save = (...args) => commands[SAVE_COMMAND]!.apply(redis, args);
    this.#close = (...args) => commands[CLOSE_COMMAND]!.apply(redis, args);
  }

  async save(report: QualityReport): Promise<SaveResult> {
    const { trend: _ignored, ...withoutTrend } = report;
    const failing = report.rules
      .filter((r) => r.violations > 0)
      .map((r) => ({ rule: r.rule, violations: r.violations }));
    for (let attempt = 0; attempt < 5; attempt++) {
      const open = await this.#redis.hget(this.keys.openTasks, report.resource);
      const newId = randomUUID();
      const answer = (await this.#save(
        4,
        this.keys.runs(report.resource),
        this.keys.scores,
        this.keys.openTasks,
        this.keys.task(open ?? newId),
        report.resource,
        JSON.stringify(withoutTrend),
        report.id,
        String(report.score),
        String(this.threshold),
        String(this.#options.historyLimit ?? 100),
        new Date((this.#options.now ?? Date.now)()).toISOString(),
        JSON.stringify(failing),
        open ?? '',
        newId,
        String(report.version),
      )) as string[];
      if (answer[0] === 'retry') continue;
      if (answer[0] === 'duplicate') {
        return {
          report: (await this.latest(report.resource)) ?? report,
          duplicate: true,
          taskAction: 'none',
        };
      }
      const [action, stored, taskId] = answer as [TaskAction, string, string];
      const result: SaveResult = {
        report: JSON.parse(stored) as QualityReport,
        duplicate: false,
        taskAction: action,
      };
      if (taskId) result.task = await this.task(taskId);
      if ((action === 'opened' || action === 'updated') && result.task && this.#options.onBelowThreshold) {
        try {
          await this.#options.onBelowThreshold({
            report: result.report,
            task: result.task,
            opened: action === 'opened',
          });
        } catch (error) {
          result.notifyError = error instanceof Error ? error.message : String(error);
        }
      }
      return result;
    }
    throw new Error(
      `quality run ${report.id}: the correction task of ${report.resource} kept changing; try again`,
    );
  }

  async latest(code: string): Promise<QualityReport | undefined> {
    const raw = await this.#redis.lindex(this.keys.runs(code), 0);
    return raw === null ? undefined : (JSON.parse(raw) as QualityReport);
  }

  /** Reports of a resource, newest first. */
  async history(code: string, limit = 20): Promise<QualityReport[]> {
    const raws = await this.#redis.lrange(this.keys.runs(code), 0, Math.max(0, limit - 1));
    return raws.map((raw) => JSON.parse(raw) as QualityReport);
  }

  /** Latest score of every checked resource, lowest first; `below` keeps only scores under it. */
  async scores(below?: number): Promise<{ resource: string; score: number }[]> {
    const flat =
      below === undefined
        ? await this.#redis.zrange(this.keys.scores, 0, -1, 'WITHSCORES')
        : await this.#redis.zrangebyscore(this.keys.scores, '-inf', `(${below}`, 'WITHSCORES');
    const result: { resource: string; score: number }[] = [];
    for (let i = 0; i + 1 < flat.length; i += 2)
      result.push({ resource: flat[i]!, score: Number(flat[i + 1]) });
    return result;
  }

  async task(id: string): Promise<CorrectionTask | undefined> {
    const fields = await this.#redis.hgetall(this.keys.task(id));
    if (!fields.id) return undefined;
    const task: CorrectionTask = {
      id: fields.id,
      resource: fields.resource!,
      version: Number(fields.version),
      state: fields.state as CorrectionTask['state'],
      openedAt: fields.openedAt!,
      updatedAt: fields.updatedAt!,
      runId: fields.runId!,
      score: Number(fields.score),
      threshold: Number(fields.threshold),
      failingRules: JSON.parse(fields.failingRules ?? '[]') as CorrectionTask['failingRules'],
      failingRuns: Number(fields.failingRuns),
    };
    if (fields.resolvedByRun) task.resolvedByRun = fields.resolvedByRun;
    if (fields.closedBy) task.closedBy = fields.closedBy;
    if (fields.note) task.note = fields.note;
    return task;
  }

  async openTask(code: string): Promise<CorrectionTask | undefined> {
    const id = await this.#redis.hget(this.keys.openTasks, code);
    return id === null ? undefined : this.task(id);
  }

  async listOpenTasks(): Promise<CorrectionTask[]> {
    const ids = Object.values(await this.#redis.hgetall(this.keys.openTasks));
    const tasks = await Promise.all(ids.map((id) => this.task(id)));
    return tasks
      .filter((t): t is CorrectionTask => t !== undefined)
      .sort((a, b) => a.openedAt.localeCompare(b.openedAt));
  }

  /** Closes an open task by hand (e.g. the provider explained the findings); false when it is not open. */
  async closeTask(id: string, closedBy: string, note: string): Promise<boolean> {
    const now = new Date((this.#options.now ?? Date.now)()).toISOString();
    return (await this.#close(2, this.keys.openTasks, this.keys.task(id), id, closedBy, note, now)) === 1;
  }
}
