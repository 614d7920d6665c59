/**
 * npm run build (npm ci runs it too, as `prepare`): compiles into a fresh directory beside `dist`,
 * writes openapi.yaml there as JSON, builds the web viewer there (build-viewer.mjs), then points
 * `dist` (a symbolic link) at it with one rename. So whatever starts from `dist` finds one whole
 * build, never a half-written or missing file, however many builds and starts run at once in this
 * directory; and a running service needs nothing from its build once it listens. A replaced build
 * is deleted by a later build, a while after.
 *
 * Plain JavaScript, as it is what compiles the TypeScript.
 */
import { execFileSync } from 'node:child_process';
import { lstatSync, readdirSync, readFileSync, readlinkSync, renameSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { buildViewer } from './build-viewer.mjs';

/**
 * How long a replaced build stays for what may still be loading from it: a service reads its last
 * file before it listens, so ten minutes is ample, and builds do not pile up.
 */
const KEEP_REPLACED_MS = 10 * 60 * 1000;
const PREFIX = '.dist-';

process.chdir(fileURLToPath(new URL('..', import.meta.url)));
const id = `${Date.now()}-${process.pid}`;
const building = `${PREFIX}${id}.partial`;
const built = `${PREFIX}${id}`;

try {
  const typescript = createRequire(import.meta.url).resolve('typescript/package.json');
  const tsc = join(dirname(typescript), JSON.parse(readFileSync(typescript, 'utf8')).bin.tsc);
  execFileSync(process.execPath, [tsc, '-p', '.', '--outDir', building], { stdio: 'inherit' });
  writeFileSync(join(building, 'openapi.json'), JSON.stringify(parse(readFileSync('openapi.yaml', 'utf8'))));
  await buildViewer(tsc, building);
} catch (error) {
  rmSync(building, { recursive: true, force: true });
  // tsc and esbuild have already printed what is wrong with the sources.
  if (error.status === undefined) process.stderr.write(`build: ${error.message}\n`);
  process.exit(1);
}
renameSync(building, built);

// A build's time is when it last started or stopped being current, the clock for deleting it: set
// before the switch, so that no build is ever both just replaced and old enough to go.
const now = new Date();
utimesSync(built, now, now);
const replaced = currentBuild();
if (replaced !== undefined) touch(replaced, now);
const link = `${PREFIX}${id}.link`;
symlinkSync(built, link);
try {
  renameSync(link, 'dist'); // atomic: dist names the old build, then the new one, never nothing
} catch (error) {
  if (error.code !== 'EISDIR' && error.code !== 'ENOTEMPTY' && error.code !== 'EEXIST') throw error;
  // A dist directory from before builds were switched: set it aside once, to be deleted later.
  renameSync('dist', `${PREFIX}${id}.before`);
  renameSync(link, 'dist');
}

const current = currentBuild();
for (const name of readdirSync('.')) {
  if (!name.startsWith(PREFIX) || name === current) continue;
  // A .partial is another build still compiling; one that old is a build that died.
  if (Date.now() - lstatSync(name).mtimeMs > KEEP_REPLACED_MS) rmSync(name, { recursive: true, force: true });
}

function touch(name, time) {
  try {
    utimesSync(name, time, time);
  } catch {
    // replaced meanwhile by a racing build, and deleted by it: nothing left to keep
  }
}

/** The build `dist` points at, or undefined when there is none yet (or dist is an old directory). */
function currentBuild() {
  try {
    return readlinkSync('dist');
  } catch {
    return undefined;
  }
}
