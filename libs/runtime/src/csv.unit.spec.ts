import fc from 'fast-check';
import { parse } from 'csv-parse/sync';
import { neutraliseCell, toCsv, wantsCsv } from './csv';

describe('toCsv', () => {
  it('quotes per RFC 4180 and ends every row in CRLF', () => {
    expect(toCsv(['a', 'b'], [['x,y', 'say "hi"'], [1, null]])).toBe('a,b\r\n"x,y","say ""hi"""\r\n1,\r\n');
  });

  it('neutralises formula starts in text but keeps negative numbers numeric', () => {
    expect(toCsv(['v'], [['=HYPERLINK("x")'], ['+1'], ['-2'], ['@SUM(A1)'], ['\tx'], [-5], ['a=b']])).toBe(
      `v\r\n"'=HYPERLINK(""x"")"\r\n'+1\r\n'-2\r\n'@SUM(A1)\r\n'\tx\r\n-5\r\na=b\r\n`,
    );
  });

  it('writes booleans, bigints, dates and objects as text; \\n endings and quoted spaces on request', () => {
    expect(toCsv(['a', 'b', 'c', 'd', 'e'], [[true, 12n, new Date(0), { k: 1 }, ' pad']], { eol: '\n', quoteSpaces: true })).toBe(
      'a,b,c,d,e\ntrue,12,1970-01-01T00:00:00.000Z,"{""k"":1}"," pad"\n',
    );
  });

  it('round-trips any text through a CSV parser, a formula start gaining only its quote', () => {
    fc.assert(
      fc.property(fc.array(fc.array(fc.string(), { minLength: 2, maxLength: 2 }), { maxLength: 5 }), (rows) => {
        const back = parse(toCsv(['x', 'y'], rows), { relax_column_count: false }) as string[][];
        expect(back.slice(1)).toEqual(rows.map((r) => r.map(neutraliseCell)));
      }),
    );
  });

  it('wantsCsv reads the Accept header', () => {
    expect(wantsCsv('text/csv')).toBe(true);
    expect(wantsCsv('application/json, text/csv;q=0.5')).toBe(true);
    expect(wantsCsv(undefined)).toBe(false);
    expect(wantsCsv('application/json')).toBe(false);
  });
});
