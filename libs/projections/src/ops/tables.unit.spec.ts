import { diffRows, toCsv } from './tables';
import { mergeRules } from './replay';

describe('replay output helpers', () => {
  it('writes CSV with quoting only where needed, nulls empty', () => {
    expect(toCsv(['id', 'name', 'n', 'note'], [{ id: 'a', name: 'x,y', n: 3, note: null }, { id: 'b', name: 'say "hi"', n: 0, note: ' lead' }])).toBe(
      'id,name,n,note\na,"x,y",3,\nb,"say ""hi""",0," lead"\n',
    );
  });

  it('diffs rows by primary key: added, removed, changed with the columns, unchanged', () => {
    const shape = { columns: ['k1', 'k2', 'v'], primaryKey: ['k1', 'k2'] };
    const d = diffRows(
      shape,
      [{ k1: 'a', k2: 1, v: 1 }, { k1: 'a', k2: 2, v: 2 }, { k1: 'b', k2: 1, v: 3 }],
      [{ k1: 'a', k2: 1, v: 1 }, { k1: 'a', k2: 2, v: 20 }, { k1: 'c', k2: 1, v: 4 }],
    );
    expect(d).toMatchObject({ added: 1, removed: 1, changed: 1, unchanged: 1, addedKeys: [['c', 1]], removedKeys: [['b', 1]] });
    expect(d.changedRows).toEqual([{ key: ['a', 2], columns: { v: { baseline: 2, whatIf: 20 } } }]);
    // Without a primary key every column is the key: a change is a removal plus an addition.
    expect(diffRows({ columns: ['x'], primaryKey: [] }, [{ x: 1 }], [{ x: 2 }])).toMatchObject({ added: 1, removed: 1, changed: 0 });
  });

  it('merges rules deeply: objects key by key, arrays and scalars replace', () => {
    const live = { currency: 'USD', loyalty: { tiers: [{ name: 'gold', minPoints: 2000 }], expiry: { days: 365, mode: 'fixed' } } };
    expect(mergeRules(live, { loyalty: { tiers: [{ name: 'gold', minPoints: 1500 }], expiry: { days: 180 } } })).toEqual({
      currency: 'USD',
      loyalty: { tiers: [{ name: 'gold', minPoints: 1500 }], expiry: { days: 180, mode: 'fixed' } },
    });
    expect(live.loyalty.expiry.days).toBe(365);
  });
});
