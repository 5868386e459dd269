/**
 * The API's composition root: `cairn api` runs the HTTP API alone; projection progress is read
 * from the shared read store.
 */
import { serveCommand } from '../../cli/src/serve';

export const apiCommand = serveCommand({ api: true, projector: false });
