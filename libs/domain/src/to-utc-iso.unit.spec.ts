import { toUtcIso } from './profile';

describe('toUtcIso', () => {
  it('gives what Date#toISOString gives, for canonical instants and for every other form', () => {
    const inputs = ['2026-01-02T03:04:05.678Z', '2025-02-28T23:59:59.999Z', '2025-02-29T00:00:00.000Z', '2024-02-29T12:00:00.000Z', '2026-01-02T03:04:05Z', '2026-01-02T04:04:05.678+01:00', '2025-04-31T00:00:00.000Z'];
    for (const s of inputs) expect(toUtcIso(s)).toBe(new Date(s).toISOString());
  });
});
