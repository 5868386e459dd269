import { ndjsonLines, type NdjsonLine } from './ndjson-lines';

async function split(chunks: (string | Buffer)[], max = 16): Promise<(string | { line: number; tooLong: number })[]> {
  async function* source() {
    for (const c of chunks) yield typeof c === 'string' ? Buffer.from(c) : c;
  }
  const out: (string | { line: number; tooLong: number })[] = [];
  for await (const l of ndjsonLines(source(), max) as AsyncGenerator<NdjsonLine>) out.push(l.tooLong ? { line: l.line, tooLong: l.size } : `${l.line}:${l.bytes.toString()}`);
  return out;
}

describe('ndjsonLines', () => {
  it('numbers lines as in the file, across chunk boundaries, skipping blank lines', async () => {
    expect(await split(['{"a":1}\n{"b', '":2}\n\n  \n{"c":3}'])).toEqual(['1:{"a":1}', '2:{"b":2}', '5:{"c":3}']);
  });

  it('takes CRLF line ends and a UTF-8 byte order mark on the first line', async () => {
    expect(await split([Buffer.from([0xef, 0xbb, 0xbf]), '{"a":1}\r\n{"b":2}\r\n'])).toEqual(['1:{"a":1}', '2:{"b":2}']);
  });

  it('keeps multi-byte characters split between chunks whole', async () => {
    const bytes = Buffer.from('{"n":"ü€"}\n');
    expect(await split([bytes.subarray(0, 7), bytes.subarray(7)])).toEqual(['1:{"n":"ü€"}']);
  });

  it('reports a line over the limit with its size, in one chunk or many, and goes on with the next', async () => {
    expect(await split(['{"a":1}\n', 'x'.repeat(10), 'x'.repeat(10), 'x'.repeat(10), '\n{"b":2}\n'])).toEqual(['1:{"a":1}', { line: 2, tooLong: 30 }, '3:{"b":2}']);
    expect(await split(['y'.repeat(40), '\n', 'z'.repeat(17)])).toEqual([{ line: 1, tooLong: 40 }, { line: 2, tooLong: 17 }]);
    expect(await split(['1234567890123456\n'])).toEqual(['1:1234567890123456']);
  });
});
