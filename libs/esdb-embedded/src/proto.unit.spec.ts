/** The hand-written ack/nack decoder agrees with the generated one on every message the client can send. */
import fc from 'fast-check';
import { decodeSettlement, encodeEventFrame, encodePersistentEvent, eventIdOf, persistentPb, sharedPb } from './proto';

function uuid(id: string): sharedPb.UUID {
  const u = new sharedPb.UUID();
  u.setString(id);
  return u;
}

describe('decodeSettlement', () => {
  it('decodes acks and nacks exactly as the generated ReadReq decoder does', () => {
    fc.assert(
      fc.property(fc.array(fc.uuid(), { maxLength: 50 }), fc.boolean(), fc.integer({ min: 0, max: 4 }), fc.string({ maxLength: 200 }), (ids, nack, action, reason) => {
        const req = new persistentPb.ReadReq();
        if (nack) {
          const n = new persistentPb.ReadReq.Nack();
          ids.forEach((id) => n.addIds(uuid(id)));
          n.setAction(action);
          n.setReason(reason);
          req.setNack(n);
        } else {
          const a = new persistentPb.ReadReq.Ack();
          ids.forEach((id) => a.addIds(uuid(id)));
          req.setAck(a);
        }
        const bytes = Buffer.from(req.serializeBinary());
        const got = decodeSettlement(bytes);
        const back = persistentPb.ReadReq.deserializeBinary(bytes);
        const want = nack ? back.getNack()! : back.getAck()!;
        expect(got).toEqual({
          nack,
          ids: want.getIdsList().map((u) => u.getString().toLowerCase()),
          action: nack ? back.getNack()!.getAction() : 0,
          reason: nack ? back.getNack()!.getReason() : '',
        });
      }),
    );
  });

  it('leaves options, structured ids and garbage to the generated decoder', () => {
    const withOptions = new persistentPb.ReadReq().setOptions(new persistentPb.ReadReq.Options().setGroupName('g'));
    expect(decodeSettlement(Buffer.from(withOptions.serializeBinary()))).toBeUndefined();
    const structured = new sharedPb.UUID().setStructured(new sharedPb.UUID.Structured().setMostSignificantBits('1').setLeastSignificantBits('2'));
    const ack = new persistentPb.ReadReq().setAck(new persistentPb.ReadReq.Ack().setIdsList([structured]));
    expect(decodeSettlement(Buffer.from(ack.serializeBinary()))).toBeUndefined();
    fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), (b) => {
      const r = decodeSettlement(Buffer.from(b));
      expect(r === undefined || Array.isArray(r.ids)).toBe(true);
    }));
  });
});

describe('stored frames', () => {
  it('yield their event id in place, and re-frame as the persistent ReadResp with retry_count', () => {
    fc.assert(
      fc.property(fc.uuid(), fc.string({ minLength: 1, maxLength: 300 }), fc.nat(), fc.uint8Array({ maxLength: 3000 }), fc.nat(1000), (id, stream, rev, data, retry) => {
        const frame = encodeEventFrame({ id, streamName: stream, revision: rev, position: rev + 1, type: 'T', contentType: 'application/json', created: 1, customMetadata: Buffer.alloc(0), data: Buffer.from(data) });
        expect(eventIdOf(frame)).toBe(id);
        const resp = persistentPb.ReadResp.deserializeBinary(encodePersistentEvent(frame, retry));
        const e = resp.getEvent()!;
        expect(e.getRetryCount()).toBe(retry);
        expect(e.getEvent()!.getId()!.getString()).toBe(id);
        expect(Buffer.from(e.getEvent()!.getStreamIdentifier()!.getStreamName_asU8()).toString()).toBe(stream);
        expect(Buffer.from(e.getEvent()!.getData_asU8())).toEqual(Buffer.from(data));
      }),
    );
  });
});
