import { execFileSync } from 'node:child_process';
import { chmodSync, closeSync, openSync } from 'node:fs';

/**
 * Makes the file at `path` one that no process of this user can open for writing, honestly even
 * as root (whom a mode of 0444 does not stop): `chattr +i` as root (immutable, refused to root
 * too), `chmod 0444` otherwise. Checked by trying. Returns how to undo it, or why it could not be
 * done here (a file system without immutable files), for the test to skip with (skipWithoutRoot).
 */
export function writeProtect(path: string): { undo(): void } | string {
  const root = process.getuid?.() === 0;
  const how = root ? 'chattr +i' : 'chmod 0444';
  const undo = (): void => {
    if (root) execFileSync('chattr', ['-i', path], { stdio: 'pipe' });
    else chmodSync(path, 0o600);
  };
  try {
    if (root) execFileSync('chattr', ['+i', path], { stdio: 'pipe' });
    else chmodSync(path, 0o444);
  } catch (error) {
    return `cannot write-protect ${path} with ${how}: ${String((error as Error).message).split('\n')[0]}`;
  }
  try {
    closeSync(openSync(path, 'r+'));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EPERM' || code === 'EACCES') return { undo };
    undo();
    throw error;
  }
  undo();
  return `${path} can still be opened for writing after ${how}`;
}
