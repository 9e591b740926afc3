/**
 * Three test tiers, one Jest project each, chosen by folder so a new test file lands in a tier
 * by where it is put:
 * - unit (test/unit): no I/O. No server, child process or socket (test/support/unit-no-io.ts
 *   fails a test that tries); temporary files only. Runs in parallel, the whole tier in seconds.
 * - e2e (test/e2e): whole local runs through the function bundles (Pebble, BIND, the state
 *   machine on aws-local-stepfunctions), with Wait states shortened (test/support/global-setup-e2e.ts).
 * - integration (every other folder under test/: adapters, bundles, cdk, cli, iam, integration):
 *   real servers and programs (Pebble, BIND, Knot, PowerDNS, openssl), file-system stores, CDK
 *   synth with bundling, IAM evaluation. Each test uses free loopback ports.
 * `npm run test:unit`, `npm run test:integration`, `npm run test:e2e`; `npm test` runs all three.
 */
const shared = {
  testEnvironment: 'node',
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.jest.json' }] },
  setupFiles: ['<rootDir>/test/support/polyfills.ts'],
};

/**
 * Tiers that start servers and processes: install check first, leftover check last, and after
 * every successful local run each ISSUED certificate verifies and matches its key.
 */
const withServers = {
  setupFilesAfterEnv: ['<rootDir>/test/support/check-issued-runs.ts'],
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  globalTeardown: '<rootDir>/test/support/global-teardown.ts',
};

/** @type {import('jest').Config} */
module.exports = {
  testTimeout: 120000,
  projects: [
    {
      ...shared,
      displayName: 'unit',
      roots: ['<rootDir>/test/unit'],
      testMatch: ['**/*.test.ts'],
      setupFilesAfterEnv: ['<rootDir>/test/support/unit-no-io.ts'],
    },
    {
      ...shared,
      ...withServers,
      displayName: 'integration',
      roots: ['<rootDir>/test'],
      testMatch: ['**/*.test.ts'],
      testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/unit/', '<rootDir>/test/e2e/'],
    },
    {
      ...shared,
      ...withServers,
      globalSetup: '<rootDir>/test/support/global-setup-e2e.ts',
      displayName: 'e2e',
      roots: ['<rootDir>/test/e2e'],
      testMatch: ['**/*.test.ts'],
    },
  ],
};
