/**
 * Segment's HTTP Tracking API (and RudderStack's, which speaks the same) mapped onto Cairn's
 * ingest catalogue. Pure functions: a Segment message in, a raw Cairn event out (validated after
 * this by the one ingest gate, `parseEvent`), or why not.
 *
 * - `Product Viewed` → view, `Order Completed` → purchase, `Order Refunded` → return,
 *   `Product Reviewed` → review (Segment's e-commerce spec v2 property names), `identify` → identify.
 * - Money: Segment sends major units (19.99); Cairn stores integer minor units per the currency's
 *   ISO 4217 exponent (USD 2 → 1999, JPY 0, KWD 3), rounded half away from zero on the decimal
 *   value as written (1.005 → 101 cents).
 * - `messageId` → the event id: a UUID v5 of the messageId, so a re-sent message (an SDK's retry,
 *   a re-sent batch) is answered `duplicate`. Without a messageId there is nothing to dedupe by.
 * - Every other track call is a `custom` event (its name and flat properties), or `unmapped` when
 *   CAIRN_SEGMENT_CUSTOM_EVENTS=reject; page/screen/group/alias have no kind: `unmapped`.
 *
 * Two kinds of failure: `malformed` (not a Segment message: a missing type, userId and
 * anonymousId both missing, a price that is not a number) answers the request 400 naming the
 * field; a well-formed message Cairn cannot take (a rating of 9, an id Cairn refuses, a total
 * that does not add up) is one event's `rejected` outcome, as Segment answers 200 to a batch.
 */
import { CHANNELS, uuidV5, type FieldError } from '@cairn/domain';

export const SEGMENT_CALL_TYPES = ['track', 'identify', 'page', 'screen', 'group', 'alias'] as const;
export type SegmentCallType = (typeof SEGMENT_CALL_TYPES)[number];

/** The Segment e-commerce events Cairn maps, by their spec name. */
export const MAPPED_TRACK_EVENTS = { 'Product Viewed': 'view', 'Order Completed': 'purchase', 'Order Refunded': 'return', 'Product Reviewed': 'review' } as const;

export type MappedMessage =
  | { readonly outcome: 'mapped'; readonly event: Record<string, unknown> }
  | { readonly outcome: 'unmapped'; readonly reason: string }
  | { readonly outcome: 'rejected'; readonly errors: FieldError[] };

export interface MappingContext {
  /** When the request arrived: occurredAt when the message carries no timestamp. */
  readonly receivedAt: Date;
  /** Currency when an e-commerce event names none (Segment's spec says USD; Cairn uses its base currency). */
  readonly defaultCurrency: string;
  /** Track events outside the mapping: kept as custom events, or answered unmapped. */
  readonly customEvents?: 'keep' | 'reject';
}

/** Cairn's namespace for event ids made from Segment messageIds (UUID v5). */
const MESSAGE_ID_NAMESPACE = '6f1c1f9e-3b0a-5c7e-9d2a-2b8f0c1e4a77';

/** Digits after the decimal point of a currency's minor unit (ISO 4217, from the runtime's ICU data). */

/** The event id of a Segment message. */
export const eventIdOfMessage = (messageId: string): string => uuidV5(messageId, MESSAGE_ID_NAMESPACE);

/** Digits after the decimal point of a currency's minor unit (ISO 4217, from the runtime's ICU data). */
export function currencyExponent(currency: string): number {
  try {
    return new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits ?? 2;
  } catch {
    return 2; // not a well-formed code: parseEvent rejects the currency itself
  }
}

/** Major units to integer minor units, on the decimal value as written (no binary rounding drift). */
export function toMinorUnits(major: number, currency: string): number {
  const exp = currencyExponent(currency);
  const text = String(Math.abs(major));
  const scaled = text.includes('e') ? Math.abs(major) * 10 ** exp : Number(`${text}e${exp}`);
  return Math.sign(major) * Math.round(scaled);
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);

/**
 * Checks one message against the Tracking API's shape; the errors name `path`'s fields.
 * `type` is the endpoint's when the message came to /track, /identify or /page.
 */
export function checkSegmentMessage(msg: unknown, path: string, endpointType?: SegmentCallType): FieldError[] {
  const at = (f: string) => (path ? `${path}.${f}` : f);
  if (!isObj(msg)) return [{ field: path || 'body', message: 'must be a JSON object (a Segment message)' }];
  const errors: FieldError[] = [];
  const type = endpointType ?? msg.type;
  if (typeof type !== 'string' || !(SEGMENT_CALL_TYPES as readonly string[]).includes(type)) {
    errors.push({ field: at('type'), message: `must be one of ${SEGMENT_CALL_TYPES.join(', ')}` });
  }
  const idOk = (v: unknown) => (typeof v === 'string' && v.length > 0) || (typeof v === 'number' && Number.isFinite(v));
  for (const f of ['userId', 'anonymousId'] as const) {
    if (msg[f] !== undefined && msg[f] !== null && !idOk(msg[f])) errors.push({ field: at(f), message: 'must be a non-empty string' });
  }
  if (!idOk(msg.userId) && !idOk(msg.anonymousId)) errors.push({ field: at('userId'), message: 'userId or anonymousId is required' });
  if (type === 'track' && (typeof msg.event !== 'string' || msg.event.length === 0)) errors.push({ field: at('event'), message: 'a track call needs the event name' });
  for (const f of ['properties', 'traits', 'context']) {
    if (msg[f] !== undefined && msg[f] !== null && !isObj(msg[f])) errors.push({ field: at(f), message: 'must be an object' });
  }
  for (const f of ['timestamp', 'originalTimestamp']) {
    const v = msg[f];
    if (v !== undefined && v !== null && (typeof v !== 'string' || Number.isNaN(Date.parse(v)))) errors.push({ field: at(f), message: 'must be an ISO 8601 date-time' });
  }
  if (msg.messageId !== undefined && msg.messageId !== null && (typeof msg.messageId !== 'string' || msg.messageId.length === 0 || msg.messageId.length > 200)) {
    errors.push({ field: at('messageId'), message: 'must be a string of 1–200 characters' });
  }
  if (type === 'track' && isObj(msg.properties)) errors.push(...checkEcommerceTypes(msg.properties, at('properties')));
  return errors;
}

/** The spec's number and list fields must be numbers and lists (a string price is malformed, not a Cairn rule). */
function checkEcommerceTypes(p: Obj, path: string): FieldError[] {
  const errors: FieldError[] = [];
  const numeric = ['price', 'total', 'revenue', 'shipping', 'tax', 'discount', 'rating', 'quantity'];
  for (const f of numeric) if (p[f] !== undefined && p[f] !== null && (typeof p[f] !== 'number' || !Number.isFinite(p[f]))) errors.push({ field: `${path}.${f}`, message: 'must be a number' });
  if (p.products !== undefined && p.products !== null) {
    if (!Array.isArray(p.products)) errors.push({ field: `${path}.products`, message: 'must be an array of products' });
    else
      p.products.forEach((item, i) => {
        if (!isObj(item)) return errors.push({ field: `${path}.products[${i}]`, message: 'must be an object' });
        for (const f of ['price', 'quantity']) {
          if (item[f] !== undefined && item[f] !== null && (typeof item[f] !== 'number' || !Number.isFinite(item[f]))) errors.push({ field: `${path}.products[${i}].${f}`, message: 'must be a number' });
        }
      });
  }
  return errors;
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v.length > 0 ? v : typeof v === 'number' ? String(v) : undefined);
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

/** The Cairn channel: Segment's `context.channel` or `channel` when it is one of Cairn's, `mobile` → app, else web. */
function channelOf(msg: Obj): string {
  const ctx = isObj(msg.context) ? msg.context : {};
  for (const c of [ctx.channel, msg.channel]) if (typeof c === 'string' && (CHANNELS as readonly string[]).includes(c)) return c;
  return msg.channel === 'mobile' ? 'app' : 'web';
}

/** The small flat context Cairn keeps: locale, userAgent, campaign name, the sending library. */
function contextOf(msg: Obj): Obj | undefined {
  const ctx = isObj(msg.context) ? msg.context : {};
  const out: Obj = {};
  if (typeof ctx.locale === 'string') out.locale = ctx.locale.slice(0, 1000);
  if (typeof ctx.userAgent === 'string') out.userAgent = ctx.userAgent.slice(0, 1000);
  if (isObj(ctx.campaign) && typeof ctx.campaign.name === 'string') out.campaign = ctx.campaign.name.slice(0, 1000);
  if (isObj(ctx.library) && typeof ctx.library.name === 'string') out.library = `${ctx.library.name}${typeof ctx.library.version === 'string' ? `@${ctx.library.version}` : ''}`.slice(0, 1000);
  return Object.keys(out).length > 0 ? out : undefined;
}

/** Segment's nested traits flattened one level with dots (`address.city`); lists dropped, as Cairn's traits are flat. */
function traitsOf(traits: Obj): Obj {
  const out: Obj = {};
  for (const [k, v] of Object.entries(traits)) {
    if (isObj(v)) {
      for (const [k2, v2] of Object.entries(v)) if (!isObj(v2) && !Array.isArray(v2)) out[`${k}.${k2}`] = v2;
    } else if (!Array.isArray(v)) out[k] = v;
  }
  return out;
}

/** Properties as a custom event keeps them: scalars, nested objects one level flattened (`a.b`), lists dropped. */
function flatProperties(p: Obj): Obj {
  return traitsOf(p);
}

/** A message's fields as Cairn's common fields; the id comes from messageId. */
function common(msg: Obj, ctx: MappingContext): Obj {
  const timestamp = str(msg.timestamp) ?? str(msg.originalTimestamp);
  return {
    ...(typeof msg.messageId === 'string' ? { id: eventIdOfMessage(msg.messageId) } : {}),
    ...(str(msg.userId) !== undefined ? { customerId: str(msg.userId) } : {}),
    ...(str(msg.anonymousId) !== undefined ? { anonymousId: str(msg.anonymousId) } : {}),
    occurredAt: timestamp !== undefined ? new Date(timestamp).toISOString() : ctx.receivedAt.toISOString(),
    channel: channelOf(msg),
    ...(contextOf(msg) ? { context: contextOf(msg) } : {}),
  };
}

/** Maps one message that `checkSegmentMessage` passed. */
export function mapSegmentMessage(msg: Obj, ctx: MappingContext, endpointType?: SegmentCallType): MappedMessage {
  const type = (endpointType ?? msg.type) as SegmentCallType;
  if (type === 'identify') {
    const traits = isObj(msg.traits) ? msg.traits : isObj(msg.context) && isObj(msg.context.traits) ? msg.context.traits : undefined;
    if (str(msg.anonymousId) === undefined || str(msg.userId) === undefined) {
      return { outcome: 'rejected', errors: [{ field: str(msg.userId) === undefined ? 'userId' : 'anonymousId', message: "Cairn's identify links an anonymousId to a userId: both are needed" }] };
    }
    return { outcome: 'mapped', event: { type: 'identify', ...common(msg, ctx), ...(traits ? { traits: traitsOf(traits) } : {}) } };
  }
  if (type !== 'track') return { outcome: 'unmapped', reason: `Cairn's catalogue has no kind for a ${type} call` };
  const name = msg.event as string;
  const kind = MAPPED_TRACK_EVENTS[name as keyof typeof MAPPED_TRACK_EVENTS];
  if (kind === undefined && ctx.customEvents !== 'reject') {
    const props = isObj(msg.properties) ? flatProperties(msg.properties) : undefined;
    return mapped({ type: 'custom', ...common(msg, ctx), name, ...(props && Object.keys(props).length > 0 ? { properties: props } : {}) });
  }
  if (kind === undefined) return { outcome: 'unmapped', reason: `the track event "${name.slice(0, 100)}" is not one of ${Object.keys(MAPPED_TRACK_EVENTS).join(', ')}` };
  const p = isObj(msg.properties) ? msg.properties : {};
  const currency = str(p.currency)?.toUpperCase() ?? ctx.defaultCurrency;
  const minor = (v: unknown) => (num(v) === undefined ? undefined : toMinorUnits(num(v)!, currency));
  const base = common(msg, ctx);
  const products = Array.isArray(p.products) ? (p.products as Obj[]) : [];
  const productId = (o: Obj) => str(o.product_id) ?? str(o.sku) ?? str(o.id);
  const errors: FieldError[] = [];

  if (kind === 'view') {
    return mapped({ type: 'view', ...base, productId: productId(p), category: str(p.category), priceMinor: minor(p.price), currency: p.price !== undefined || p.currency !== undefined ? currency : undefined });
  }
  if (kind === 'review') {
    return mapped({ type: 'review', ...base, productId: productId(p), rating: num(p.rating), title: str(p.review_title), body: str(p.review_body), orderId: str(p.order_id) });
  }
  if (products.length === 0) errors.push({ field: 'properties.products', message: `Cairn needs the ${kind === 'purchase' ? 'ordered' : 'refunded'} products (at least one)` });
  products.forEach((item, i) => {
    if (productId(item) === undefined) errors.push({ field: `properties.products[${i}].product_id`, message: 'product_id (or sku) is required' });
    if (kind === 'purchase' && num(item.price) === undefined) errors.push({ field: `properties.products[${i}].price`, message: 'price is required for an order' });
  });
  if (errors.length > 0) return { outcome: 'rejected', errors };
  const orderId = str(p.order_id) ?? str(p.checkout_id);
  if (kind === 'return') {
    const items = products.map((item) => ({ productId: productId(item), quantity: num(item.quantity) ?? 1 }));
    // The refunded amount: `total` (or `revenue`) when sent, else the products' value.
    const refund = minor(p.total) ?? minor(p.revenue) ?? products.reduce((s, item) => s + (minor(item.price) ?? 0) * (num(item.quantity) ?? 1), 0);
    return mapped({ type: 'return', ...base, orderId, items, refundMinor: refund, currency, reason: str(p.reason) });
  }
  const items = products.map((item) => ({ productId: productId(item), category: str(item.category), quantity: num(item.quantity) ?? 1, unitPriceMinor: minor(item.price) }));
  const shippingMinor = minor(p.shipping);
  const taxMinor = minor(p.tax);
  const discountMinor = minor(p.discount);
  const itemsMinor = items.reduce((s, i) => s + i.quantity * (i.unitPriceMinor ?? 0), 0);
  // Segment's total = revenue (the products) + shipping + tax − discount, Cairn's totalMinor exactly; computed when absent.
  const totalMinor = minor(p.total) ?? itemsMinor + (shippingMinor ?? 0) + (taxMinor ?? 0) - (discountMinor ?? 0);
  return mapped({ type: 'purchase', ...base, orderId, currency, items, shippingMinor, taxMinor, discountMinor, totalMinor, couponCode: str(p.coupon) });
}

function mapped(event: Obj): MappedMessage {
  // Absent stays absent (parseEvent reads null and undefined as absent, but the stored event should not carry them).
  for (const k of Object.keys(event)) if (event[k] === undefined) delete event[k];
  return { outcome: 'mapped', event };
}

/** Cairn's field names of an event as the Segment message names them, for per-event errors. */
const SEGMENT_FIELD: Record<string, string> = {
  customerId: 'userId',
  anonymousId: 'anonymousId',
  occurredAt: 'timestamp',
  channel: 'context.channel',
  orderId: 'properties.order_id',
  productId: 'properties.product_id',
  category: 'properties.category',
  priceMinor: 'properties.price',
  currency: 'properties.currency',
  totalMinor: 'properties.total',
  refundMinor: 'properties.total',
  shippingMinor: 'properties.shipping',
  taxMinor: 'properties.tax',
  discountMinor: 'properties.discount',
  couponCode: 'properties.coupon',
  rating: 'properties.rating',
  title: 'properties.review_title',
  body: 'properties.review_body',
  reason: 'properties.reason',
  items: 'properties.products',
};
const ITEM_FIELD: Record<string, string> = { productId: 'product_id', category: 'category', quantity: 'quantity', unitPriceMinor: 'price' };

export function segmentFieldOf(cairnField: string): string {
  const item = /^items\[(\d+)\](?:\.(\w+))?$/.exec(cairnField);
  if (item) return `properties.products[${item[1]}]${item[2] ? `.${ITEM_FIELD[item[2]] ?? item[2]}` : ''}`;
  const head = cairnField.split('.')[0]!;
  if (head === 'traits' || head === 'context') return cairnField;
  return SEGMENT_FIELD[cairnField] ?? cairnField;
}
