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
    // One line per folder or file; a path added here is mutated on the next run. Nothing in them
    // is excluded: the mutants that survive are equivalent ones, named in docs/design.md (What the
    // tests are for).
    'src/auth/**/*.ts',
    'src/integrity/**/*.ts',
    'src/encode/**/*.ts',
    'src/store/plan-commit.ts',
  ],
  testRunner: 'tap',
  tap: {
    // The tests of those folders. A test run in a child process with an environment of its own
    // (the CLIs, a spawned service) does not see the active mutant: the in-process tests must kill
    // it. Code in a worker thread (the SQLite writer, which runs the planner for the contract suite)
    // does see it, but what it reaches there is not counted as coverage: the contract suite is not
    // chosen for the planner's mutants, which test/store/plan-commit.test.ts kills, without a database.
    // For each mutant the files that reach it run in this order until one fails, and a static
    // mutant (a module-level constant, such as a regular expression) is reached by all of them: so
    // the quick in-process files are named first, then the folders' globs add the rest (those that
    // start servers and processes), a new test file included. The order changes speed, not results.
    testFiles: [
      'dist/test/encode/csv.test.js',
      'dist/test/encode/encoders.test.js',
      'dist/test/integrity/chain.test.js',
      'dist/test/integrity/verify-chain.test.js',
      'dist/test/integrity/checkpoint-json.test.js',
      'dist/test/integrity/secret-file.test.js',
      'dist/test/store/plan-commit.test.js',
      'dist/test/auth/client-address.test.js',
      'dist/test/config.test.js',
      'dist/test/integrity/chain-secret.test.js',
      'dist/test/auth/keys.test.js',
      'dist/test/contract/event-store.test.js',
      'dist/test/auth/*.test.js',
      'dist/test/encode/*.test.js',
      'dist/test/integrity/*.test.js',
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
