/**
 * UUIDv7 (RFC 9562): 48-bit Unix ms timestamp, version 7, 74 random bits. Monotonic within a
 * process (RFC 9562 §6.2 method 2): when the clock has not advanced (or went back), the previous
 * random part is incremented, so ids sort in generation order.
 */
const RAND_BITS = 74n;
const RAND_MAX = (1n << RAND_BITS) - 1n;

let lastMs = -1;
let lastRand = 0n;

function randomBits(): bigint {
  const bytes = new Uint8Array(10);
  globalThis.crypto.getRandomValues(bytes);
  let n = 0n;
  for (const b of bytes) n = (n << 8n) | BigInt(b);
  // 80 bits drawn; keep 73 so an increment cannot overflow the 74 bits in practice.
  return n & (RAND_MAX >> 1n);
}

export function uuidv7(nowMs: number = Date.now()): string {
  let ms = Math.max(0, Math.floor(nowMs));
  let rand: bigint;
  if (ms > lastMs) {
    rand = randomBits();
  } else {
    ms = lastMs;
    rand = lastRand + 1n;
    if (rand > RAND_MAX) {
      ms = lastMs + 1;
      rand = randomBits();
    }
  }
  lastMs = ms;
  lastRand = rand;
  const randA = (rand >> 62n) & 0xfffn;
  const randB = rand & ((1n << 62n) - 1n);
  const hex =
    BigInt(ms).toString(16).padStart(12, '0') +
    (0x7000n | randA).toString(16).padStart(4, '0') +
    ((0b10n << 62n) | randB).toString(16).padStart(16, '0');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const UUIDV7_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** The timestamp (ms) of a UUIDv7. */
export function uuidv7Time(id: string): number {
  return parseInt(id.replace(/-/g, '').slice(0, 12), 16);
}
