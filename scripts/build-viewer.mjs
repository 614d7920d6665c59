/**
 * The web viewer's part of `npm run build`: type-checks ui/ (its own tsconfig: DOM, JSX), bundles
 * it with esbuild into `<outDir>/viewer/assets/` under content-hashed names (so the service may
 * let browsers keep them for a year), writes `<outDir>/viewer/index.html` naming them, and fails
 * when the JavaScript grows past its budget.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

/** Issue 17's budget: all the viewer's JavaScript, gzipped. */
const JS_BUDGET_GZIP_BYTES = 60 * 1024;

export async function buildViewer(tsc, outDir) {
  execFileSync(process.execPath, [tsc, '-p', 'ui'], { stdio: 'inherit' });
  const target = join(outDir, 'viewer');
  const result = await build({
    entryPoints: ['ui/main.tsx', 'ui/viewer.css'],
    outdir: join(target, 'assets'),
    entryNames: '[name]-[hash]',
    bundle: true,
    format: 'esm',
    target: 'es2022',
    minify: true,
    jsx: 'automatic',
    jsxImportSource: 'preact',
    legalComments: 'none',
    metafile: true,
    logLevel: 'warning',
  });
  const outputs = Object.keys(result.metafile.outputs);
  const script = outputs.find((name) => name.endsWith('.js'));
  const style = outputs.find((name) => name.endsWith('.css'));
  if (script === undefined || style === undefined) throw new Error(`esbuild wrote ${outputs.join(', ')}: expected one .js and one .css`);
  const page = readFileSync('ui/index.html', 'utf8').replace('%SCRIPT%', basename(script)).replace('%STYLE%', basename(style));
  mkdirSync(target, { recursive: true });
  writeFileSync(join(target, 'index.html'), page);

  const gzipped = outputs.filter((name) => name.endsWith('.js')).reduce((sum, name) => sum + gzipSync(readFileSync(name)).length, 0);
  if (gzipped > JS_BUDGET_GZIP_BYTES) throw new Error(`the viewer's JavaScript is ${gzipped} bytes gzipped, over its budget of ${JS_BUDGET_GZIP_BYTES}`);
  process.stdout.write(`build: the viewer's JavaScript is ${(gzipped / 1024).toFixed(1)} KiB gzipped (budget ${JS_BUDGET_GZIP_BYTES / 1024} KiB)\n`);
}
