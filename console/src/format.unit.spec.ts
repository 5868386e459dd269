import { addDays, formatChange, formatCount, formatDecimal, formatInstant, formatLag, formatMoney, formatMoneyCompact, formatPercent, previousWindow, splitWindow, windowDays } from './format';

describe('console formatting', () => {
  it('counts, money in the currency’s decimals, percents, decimals; absent is a dash', () => {
    expect(formatCount(2357)).toBe('2,357');
    expect(formatMoney(11249861, 'USD')).toBe('$112,498.61');
    expect(formatMoney(1234, 'JPY')).toBe('¥1,234');
    expect(formatMoney(-499, 'EUR')).toBe('-€4.99');
    expect(formatPercent(0.22146796775562155)).toBe('22.1%');
    expect(formatPercent(1, 0)).toBe('100%');
    expect(formatDecimal(1.3860840050912175)).toBe('1.39');
    for (const f of [formatCount, formatPercent, formatDecimal]) expect(f(null)).toBe('—');
    expect(formatMoney(null, 'USD')).toBe('—');
    expect(formatInstant('1997-01-01T12:00:00.000Z')).toBe('1997-01-01 12:00 UTC');
    expect(formatMoneyCompact(73100, 'USD')).toBe('$731');
    expect(formatMoneyCompact(146250, 'USD')).toBe('$1.5K');
  });

  it('change against the previous period', () => {
    expect(formatChange(110, 100)).toEqual({ text: '+10.0%', direction: 'up' });
    expect(formatChange(90, 100)).toEqual({ text: '−10.0%', direction: 'down' });
    expect(formatChange(5, 0)).toEqual({ text: 'new', direction: 'up' });
    expect(formatChange(0, 0)).toEqual({ text: '±0%', direction: 'flat' });
    expect(formatChange(null, 3)).toEqual({ text: '—', direction: 'none' });
  });

  it('lag in events and seconds', () => {
    expect(formatLag({ events: 0, seconds: 0 })).toBe('up to date');
    expect(formatLag({ events: 1, seconds: 2.4 })).toBe('1 event (2 s) behind');
    expect(formatLag({ events: 10000, capped: true, seconds: null })).toBe('≥ 10,000 events behind');
  });

  it('windows: the previous one of the same length, and trend buckets covering the window exactly', () => {
    expect(windowDays('2026-01-01', '2026-01-31')).toBe(31);
    expect(previousWindow('2026-02-01', '2026-02-28')).toEqual({ from: '2026-01-04', to: '2026-01-31' });
    expect(addDays('2024-02-28', 1)).toBe('2024-02-29');
    const parts = splitWindow('2026-01-01', '2026-03-31', 6);
    expect(parts).toHaveLength(6);
    expect(parts[0].from).toBe('2026-01-01');
    expect(parts[5].to).toBe('2026-03-31');
    for (let i = 1; i < parts.length; i++) expect(parts[i].from).toBe(addDays(parts[i - 1].to, 1));
    expect(splitWindow('2026-01-01', '2026-01-03', 8)).toHaveLength(3);
  });
});
