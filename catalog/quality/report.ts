/**
 * The shapes a quality check produces: the report of one run and the correction task opened when a run
 * scores below the threshold. TypeBox objects, so that the routes validate, serialize and document them
 * from the same source.
 */
import { type Static, Type } from '@sinclair/typebox';
import { literalUnion } from '../records.js';

export const QualityRuleKind = literalUnion([
  'schema',
  'identifier',
  'date',
  'unique',
  'freshness',
  'consistency',
]);
export type QualityRuleKind = Static<typeof QualityRuleKind>;

export const QualityExample = Type.Object(
  {
    key: Type.String({ description: 'Key of the row, masked like its key item' }),
    item: Type.Optional(Type.String()),
    value: Type.Optional(
      Type.String({ description: 'The value, masked by its sensitive kind; absent when hidden' }),
    ),
    reason: Type.String({ description: 'What is wrong, without the value itself' }),
  },
  { additionalProperties: false },
);
export type QualityExample = Static<typeof QualityExample>;

export const QualityRuleResult = Type.Object(
  {
    rule: Type.String({
      description: 'e.g. schema:name, identifier:idNumber, date:birthDate, unique:key, freshness',
    }),
    kind: QualityRuleKind,
    item: Type.Optional(Type.String()),
    violations: Type.Integer({ minimum: 0 }),
    examples: Type.Array(QualityExample, { maxItems: 5 }),
    partial: Type.Optional(
      Type.Boolean({ description: 'The rule could not look at every checked row (see note)' }),
    ),
    note: Type.Optional(Type.String()),
  },
  { additionalProperties: false },
);
export type QualityRuleResult = Static<typeof QualityRuleResult>;

export const Freshness = Type.Object(
  {
    checked: Type.Boolean({
      description: 'False when the resource has no watermark or an irregular update cycle',
    }),
    stale: Type.Boolean(),
    watermark: Type.Optional(Type.String({ description: 'The item that dates each row' })),
    newest: Type.Optional(
      Type.String({ description: 'Newest watermark value seen (not later than the check)' }),
    ),
    ageSeconds: Type.Optional(Type.Integer({ minimum: 0 })),
    maxAgeSeconds: Type.Optional(Type.Integer({ minimum: 0, description: 'Allowed by the update cycle' })),
    futureRows: Type.Optional(
      Type.Integer({ minimum: 0, description: 'Rows dated later than the check (left out of `newest`)' }),
    ),
    reason: Type.Optional(Type.String()),
  },
  { additionalProperties: false },
);
export type Freshness = Static<typeof Freshness>;

export const QualityTrend = Type.Object(
  {
    previousRunId: Type.String(),
    previousScore: Type.Number(),
    previousFinishedAt: Type.String(),
    delta: Type.Number({ description: 'This score minus the previous one' }),
  },
  { additionalProperties: false },
);
export type QualityTrend = Static<typeof QualityTrend>;

export const QualityReport = Type.Object(
  {
    id: Type.String({ description: 'Run id' }),
    resource: Type.String({ description: 'Resource code' }),
    version: Type.Integer({ minimum: 1 }),
    trigger: Type.Optional(literalUnion(['schedule', 'manual'])),
    startedAt: Type.String({ format: 'date-time' }),
    finishedAt: Type.String({ format: 'date-time' }),
    rowsRead: Type.Integer({ minimum: 0 }),
    rowsChecked: Type.Integer({
      minimum: 0,
      description: 'Rows in the sample (all rows read when not sampled)',
    }),
    rowsWithViolations: Type.Integer({ minimum: 0 }),
    sample: Type.Optional(
      Type.Object(
        { ratio: Type.Number({ exclusiveMinimum: 0, maximum: 1 }), seed: Type.String() },
        { additionalProperties: false },
      ),
    ),
    score: Type.Number({
      minimum: 0,
      maximum: 100,
      description:
        '100 × rows without any violation / rows checked (100 when none were checked), minus 20 when stale; two decimals',
    }),
    rules: Type.Array(QualityRuleResult),
    freshness: Freshness,
    trend: Type.Optional(QualityTrend),
  },
  { additionalProperties: false },
);
export type QualityReport = Static<typeof QualityReport>;

export const CorrectionTask = Type.Object(
  {
    id: Type.String(),
    resource: Type.String(),
    version: Type.Integer(),
    state: literalUnion(['open', 'resolved', 'closed'], {
      description: 'resolved: a later run reached the threshold; closed: closed by a person',
    }),
    openedAt: Type.String({ format: 'date-time' }),
    updatedAt: Type.String({ format: 'date-time' }),
    runId: Type.String({ description: 'Latest run below the threshold' }),
    score: Type.Number(),
    threshold: Type.Number(),
    failingRules: Type.Array(
      Type.Object(
        { rule: Type.String(), violations: Type.Integer({ minimum: 0 }) },
        { additionalProperties: false },
      ),
    ),
    failingRuns: Type.Integer({
      minimum: 1,
      description: 'Runs below the threshold while the task was open',
    }),
    resolvedByRun: Type.Optional(Type.String()),
    closedBy: Type.Optional(Type.String()),
    note: Type.Optional(Type.String()),
  },
  { additionalProperties: false },
);
export type CorrectionTask = Static<typeof CorrectionTask>;
