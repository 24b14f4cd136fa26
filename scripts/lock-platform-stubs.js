#!/usr/bin/env node
'use strict';
/**
 * The npm registry this project is built against serves only the linux-x64 builds of
 * packages that ship one native binary per platform (@swc/core-*, @unrs/resolver-binding-*),
 * so `npm install` leaves the other platforms' optional packages out of package-lock.json,
 * and `npm ci` then refuses the lock as out of sync. This adds lock entries for them, marked
 * optional with their os/cpu, so `npm ci` validates the lock and skips them on this platform
 * (as it always does for another platform's binaries). Run it after `npm install`.
 */
const fs = require('node:fs');
const path = require('node:path');

const lockPath = path.join(__dirname, '..', 'package-lock.json');
const lock = JSON.parse(fs.readFileSync(lockPath, 'utf8'));
const packages = lock.packages;
const OS = ['darwin', 'win32', 'linux', 'android', 'freebsd', 'openharmony', 'sunos', 'aix', 'netbsd', 'openbsd'];
const CPU = ['arm64', 'x64', 'ia32', 'arm', 'ppc64', 'riscv64', 's390x', 'loong64', 'wasm32'];

function platformOf(name) {
  const leaf = name.split('/').pop();
  const parts = leaf.split('-');
  const os = parts.find((p) => OS.includes(p));
  const cpu = parts.find((p) => CPU.includes(p)) || (leaf.includes('eabihf') || leaf.includes('gnueabihf') ? 'arm' : undefined);
  if (leaf.includes('wasm32')) return { cpu: ['wasm32'] };
  if (!os || !cpu) return undefined;
  const entry = { os: [os], cpu: [cpu] };
  if (os === 'linux') entry.libc = [leaf.includes('musl') ? 'musl' : 'glibc'];
  return entry;
}

let added = 0;
for (const [key, pkg] of Object.entries(packages)) {
  for (const [dep, range] of Object.entries(pkg.optionalDependencies || {})) {
    const base = key === '' ? 'node_modules/' : `${key}/node_modules/`;
    const nested = `${base}${dep}`;
    const hoisted = `node_modules/${dep}`;
    if (packages[nested] || packages[hoisted]) continue;
    const platform = platformOf(dep);
    if (!platform) continue;
    const version = String(range).replace(/^[\^~=]/, '');
    if (!/^\d+\.\d+\.\d+/.test(version)) continue;
    packages[hoisted] = { version, ...platform, dev: pkg.dev || undefined, optional: true };
    if (!packages[hoisted].dev) delete packages[hoisted].dev;
    added += 1;
  }
}
const sorted = {};
for (const k of Object.keys(packages).sort((a, b) => (a === '' ? -1 : b === '' ? 1 : a.localeCompare(b)))) sorted[k] = packages[k];
lock.packages = sorted;
fs.writeFileSync(lockPath, JSON.stringify(lock, null, 2) + '\n');
console.log(`package-lock.json: ${added} platform package entries added`);
