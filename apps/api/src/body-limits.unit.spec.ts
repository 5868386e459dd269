import fc from 'fast-check';
import { jsonDepth } from './body-limits';

/** Depth of a parsed JSON value: objects and arrays count one level each. */
function depthOf(v: unknown): number {
  if (Array.isArray(v)) return 1 + Math.max(0, ...v.map(depthOf));
  if (v !== null && typeof v === 'object') return 1 + Math.max(0, ...Object.values(v).map(depthOf));
  return 0;
}

const bytes = (s: string) => Buffer.from(s, 'utf8');

describe('jsonDepth (raw-body scan before parsing)', () => {
  it('equals the depth of the parsed value for any JSON, strings with brackets, quotes and escapes included', () => {
    const str = fc.string({ unit: fc.constantFrom('{', '}', '[', ']', '"', '\\', 'a', 'é', '😀', '\n') });
    const value = fc.letrec((tie) => ({
      node: fc.oneof({ depthSize: 'small' }, str, fc.integer(), fc.constant(null), fc.array(tie('node'), { maxLength: 4 }), fc.dictionary(str, tie('node'), { maxKeys: 4 })),
    })).node;
    fc.assert(
      fc.property(value, (v) => {
        const text = JSON.stringify(v);
        expect(jsonDepth(bytes(text), 1000)).toBe(depthOf(JSON.parse(text)));
      }),
      { numRuns: 500 },
    );
  });

  it('stops counting past the limit', () => {
    expect(jsonDepth(bytes('['.repeat(3000) + ']'.repeat(3000)), 32)).toBe(33);
    expect(jsonDepth(bytes('{"a":'.repeat(32) + '1' + '}'.repeat(32)), 32)).toBe(32);
    expect(jsonDepth(bytes(JSON.stringify({ s: '[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[' })), 32)).toBe(1);
  });
});
