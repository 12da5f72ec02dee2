/**
 * Statutory time limits in working days, per region (a region profile). The limits differ by region,
 * so they are configuration: a profile name selects a row of REGION_PROFILES and single limits can be
 * overridden (RegionLimitsConfig). Profiles give only what their regulation sets; the rest comes from
 * the default (Hubei).
 */
import { type Static, Type } from '@sinclair/typebox';
import { Ajv } from 'ajv';
import { CalendarLimitsInvalid } from './errors.js';

const limit = (description: string) => Type.Integer({ minimum: 1, maximum: 365, description });

export const StatutoryLimits = Type.Object(
  {
    check: limit("Platform's normative check of an application: accept and forward, or reject (规范性检查)"),
    authorize: limit("Provider's authorization or reasoned refusal (授权)"),
    notify: limit("Platform's notice of the provider's answer to the consumer"),
    directGrant: limit('Direct grant of an unconditional resource without control parameters'),
    objectionAnswer: limit(
      "Provider's verification and answer to an objection to a record (疑义核实, [XY] 21: 3 working days)",
    ),
    objectionRecheck: Type.Optional(
      Type.Integer({
        minimum: 1,
        // [XY] 21 fixes 5 working days: a longer recheck is refused.
        maximum: 5,
        description:
          "Platform's recheck of an objection it received before forwarding it to the provider ([XY] 21: 5 working days, at most; 5 when unset)",
      }),
    ),
  },
  { additionalProperties: false, description: 'Statutory limits in working days' },
);
export type StatutoryLimits = Static<typeof StatutoryLimits>;

export const REGION_NAMES = ['hubei', 'shanxi', 'hechi'] as const;
export type RegionName = (typeof REGION_NAMES)[number];

export const RegionName = Type.Union(
  REGION_NAMES.map((name) => Type.Literal(name)),
  { default: 'hubei', description: 'Region profile that selects the statutory limits' },
);

export interface RegionProfile {
  label: string;
  /** The regulation the limits come from. */
  source: string;
  /** Limits the regulation sets; the others come from the default profile. */
  limits: Partial<StatutoryLimits>;
}

export const DEFAULT_REGION: RegionName = 'hubei';

export const REGION_PROFILES: Record<RegionName, RegionProfile> = {
  hubei: {
    label: 'Hubei 湖北省',
    source: '《湖北省政务信息资源共享管理办法》(鄂政办发〔2018〕59号) arts. 19–21',
    limits: { check: 3, authorize: 10, notify: 1, directGrant: 3, objectionAnswer: 3 },
  },
  shanxi: {
    // The provider has 10 working days instead of 5 when the data is not yet on the platform.
    label: 'Shanxi 山西省',
    source: 'Shanxi provincial rules on government data sharing',
    limits: { check: 2, authorize: 5, notify: 1, directGrant: 3 },
  },
  hechi: {
    label: 'Hechi 河池市',
    source: '《河池市政务信息资源管理暂行办法》(河政办发〔2019〕64号) art. 28',
    limits: { authorize: 5 },
  },
};

export const RegionLimitsConfig = Type.Object(
  {
    region: Type.Optional(RegionName),
    limits: Type.Optional(
      Type.Partial(StatutoryLimits, { description: "Override single limits of the region's profile" }),
    ),
  },
  { additionalProperties: false, description: 'Region profile and limit overrides' },
);
export type RegionLimitsConfig = Static<typeof RegionLimitsConfig>;

const ajv = new Ajv({ allErrors: false, strict: true });
const validate = ajv.compile<RegionLimitsConfig>(RegionLimitsConfig);

/** The limits of `config.region` (default Hubei) with `config.limits` applied over them. */
export function resolveLimits(config: RegionLimitsConfig = {}): StatutoryLimits {
  if (!validate(config)) {
    const error = validate.errors?.[0];
    const field = error?.instancePath || '/';
    const detail =
      error?.keyword === 'additionalProperties'
        ? `${field === '/' ? '' : field}/${String(error.params.additionalProperty)} is not a known field`
        : field === '/region'
          ? `/region must be one of ${REGION_NAMES.join(', ')} (got ${JSON.stringify((config as RegionLimitsConfig).region)})`
          : `${field} ${error?.message ?? 'is invalid'}`;
    throw new CalendarLimitsInvalid(`region limits: ${detail}`);
  }
  const region = config.region ?? DEFAULT_REGION;
  return {
    ...(REGION_PROFILES[DEFAULT_REGION].limits as StatutoryLimits),
    ...REGION_PROFILES[region].limits,
    ...config.limits,
  };
}
