import t from 'tap';
import { calendarErrorDocs, calendarErrors } from '../../../policies/calendar/index.js';

t.test('every calendar error code is documented, stable and mapped to a status', async (t) => {
  const codes = Object.values(calendarErrors).map((E) => {
    const err = new E('x');
    t.match(err.code, /^CALENDAR_[A-Z_]+$/);
    t.ok(err.statusCode && err.statusCode >= 400 && err.statusCode < 600, `${err.code} has an HTTP status`);
    t.equal(err.message, 'x', `${err.code} passes the message through`);
    return err.code;
  });
  t.same(codes.sort(), Object.keys(calendarErrorDocs).sort());
  for (const doc of Object.values(calendarErrorDocs)) t.ok(doc.length > 20);
});
