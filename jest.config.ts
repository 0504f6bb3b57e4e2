import type { Config } from 'jest';

const config: Config = {
  preset: 'ts-jest',
  testEnvironment: 'node',
  // examples/ holds a test file written as a user's own project would (issue #6)
  roots: ['<rootDir>/__tests__', '<rootDir>/examples'],
  testMatch: ['**/*.test.ts'],
  // The user's project runs as a user's would, from the packed tarball (user-project.test.ts).
  testPathIgnorePatterns: ['/node_modules/', '<rootDir>/examples/jest-user-project/'],
  // Examples import the package by name, as a user would (tsconfig.json maps it too).
  moduleNameMapper: {
    '^axios-reset-guard$': '<rootDir>/src/index.ts',
    '^axios-reset-guard/internals$': '<rootDir>/src/internals.ts',
    '^axios-reset-guard/testing$': '<rootDir>/src/testing.ts',
  },
  transform: {
    // tsconfig.json sets isolatedModules, under which ts-jest only transpiles. The type
    // tests' assertions are compile errors, so that file is compiled with the type checker.
    '/__tests__/types\\.test\\.ts$': ['ts-jest', { tsconfig: { isolatedModules: false } }],
  },
  collectCoverage: true,
  collectCoverageFrom: ['src/**/*.ts'],
  coverageReporters: ['text-summary', 'lcov'],
  // issue #2: at least 90 % of src/ lines
  coverageThreshold: { global: { lines: 90 } },
  testTimeout: 20_000,
};

export default config;
