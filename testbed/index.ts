/**
 * The testbed: a reusable lab of misbehaving servers and network fixtures on 127.0.0.1,
 * used by the tests, the demo and the benchmark. Not part of the published package.
 */
export * from './net';
export * from './tls';
export * from './random';
export * from './faults';
export * from './chaos';
export * from './proxies';
export * from './watchdog';
export * from './busy';
export * from './chromium';
export * from './matrix';
