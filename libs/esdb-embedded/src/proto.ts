/**
 * Wire-level helpers. The message classes and service definitions come from the generated code shipped
 * inside `@eventstore/db-client` (never copied here); the hot path (one `ReadResp` per event) is framed by
 * hand once, at append time, so reads and subscriptions only copy bytes.
 */
import * as streamsGrpc from '@eventstore/db-client/generated/streams_grpc_pb';
import * as streamsPb from '@eventstore/db-client/generated/streams_pb';
import * as sharedPb from '@eventstore/db-client/generated/shared_pb';
import * as statusPb from '@eventstore/db-client/generated/status_pb';
import * as serverFeaturesGrpc from '@eventstore/db-client/generated/serverfeatures_grpc_pb';
import * as serverFeaturesPb from '@eventstore/db-client/generated/serverfeatures_pb';
import * as gossipGrpc from '@eventstore/db-client/generated/gossip_grpc_pb';
import * as gossipPb from '@eventstore/db-client/generated/gossip_pb';
import * as persistentGrpc from '@eventstore/db-client/generated/persistent_grpc_pb';
import * as persistentPb from '@eventstore/db-client/generated/persistent_pb';
import { Any } from 'google-protobuf/google/protobuf/any_pb';
import { Empty as GoogleEmpty } from 'google-protobuf/google/protobuf/empty_pb';

export { streamsGrpc, streamsPb, sharedPb, statusPb, serverFeaturesGrpc, serverFeaturesPb, gossipGrpc, gossipPb, persistentGrpc, persistentPb, Any, GoogleEmpty };

/** Protobuf varint of a non-negative integer (number up to 2^53, or bigint up to 2^64). */
function varintLength(v: number | bigint): number {
  if (typeof v === 'bigint') {
    let n = 1;
    while (v >= 0x80n) {
      v >>= 7n;
      n++;
    }
    return n;
  }
  let n = 1;
  while (v >= 0x80) {
    v = Math.floor(v / 128);
    n++;
  }
  return n;
}

function writeVarint(buf: Buffer, off: number, v: number | bigint): number {
  if (typeof v === 'bigint') {
    while (v >= 0x80n) {
      buf[off++] = Number(v & 0x7fn) | 0x80;
      v >>= 7n;
    }
    buf[off++] = Number(v);
    return off;
  }
  while (v >= 0x80) {
    buf[off++] = (v % 128) | 0x80;
    v = Math.floor(v / 128);
  }
  buf[off++] = v;
  return off;
}

/** Builds a protobuf message from (field, value) parts without intermediate objects. */
class Writer {
  private parts: Array<{ tag: number; kind: 'varint'; v: number | bigint } | { tag: number; kind: 'bytes'; v: Buffer }> = [];
  private size = 0;

  varint(field: number, v: number | bigint): this {
    const tag = (field << 3) | 0;
    this.parts.push({ tag, kind: 'varint', v });
    this.size += varintLength(tag) + varintLength(v);
    return this;
  }

  bytes(field: number, v: Buffer): this {
    const tag = (field << 3) | 2;
    this.parts.push({ tag, kind: 'bytes', v });
    this.size += varintLength(tag) + varintLength(v.length) + v.length;
    return this;
  }

  string(field: number, s: string): this {
    return this.bytes(field, Buffer.from(s, 'utf8'));
  }

  finish(): Buffer {
    const buf = Buffer.allocUnsafe(this.size);
    let off = 0;
    for (const p of this.parts) {
      off = writeVarint(buf, off, p.tag);
      if (p.kind === 'varint') off = writeVarint(buf, off, p.v);
      else {
        off = writeVarint(buf, off, p.v.length);
        off += p.v.copy(buf, off);
      }
    }
    return buf;
  }
}

export interface RecordedEventFields {
  id: string;
  streamName: string;
  revision: number | bigint;
  position: number;
  type: string;
  contentType: string;
  /** Unix epoch, milliseconds. */
  created: number;
  customMetadata: Buffer;
  data: Buffer;
}

function mapEntry(key: string, value: string): Buffer {
  return new Writer().string(1, key).string(2, value).finish();
}

/**
 * The complete encoded `ReadResp { event: ReadEvent { event: RecordedEvent, commit_position } }` of one event.
 * Field numbers follow event_store.client.streams.ReadResp (see the generated streams_pb.js).
 */
export function encodeEventFrame(e: RecordedEventFields): Buffer {
  const recorded = new Writer()
    .bytes(1, new Writer().string(2, e.id).finish()) // UUID { string = 2 }
    .bytes(2, new Writer().string(3, e.streamName).finish()); // StreamIdentifier { stream_name = 3 }
  if (e.revision !== 0 && e.revision !== 0n) recorded.varint(3, e.revision);
  recorded
    .varint(4, e.position)
    .varint(5, e.position)
    .bytes(6, mapEntry('type', e.type))
    .bytes(6, mapEntry('content-type', e.contentType))
    .bytes(6, mapEntry('created', `${e.created}0000`)); // .NET ticks (100ns) since the Unix epoch
  if (e.customMetadata.length > 0) recorded.bytes(7, e.customMetadata);
  if (e.data.length > 0) recorded.bytes(8, e.data);
  const readEvent = new Writer().bytes(1, recorded.finish()).varint(3, e.position).finish();
  return new Writer().bytes(1, readEvent).finish();
}

export function encodeConfirmation(subscriptionId: string): Buffer {
  return new Writer().bytes(2, new Writer().string(1, subscriptionId).finish()).finish();
}

export function encodeCheckpoint(position: number): Buffer {
  const cp = new Writer();
  if (position > 0) cp.varint(1, position).varint(2, position);
  return new Writer().bytes(3, cp.finish()).finish();
}

export function encodeStreamNotFound(streamName: string): Buffer {
  const id = new Writer().string(3, streamName).finish();
  return new Writer().bytes(4, new Writer().bytes(1, id).finish()).finish();
}

export const CAUGHT_UP_FRAME = new Writer().bytes(8, Buffer.alloc(0)).finish();
export const FELL_BEHIND_FRAME = new Writer().bytes(9, Buffer.alloc(0)).finish();

/** UUID message → canonical lower-case string form. */
export function uuidToString(uuid: sharedPb.UUID | undefined): string | undefined {
  if (!uuid) return undefined;
  if (uuid.hasStructured()) {
    const s = uuid.getStructured()!;
    const buf = Buffer.alloc(16);
    buf.writeBigInt64BE(BigInt(s.getMostSignificantBits()), 0);
    buf.writeBigInt64BE(BigInt(s.getLeastSignificantBits()), 8);
    const h = buf.toString('hex');
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  }
  return uuid.getString();
}

export function streamName(id: sharedPb.StreamIdentifier | undefined): string | undefined {
  if (!id) return undefined;
  return Buffer.from(id.getStreamName_asU8()).toString('utf8');
}

export function streamIdentifier(name: string): sharedPb.StreamIdentifier {
  const id = new sharedPb.StreamIdentifier();
  id.setStreamName(Buffer.from(name, 'utf8'));
  return id;
}

export function packAny(message: { serializeBinary(): Uint8Array }, typeName: string): Any {
  const any = new Any();
  any.pack(message.serializeBinary(), typeName);
  return any;
}

/**
 * A persistent subscription's `ReadResp { event: ReadEvent { ..., retry_count } }` from a stored streams frame:
 * both ReadResp/ReadEvent/RecordedEvent messages share field numbers (event = 1, ReadEvent.event = 1,
 * commit_position = 3), so the stored ReadEvent bytes are reused and `retry_count` (field 5) appended.
 */
export function encodePersistentEvent(frame: Buffer, retryCount: number): Buffer {
  let off = 1; // frame[0] is the tag of ReadResp.event (field 1, length-delimited)
  let len = 0;
  let shift = 0;
  for (;;) {
    const b = frame[off++];
    len += (b & 0x7f) * 2 ** shift;
    if (b < 0x80) break;
    shift += 7;
  }
  const inner = frame.subarray(off, off + len);
  const innerLen = len + 1 + varintLength(retryCount);
  const out = Buffer.allocUnsafe(1 + varintLength(innerLen) + innerLen);
  out[0] = 0x0a;
  let o = writeVarint(out, 1, innerLen);
  o += inner.copy(out, o);
  out[o++] = 0x28; // field 5, varint
  writeVarint(out, o, retryCount);
  return out;
}

/** A persistent subscription's ack or nack, decoded without protobuf objects (the hot path of a consumer group). */
export interface Settlement {
  nack: boolean;
  ids: string[];
  action: number;
  reason: string;
}

function readVarint(buf: Buffer, at: { off: number }): number {
  let v = 0;
  let shift = 0;
  for (;;) {
    if (at.off >= buf.length) throw new RangeError('truncated varint');
    const b = buf[at.off++];
    v += (b & 0x7f) * 2 ** shift;
    if (b < 0x80) return v;
    shift += 7;
    if (shift > 63) throw new RangeError('varint too long');
  }
}

function skipField(buf: Buffer, at: { off: number }, wire: number): void {
  if (wire === 0) readVarint(buf, at);
  else if (wire === 2) at.off += readVarint(buf, at);
  else if (wire === 1) at.off += 8;
  else if (wire === 5) at.off += 4;
  else throw new RangeError(`unsupported wire type ${wire}`);
  if (at.off > buf.length) throw new RangeError('truncated field');
}

/**
 * `ReadReq { ack = 2 | nack = 3 }` with ids in string form → a Settlement; anything else (options, structured ids,
 * malformed bytes) → undefined, for the generated decoder to handle.
 */
export function decodeSettlement(buf: Buffer): Settlement | undefined {
  try {
    const at = { off: 0 };
    const tag = readVarint(buf, at);
    const field = Math.floor(tag / 8);
    if ((tag & 7) !== 2 || (field !== 2 && field !== 3)) return undefined;
    const end = readVarint(buf, at) + at.off;
    if (end !== buf.length) return undefined;
    const out: Settlement = { nack: field === 3, ids: [], action: 0, reason: '' };
    while (at.off < end) {
      const t = readVarint(buf, at);
      const f = Math.floor(t / 8);
      const w = t & 7;
      if (f === 2 && w === 2) {
        const uend = readVarint(buf, at) + at.off;
        let id: string | undefined;
        while (at.off < uend) {
          const ut = readVarint(buf, at);
          if (ut === 0x12) {
            const n = readVarint(buf, at);
            id = buf.toString('latin1', at.off, at.off + n).toLowerCase();
            at.off += n;
          } else return undefined; // structured form: leave it to the generated decoder
        }
        if (id === undefined || at.off !== uend) return undefined;
        out.ids.push(id);
      } else if (f === 3 && w === 0 && out.nack) {
        out.action = readVarint(buf, at);
      } else if (f === 4 && w === 2 && out.nack) {
        const n = readVarint(buf, at);
        out.reason = buf.toString('utf8', at.off, at.off + n);
        at.off += n;
      } else skipField(buf, at, w);
    }
    return at.off === end ? out : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The event id of a stored frame, read in place: `ReadResp.event(1) → ReadEvent.event(1) → RecordedEvent.id(1) →
 * UUID.string(2)`, each the first field of its message as `encodeEventFrame` writes them.
 */
export function eventIdOf(frame: Buffer): string {
  const at = { off: 0 };
  for (let depth = 0; depth < 3; depth++) {
    at.off++; // tag: field 1, length-delimited
    readVarint(frame, at); // length
  }
  at.off++; // tag: UUID.string (field 2)
  const n = readVarint(frame, at);
  return frame.toString('latin1', at.off, at.off + n);
}
