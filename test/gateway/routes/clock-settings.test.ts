/**
 * The clocks of disputes, rectification orders, catalog change events and the platform's objection
 * recheck are platform settings (GOVSHARE_*_WORKDAYS) with the statutory value as default, and a value
 * longer than the statute allows is refused where the statute fixes one ([HC-R] 13: 15; [XY] 21: 5). A
 * configured value moves the deadline. From Monday 2026-03-02 10:00 CST on the working-day calendar:
 * +3 → 03-05, +5 → 03-09, +7 → 03-11, +8 → 03-12, +10 → 03-16, +12 → 03-18, +15 → 03-23, +20 → 03-30.
 */
import t, { type Test } from 'tap';
import { ConfigError, loadConfig } from '../../../gateway/app/config.js';
import {
  bureauActor,
  CIVIL_AFFAIRS,
  civilAdmin,
  HUMAN_RESOURCES,
} from '../../policies/applications/fixtures.js';
import { grantInsurance, insuranceObjection } from '../../policies/objections/fixtures.js';
import { buildWorkflowApp } from '../jobs/workflow-app.js';

type Deadline = { limitWorkdays: number; dueDate: string; remindAt?: string };

/** The deadlines a gateway with `env` gives each kind of case and a platform-received objection. */
async function deadlines(t: Test, env: Record<string, string>) {
  const gw = await buildWorkflowApp(t, { env });
  await grantInsurance(gw.context.grants);
  const post = async (actor: typeof civilAdmin, url: string, payload: object) => {
    const res = await gw.app.inject({ method: 'POST', url, headers: gw.as(actor), payload });
    t.equal(res.statusCode, 201, res.body);
    return res.json().deadline as Deadline;
  };
  return {
    dispute: await post(civilAdmin, '/v1/disputes', {
      otherDept: HUMAN_RESOURCES,
      subject: '授权范围',
      description: '请平台裁定',
    }),
    rectification: await post(bureauActor, '/v1/rectifications', {
      dept: HUMAN_RESOURCES,
      subject: '未按期答复',
      description: '应完成答复并报告整改情况',
    }),
    catalogChange: await post(bureauActor, '/v1/catalog-changes', {
      dept: HUMAN_RESOURCES,
      event: 'law-amended',
      subject: '《社会保险法》修正',
      description: '目录需增加信息项',
    }),
    recheck: await post(civilAdmin, '/v1/objections', insuranceObjection({ to: 'platform' })),
  };
}

t.test('by default the statutory limits', async (t) => {
  t.match(await deadlines(t, {}), {
    dispute: { limitWorkdays: 10, dueDate: '2026-03-16' },
    rectification: { limitWorkdays: 15, dueDate: '2026-03-23' },
    catalogChange: { limitWorkdays: 15, dueDate: '2026-03-23', remindAt: '2026-03-16T16:00:00.000Z' },
    recheck: { limitWorkdays: 5, dueDate: '2026-03-09' },
  });
});

t.test('configured limits move every deadline', async (t) => {
  t.match(
    await deadlines(t, {
      GOVSHARE_DISPUTE_DECISION_WORKDAYS: '7',
      GOVSHARE_RECTIFICATION_WORKDAYS: '20',
      GOVSHARE_CATALOG_UPDATE_WORKDAYS: '12',
      GOVSHARE_CATALOG_UPDATE_REMIND_WORKDAYS: '8',
      GOVSHARE_OBJECTION_RECHECK_WORKDAYS: '3',
    }),
    {
      dispute: { limitWorkdays: 7, dueDate: '2026-03-11' },
      rectification: { limitWorkdays: 20, dueDate: '2026-03-30' },
      catalogChange: { limitWorkdays: 12, dueDate: '2026-03-18', remindAt: '2026-03-12T16:00:00.000Z' },
      recheck: { limitWorkdays: 3, dueDate: '2026-03-05' },
    },
  );
  t.equal(CIVIL_AFFAIRS, civilAdmin.dept);
});

t.test(
  'a limit longer than the statute allows, or a reminder not before the due date, is refused',
  async (t) => {
    const refused: [Record<string, string>, string, RegExp][] = [
      [{ GOVSHARE_CATALOG_UPDATE_WORKDAYS: '16' }, 'GOVSHARE_CATALOG_UPDATE_WORKDAYS', /from 2 to 15/],
      [{ GOVSHARE_OBJECTION_RECHECK_WORKDAYS: '6' }, 'GOVSHARE_OBJECTION_RECHECK_WORKDAYS', /from 1 to 5/],
      [{ GOVSHARE_DISPUTE_DECISION_WORKDAYS: '0' }, 'GOVSHARE_DISPUTE_DECISION_WORKDAYS', /from 1 to 60/],
      [{ GOVSHARE_RECTIFICATION_WORKDAYS: '121' }, 'GOVSHARE_RECTIFICATION_WORKDAYS', /from 1 to 120/],
      [
        { GOVSHARE_CATALOG_UPDATE_WORKDAYS: '10', GOVSHARE_CATALOG_UPDATE_REMIND_WORKDAYS: '10' },
        'GOVSHARE_CATALOG_UPDATE_REMIND_WORKDAYS',
        /must be less than GOVSHARE_CATALOG_UPDATE_WORKDAYS \(10\)/,
      ],
    ];
    for (const [env, variable, message] of refused) {
      const err = t.throws(() => loadConfig(env), JSON.stringify(env)) as unknown as ConfigError;
      t.type(err, ConfigError);
      t.equal(err.variable, variable);
      t.match(err.message, message);
    }
    t.match(loadConfig({ GOVSHARE_CATALOG_UPDATE_WORKDAYS: '15' }), {
      GOVSHARE_CATALOG_UPDATE_WORKDAYS: 15,
      GOVSHARE_CATALOG_UPDATE_REMIND_WORKDAYS: 10,
      GOVSHARE_OBJECTION_RECHECK_WORKDAYS: 5,
    });
  },
);
