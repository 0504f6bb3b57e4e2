// Lets `npx ts-node --transpile-only examples/<x>.ts` resolve `import ... from 'axios-reset-guard'`
// to this repository's src/, the way tsconfig.json's "paths" does for tsc and jest's
// moduleNameMapper does for the tests. Loaded through the "ts-node" section of tsconfig.json.
// In your own project the package is installed, and none of this is needed.
'use strict';
const Module = require('node:module');
const path = require('node:path');

const source = path.join(__dirname, '..', '..', 'src', 'index.ts');
const resolve = Module._resolveFilename;
Module._resolveFilename = function (request, ...rest) {
  return resolve.call(this, request === 'axios-reset-guard' ? source : request, ...rest);
};
