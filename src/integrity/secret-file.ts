import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, linkSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/** What a secret file written by the service holds, exactly, and how to say so in an error. */
export type SecretFormat = { pattern: RegExp; description: string };

/**
 * Creates the secret file at `path` holding `contents`, owner-only, whole or not at all (see
 * writeWholeFile); it never replaces a file already there. Returns false, creating nothing, when
 * `path` exists already (another process got there first: read its file).
 */
export function createSecretFile(path: string, contents: string): boolean {
  return writeWholeFile(path, contents, { replace: false });
}

/**
 * Writes `contents` to an owner-only file at `path`, whole or not at all: written and synced under
 * a temporary name, then renamed (`replace`) or hard-linked (never replacing a file already there)
 * to `path`, and the folder synced. A full disk fails the write of the temporary file, so it can
 * never leave a short file under the final name. Returns false, writing nothing, when `path`
 * exists and `replace` is not set.
 */
export function writeWholeFile(path: string, contents: string, { replace }: { replace: boolean }): boolean {
  const folder = dirname(path);
  mkdirSync(folder, { recursive: true, mode: 0o700 });
  const temporary = join(folder, `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  const fd = openSync(temporary, 'wx', 0o600);
  try {
    try {
      writeFileSync(fd, contents);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    if (replace) renameSync(temporary, path);
    else linkSync(temporary, path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  } finally {
    rmSync(temporary, { force: true });
  }
  // The new name is durable only once its folder is synced.
  const folderFd = openSync(folder, 'r');
  try {
    fsyncSync(folderFd);
  } finally {
    closeSync(folderFd);
  }
  return true;
}

/**
 * The contents of the secret file at `path`, or undefined when there is none. A file that is not
 * exactly what the service writes (empty, cut short, edited) is refused with an error that says
 * what was expected, never used as a weaker secret.
 */
export function readSecretFile(path: string, format: SecretFormat): string | undefined {
  let contents: string;
  try {
    contents = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  if (!format.pattern.test(contents)) {
    throw new Error(
      `${path} is not what this service writes there (expected ${format.description}; it holds ${Buffer.byteLength(contents)} bytes): ` +
        'restore it from a backup; only if nothing was ever written with it, delete it to have a new one made',
    );
  }
  return contents;
}
