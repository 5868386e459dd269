import { UUIDV7_RE, uuidv7, uuidv7Time } from './uuid';

describe('uuidv7', () => {
  it('has the RFC 9562 v7 layout: version 7, variant 10, the ms timestamp in front', () => {
    const at = Date.UTC(2026, 10, 28, 10, 0, 0, 123);
    const id = uuidv7(at + 10_000_000); // ahead of any id generated so far in this process
    expect(id).toMatch(UUIDV7_RE);
    expect(uuidv7Time(id)).toBe(at + 10_000_000);
  });

  it('is strictly increasing within a millisecond and when the clock goes back', () => {
    const base = Date.now() + 20_000_000;
    const ids: string[] = [];
    for (let i = 0; i < 5000; i++) ids.push(uuidv7(base));
    for (let i = 0; i < 100; i++) ids.push(uuidv7(base - 5000)); // clock went backwards
    for (let i = 0; i < 100; i++) ids.push(uuidv7(base + i));
    for (let i = 1; i < ids.length; i++) expect(ids[i] > ids[i - 1]).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) expect(id).toMatch(UUIDV7_RE);
  });

  it('is random across ids with the same timestamp (74 random bits)', () => {
    const a = uuidv7(Date.now() + 30_000_000);
    const b = uuidv7(Date.now() + 30_000_001);
    expect(a.slice(15)).not.toBe(b.slice(15));
  });
});
