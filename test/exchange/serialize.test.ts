import t from 'tap';
import { csvField, laterWatermark, serializerFor } from '../../exchange/serialize.js';

t.test('csv fields: RFC 4180 quoting and CSV-injection prefixes', async (t) => {
  const cases: [unknown, string][] = [
    ['plain', 'plain'],
    ['张三', '张三'],
    ['a,b', '"a,b"'],
    ['say "hi"', '"say ""hi"""'],
    ['two\nlines', '"two\nlines"'],
    ['cr\rhere', '"cr\rhere"'],
    ['=SUM(A1:A2)', "'=SUM(A1:A2)"],
    ['+8613800000000', "'+8613800000000"],
    ['-1+1', "'-1+1"],
    ['@cmd', "'@cmd"],
    ['\tstart', "'\tstart"],
    ['=HYPERLINK("http://x","y")', '"\'=HYPERLINK(""http://x"",""y"")"'],
    ['a=b', 'a=b'],
    [-5, '-5'],
    [3.5, '3.5'],
    [true, 'true'],
    [null, ''],
    [undefined, ''],
    ['', ''],
    [{ a: 1 }, '"{""a"":1}"'],
  ];
  for (const [value, want] of cases) t.equal(csvField(value), want, JSON.stringify(value) ?? 'undefined');
});

t.test('csv pages: header once, CRLF, absent items empty, catalog order', async (t) => {
  const s = serializerFor('csv', ['idNumber', 'name', 'note']);
  t.equal(s.preamble, 'idNumber,name,note\r\n');
  t.equal(
    s.page([{ name: '李四', idNumber: '1', note: 'x,y' }, { idNumber: '2' }]),
    '1,李四,"x,y"\r\n2,,\r\n',
  );
  t.equal(s.page([]), '');
});

t.test('jsonl pages: one object per line, no preamble', async (t) => {
  const s = serializerFor('jsonl', ['a', 'b']);
  t.equal(s.preamble, '');
  t.equal(s.page([{ a: 1, b: '甲' }, { a: null }]), '{"a":1,"b":"甲"}\n{"a":null}\n');
});

t.test('watermarks compare as instants, numbers or strings', async (t) => {
  t.equal(laterWatermark(undefined, '5'), '5');
  t.equal(laterWatermark('5', undefined), '5');
  t.equal(
    laterWatermark('2024-01-01T00:00:00.000Z', '2024-01-01T08:00:00+08:00'),
    '2024-01-01T00:00:00.000Z',
    'same instant keeps the first',
  );
  t.equal(laterWatermark('2024-01-01T08:00:00+08:00', '2024-01-01T00:30:00Z'), '2024-01-01T00:30:00Z');
  t.equal(laterWatermark('9', '10'), '10', 'numbers as numbers');
  t.equal(laterWatermark('b', 'a'), 'b');
});
