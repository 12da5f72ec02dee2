import t from 'tap';
import { REGION_PROFILES, resolveLimits, WorkdayCalendar } from '../../../policies/calendar/index.js';

t.test('region profiles give statutory limits in working days', async (t) => {
  t.same(
    resolveLimits(),
    { check: 3, authorize: 10, notify: 1, directGrant: 3, objectionAnswer: 3 },
    'Hubei is the default',
  );
  t.same(resolveLimits({ region: 'hubei' }), {
    check: 3,
    authorize: 10,
    notify: 1,
    directGrant: 3,
    objectionAnswer: 3,
  });
  t.same(resolveLimits({ region: 'shanxi' }), {
    check: 2,
    authorize: 5,
    notify: 1,
    directGrant: 3,
    objectionAnswer: 3,
  });
  t.same(resolveLimits({ region: 'hechi' }), {
    check: 3,
    authorize: 5,
    notify: 1,
    directGrant: 3,
    objectionAnswer: 3,
  });
  t.same(REGION_PROFILES.hechi.limits, { authorize: 5 }, 'Hechi sets only the provider limit');
  t.same(resolveLimits({ region: 'shanxi', limits: { authorize: 10 } }), {
    check: 2,
    authorize: 10,
    notify: 1,
    directGrant: 3,
    objectionAnswer: 3,
  });
  t.equal(resolveLimits({ limits: { objectionAnswer: 5 } }).objectionAnswer, 5, 'overridden like the others');
});

t.test('limits drive deadlines', async (t) => {
  const calendar = new WorkdayCalendar();
  const submitted = Date.parse('2026-02-13T02:00:00Z');
  t.equal(calendar.deadline(submitted, resolveLimits().check).dueDate, '2026-02-25');
  t.equal(calendar.deadline(submitted, resolveLimits({ region: 'shanxi' }).check).dueDate, '2026-02-24');
});

t.test('bad region configuration names the field', async (t) => {
  const cases: [unknown, RegExp][] = [
    [
      { region: 'beijing' },
      /^region limits: \/region must be one of hubei, shanxi, hechi \(got "beijing"\)$/,
    ],
    [{ limits: { check: 0 } }, /^region limits: \/limits\/check must be >= 1$/],
    [{ limits: { authorize: 2.5 } }, /^region limits: \/limits\/authorize must be integer$/],
    [{ limits: { review: 3 } }, /^region limits: \/limits\/review is not a known field$/],
    [{ profile: 'hubei' }, /^region limits: \/profile is not a known field$/],
  ];
  for (const [config, message] of cases) {
    t.throws(
      () => resolveLimits(config as never),
      { code: 'CALENDAR_LIMITS_INVALID', message },
      JSON.stringify(config),
    );
  }
});
