import t from 'tap';
import { transparencySubject } from '../../audit/transparency.js';

const today = new Date('2026-12-07T00:00:00Z');

t.test('transparencySubject: a valid resident ID number, normalized as subject hashing does', async (t) => {
  t.equal(transparencySubject('11010519491231002X', today), '11010519491231002X');
  t.equal(transparencySubject(' 11010519491231002x ', today), '11010519491231002X', 'trimmed, x uppercased');
  t.equal(
    transparencySubject('４４０５２４１８８００１０１００１４', today),
    '440524188001010014',
    'full-width digits',
  );
});

t.test('transparencySubject: refusals name a position, never the number', async (t) => {
  const cases: [unknown, RegExp][] = [
    [undefined, /header x-subject-id/],
    ['', /header x-subject-id/],
    [['11010519491231002X'], /header x-subject-id/],
    ['1101051949', /must be 18 characters/],
    ['x'.repeat(100), /must be 18 characters/],
    ['110105194912310021', /character 18 is wrong/],
    ['11010519491331002X', /character 7 is wrong/],
    ['11010520991231002X', /character 7 is wrong/],
    ['1101051949123100A2', /character 17 is wrong/],
  ];
  for (const [value, message] of cases) {
    try {
      transparencySubject(value, today);
      t.fail(`${JSON.stringify(value)} was accepted`);
    } catch (err) {
      const error = err as Error & { code?: string; statusCode?: number };
      t.equal(error.code, 'TRANSPARENCY_SUBJECT_INVALID');
      t.equal(error.statusCode, 400);
      t.match(error.message, message, JSON.stringify(value));
      if (typeof value === 'string' && value.length >= 10) {
        t.notOk(error.message.includes(value.slice(0, 10)), 'not echoed');
      }
    }
  }
});
