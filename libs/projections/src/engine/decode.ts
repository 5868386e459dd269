/**
 * Turning what the client read into the events projections fold: the ingest catalogue and the
 * admin identity commands (both `cairn.`-prefixed, so one server-side filter selects them). Each
 * event is decoded once and shared by every projection.
 */
import type { AllStreamResolvedEvent } from '@eventstore/db-client';
import { isIdentityEventType, type IdentityEvent } from '@cairn/domain';
import { toRecordedCairnEvent } from '@cairn/event-store';
import type { LogEvent } from '../projection';

export function toLogEvent(resolved: AllStreamResolvedEvent): LogEvent | null {
  const e = resolved.event;
  if (!e || !e.isJson || !e.position) return null;
  if (isIdentityEventType(e.type)) {
    return { id: e.id, type: e.type, data: e.data as unknown as IdentityEvent['data'], streamId: e.streamId, revision: e.revision, position: e.position.commit } as LogEvent;
  }
  return toRecordedCairnEvent(resolved);
}
