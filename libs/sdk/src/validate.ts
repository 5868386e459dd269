import type { Channel, EventInput, EventKind } from './types';
import { CairnValidationError } from './errors';
import { UUID_RE } from './uuid';

/** Kept in step with the catalogue by the compiler: adding a channel or kind there fails here. */
export const CHANNELS = ['web', 'app', 'store', 'email', 'social', 'marketplace'] as const satisfies readonly Channel[];
export const KINDS = ['view', 'purchase', 'return', 'review', 'referral', 'identify', 'consent', 'custom'] as const satisfies readonly EventKind[];
type Exhaustive<T extends never> = T;
export type _ChannelsCovered = Exhaustive<Exclude<Channel, (typeof CHANNELS)[number]>>;
export type _KindsCovered = Exhaustive<Exclude<EventKind, (typeof KINDS)[number]>>;

const ISO_WITH_OFFSET = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;
const CURRENCY = /^[A-Z]{3}$/;

/**
 * The ingest contract's limits (libs/domain/src/events.ts), repeated here because the SDK bundle
 * imports nothing at runtime from the server side; validate.unit.spec.ts checks they are equal.
 */
export const LIMITS = {
  ID_PATTERN: /^[A-Za-z0-9][A-Za-z0-9_.:@+-]{0,127}$/,
  MAX_MONEY_MINOR: 1_000_000_000_000,
  MAX_QUANTITY: 1_000_000,
  MAX_ITEMS: 1000,
  MIN_OCCURRED_AT: '1970-01-01T00:00:00Z',
  MAX_FUTURE_MS: 24 * 3600_000,
  CONSENT_PURPOSE_PATTERN: /^[a-z][a-z0-9_]{0,63}$/,
  CONSENT_TEXT_MAX_LENGTH: 128,
} as const;
export const CONSENT_STATUSES = ['granted', 'withdrawn'] as const;
const ID_RULE = 'must be 1–128 characters: letters, digits and _ . : @ + - (starting with a letter or digit)';
const MIN_OCCURRED_MS = Date.parse(LIMITS.MIN_OCCURRED_AT);

function fail(field: string, reason: string): never {
  throw new CairnValidationError(field, reason);
}
function nonEmptyString(v: unknown): v is string {
  return typeof v === 'string' && v.trim() !== '';
}
function requireString(field: string, v: unknown): void {
  if (!nonEmptyString(v)) fail(field, 'is required (non-empty string)');
}
function id(field: string, v: unknown, required: boolean): void {
  if (v == null && !required) return;
  if (typeof v !== 'string' || !LIMITS.ID_PATTERN.test(v)) fail(field, v == null ? `is required: it ${ID_RULE}` : ID_RULE);
}
function optionalString(field: string, v: unknown): void {
  if (v != null && typeof v !== 'string') fail(field, 'must be a string');
}
function money(field: string, v: unknown, required: boolean): void {
  if (v == null && !required) return;
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) fail(field, 'must be integer minor units (a safe integer)');
  if (v < 0) fail(field, 'must not be negative');
  if (v > LIMITS.MAX_MONEY_MINOR) fail(field, `must not be greater than ${LIMITS.MAX_MONEY_MINOR}`);
}
function quantity(field: string, v: unknown): void {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1) fail(field, 'must be a positive integer');
  if (v > LIMITS.MAX_QUANTITY) fail(field, `must not be greater than ${LIMITS.MAX_QUANTITY}`);
}
function currency(field: string, v: unknown, required: boolean): void {
  if (v == null && !required) return;
  if (typeof v !== 'string' || !CURRENCY.test(v)) fail(field, 'must be an upper-case ISO 4217 code, e.g. EUR');
}
function consentText(field: string, v: unknown): void {
  if (v == null) return;
  if (typeof v !== 'string' || v.length === 0) fail(field, 'must be a non-empty string');
  if (v.length > LIMITS.CONSENT_TEXT_MAX_LENGTH) fail(field, `must be at most ${LIMITS.CONSENT_TEXT_MAX_LENGTH} characters`);
}
function items(field: string, v: unknown): readonly Record<string, unknown>[] {
  if (!Array.isArray(v) || v.length === 0) fail(field, 'must be a non-empty array');
  if (v.length > LIMITS.MAX_ITEMS) fail(field, `must have at most ${LIMITS.MAX_ITEMS} items`);
  v.forEach((it, i) => {
    if (it === null || typeof it !== 'object' || Array.isArray(it)) fail(`${field}[${i}]`, 'must be an object');
  });
  return v as Record<string, unknown>[];
}

/**
 * `null` for an optional field means absent (as on the server): a copy of the event without
 * null-valued fields, at the top level and in items, so none goes on the wire.
 */
export function withoutNulls<T extends object>(e: T): T {
  const strip = (o: Record<string, unknown>): Record<string, unknown> => {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(o)) if (o[k] !== null) Object.defineProperty(out, k, { value: o[k], enumerable: true, writable: true, configurable: true });
    return out;
  };
  const out = strip(e as Record<string, unknown>);
  if (Array.isArray(out.items)) out.items = out.items.map((it: unknown) => (it !== null && typeof it === 'object' && !Array.isArray(it) ? strip(it as Record<string, unknown>) : it));
  return out as T;
}

/** Checks the obvious client-side; the server validates fully. Throws CairnValidationError. */
export function validateEvent(given: EventInput, nowMs: number = Date.now()): void {
  const e = withoutNulls(given);
  const anyE = e as unknown as Record<string, unknown>;
  if (!(KINDS as readonly string[]).includes(e.type)) fail('type', `must be one of ${KINDS.join(', ')}`);
  if (e.id !== undefined && (typeof e.id !== 'string' || !UUID_RE.test(e.id))) fail('id', 'must be a UUID');
  if (!nonEmptyString(e.customerId) && !nonEmptyString(e.anonymousId)) fail('customerId', 'customerId or anonymousId is required');
  id('customerId', e.customerId, false);
  id('anonymousId', e.anonymousId, false);
  if (typeof e.occurredAt !== 'string' || !ISO_WITH_OFFSET.test(e.occurredAt) || Number.isNaN(Date.parse(e.occurredAt)))
    fail('occurredAt', 'must be an ISO 8601 instant with an offset, e.g. 2026-11-28T10:00:00+01:00');
  if (Date.parse(e.occurredAt) > nowMs + LIMITS.MAX_FUTURE_MS) fail('occurredAt', 'must not be more than 24 h in the future');
  if (Date.parse(e.occurredAt) < MIN_OCCURRED_MS) fail('occurredAt', `must not be before ${LIMITS.MIN_OCCURRED_AT}`);
  if (!(CHANNELS as readonly string[]).includes(e.channel)) fail('channel', `must be one of ${CHANNELS.join(', ')}`);
  if (e.context !== undefined) {
    if (typeof e.context !== 'object' || e.context === null || Array.isArray(e.context)) fail('context', 'must be an object');
    const entries = Object.entries(e.context);
    if (entries.length > 32) fail('context', 'may have at most 32 keys');
    for (const [k, v] of entries) {
      if (k.length > 64) fail(`context.${k.slice(0, 64)}`, 'key longer than 64 characters');
      if (v != null && !['string', 'number', 'boolean'].includes(typeof v)) fail(`context.${k}`, 'must be a string, number, boolean or null');
      if (typeof v === 'string' && v.length > 1000) fail(`context.${k}`, 'must be at most 1000 characters');
      if (typeof v === 'number' && !Number.isFinite(v)) fail(`context.${k}`, 'must be a finite number');
    }
  }
  switch (e.type) {
    case 'view':
      id('productId', e.productId, true);
      optionalString('category', e.category);
      money('priceMinor', e.priceMinor, false);
      currency('currency', e.currency, false);
      break;
    case 'purchase': {
      id('orderId', e.orderId, true);
      currency('currency', e.currency, true);
      const list = items('items', e.items);
      let sum = 0;
      list.forEach((it, i) => {
        id(`items[${i}].productId`, it.productId, true);
        optionalString(`items[${i}].category`, it.category);
        quantity(`items[${i}].quantity`, it.quantity);
        money(`items[${i}].unitPriceMinor`, it.unitPriceMinor, true);
        const line = (it.quantity as number) * (it.unitPriceMinor as number);
        if (line > LIMITS.MAX_MONEY_MINOR) fail(`items[${i}].unitPriceMinor`, `quantity × unitPriceMinor must not be greater than ${LIMITS.MAX_MONEY_MINOR}`);
        sum += line;
      });
      money('discountMinor', e.discountMinor, false);
      money('shippingMinor', e.shippingMinor, false);
      money('taxMinor', e.taxMinor, false);
      money('totalMinor', e.totalMinor, true);
      id('referralCode', e.referralCode, false);
      optionalString('couponCode', e.couponCode);
      sum += (e.shippingMinor ?? 0) + (e.taxMinor ?? 0) - (e.discountMinor ?? 0);
      if (sum > LIMITS.MAX_MONEY_MINOR) fail('totalMinor', `the order total (${sum}) must not be greater than ${LIMITS.MAX_MONEY_MINOR}`);
      if (sum !== e.totalMinor)
        fail('totalMinor', `must equal sum(quantity × unitPriceMinor) + shipping + tax − discount = ${sum}, got ${e.totalMinor}`);
      break;
    }
    case 'return': {
      id('orderId', e.orderId, true);
      const list = items('items', e.items);
      list.forEach((it, i) => {
        id(`items[${i}].productId`, it.productId, true);
        quantity(`items[${i}].quantity`, it.quantity);
      });
      money('refundMinor', e.refundMinor, true);
      currency('currency', e.currency, true);
      optionalString('reason', e.reason);
      break;
    }
    case 'review':
      id('productId', e.productId, true);
      if (typeof e.rating !== 'number' || !Number.isInteger(e.rating) || e.rating < 1 || e.rating > 5)
        fail('rating', 'must be an integer from 1 to 5');
      id('orderId', e.orderId, false);
      optionalString('title', e.title);
      optionalString('body', e.body);
      if (typeof e.body === 'string' && e.body.length > 5000) fail('body', 'must be at most 5000 characters');
      break;
    case 'referral':
      requireString('customerId', e.customerId);
      id('referralCode', e.referralCode, true);
      id('refereeId', e.refereeId, false);
      break;
    case 'identify':
      requireString('customerId', e.customerId);
      requireString('anonymousId', e.anonymousId);
      if (anyE.traits !== undefined && (typeof anyE.traits !== 'object' || anyE.traits === null || Array.isArray(anyE.traits)))
        fail('traits', 'must be an object');
      break;
    case 'consent':
      if (typeof e.purpose !== 'string' || !LIMITS.CONSENT_PURPOSE_PATTERN.test(e.purpose))
        fail('purpose', "must be email_marketing, personalization, analytics or a purpose of the shop's own: 1–64 characters of a–z, 0–9 and _, starting with a letter");
      if (!(CONSENT_STATUSES as readonly unknown[]).includes(e.status)) fail('status', `must be one of ${CONSENT_STATUSES.join(', ')}`);
      consentText('source', e.source);
      consentText('policyVersion', e.policyVersion);
      break;
    case 'custom': {
      if (typeof e.name !== 'string' || e.name.trim().length === 0 || e.name.length > 200) fail('name', 'must be 1–200 characters, not only spaces');
      const props = anyE.properties as unknown;
      if (props !== undefined) {
        if (typeof props !== 'object' || props === null || Array.isArray(props)) fail('properties', 'must be an object');
        const entries = Object.entries(props as Record<string, unknown>);
        if (entries.length > 32) fail('properties', 'may have at most 32 keys');
        for (const [k, v] of entries) {
          if (k.length > 64) fail(`properties.${k.slice(0, 64)}`, 'key longer than 64 characters');
          if (v != null && !['string', 'number', 'boolean'].includes(typeof v)) fail(`properties.${k}`, 'must be a string, number, boolean or null');
          if (typeof v === 'string' && v.length > 1000) fail(`properties.${k}`, 'must be at most 1000 characters');
          if (typeof v === 'number' && !Number.isFinite(v)) fail(`properties.${k}`, 'must be a finite number');
        }
      }
      break;
    }
    default: {
      const unreachable: never = e;
      void unreachable;
    }
  }
}
