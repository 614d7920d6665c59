import { existsSync } from 'node:fs';
import { basename } from 'node:path';
import { writeWholeFile } from '../../integrity/secret-file.js';

/**
 * The file beside a SQLite database that says a database lives there (`auditor.db.created`). The
 * chain secret and the -wal say it too, but not always: with AUDITOR_CHAIN_SECRET set there is no
 * chain.secret, and a clean shutdown removes the -wal. The marker is always there, so a start that
 * finds it without its database refuses to begin a new, empty log in the lost one's place.
 */
export function databaseMarkerPath(path: string): string {
  return `${path}.created`;
}

/**
 * Leaves the marker beside the database at `path` (owner-only, written whole): always for a
 * database this start created (replacing an earlier one's), otherwise only where there is none
 * (a database created by a version that wrote no marker).
 */
export function markDatabase(path: string, created: boolean): void {
  const marker = databaseMarkerPath(path);
  if (!created && existsSync(marker)) return;
  writeWholeFile(marker, markerText(path), { replace: true });
}

function markerText(path: string): string {
  const name = basename(path);
  return `An Auditor SQLite database lives beside this file: ${name} (written ${new Date().toISOString()}).

While this file is here and ${name} is not, the service refuses to start: the database was deleted
or moved, and starting would begin a new, empty audit log in its place. Restore ${name} (and its
-wal, if it had one) from a backup, or put back the ${name}.rescued-<time> copy the service makes
when it notices its database lost. Only to start a new, empty log on purpose, set
AUDITOR_ALLOW_NEW_DATABASE=1 for one start: this file is then written anew. Deleting this file
instead would hide the next loss too.
`;
}
