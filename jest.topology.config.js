// The topology suite (npm run test:topology): Redis Cluster, Sentinel, persistence and
// several app instances, each test file starting and stopping its own servers. Same
// transform as jest.config.js; no shared Redis (no globalSetup); run in band (the
// servers need the machine's cores).
import base from './jest.config.js';

/** @type {import('jest').Config} */
export default {
  ...base,
  roots: ['<rootDir>/test/topology'],
  testMatch: ['<rootDir>/test/topology/**/*.topology-spec.ts'],
  globalSetup: undefined,
  globalTeardown: undefined,
  testTimeout: 120000,
};
