import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmdirSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A small file system of its own, which a test can fill to the last byte and free again. */
export type SmallFilesystem = {
  dir: string;
  /** Takes every free block with a filler file, as a full disk would. */
  fill(): void;
  /** Deletes the filler: the space is back. */
  free(): void;
  unmount(): void;
};

/**
 * A tmpfs of `kib` KiB mounted on a new folder; or, where mounting is not permitted (it takes
 * root, or CAP_SYS_ADMIN), the reason, for the test to skip with (skipWithoutRoot).
 */
export function mountSmallFilesystem(kib: number): SmallFilesystem | string {
  const dir = mkdtempSync(join(tmpdir(), 'auditor-small-fs-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${kib}k`, 'tmpfs', dir], { stdio: 'pipe' });
  } catch (error) {
    rmdirSync(dir);
    return `cannot mount a small file system here, which takes root: ${String((error as Error).message).split('\n')[0]}`;
  }
  const filler = join(dir, 'filler');
  return {
    dir,
    fill() {
      const fd = openSync(filler, 'a');
      try {
        for (const size of [65536, 4096, 1]) {
          const chunk = Buffer.alloc(size);
          try {
            for (;;) writeSync(fd, chunk);
          } catch (error) {
            if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
          }
        }
      } finally {
        closeSync(fd);
      }
    },
    free() {
      rmSync(filler, { force: true });
    },
    unmount() {
      execFileSync('umount', [dir], { stdio: 'pipe' });
      rmdirSync(dir);
    },
  };
}
