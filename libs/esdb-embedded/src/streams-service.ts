/**
 * `event_store.client.streams.Streams`: Read (reads and catch-up subscriptions), Append, BatchAppend,
 * Delete and Tombstone, with EventStoreDB's semantics and error shapes.
 */
import { randomUUID } from 'crypto';
import type * as grpc from '@grpc/grpc-js';
import { errors, type GrpcError } from './errors';
import { compileFilter, filterSpecOf, type Filter } from './filters';
import {
  Any,
  CAUGHT_UP_FRAME,
  FELL_BEHIND_FRAME,
  GoogleEmpty,
  encodeCheckpoint,
  encodeConfirmation,
  encodeStreamNotFound,
  packAny,
  sharedPb,
  statusPb,
  streamIdentifier,
  streamName,
  streamsPb,
  uuidToString,
} from './proto';
import { isPrincipal, type Security } from './security';
import type { Expected, LogRow, ProposedEvent, Store, WriteOutcome } from './store';

const PAGE = 512;
/** A live `$all` subscriber further behind than this is told it fell behind (it is then paging from SQLite). */
const FELL_BEHIND_GAP = 8192;
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const GOOGLE_CODE_FAILED_PRECONDITION = 9;
const GOOGLE_CODE_INVALID_ARGUMENT = 3;
const GOOGLE_CODE_DEADLINE_EXCEEDED = 4;
const GOOGLE_CODE_PERMISSION_DENIED = 7;

export interface StreamsServiceOptions {
  store: Store;
  maxAppendSize: number;
  /** Users and ACLs (in insecure mode everything is allowed). */
  security: Security;
}

type AnyCall = grpc.ServerWritableStream<unknown, unknown> | grpc.ServerDuplexStream<unknown, unknown>;

/** Tracks long-running calls so the node can end them when it shuts down. */
export class ActiveCalls {
  private readonly calls = new Set<AnyCall>();
  add(call: AnyCall): () => void {
    this.calls.add(call);
    return () => this.calls.delete(call);
  }
  endAll(): void {
    for (const c of this.calls) c.emit('error', errors.unavailable('Server is shutting down.'));
    this.calls.clear();
  }
}

/** Writes with HTTP/2 backpressure: resolves once the stream can take more, or false once the call is gone. */
class Sink {
  gone = false;
  /** Called once when the call goes away (used to abort a wait for new events). */
  onGone: (() => void) | undefined;
  private wake: (() => void) | undefined;
  constructor(private readonly call: grpc.ServerWritableStream<unknown, unknown>) {
    const stop = () => {
      if (this.gone) return;
      this.gone = true;
      this.wake?.();
      this.onGone?.();
    };
    call.on('cancelled', stop);
    call.on('close', stop);
    call.on('error', stop);
    call.on('drain', () => this.wake?.());
  }

  /** Returns false when the call has ended (cancelled by the client, or errored). */
  async write(frame: Buffer): Promise<boolean> {
    if (this.gone) return false;
    if (!this.call.write(frame)) {
      await new Promise<void>((resolve) => {
        this.wake = resolve;
      });
      this.wake = undefined;
    }
    return !this.gone;
  }
}

export function parseExpected(
  kind: 'revision' | 'no_stream' | 'any' | 'stream_exists' | 'none',
  revision: string,
): Expected | GrpcError {
  switch (kind) {
    case 'any':
      return { kind: 'any' };
    case 'no_stream':
      return { kind: 'no_stream' };
    case 'stream_exists':
      return { kind: 'stream_exists' };
    case 'revision': {
      try {
        const r = BigInt(revision);
        if (r < 0n) throw new Error('negative');
        return { kind: 'revision', revision: r };
      } catch {
        return errors.invalidArgument(`invalid expected revision '${revision}'`);
      }
    }
    default:
      return errors.invalidArgument('expected stream revision is required');
  }
}

function isError(v: unknown): v is GrpcError {
  return typeof v === 'object' && v !== null && 'code' in v && 'details' in v;
}

function validStreamName(name: string | undefined): GrpcError | undefined {
  if (name === undefined || name.length === 0) return errors.invalidArgument('stream name must not be empty');
  if (name === '$all') return errors.invalidArgument("'$all' is not a writable stream");
  return undefined;
}

function toProposed(
  id: sharedPb.UUID | undefined,
  metadata: Map<string, string>,
  data: Uint8Array,
  custom: Uint8Array,
): ProposedEvent | GrpcError {
  const idText = uuidToString(id);
  if (!idText || !UUID_RE.test(idText)) return errors.invalidArgument(`invalid event id '${idText ?? ''}'`);
  const type = metadata.get('type');
  const contentType = metadata.get('content-type');
  if (type === undefined || contentType === undefined) return errors.missingMetadata();
  if (type.length === 0) return errors.invalidArgument('event type must not be empty');
  return {
    id: idText.toLowerCase(),
    type,
    contentType,
    data: Buffer.from(data.buffer, data.byteOffset, data.byteLength),
    metadata: Buffer.from(custom.buffer, custom.byteOffset, custom.byteLength),
  };
}

/**
 * The size EventStoreDB 23.10 counts against the maximum append size. Its `Event.SizeOnDisk` reads
 * `data?.Length ?? 0 + metadata?.Length ?? 0 + eventType.Length * 2`, which C# parses as
 * `data?.Length ?? (0 + …)`: for any event (data is never null) only the data's length counts.
 */
function eventSize(e: ProposedEvent): number {
  return e.data.length;
}

/** EventStoreDB's write timeout (`WriteTimeoutMs`, 2 s): a batch append gets at most this long to be complete. */
const WRITE_TIMEOUT_MS = 2000;

function jspbMap(m: { forEach(cb: (v: string, k: string) => void): void }): Map<string, string> {
  const out = new Map<string, string>();
  m.forEach((v, k) => out.set(k, v));
  return out;
}

export function createStreamsService(opts: StreamsServiceOptions, active: ActiveCalls): grpc.UntypedServiceImplementation {
  const { store, maxAppendSize, security } = opts;

  // ------------------------------------------------------------------ Read

  async function readStream(sink: Sink, name: string, o: streamsPb.ReadReq.Options, call: grpc.ServerWritableStream<unknown, unknown>) {
    const st = store.stream(name);
    if (st?.tombstoned) return call.emit('error', errors.streamDeleted(name));
    if (!st || st.lastRev < 0 || st.meta.softDeleted) {
      await sink.write(encodeStreamNotFound(name));
      return call.end();
    }
    const so = o.getStream()!;
    const backwards = o.getReadDirection() === streamsPb.ReadReq.Options.ReadDirection.BACKWARDS;
    let remaining = countOf(o);
    const { lastRev, meta } = st;
    const floor = Math.max(meta.tb ?? 0, meta.maxCount !== undefined ? lastRev - meta.maxCount + 1 : 0);
    const cutoff = meta.maxAge !== undefined ? Date.now() - meta.maxAge * 1000 : -Infinity;
    const visible = (r: LogRow) => r.created >= cutoff;
    if (!backwards) {
      let cur = so.hasRevision() ? Number(BigInt(so.getRevision())) : so.hasEnd() ? lastRev + 1 : 0;
      cur = Math.max(cur, floor);
      while (remaining > 0 && cur <= lastRev) {
        const rows = store.readStreamForward(st.id, cur, lastRev, Math.min(PAGE, remaining));
        if (rows.length === 0) break;
        for (const r of rows) {
          if (!visible(r)) continue;
          if (!(await sink.write(r.frame))) return;
          remaining--;
        }
        cur = rows[rows.length - 1].rev + 1;
      }
    } else {
      let cur = so.hasRevision() ? Math.min(Number(BigInt(so.getRevision())), lastRev) : so.hasStart() ? -1 : lastRev;
      while (remaining > 0 && cur >= floor) {
        const rows = store.readStreamBackward(st.id, cur, floor, Math.min(PAGE, remaining));
        if (rows.length === 0) break;
        for (const r of rows) {
          if (!visible(r)) continue;
          if (!(await sink.write(r.frame))) return;
          remaining--;
        }
        cur = rows[rows.length - 1].rev - 1;
      }
    }
    call.end();
  }

  async function readAll(sink: Sink, o: streamsPb.ReadReq.Options, filter: Filter | undefined, call: grpc.ServerWritableStream<unknown, unknown>) {
    const ao = o.getAll()!;
    const backwards = o.getReadDirection() === streamsPb.ReadReq.Options.ReadDirection.BACKWARDS;
    let remaining = countOf(o);
    const head = store.head;
    const match = (r: LogRow) => !filter || filter.matches(store.streamNameOf(r.stream), r.type);
    if (!backwards) {
      let cur = ao.hasPosition() ? positionOf(ao.getPosition()!) : ao.hasEnd() ? head + 1 : 1;
      cur = Math.max(cur, 1);
      while (remaining > 0 && cur <= head) {
        const rows = store.readAllForward(cur, Math.min(PAGE, head - cur + 1));
        if (rows.length === 0) break;
        for (const r of rows) {
          if (!match(r)) continue;
          if (!(await sink.write(r.frame))) return;
          if (--remaining === 0) break;
        }
        cur = rows[rows.length - 1].pos + 1;
      }
    } else {
      // Backwards from a position reads the events before it (EventStoreDB: records ending before that position).
      let cur = ao.hasPosition() ? Math.min(positionOf(ao.getPosition()!) - 1, head) : ao.hasStart() ? 0 : head;
      while (remaining > 0 && cur >= 1) {
        const rows = store.readAllBackward(cur, PAGE);
        if (rows.length === 0) break;
        for (const r of rows) {
          if (!match(r)) continue;
          if (!(await sink.write(r.frame))) return;
          if (--remaining === 0) break;
        }
        cur = rows[rows.length - 1].pos - 1;
      }
    }
    call.end();
  }

  async function subscribeAll(sink: Sink, o: streamsPb.ReadReq.Options, filter: Filter | undefined) {
    const ao = o.getAll()!;
    let last = ao.hasPosition() ? Math.min(positionOf(ao.getPosition()!), store.head) : ao.hasEnd() ? store.head : 0;
    if (!(await sink.write(encodeConfirmation(randomUUID())))) return;
    let caughtUp = false;
    let scanned = 0;
    while (!sink.gone && !store.isClosed) {
      const head = store.head;
      if (caughtUp && head - last > FELL_BEHIND_GAP) {
        caughtUp = false;
        if (!(await sink.write(FELL_BEHIND_FRAME))) return;
      }
      const rows = last < head ? store.readAllForward(last + 1, PAGE) : [];
      for (const r of rows) {
        last = r.pos;
        if (!filter || filter.matches(store.streamNameOf(r.stream), r.type)) {
          if (!(await sink.write(r.frame))) return;
        }
        if (filter && ++scanned >= filter.checkpointEvery) {
          scanned = 0;
          if (!(await sink.write(encodeCheckpoint(r.pos)))) return;
        }
      }
      if (last >= head) {
        if (!caughtUp) {
          caughtUp = true;
          if (!(await sink.write(CAUGHT_UP_FRAME))) return;
        }
        await waitForMore(sink, last);
      }
    }
  }

  async function subscribeStream(sink: Sink, name: string, o: streamsPb.ReadReq.Options, call: grpc.ServerWritableStream<unknown, unknown>) {
    const so = o.getStream()!;
    const initial = store.stream(name);
    if (initial?.tombstoned) return call.emit('error', errors.streamDeleted(name));
    let last = so.hasRevision() ? Number(BigInt(so.getRevision())) : so.hasEnd() ? (initial?.lastRev ?? -1) : -1;
    if (!(await sink.write(encodeConfirmation(randomUUID())))) return;
    let caughtUp = false;
    while (!sink.gone && !store.isClosed) {
      const head = store.head;
      const st = store.stream(name);
      if (st?.tombstoned) return call.emit('error', errors.streamDeleted(name));
      if (st && st.lastRev > last) {
        const floor = st.meta.softDeleted ? st.lastRev + 1 : Math.max(st.meta.tb ?? 0, st.meta.maxCount !== undefined ? st.lastRev - st.meta.maxCount + 1 : 0);
        const from = Math.max(last + 1, floor);
        const rows = from <= st.lastRev ? store.readStreamForward(st.id, from, st.lastRev, PAGE) : [];
        for (const r of rows) {
          if (!(await sink.write(r.frame))) return;
          last = r.rev;
        }
        if (rows.length === 0) last = st.lastRev;
      }
      const after = store.stream(name);
      if (!after || after.lastRev <= last) {
        if (!caughtUp) {
          caughtUp = true;
          if (!(await sink.write(CAUGHT_UP_FRAME))) return;
        }
        await waitForMore(sink, head);
      }
    }
  }

  /** Sleeps until something is committed after `pos`, the call ends or the store closes. */
  async function waitForMore(sink: Sink, pos: number) {
    const w = store.waitForCommitAfter(pos);
    sink.onGone = w.cancel;
    try {
      await w.promise;
    } finally {
      sink.onGone = undefined;
    }
  }

  async function read(call: grpc.ServerWritableStream<streamsPb.ReadReq, Buffer>) {
    const anyCall = call as unknown as grpc.ServerWritableStream<unknown, unknown>;
    const principal = security.authenticate(call.metadata);
    if (!isPrincipal(principal)) return call.emit('error', principal);
    const o = call.request.getOptions();
    if (!o || (!o.hasStream() && !o.hasAll())) return call.emit('error', errors.invalidArgument('read options are required'));
    const denied = security.check(principal, o.hasAll() ? '$all' : (streamName(o.getStream()!.getStreamIdentifier()) ?? ''), 'r');
    if (denied) return call.emit('error', denied);
    let filter: Filter | undefined;
    if (o.hasFilter()) {
      try {
        filter = compileFilter(filterSpecOf(o.getFilter()!));
      } catch (err) {
        return call.emit('error', errors.invalidArgument((err as Error).message));
      }
    }
    if (o.hasStream()) {
      const name = streamName(o.getStream()!.getStreamIdentifier());
      if (!name) return call.emit('error', errors.invalidArgument('stream name must not be empty'));
      const so = o.getStream()!;
      if (so.hasRevision() && !/^\d+$/.test(so.getRevision())) return call.emit('error', errors.invalidArgument('invalid revision'));
    } else if (o.getAll()!.hasPosition()) {
      const p = o.getAll()!.getPosition()!;
      if (!/^\d+$/.test(p.getCommitPosition()) || !/^\d+$/.test(p.getPreparePosition())) {
        return call.emit('error', errors.invalidArgument('invalid position'));
      }
    }
    const sink = new Sink(anyCall);
    const subscription = o.hasSubscription();
    const untrack = subscription ? active.add(anyCall) : () => undefined;
    try {
      if (o.hasAll()) {
        if (subscription) await subscribeAll(sink, o, filter);
        else await readAll(sink, o, filter, anyCall);
      } else {
        const name = streamName(o.getStream()!.getStreamIdentifier())!;
        if (subscription) await subscribeStream(sink, name, o, anyCall);
        else await readStream(sink, name, o, anyCall);
      }
    } catch (err) {
      if (!sink.gone) call.emit('error', errors.internal((err as Error).message));
    } finally {
      untrack();
    }
  }

  // ------------------------------------------------------------------ Append

  function append(call: grpc.ServerReadableStream<streamsPb.AppendReq, streamsPb.AppendResp>, callback: grpc.sendUnaryData<streamsPb.AppendResp>) {
    let done = false;
    const finish = (err: GrpcError | null, resp?: streamsPb.AppendResp) => {
      if (done) return;
      done = true;
      if (err) callback(err);
      else callback(null, resp);
    };
    const principal = security.authenticate(call.metadata);
    if (!isPrincipal(principal)) return finish(principal);
    let stream: string | undefined;
    let expected: Expected | undefined;
    const events: ProposedEvent[] = [];
    let size = 0;
    call.on('data', (req: streamsPb.AppendReq) => {
      if (done) return;
      if (req.hasOptions()) {
        const o = req.getOptions()!;
        stream = streamName(o.getStreamIdentifier());
        const bad = validStreamName(stream) ?? security.check(principal, stream!, 'w');
        if (bad) return finish(bad);
        const kinds = { 2: 'revision', 3: 'no_stream', 4: 'any', 5: 'stream_exists' } as const;
        const e = parseExpected(kinds[o.getExpectedStreamRevisionCase() as 2 | 3 | 4 | 5] ?? 'none', o.getRevision());
        if (isError(e)) return finish(e);
        expected = e;
      } else if (req.hasProposedMessage()) {
        if (!expected) return finish(errors.invalidArgument('append options must come first'));
        const m = req.getProposedMessage()!;
        const ev = toProposed(m.getId(), jspbMap(m.getMetadataMap()), m.getData_asU8(), m.getCustomMetadata_asU8());
        if (isError(ev)) return finish(ev);
        size += eventSize(ev);
        if (size > maxAppendSize) return finish(errors.maxAppendSize(maxAppendSize));
        events.push(ev);
      }
    });
    call.on('error', () => {
      done = true;
    });
    call.on('end', () => {
      if (done) return;
      if (!stream || !expected) return finish(errors.invalidArgument('append options are required'));
      const name = stream;
      const exp = expected;
      store.write({ kind: 'append', stream: name, expected: exp, events }).then(
        (outcome) => {
          if (outcome.ok) {
            const success = new streamsPb.AppendResp.Success();
            if (outcome.revision === undefined) success.setNoStream(new sharedPb.Empty());
            else success.setCurrentRevision(String(outcome.revision));
            const pos = new streamsPb.AppendResp.Position();
            pos.setCommitPosition(String(outcome.position));
            pos.setPreparePosition(String(outcome.position));
            success.setPosition(pos);
            finish(null, new streamsPb.AppendResp().setSuccess(success));
          } else if (outcome.error === 'stream-deleted') {
            finish(errors.streamDeleted(name));
          } else {
            const w = new streamsPb.AppendResp.WrongExpectedVersion();
            if (outcome.current === undefined) w.setCurrentNoStream(new sharedPb.Empty());
            else w.setCurrentRevision(String(outcome.current));
            if (exp.kind === 'revision') w.setExpectedRevision(String(exp.revision));
            else if (exp.kind === 'no_stream') w.setExpectedNoStream(new sharedPb.Empty());
            else if (exp.kind === 'stream_exists') w.setExpectedStreamExists(new sharedPb.Empty());
            else w.setExpectedAny(new sharedPb.Empty());
            finish(null, new streamsPb.AppendResp().setWrongExpectedVersion(w));
          }
        },
        (err: Error) => finish(errors.unavailable(`append failed: ${err.message}`)),
      );
    });
  }

  // ------------------------------------------------------------------ BatchAppend

  function batchAppend(call: grpc.ServerDuplexStream<streamsPb.BatchAppendReq, streamsPb.BatchAppendResp>) {
    const anyCall = call as unknown as grpc.ServerDuplexStream<unknown, unknown>;
    const principal = security.authenticate(call.metadata);
    if (!isPrincipal(principal)) return call.emit('error', principal);
    const untrack = active.add(anyCall);
    let ended = false; // the client half-closed: answer what is in flight, then end
    let gone = false; // cancelled or failed: nothing more can be written
    let inFlight = 0;
    const pending = new Map<
      string,
      { correlation: sharedPb.UUID; stream: string; expected: Expected; events: ProposedEvent[]; size: number; failed?: boolean; timer?: NodeJS.Timeout }
    >();
    const respond = (resp: streamsPb.BatchAppendResp) => {
      if (!gone) call.write(resp);
    };
    const maybeEnd = () => {
      if (ended && !gone && inFlight === 0) call.end();
    };
    const fail = (correlation: sharedPb.UUID, stream: string, code: number, message: string, details: Any) => {
      const st = new statusPb.Status();
      st.setCode(code);
      st.setMessage(message);
      st.setDetails(details);
      const resp = new streamsPb.BatchAppendResp();
      resp.setCorrelationId(correlation);
      resp.setStreamIdentifier(streamIdentifier(stream));
      resp.setError(st);
      respond(resp);
    };
    const badRequest = (correlation: sharedPb.UUID, stream: string, message: string) => {
      const br = new sharedPb.BadRequest();
      br.setMessage(message);
      fail(correlation, stream, GOOGLE_CODE_INVALID_ARGUMENT, message, packAny(br, 'event_store.client.BadRequest'));
    };
    call.on('data', (req: streamsPb.BatchAppendReq) => {
      const correlation = req.getCorrelationId();
      const key = uuidToString(correlation);
      if (!correlation || !key) return call.emit('error', errors.invalidArgument('correlation id is required'));
      let entry = pending.get(key);
      if (!entry) {
        const o = req.getOptions();
        const stream = streamName(o?.getStreamIdentifier()) ?? '';
        const kinds = { 2: 'revision', 3: 'no_stream', 4: 'any', 5: 'stream_exists' } as const;
        const e = o ? parseExpected(kinds[o.getExpectedStreamPositionCase() as 2 | 3 | 4 | 5] ?? 'none', o.getStreamPosition()) : errors.invalidArgument('options required');
        const bad = validStreamName(stream) ?? (isError(e) ? e : undefined);
        entry = { correlation, stream, expected: isError(e) ? { kind: 'any' } : e, events: [], size: 0 };
        pending.set(key, entry);
        if (bad) {
          entry.failed = true;
          badRequest(correlation, stream, bad.details);
        } else if (!security.allowed(principal, stream, 'w')) {
          entry.failed = true;
          fail(correlation, stream, GOOGLE_CODE_PERMISSION_DENIED, 'Access Denied', packAny(new sharedPb.AccessDenied(), 'event_store.client.AccessDenied'));
        } else {
          // EventStoreDB: min(deadline − now, write timeout); a request not complete by then is answered Timeout.
          const deadline = o?.getDeadline();
          const ms = Math.min(deadline ? deadline.toDate().getTime() - Date.now() : Infinity, WRITE_TIMEOUT_MS);
          const timedOut = () => {
            const current = pending.get(key);
            if (!current || current !== entry || current.failed) return;
            current.failed = true;
            pending.delete(key);
            fail(correlation, stream, GOOGLE_CODE_DEADLINE_EXCEEDED, 'Timeout', packAny(new sharedPb.Timeout(), 'event_store.client.Timeout'));
            maybeEnd();
          };
          if (ms <= 0) timedOut();
          else {
            entry.timer = setTimeout(timedOut, ms);
            entry.timer.unref();
          }
        }
      }
      if (!entry.failed) {
        for (const m of req.getProposedMessagesList()) {
          const ev = toProposed(m.getId(), jspbMap(m.getMetadataMap()), m.getData_asU8(), m.getCustomMetadata_asU8());
          if (isError(ev)) {
            entry.failed = true;
            badRequest(correlation, entry.stream, ev.details);
            break;
          }
          entry.size += eventSize(ev);
          if (entry.size > maxAppendSize) {
            entry.failed = true;
            const mx = new sharedPb.MaximumAppendSizeExceeded();
            mx.setMaxappendsize(maxAppendSize);
            fail(correlation, entry.stream, GOOGLE_CODE_INVALID_ARGUMENT, `Maximum Append Size of ${maxAppendSize} Exceeded.`, packAny(mx, 'event_store.client.MaximumAppendSizeExceeded'));
            break;
          }
          entry.events.push(ev);
        }
      }
      if (!req.getIsFinal()) return;
      if (entry.timer) clearTimeout(entry.timer);
      if (pending.get(key) === entry) pending.delete(key);
      if (entry.failed) return;
      const { stream, expected, events } = entry;
      inFlight++;
      store.write({ kind: 'append', stream, expected, events }).then(
        (outcome) => {
          inFlight--;
          respondBatch(correlation, stream, expected, outcome);
          maybeEnd();
        },
        (err: Error) => {
          inFlight--;
          const u = new sharedPb.Unknown();
          fail(correlation, stream, 14, `append failed: ${err.message}`, packAny(u, 'event_store.client.Unknown'));
          maybeEnd();
        },
      );
    });
    const respondBatch = (correlation: sharedPb.UUID, stream: string, expected: Expected, outcome: WriteOutcome) => {
      if (outcome.ok) {
        const success = new streamsPb.BatchAppendResp.Success();
        if (outcome.revision === undefined) success.setNoStream(new GoogleEmpty());
        else success.setCurrentRevision(String(outcome.revision));
        const pos = new sharedPb.AllStreamPosition();
        pos.setCommitPosition(String(outcome.position));
        pos.setPreparePosition(String(outcome.position));
        success.setPosition(pos);
        const resp = new streamsPb.BatchAppendResp();
        resp.setCorrelationId(correlation);
        resp.setStreamIdentifier(streamIdentifier(stream));
        resp.setSuccess(success);
        respond(resp);
      } else if (outcome.error === 'stream-deleted') {
        const sd = new sharedPb.StreamDeleted();
        sd.setStreamIdentifier(streamIdentifier(stream));
        fail(correlation, stream, GOOGLE_CODE_FAILED_PRECONDITION, `Event stream '${stream}' is deleted.`, packAny(sd, 'event_store.client.StreamDeleted'));
      } else {
        const w = new sharedPb.WrongExpectedVersion();
        if (outcome.current === undefined) w.setCurrentNoStream(new GoogleEmpty());
        else w.setCurrentStreamRevision(String(outcome.current));
        if (expected.kind === 'revision') w.setExpectedStreamPosition(String(expected.revision));
        else if (expected.kind === 'no_stream') w.setExpectedNoStream(new GoogleEmpty());
        else if (expected.kind === 'stream_exists') w.setExpectedStreamExists(new GoogleEmpty());
        else w.setExpectedAny(new GoogleEmpty());
        fail(correlation, stream, GOOGLE_CODE_FAILED_PRECONDITION, 'Wrong expected version.', packAny(w, 'event_store.client.WrongExpectedVersion'));
      }
    };
    call.on('end', () => {
      ended = true;
      untrack();
      maybeEnd();
    });
    const stop = () => {
      gone = true;
      untrack();
      for (const e of pending.values()) if (e.timer) clearTimeout(e.timer);
    };
    call.on('error', stop);
    call.on('cancelled', stop);
  }

  // ------------------------------------------------------------------ Delete / Tombstone

  function deleteOrTombstone(kind: 'delete' | 'tombstone') {
    return (
      call: grpc.ServerUnaryCall<streamsPb.DeleteReq | streamsPb.TombstoneReq, streamsPb.DeleteResp | streamsPb.TombstoneResp>,
      callback: grpc.sendUnaryData<streamsPb.DeleteResp | streamsPb.TombstoneResp>,
    ) => {
      const principal = security.authenticate(call.metadata);
      if (!isPrincipal(principal)) return callback(principal);
      const o = call.request.getOptions();
      const stream = streamName(o?.getStreamIdentifier());
      const bad = validStreamName(stream) ?? security.check(principal, stream!, 'd');
      if (bad || !o || !stream) return callback(bad ?? errors.invalidArgument('options are required'));
      const kinds = { 2: 'revision', 3: 'no_stream', 4: 'any', 5: 'stream_exists' } as const;
      const expected = parseExpected(kinds[o.getExpectedStreamRevisionCase() as 2 | 3 | 4 | 5] ?? 'none', o.getRevision());
      if (isError(expected)) return callback(expected);
      store.write({ kind, stream, expected }).then(
        (outcome) => {
          if (!outcome.ok) {
            return callback(outcome.error === 'stream-deleted' ? errors.streamDeleted(stream) : errors.wrongExpectedVersion(stream, expected, outcome.current));
          }
          const Resp = kind === 'delete' ? streamsPb.DeleteResp : streamsPb.TombstoneResp;
          const Pos = kind === 'delete' ? streamsPb.DeleteResp.Position : streamsPb.TombstoneResp.Position;
          const pos = new Pos();
          pos.setCommitPosition(String(outcome.position));
          pos.setPreparePosition(String(outcome.position));
          const resp = new Resp();
          resp.setPosition(pos);
          callback(null, resp);
        },
        (err: Error) => callback(errors.unavailable(`${kind} failed: ${err.message}`)),
      );
    };
  }

  return {
    read: read as grpc.handleServerStreamingCall<unknown, unknown>,
    append: append as unknown as grpc.handleClientStreamingCall<unknown, unknown>,
    batchAppend: batchAppend as unknown as grpc.handleBidiStreamingCall<unknown, unknown>,
    delete: deleteOrTombstone('delete') as unknown as grpc.handleUnaryCall<unknown, unknown>,
    tombstone: deleteOrTombstone('tombstone') as unknown as grpc.handleUnaryCall<unknown, unknown>,
  };
}

function countOf(o: streamsPb.ReadReq.Options): number {
  if (!o.hasCount()) return Number.MAX_SAFE_INTEGER;
  const c = BigInt(o.getCount());
  return c > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(c);
}

function positionOf(p: streamsPb.ReadReq.Options.Position): number {
  const c = BigInt(p.getCommitPosition());
  return c > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(c);
}
