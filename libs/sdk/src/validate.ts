import type { Channel, EventInput, EventKind } from './types';
import { CairnValidationError } from './errors';
import { UUID_RE } from './uuid';

/** Kept in step with the catalogue by the compiler: adding a channel or kind there fails here. */
export const CHANNELS = ['web', 'app', 'store', 'email', 'social', 'marketplace'] as const satisfies readonly Channel[];
export const KINDS = ['view', 'purchase', 'return', 'review', 'referral', 'identify'] as const satisfies readonly EventKind[];
type Exhaustive<T extends never> = T;
export type _ChannelsCovered = Exhaustive<Exclude<Channel, (typeof CHANNELS)[number]>>;
export type _KindsCovered = Exhaustive<Exclude<EventKind, (typeof KINDS)[number]>>;

const ISO_WITH_OFFSET = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;
const CURRENCY = /^[A-Z]{3}$/;
const MAX_FUTURE_MS = 24 * 3600_000;

function fail(field: string, reason: string): never {
  throw new CairnValidationError(field, reason);
}
function nonEmptyString(v: unknown): v is string {
  return typeof v === 'string' && v.trim() !== '';
}
function requireString(field: string, v: unknown): void {
  if (!nonEmptyString(v)) fail(field, 'is required (non-empty string)');
}
const ID = /^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,127}$/;
function optionalId(field: string, v: unknown): void {
  if (v === undefined) return;
  if (typeof v !== 'string' || !ID.test(v)) fail(field, 'must be 1–128 characters: letters, digits and _ . : @ - (not starting with a symbol)');
}
function optionalString(field: string, v: unknown): void {
  if (v !== undefined && typeof v !== 'string') fail(field, 'must be a string');
}
function money(field: string, v: unknown, required: boolean): void {
  if (v === undefined && !required) return;
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) fail(field, 'must be integer minor units (a safe integer)');
  if (v < 0) fail(field, 'must not be negative');
}
function quantity(field: string, v: unknown): void {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1) fail(field, 'must be a positive integer');
}
function currency(field: string, v: unknown, required: boolean): void {
  if (v === undefined && !required) return;
  if (typeof v !== 'string' || !CURRENCY.test(v)) fail(field, 'must be an upper-case ISO 4217 code, e.g. EUR');
}
function items(field: string, v: unknown): readonly Record<string, unknown>[] {
  if (!Array.isArray(v) || v.length === 0) fail(field, 'must be a non-empty array');
  return v as Record<string, unknown>[];
}

/** Checks the obvious client-side; the server validates fully. Throws CairnValidationError. */
export function validateEvent(e: EventInput, nowMs: number = Date.now()): void {
  const anyE = e as unknown as Record<string, unknown>;
  if (!(KINDS as readonly string[]).includes(e.type)) fail('type', `must be one of ${KINDS.join(', ')}`);
  if (e.id !== undefined && (typeof e.id !== 'string' || !UUID_RE.test(e.id))) fail('id', 'must be a UUID');
  if (!nonEmptyString(e.customerId) && !nonEmptyString(e.anonymousId)) fail('customerId', 'customerId or anonymousId is required');
  optionalId('customerId', e.customerId);
  optionalId('anonymousId', e.anonymousId);
  if (typeof e.occurredAt !== 'string' || !ISO_WITH_OFFSET.test(e.occurredAt) || Number.isNaN(Date.parse(e.occurredAt)))
    fail('occurredAt', 'must be an ISO 8601 instant with an offset, e.g. 2026-11-28T10:00:00+01:00');
  if (Date.parse(e.occurredAt) > nowMs + MAX_FUTURE_MS) fail('occurredAt', 'must not be more than 24 h in the future');
  if (!(CHANNELS as readonly string[]).includes(e.channel)) fail('channel', `must be one of ${CHANNELS.join(', ')}`);
  if (e.context !== undefined) {
    if (typeof e.context !== 'object' || e.context === null || Array.isArray(e.context)) fail('context', 'must be an object');
    const entries = Object.entries(e.context);
    if (entries.length > 32) fail('context', 'may have at most 32 keys');
    for (const [k, v] of entries) {
      if (k.length > 64) fail(`context.${k.slice(0, 64)}`, 'key longer than 64 characters');
      if (v !== undefined && !['string', 'number', 'boolean'].includes(typeof v)) fail(`context.${k}`, 'must be a string, number or boolean');
      if (typeof v === 'string' && v.length > 1000) fail(`context.${k}`, 'must be at most 1000 characters');
      if (typeof v === 'number' && !Number.isFinite(v)) fail(`context.${k}`, 'must be a finite number');
    }
  }
  switch (e.type) {
    case 'view':
      requireString('productId', e.productId);
      optionalString('category', e.category);
      money('priceMinor', e.priceMinor, false);
      currency('currency', e.currency, false);
      break;
    case 'purchase': {
      requireString('orderId', e.orderId);
      currency('currency', e.currency, true);
      const list = items('items', e.items);
      list.forEach((it, i) => {
        requireString(`items[${i}].productId`, it.productId);
        quantity(`items[${i}].quantity`, it.quantity);
        money(`items[${i}].unitPriceMinor`, it.unitPriceMinor, true);
      });
      money('discountMinor', e.discountMinor, false);
      money('shippingMinor', e.shippingMinor, false);
      money('taxMinor', e.taxMinor, false);
      money('totalMinor', e.totalMinor, true);
      let sum = 0;
      for (const it of e.items) sum += it.quantity * it.unitPriceMinor;
      sum += (e.shippingMinor ?? 0) + (e.taxMinor ?? 0) - (e.discountMinor ?? 0);
      if (!Number.isSafeInteger(sum)) fail('totalMinor', 'the computed total is not a safe integer');
      if (sum !== e.totalMinor)
        fail('totalMinor', `must equal sum(quantity × unitPriceMinor) + shipping + tax − discount = ${sum}, got ${e.totalMinor}`);
      break;
    }
    case 'return': {
      requireString('orderId', e.orderId);
      const list = items('items', e.items);
      list.forEach((it, i) => {
        requireString(`items[${i}].productId`, it.productId);
        quantity(`items[${i}].quantity`, it.quantity);
      });
      money('refundMinor', e.refundMinor, true);
      currency('currency', e.currency, true);
      optionalString('reason', e.reason);
      break;
    }
    case 'review':
      requireString('productId', e.productId);
      if (typeof e.rating !== 'number' || !Number.isInteger(e.rating) || e.rating < 1 || e.rating > 5)
        fail('rating', 'must be an integer from 1 to 5');
      optionalString('orderId', e.orderId);
      optionalString('title', e.title);
      optionalString('body', e.body);
      if (typeof e.body === 'string' && e.body.length > 5000) fail('body', 'must be at most 5000 characters');
      break;
    case 'referral':
      requireString('customerId', e.customerId);
      requireString('referralCode', e.referralCode);
      optionalString('refereeId', e.refereeId);
      break;
    case 'identify':
      requireString('customerId', e.customerId);
      requireString('anonymousId', e.anonymousId);
      if (anyE.traits !== undefined && (typeof anyE.traits !== 'object' || anyE.traits === null || Array.isArray(anyE.traits)))
        fail('traits', 'must be an object');
      break;
  }
}
