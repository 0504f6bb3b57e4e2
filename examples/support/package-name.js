// Lets `npx ts-node --transpile-only examples/<x>.ts` resolve `import ... from 'axios-reset-guard'`
// to this repository's src/, the way tsconfig.json's "paths" does for tsc and jest's
// moduleNameMapper does for the tests. Loaded through the "ts-node" section of tsconfig.json.
// In your own project the package is installed, and none of this is needed.
'use strict';
const Module = require('node:module');
const path = require('node:path');

const src = path.join(__dirname, '..', '..', 'src');
const entries = {
  'axios-reset-guard': path.join(src, 'index.ts'),
  'axios-reset-guard/testing': path.join(src, 'testing.ts'),
};
const resolve = Module._resolveFilename;
Module._resolveFilename = function (request, ...rest) {
  return resolve.call(this, entries[request] ?? request, ...rest);
};
