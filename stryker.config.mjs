/**
 * npm run mutation: StrykerJS mutates the code whose mistakes matter most and checks that some test
 * fails for each mutant. On demand only: it is not part of npm test, nor of .ci/run.
 *
 * Speed is what shapes this file. Stryker puts every mutant into one instrumented copy of the
 * sources (switched on by an environment variable), so the sandbox is compiled once
 * (buildCommand), never per mutant. The TAP runner then runs compiled test files one by one with
 * `node --test-reporter=tap`, records which test file reaches which mutant, and for each mutant
 * runs only those files.
 */
export default {
  mutate: [
    // One line per folder or file; a path added here is mutated on the next run.
    'src/auth/**/*.ts',
    'src/integrity/**/*.ts',
    'src/encode/**/*.ts',
    'src/store/plan-commit.ts',
  ],
  testRunner: 'tap',
  tap: {
    // The tests of those folders. A test run in a child process with an environment of its own
    // (the CLIs, a spawned service) does not see the active mutant: the in-process tests must kill it.
    testFiles: [
      'dist/test/auth/*.test.js',
      'dist/test/encode/*.test.js',
      'dist/test/integrity/*.test.js',
      'dist/test/config.test.js',
      'dist/test/store/plan-commit.test.js',
      'dist/test/contract/event-store.test.js',
    ],
    nodeArgs: ['--test-reporter=tap', '-r', '{{hookFile}}', '{{testFile}}'],
  },
  buildCommand: 'npm run build',
  // Stryker rewrites a tsconfig's paths that point outside the sandbox through TypeScript's
  // JavaScript API, which TypeScript 7 no longer has; this tsconfig points nowhere outside.
  tsconfigFile: '',
  coverageAnalysis: 'perTest',
  concurrency: 2,
  // A mutant that makes a test hang (a loop that no longer ends) is stopped and counted as killed.
  timeoutMS: 20_000,
  ignorePatterns: ['/dist', '/.dist-*', '/data', '/reports', '/bench/results', '*.db', '*.db-*'],
  tempDirName: '.stryker-tmp',
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: 'reports/mutation/index.html' },
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  thresholds: { high: 90, low: 80, break: null },
};
