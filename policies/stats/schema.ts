/** The shape of the published statistics (JSON answer of GET /v1/stats and `govshare stats`). */
import { type Static, Type } from '@sinclair/typebox';

const Count = Type.Integer({ minimum: 0 });
const Share = Type.Union([Type.Number({ minimum: 0, maximum: 1 }), Type.Null()], {
  description: 'A fraction from 0 to 1, null when there is nothing to divide',
});
const Workdays = Type.Union([Type.Number({ minimum: 0 }), Type.Null()]);

export const ApplicationFigures = Type.Object(
  {
    received: Type.Integer({ minimum: 0, description: 'Submitted in the period' }),
    decided: Type.Integer({ minimum: 0, description: 'Granted, rejected or refused in the period' }),
    granted: Count,
    rejected: Count,
    refused: Count,
    decidedWithinLimit: Type.Integer({
      minimum: 0,
      description: 'Decided applications every stage of which ended by its statutory deadline',
    }),
    withinLimitShare: Share,
    medianWorkdays: Type.Union([Type.Number({ minimum: 0 }), Type.Null()], {
      description: 'Median working days from submission to decision (start day not counted)',
    }),
    p90Workdays: Workdays,
    overdue: Type.Integer({
      minimum: 0,
      description: 'Stages whose deadline fell in the period and that ended late or are still open past it',
    }),
    overdueByStage: Type.Object({ check: Count, directGrant: Count, authorize: Count, notify: Count }),
  },
  { additionalProperties: false, description: 'Applications, counted for the provider department' },
);
export type ApplicationFigures = Static<typeof ApplicationFigures>;

export const CallFigures = Type.Object(
  {
    allowed: Count,
    denied: Count,
    deniedByReason: Type.Record(Type.String(), Count, { description: 'Deny code → calls' }),
  },
  { additionalProperties: false },
);
export type CallFigures = Static<typeof CallFigures>;

export const AvailabilityFigures = Type.Object(
  {
    probes: Type.Integer({ minimum: 0, description: 'Health probes of mounted data services' }),
    ok: Count,
    share: Share,
  },
  { additionalProperties: false },
);
export type AvailabilityFigures = Static<typeof AvailabilityFigures>;

export const FeedbackFigures = Type.Object(
  {
    reports: Count,
    served: Count,
    partlyServed: Count,
    notServed: Count,
  },
  { additionalProperties: false, description: 'Usage feedback of consumers (policies/feedback.ts)' },
);
export type FeedbackFigures = Static<typeof FeedbackFigures>;

export const DepartmentStatistics = Type.Object(
  {
    dept: Type.String(),
    applications: ApplicationFigures,
    applicationsFiled: Type.Integer({
      minimum: 0,
      description: 'Submitted in the period by this department as consumer',
    }),
    callsMade: CallFigures,
    callsServed: CallFigures,
    availability: AvailabilityFigures,
    feedbackGiven: Type.Optional(FeedbackFigures),
    feedbackReceived: Type.Optional(FeedbackFigures),
  },
  { additionalProperties: false },
);
export type DepartmentStatistics = Static<typeof DepartmentStatistics>;

export const Statistics = Type.Object(
  {
    from: Type.String({ format: 'date' }),
    to: Type.String({ format: 'date' }),
    generatedAt: Type.String({ format: 'date-time' }),
    departments: Type.Array(DepartmentStatistics),
    overall: Type.Optional(
      Type.Object(
        {
          applications: ApplicationFigures,
          calls: CallFigures,
          availability: AvailabilityFigures,
          feedback: Type.Optional(FeedbackFigures),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);
export type Statistics = Static<typeof Statistics>;
