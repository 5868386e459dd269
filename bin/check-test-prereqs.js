#!/usr/bin/env node
'use strict';
/**
 * `npm test`'s first step: what the suite needs from the machine, checked up front so that a
 * missing piece is one clear message naming the fix instead of a dozen failing suites:
 * PostgreSQL at CAIRN_TEST_PG_URL (default postgres://postgres@127.0.0.1:5432/test, trust auth)
 * for the read-model integration tests, and Debian's Chromium at /usr/bin/chromium for the SDK's
 * browser test, and curl for the README spec (it runs the README's curl examples).
 * `bash .ci/run` installs (and starts) all three, as root on Debian.
 */
const { spawnSync } = require('child_process');
const { existsSync } = require('fs');
const { Client } = require('pg');

const PG_URL = process.env.CAIRN_TEST_PG_URL || 'postgres://postgres@127.0.0.1:5432/test';
const CHROMIUM = '/usr/bin/chromium';

async function postgres() {
  const client = new Client({ connectionString: PG_URL, connectionTimeoutMillis: 5000 });
  try {
    await client.connect();
    await client.query('select 1');
    return null;
  } catch (err) {
    const url = new URL(PG_URL);
    const db = url.pathname.slice(1);
    if (err && err.code === '3D000') {
      return `PostgreSQL at ${url.host} has no database "${db}": createdb -h ${url.hostname} -p ${url.port || 5432} -U ${url.username || 'postgres'} ${db}`;
    }
    return (
      `PostgreSQL is not reachable at ${url.host} (${err && err.message ? err.message : err}): start it ` +
      `(Debian: apt-get install -y postgresql && pg_ctlcluster --skip-systemctl-redirect 15 main start, with trust auth for 127.0.0.1), ` +
      `or point CAIRN_TEST_PG_URL at one`
    );
  } finally {
    await client.end().catch(() => {});
  }
}

async function main() {
  const problems = [];
  const pg = await postgres();
  if (pg) problems.push(pg);
  if (!existsSync(CHROMIUM)) problems.push(`${CHROMIUM} is missing (the SDK's browser test drives it): apt-get install -y chromium`);
  if (spawnSync('curl', ['--version']).status !== 0) problems.push('curl is missing (test/readme.e2e.spec.ts runs the README\'s curl examples): apt-get install -y curl');
  if (problems.length === 0) return;
  process.stderr.write(`npm test needs, before it can pass on this machine:\n${problems.map((p) => `  - ${p}\n`).join('')}(or run \`bash .ci/run\` as root on Debian: it installs and starts both, then runs the tests)\n`);
  process.exit(1);
}

main();
