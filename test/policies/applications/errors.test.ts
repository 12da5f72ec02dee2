import t from 'tap';
import { notificationsErrorDocs, notificationsErrors } from '../../../notifications/errors.js';
import { applicationsErrorDocs, applicationsErrors } from '../../../policies/applications/errors.js';
import { statsErrorDocs, statsErrors } from '../../../policies/stats/errors.js';

const areas = [
  ['applications', applicationsErrors, applicationsErrorDocs],
  ['stats', statsErrors, statsErrorDocs],
  ['notifications', notificationsErrors, notificationsErrorDocs],
] as const;

t.test('every error code of the workflow is stable, documented and maps to a 4xx', async (t) => {
  for (const [area, constructors, docs] of areas) {
    const codes = Object.entries(constructors).map(([name, E]) => {
      const error = new E('what to fix');
      t.equal(error.code, name, `${area}: the constructor is named after its code`);
      t.match(error.code, /^[A-Z][A-Z0-9_]+$/);
      t.ok(error.statusCode! >= 400 && error.statusCode! < 500, `${error.code} is a client error`);
      t.equal(error.message, 'what to fix');
      t.ok((docs as Record<string, string>)[error.code]!.length > 20, `${error.code} is documented`);
      return error.code;
    });
    t.same(Object.keys(docs).sort(), codes.sort(), `${area}: no documentation for codes that do not exist`);
  }
});
