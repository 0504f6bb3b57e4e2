#!/usr/bin/env node
// The npm registry this project's machines reach lacks some platform-only optional
// packages (unrs-resolver's bindings for other OSes, pulled in by jest 30), so
// `npm install` leaves them out of package-lock.json and `npm ci` then refuses the lock.
// This adds each missing optional dependency as an entry gated to its os/cpu, which
// npm ci skips on this platform without fetching. Run it after any dependency change.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const file = path.join(__dirname, '..', 'package-lock.json');
const lock = JSON.parse(fs.readFileSync(file, 'utf8'));
const packages = lock.packages;
const platform = /-(android|darwin|freebsd|linux|openharmony|win32|sunos|aix|netbsd|openbsd)-([a-z0-9]+)/;
let added = 0;

for (const [where, meta] of Object.entries(packages)) {
  for (const [name, version] of Object.entries(meta.optionalDependencies ?? {})) {
    const base = where === '' ? '' : `${where}/`;
    if (packages[`${base}node_modules/${name}`] || packages[`node_modules/${name}`]) continue;
    const match = platform.exec(name);
    if (!match) continue;
    packages[`node_modules/${name}`] = {
      version,
      dev: meta.dev === true,
      optional: true,
      os: [match[1]],
      cpu: [match[2]],
    };
    added += 1;
  }
}

const sorted = Object.fromEntries(
  Object.entries(packages).sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a < b ? -1 : 1)),
);
lock.packages = sorted;
fs.writeFileSync(file, `${JSON.stringify(lock, null, 2)}\n`);
console.log(`complete-lock: added ${added} platform-gated optional entries`);
