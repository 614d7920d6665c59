/**
 * The service as it was before the Merkle tree, built from the repository's history beside this
 * one, so that the bench measures the tree's cost in the same run: the same ingest, the two builds
 * alternating round by round.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, realpathSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

/** The merge before issue 13 (the Merkle tree): the service as it was just before the tree. */
export const BEFORE_TREE = 'afb5ffa';

export type OlderBuild = {
  /** The revision asked for, and the commit it names. */
  revision: string;
  commit: string;
  /** Its service's entry point. */
  main: string;
  /** Its own preload, into its own schema (it refuses a database of a newer schema version). */
  preload(path: string, count: number, chainSecret: string): Promise<void>;
  remove(): void;
};

/**
 * Builds `revision` of the repository at `repository` into a temporary folder (its files from `git
 * archive`, this checkout's node_modules, its own `npm run build`), or says why it cannot: no git,
 * a shallow clone without the commit, a build that fails. Never throws.
 */
export function buildOlderRevision(repository: string, revision: string): OlderBuild | { skipped: string } {
  let commit: string;
  try {
    commit = git(repository, ['rev-parse', '--verify', '--quiet', `${revision}^{commit}`]).trim();
  } catch {
    const shallow = tryGit(repository, ['rev-parse', '--is-shallow-repository'])?.trim() === 'true';
    return { skipped: shallow ? `${revision} is not in this shallow clone (git fetch --unshallow)` : `no git history with ${revision} at ${repository}` };
  }
  const dir = mkdtempSync(join(tmpdir(), 'auditor-bench-build-'));
  const remove = (): void => rmSync(dir, { recursive: true, force: true });
  try {
    execFileSync('sh', ['-c', 'git archive --format=tar "$1" | tar -x -C "$2"', 'sh', commit, dir], { cwd: repository, stdio: ['ignore', 'ignore', 'pipe'] });
    symlinkSync(realpathSync(join(repository, 'node_modules')), join(dir, 'node_modules'));
    execFileSync(process.execPath, ['scripts/build.mjs'], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
    const main = join(dir, 'dist/src/main.js');
    const preloadModule = join(dir, 'dist/bench/preload.js');
    if (!existsSync(main) || !existsSync(preloadModule)) throw new Error('its build has no dist/src/main.js or dist/bench/preload.js');
    return {
      revision,
      commit,
      main,
      async preload(path, count, chainSecret) {
        const { preloadSqlite } = (await import(pathToFileURL(preloadModule).href)) as { preloadSqlite: (path: string, count: number, secret: string) => void };
        preloadSqlite(path, count, chainSecret);
      },
      remove,
    };
  } catch (error) {
    remove();
    const stderr = (error as { stderr?: Buffer }).stderr?.toString().trim();
    return { skipped: `${revision} did not build: ${stderr || (error as Error).message}`.slice(0, 500) };
  }
}

function git(cwd: string, args: string[]): string {
  return execFileSync('git', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
}

function tryGit(cwd: string, args: string[]): string | undefined {
  try {
    return git(cwd, args);
  } catch {
    return undefined;
  }
}
