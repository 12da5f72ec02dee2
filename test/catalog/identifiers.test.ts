import t from 'tap';
import {
  checkDivisionCode,
  checkIdNumber,
  checkPhone,
  checkUscc,
  idNumberCheckCharacter,
  organisationCheckCharacter,
  usccCheckCharacter,
} from '../../catalog/identifiers.js';

t.test('unified social credit codes', async (t) => {
  // The standard's example and three codes of real companies (published on their licences).
  for (const code of [
    '91350100M000100Y43',
    '91110108551385082Q',
    '914403001922038216',
    '9144030071526726XG',
  ]) {
    t.same(checkUscc(code), { ok: true }, code);
  }
  const refused: [code: string, position: number | undefined, reason: RegExp][] = [
    ['91350100M000100Y44', 18, /check character 18 is "4" but the first 17 characters give "3"/],
    // Right GB 32100 check character, wrong GB 11714 organisation-code check (M000100Y gives 4, not 5).
    ['91350100M000100Y56', 17, /character 17 is "5" but the organisation code .* gives "4"/],
    ['91350100M000100Y4Z', 18, /character 18 \("Z"\) is not allowed/],
    ['91350100I000100Y43', 9, /character 9 \("I"\) is not allowed/],
    ['91350100M0O0100Y43', 11, /character 11 \("O"\) is not allowed/],
    ['9135010ZM000100Y43', 8, /character 8 \("Z"\) is not allowed/],
    ['S1350100M000100Y43', 1, /character 1 \("S"\) is not allowed/],
    ['91350100M000100V43', 16, /character 16 \("V"\) is not allowed/],
    ['91350100m000100Y43', 9, /character 9 \("m"\) is not allowed/],
    ['913501A0M000100Y43', 7, /character 7 \("A"\) must be a digit/],
    ['91350100M000100Y4', undefined, /must be 18 characters long, not 17/],
    ['91350100M000100Y433', undefined, /must be 18 characters long, not 19/],
    ['', undefined, /not 0/],
  ];
  for (const [code, position, reason] of refused) {
    const result = checkUscc(code);
    t.equal(result.ok, false, `${code} refused`);
    if (!result.ok) {
      t.equal(result.position, position, `${code} position`);
      t.match(result.reason, reason, `${code} reason`);
    }
  }
  t.equal(usccCheckCharacter('91350100M000100Y4'), '3');
  t.equal(organisationCheckCharacter('M000100Y'), '4', "the standard's example");
  t.equal(organisationCheckCharacter('55138508'), '2', 'a real code: 551385082');
  t.equal(organisationCheckCharacter('71526726'), 'X', '11 − (sum mod 11) = 10 is written X');
  t.equal(organisationCheckCharacter('00000001'), '9', 'sum 2: 11 − 2 = 9');
  t.equal(organisationCheckCharacter('00000000'), '0', 'sum 0: 11 − 0 = 11 is written 0');
  t.equal(
    usccCheckCharacter('91350100M000100Y3'),
    '0',
    'a sum that is a multiple of 31 gives "0", not index 31',
  );
});

t.test('resident ID numbers', async (t) => {
  t.same(checkIdNumber('11010519491231002X'), { ok: true });
  t.same(checkIdNumber('440524188001010014'), { ok: true });
  t.equal(idNumberCheckCharacter('11010519491231002'), 'X');
  const today = new Date('2026-06-01T00:00:00Z');
  const refused: [id: string, position: number | undefined, reason: RegExp][] = [
    ['110105194912310021', 18, /check character 18 is "1" but the first 17 digits give "X"/],
    ['11010519491231002x', 18, /character 18 \("x"\) is not allowed: 17 digits, then a digit or a capital X/],
    ['1101051949123X0021', 14, /character 14/],
    ['110105199902300019', 7, /"19990230"\) are not a real birth date/],
    ['110105202701010011', 7, /not a real birth date/],
    ['110105184912310011', 7, /not a real birth date/],
    ['990105194912310021', 1, /division code: "99" is not a province-level code/],
    ['11010519491231002', undefined, /must be 18 characters long, not 17/],
  ];
  // Birth dates are China Standard Time dates: born on 1 January is valid from 00:00 CST that day.
  t.same(checkIdNumber('110105202601010019', new Date('2026-01-01T03:00:00+08:00')), { ok: true });
  t.equal(checkIdNumber('110105202601010019', new Date('2025-12-31T23:00:00+08:00')).ok, false);
  for (const [id, position, reason] of refused) {
    const result = checkIdNumber(id, today);
    t.equal(result.ok, false, `${id} refused`);
    if (!result.ok) {
      t.equal(result.position, position, `${id} position`);
      t.match(result.reason, reason, `${id} reason`);
    }
  }
});

t.test('division codes', async (t) => {
  for (const code of ['110000', '110100', '110105', '440524', '710000', '820000']) {
    t.same(checkDivisionCode(code), { ok: true }, code);
  }
  const refused: [code: string, position: number | undefined][] = [
    ['990000', 1],
    ['000000', 1],
    ['110005', 5],
    ['11010', undefined],
    ['11010a', undefined],
  ];
  for (const [code, position] of refused) {
    const result = checkDivisionCode(code);
    t.equal(result.ok, false, `${code} refused`);
    if (!result.ok) t.equal(result.position, position, `${code} position`);
  }
});

t.test('phone numbers', async (t) => {
  for (const phone of ['13800138000', '19912345678', '010-12345678', '0755-1234567', '02012345678']) {
    t.same(checkPhone(phone), { ok: true }, phone);
  }
  for (const phone of ['12800138000', '1380013800', '+8613800138000', '010-0234567']) {
    t.equal(checkPhone(phone).ok, false, phone);
  }
});

t.test('resident ID numbers: the one-pass check agrees with the rules, number by number', async (t) => {
  const today = new Date('2026-06-01T00:00:00Z');
  // The rules restated the slow way (regular expression, division code, a Date for the birth date).
  const reference = (id: string) => {
    if (!/^[0-9]{17}[0-9X]$/.test(id) || !checkDivisionCode(id.slice(0, 6)).ok) return false;
    const [y, m, d] = [id.slice(6, 10), id.slice(10, 12), id.slice(12, 14)].map(Number) as [
      number,
      number,
      number,
    ];
    const birth = new Date(Date.UTC(y, m - 1, d));
    const real = y >= 1850 && birth.getUTCMonth() === m - 1 && birth.getUTCDate() === d;
    const notYetBorn = birth.getTime() > Date.UTC(2026, 5, 1);
    return real && !notYetBorn && id[17] === idNumberCheckCharacter(id.slice(0, 17));
  };
  const bases = [
    '11010519491231002',
    '44052418800101001',
    '11000020000229001', // a province-level division, 29 February of a leap century
    '11010519000228001',
    '11000520240229001', // county code without a prefecture code
    '71000020260601001', // born the day of the check
  ];
  let agreed = 0;
  let passed = 0;
  for (const base of bases) {
    for (let at = 0; at < 18; at++) {
      for (const c of '0123456789X') {
        const first17 = at < 17 ? base.slice(0, at) + c + base.slice(at + 1) : base;
        const id = at < 17 ? `${first17}${idNumberCheckCharacter(first17)}` : first17 + c;
        const want = reference(id);
        const got = checkIdNumber(id, today);
        if (got.ok === want) agreed++;
        else t.fail(`${id}: ${JSON.stringify(got)}, the rules say ${want}`);
        if (want) passed++;
      }
    }
  }
  t.equal(agreed, bases.length * 18 * 11);
  t.ok(passed > 100 && passed < agreed / 2, `${passed} pass, the rest are refused for one reason or another`);
});

t.test(
  'division codes and mobile numbers: the checks without a regular expression agree with the rules',
  async (t) => {
    // The rules restated with the regular expressions they are written as.
    const province = new Set([
      11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46, 50, 51, 52, 53, 54,
      61, 62, 63, 64, 65, 71, 81, 82,
    ]);
    const division = (code: string) =>
      /^[0-9]{6}$/.test(code) &&
      province.has(Number(code.slice(0, 2))) &&
      !(code.slice(2, 4) === '00' && code.slice(4, 6) !== '00');
    const phone = (value: string) =>
      /^1[3-9][0-9]{9}$/.test(value) || /^0[1-9][0-9]{1,2}-?[1-9][0-9]{6,7}$/.test(value);
    let seed = 42;
    const next = () => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed / 2 ** 32;
    };
    const alphabet = '0123456789000111-x１ ';
    const draw = (length: number) =>
      Array.from({ length }, () => alphabet[Math.floor(next() * alphabet.length)]).join('');
    let divisions = 0;
    let mobiles = 0;
    for (let i = 0; i < 60_000; i++) {
      const code = i % 3 === 0 ? String(Math.floor(next() * 1_000_000)).padStart(6, '0') : draw(5 + (i % 3));
      const number =
        i % 2 === 0
          ? `1${Math.floor(next() * 10)}${String(Math.floor(next() * 1e9)).padStart(9, '0')}`
          : draw(10 + (i % 4));
      if (checkDivisionCode(code).ok !== division(code)) t.fail(`division code ${JSON.stringify(code)}`);
      if (checkPhone(number).ok !== phone(number)) t.fail(`phone ${JSON.stringify(number)}`);
      if (division(code)) divisions++;
      if (phone(number)) mobiles++;
    }
    t.ok(
      divisions > 1000 && mobiles > 10_000,
      `${divisions} division codes and ${mobiles} phone numbers passed`,
    );
    for (const code of ['110000', '420102', '110005', '001000', '１10000', '11000', '1100000']) {
      t.equal(checkDivisionCode(code).ok, division(code), code);
    }
  },
);
