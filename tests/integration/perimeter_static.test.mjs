// Static files (--web-root, --sdk-dir): no request target, in any encoding, reads a file outside
// the two roots: not the database, not /proc/self/cmdline (which holds the admin token), not
// /etc/passwd. Requests go out verbatim through node:net.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, writeFile, symlink, rm } from 'node:fs/promises';
import path from 'node:path';
import { startServer, makeTempDir } from './lib/server.mjs';
import { rawGet } from './lib/raw_http.mjs';

const ADMIN_TOKEN = 'admin-token-perimeter-static-0123456789abcdef';
let server;
let dir;
let webRoot;
let sdkDir;

before(async () => {
  dir = await makeTempDir('parley-static-');
  webRoot = path.join(dir, 'web');
  sdkDir = path.join(dir, 'sdk');
  await mkdir(webRoot);
  await mkdir(sdkDir);
  await writeFile(path.join(webRoot, 'index.html'), '<!doctype html><title>demo</title>');
  await writeFile(path.join(sdkDir, 'parley.js'), 'export const parley = 1;');
  // A symlink inside each root that leads out of it.
  await symlink('/etc/passwd', path.join(webRoot, 'passwd'));
  await symlink('../web/index.html', path.join(sdkDir, 'up.html'));
  server = await startServer({
    apps: ['a'],
    flags: ['--web-root', webRoot, '--sdk-dir', sdkDir, '--admin-token', ADMIN_TOKEN],
  });
  server.addSecret(ADMIN_TOKEN);
});

after(async () => {
  await server?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

test('legitimate static files are still served', async () => {
  const index = await rawGet(server.port, '/');
  assert.equal(index.status, 200);
  assert.match(index.body, /<title>demo<\/title>/);
  const sdk = await rawGet(server.port, '/sdk/parley.js');
  assert.equal(sdk.status, 200);
  assert.equal(sdk.body, 'export const parley = 1;');
  assert.match(sdk.headers['content-type'], /javascript/);
});

function variants(abs) {
  // abs: an absolute path such as /etc/passwd
  const rel = abs.slice(1);
  const enc = (s) => s.replaceAll('/', '%2f');
  const up = '../../../../../../../../../../';
  return [
    `/${abs}`, // "//etc/passwd"
    `//${abs}`,
    `/%2f${rel}`,
    `/%2F${rel}`,
    `/${enc(abs)}`,
    `/%2f${enc(rel)}`,
    `/${up}${rel}`,
    `/${up.replaceAll('..', '%2e%2e')}${rel}`,
    `/${up.replaceAll('/', '%2f')}${rel}`,
    `/${up.replaceAll('../', '%2e%2e%2f')}${rel}`,
    `/${up.replaceAll('../', '..%5c')}${rel}`,
    `/${up.replaceAll('..', '%252e%252e')}${rel}`,
    `/${up.replaceAll('/', '%c0%af')}${rel}`,
    `/${abs}%00`,
    `/${abs}%00.html`,
    `/${abs}?x=1`,
    `/${abs}/`,
    `/${abs}/.`,
    `/sdk/${abs}`,
    `/sdk//${abs}`,
    `/sdk/%2f${rel}`,
    `/sdk/${up}${rel}`,
    `/sdk/${up.replaceAll('..', '%2e%2e')}${rel}`,
    `/sdk%2f${up}${rel}`,
  ];
}

async function assertNotRead(target, forbidden) {
  const r = await rawGet(server.port, target);
  for (const f of forbidden) {
    assert.ok(!r.raw.includes(f), `${target} leaked ${JSON.stringify(f)}: ${r.raw.slice(0, 200)}`);
  }
  assert.ok(r.status === 404 || r.status === 400, `${target} answered ${r.status}`);
  if (r.status === 404) assert.equal(JSON.parse(r.body).error.code, 'not_found');
}

test('the database file cannot be read', async () => {
  const db = path.join(server.dataDir, 'parley.db');
  for (const t of variants(db)) await assertNotRead(t, ['SQLite format', server.apps.a.signing_secret]);
  for (const t of variants(`${db}-wal`)) await assertNotRead(t, [server.apps.a.signing_secret]);
});

test('/proc/self/cmdline (the admin token) cannot be read', async () => {
  for (const t of variants('/proc/self/cmdline')) await assertNotRead(t, [ADMIN_TOKEN, '--admin-token']);
  for (const t of variants('/proc/self/environ')) await assertNotRead(t, ['PATH=']);
});

test('/etc/passwd cannot be read', async () => {
  for (const t of variants('/etc/passwd')) await assertNotRead(t, ['root:']);
});

test('symlinks that leave a root are refused; the roots still work afterwards', async () => {
  await assertNotRead('/passwd', ['root:']);
  // The SDK's symlink leads into the web root: outside the SDK directory, so refused too.
  await assertNotRead('/sdk/up.html', ['<title>demo']);
  assert.equal((await rawGet(server.port, '/sdk/parley.js')).status, 200);
});
