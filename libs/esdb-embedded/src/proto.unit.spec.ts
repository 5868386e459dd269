/** The hand-written ack/nack decoder agrees with the generated one on every message the client can send. */
import fc from 'fast-check';
import { decodeSettlement, persistentPb, sharedPb } from './proto';

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
