/**
 * The projector's composition root: `cairn projector` runs the projections alone, against the
 * event store and read store shared with the API (CAIRN_EVENTSTORE, CAIRN_READ_MODEL).
 */
import { serveCommand } from '../../cli/src/serve';

export const projectorCommand = serveCommand({ api: false, projector: true });
