/**
 * Which fields of Cairn's events are personal data, declared once (docs/privacy.md).
 *
 * Personal values never reach the log in plaintext: the ingest seals each one with the data key of
 * the person whose stream it goes to (libs/runtime personal-data-vault.ts), and readers that show
 * events (the customer timeline, the export) open them again. Destroying a person's keys (erasure)
 * makes every sealed value of theirs unreadable for good, while the event itself, and every
 * non-personal number the projections fold from it, stays.
 *
 * Personal:
 * - identify: every trait (`traits.*`: email, name, country and whatever a shop sends);
 * - review: `title` and `body` (free text);
 * - return: `reason` (free text);
 * - any event: `context.userAgent` and `context.ip` (and `context.ipAddress`).
 *
 * Not personal: ids (customerId, anonymousId, orderId…: pseudonyms the shop picks, which is why an
 * id that looks like an email address is refused), amounts, products, categories, ratings, times,
 * channels, `context.locale` and `context.campaign`. No projection folds a personal field, so an
 * erasure changes no figure.
 */
import type { CairnEventType } from '../events';

/** Personal paths per stored type: `*` stands for every key of that object. */
export const PERSONAL_FIELDS: Readonly<Record<CairnEventType, readonly string[]>> = {
  'cairn.view.v1': [],
  'cairn.purchase.v1': [],
  'cairn.return.v1': ['reason'],
  'cairn.review.v1': ['title', 'body'],
  'cairn.referral.v1': [],
  'cairn.identify.v1': ['traits.*'],
  // Which purposes a person granted is a record the shop must keep (proof of consent), not free text.
  'cairn.consent.v1': [],
  // The shop's own properties: free-form, so treated as personal (erasure clears them; the name stays).
  'cairn.custom.v1': ['properties.*'],
};
/** Context keys that are personal on every event type. */
export const PERSONAL_CONTEXT_KEYS: readonly string[] = ['userAgent', 'ip', 'ipAddress'];

/** An erasure's PII-free record in the log (stream `privacy-erasures`; the event id is the erasure id). */
export const PRIVACY_ERASED = 'cairn.privacy.erased.v1';
export const ERASURE_STREAM = 'privacy-erasures';

/** A sealed value: `cairn:pii:v1:<keyId>:<base64url iv ‖ ciphertext ‖ tag>`. */
export const SEALED_PREFIX = 'cairn:pii:v1:';

export function isSealed(value: unknown): value is string {
  return typeof value === 'string' && value.startsWith(SEALED_PREFIX);
}

/** A personal value at its path in an event's data (`traits.email`, `context.userAgent`, `body`). */
export interface PersonalValue {
  readonly path: string;
  readonly value: string | number | boolean;
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const isScalar = (v: unknown): v is string | number | boolean => typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean';

/** The personal values present in one event's data, in a stable order. */
export function personalValues(type: string, data: Readonly<Record<string, unknown>>): PersonalValue[] {
  const out: PersonalValue[] = [];
  const fields = (PERSONAL_FIELDS as Record<string, readonly string[] | undefined>)[type] ?? [];
  for (const field of fields) {
    if (field.endsWith('.*')) {
      const key = field.slice(0, -2);
      const obj = data[key];
      if (isObject(obj)) for (const [k, v] of Object.entries(obj)) if (isScalar(v)) out.push({ path: `${key}.${k}`, value: v });
    } else if (isScalar(data[field])) out.push({ path: field, value: data[field] as string | number | boolean });
  }
  const context = data.context;
  if (isObject(context)) for (const k of PERSONAL_CONTEXT_KEYS) if (isScalar(context[k])) out.push({ path: `context.${k}`, value: context[k] as string | number | boolean });
  return out;
}

/**
 * A copy of `data` with the value at each path replaced by `replace(path, value)` (paths as
 * `personalValues` gives them). Objects on the way are copied, the rest is shared.
 */
export function withPersonalValues<D extends Readonly<Record<string, unknown>>>(data: D, replace: (path: string, value: unknown) => unknown, paths: readonly string[]): D {
  if (paths.length === 0) return data;
  const out: Record<string, unknown> = { ...data };
  for (const path of paths) {
    const dot = path.indexOf('.');
    if (dot < 0) {
      out[path] = replace(path, out[path]);
      continue;
    }
    const key = path.slice(0, dot);
    const child = path.slice(dot + 1);
    const obj = out[key];
    if (!isObject(obj)) continue;
    // Copy the nested object once per event (the first path under it), then write into the copy.
    const copy = obj === (data as Record<string, unknown>)[key] ? { ...obj } : obj;
    copy[child] = replace(path, obj[child]);
    out[key] = copy;
  }
  return out as D;
}

/** The paths of `data` that hold a sealed value (what a reader has to open). */
export function sealedPaths(type: string, data: Readonly<Record<string, unknown>>): string[] {
  const out: string[] = [];
  const visit = (obj: Record<string, unknown>, prefix: string) => {
    for (const [k, v] of Object.entries(obj)) {
      if (isSealed(v)) out.push(prefix + k);
      else if (prefix === '' && isObject(v)) visit(v, `${k}.`);
    }
  };
  if (type.startsWith('cairn.')) visit(data as Record<string, unknown>, '');
  return out;
}

/** An email address in an id (`ada@example.com`): ids are pseudonyms, see docs/privacy.md. */
const EMAIL_LIKE = /^[^@\s]+@[^@\s.]+(\.[^@\s.]+)+$/;

export function looksLikeEmail(id: unknown): boolean {
  return typeof id === 'string' && EMAIL_LIKE.test(id);
}

/** Id fields an event may carry that must not be email addresses. */
export const PSEUDONYM_FIELDS = ['customerId', 'anonymousId', 'refereeId'] as const;

export const EMAIL_ID_RULE = 'looks like an email address: ids are pseudonyms kept forever in the log (docs/privacy.md); send the email as an identify trait, or set CAIRN_ALLOW_EMAIL_IDS=true';

/** The id fields of an accepted event that look like email addresses (none when they are allowed). */
export function emailIdErrors(input: object, allowEmailIds: boolean): { field: string; message: string }[] {
  if (allowEmailIds) return [];
  return PSEUDONYM_FIELDS.filter((f) => looksLikeEmail((input as Record<string, unknown>)[f])).map((field) => ({ field, message: EMAIL_ID_RULE }));
}
