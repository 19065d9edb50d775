// The topology suite (npm run test:topology): Redis Cluster, Sentinel, persistence and
// several app instances, each test file starting and stopping its own servers. Same
// transform as jest.config.js; run in band (the servers need the machine's cores).
/** @type {import('jest').Config} */
export default {
  testEnvironment: 'node',
  roots: ['<rootDir>/test/topology'],
  testMatch: ['<rootDir>/test/topology/**/*.topology-spec.ts'],
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: {
    '^.+\\.ts$': [
      '@swc/jest',
      {
        jsc: {
          parser: { syntax: 'typescript', decorators: true },
          transform: { legacyDecorator: true, decoratorMetadata: true },
          target: 'es2022',
        },
        module: { type: 'es6' },
        sourceMaps: 'inline',
      },
    ],
  },
  testTimeout: 120000,
};
