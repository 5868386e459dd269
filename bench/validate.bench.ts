/**
 * `npm run bench -- validate`: ingest validation alone, events/s of parseEvent (the JSON Schemas
 * generated from the DTOs, compiled by ajv) ÷ parseEventByClassValidator (class-validator's
 * validateSync on the same DTOs), over the same events: every kind, customers interleaved, about
 * 1 in 20 invalid. A second figure times the field checks alone (what the compiled schemas
 * replace), without the normalisation and post-checks both paths share. The rounds alternate the
 * two paths so both see the same machine state; each figure is the median round.
 */
import { randomUUID } from 'crypto';
import { CHANNELS } from '@cairn/domain';
import { FIELD_VALIDATORS, parseEvent, parseEventByClassValidator, type FieldValidator, type ParsedEvent } from '../apps/api/src/ingest/record-events/record-events.request.dto';
import { ratio, type BenchSuite } from './harness';

const EVENTS = 20_000;
const CUSTOMERS = 2_000;
const ROUNDS = 7;
const NOW = new Date('2026-11-28T12:00:00Z');

function rng(seed: number) {
  let x = seed;
  return (k: number) => ((x = (x * 1103515245 + 12345) % 2147483648), x % k);
}

/** Raw events as clients send them (JSON-parsed bodies), customers interleaved. */
export function makeRawEvents(n: number, seed: number): unknown[] {
  const rnd = rng(seed);
  const out: unknown[] = [];
  for (let i = 0; i < n; i++) {
    const common = {
      id: randomUUID(),
      customerId: `c${rnd(CUSTOMERS)}`,
      ...(rnd(4) === 0 ? { anonymousId: `a${rnd(CUSTOMERS)}` } : {}),
      occurredAt: new Date(NOW.getTime() - rnd(300 * 86_400) * 1000).toISOString(),
      channel: CHANNELS[rnd(CHANNELS.length)],
      ...(rnd(3) === 0 ? { context: { locale: 'de-DE', campaign: `bf${rnd(10)}` } } : {}),
    };
    const k = rnd(20);
    let e: Record<string, unknown>;
    if (k < 9) e = { ...common, type: 'view', productId: `p${rnd(500)}`, category: 'music', priceMinor: 100 + rnd(10_000), currency: 'EUR' };
    else if (k < 13) {
      const items = Array.from({ length: 1 + rnd(4) }, () => ({ productId: `p${rnd(500)}`, category: 'music', quantity: 1 + rnd(3), unitPriceMinor: 100 + rnd(10_000) }));
      const sum = items.reduce((s, it) => s + it.quantity * it.unitPriceMinor, 0);
      e = { ...common, type: 'purchase', orderId: `o${i}`, currency: 'EUR', items, shippingMinor: 499, taxMinor: 0, discountMinor: null, totalMinor: sum + 499 };
    } else if (k < 15) e = { ...common, type: 'return', orderId: `o${rnd(i + 1)}`, items: [{ productId: `p${rnd(500)}`, quantity: 1 }], refundMinor: 100 + rnd(5000), currency: 'EUR', reason: 'too small' };
    else if (k < 17) e = { ...common, type: 'review', productId: `p${rnd(500)}`, rating: 1 + rnd(5), title: 'Fine', body: 'x'.repeat(rnd(400)) };
    else if (k < 18) e = { ...common, type: 'referral', referralCode: `R${rnd(100)}`, refereeId: `c${rnd(CUSTOMERS)}` };
    else e = { ...common, type: 'identify', anonymousId: `a${rnd(CUSTOMERS)}`, traits: { email: `u${rnd(CUSTOMERS)}@example.com`, country: 'DE' } };
    if (rnd(20) === 0) {
      // invalid: one of the usual client mistakes
      const bad = [{ productId: 'p 1' }, { totalMinor: -1 }, { currency: 'eur' }, { rating: 6 }, { channel: 'fax' }, { surprise: true }, { occurredAt: '2026-11-28T10:00:00' }][rnd(7)];
      e = { ...e, ...bad };
    }
    out.push(e);
  }
  return out;
}

function timeRound(parse: (raw: unknown, now: Date) => ParsedEvent, events: readonly unknown[]): { perSecond: number; accepted: number } {
  let accepted = 0;
  const t0 = process.hrtime.bigint();
  for (const raw of events) if (parse(raw, NOW).ok) accepted++;
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  return { perSecond: events.length / seconds, accepted };
}

/** The events as parseEvent hands them to the field checks: nulls dropped (no reserved keys in these). */
function normalised(events: readonly unknown[]): { kind: Parameters<FieldValidator>[0]; obj: Record<string, unknown> }[] {
  return events.map((e) => {
    const obj = JSON.parse(JSON.stringify(e, (_k, v: unknown) => (v === null ? undefined : v))) as Record<string, unknown>;
    return { kind: obj.type as Parameters<FieldValidator>[0], obj };
  });
}

function timeFields(validate: FieldValidator, events: ReturnType<typeof normalised>): number {
  let errors = 0;
  const t0 = process.hrtime.bigint();
  for (const { kind, obj } of events) errors += validate(kind, obj).length;
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  if (errors === 0) throw new Error('no bench event failed its field checks: the invalid ones are missing');
  return events.length / seconds;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

export const run: BenchSuite = async (log) => {
  const events = makeRawEvents(EVENTS, 7);
  // Warm-up (JIT, and the compiled validator's one-time compile) and a check that both paths agree here.
  let disagree = 0;
  for (const raw of events) if (parseEvent(raw, NOW).ok !== parseEventByClassValidator(raw, NOW).ok) disagree++;
  if (disagree > 0) throw new Error(`the two validation paths disagree on ${disagree} bench events`);
  const declared: number[] = [];
  const compiled: number[] = [];
  let accepted = 0;
  for (let r = 0; r < ROUNDS; r++) {
    const a = timeRound(parseEventByClassValidator, events);
    const b = timeRound(parseEvent, events);
    declared.push(a.perSecond);
    compiled.push(b.perSecond);
    accepted = b.accepted;
    log(`round ${r + 1}: class-validator ${Math.round(a.perSecond)} events/s, compiled ${Math.round(b.perSecond)} events/s`);
  }
  const objs = normalised(events);
  const fieldsDeclared: number[] = [];
  const fieldsCompiled: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    fieldsDeclared.push(timeFields(FIELD_VALIDATORS.classValidator, objs));
    fieldsCompiled.push(timeFields(FIELD_VALIDATORS.compiled, objs));
  }
  log(`${EVENTS} events (${accepted} valid), ${ROUNDS} alternating rounds, medians`);
  return [
    ratio('parseEvent, compiled JSON Schema (ajv)', median(compiled), 'events/s', { name: 'class-validator validateSync', value: median(declared) }, { atLeast: 3 }),
    ratio('field checks alone, compiled (ajv)', median(fieldsCompiled), 'events/s', { name: 'field checks alone, validateSync', value: median(fieldsDeclared) }),
  ];
};
