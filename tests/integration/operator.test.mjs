// The operator's CLI: parleyd app create / list / rotate-token / delete, and their effect on a
// running server.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, runCli, createAppCli } from './lib/server.mjs';
import { assertError, assertStatus, UUID_V4, SECRET_RE } from './lib/api.mjs';

let server;
let api;

before(async () => {
  server = await startServer({ apps: ['first'] });
  api = server.api;
});

after(async () => {
  await server?.stop();
});

const cli = (...args) => runCli([...args, '--data-dir', server.dataDir]);

test('app create --json prints one line with app_id, api_token, signing_secret and name', async () => {
  const r = await cli('app', 'create', '--name', 'Created By Test', '--json');
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.split('\n').filter((l) => l.trim());
  assert.equal(lines.length, 1, `one line expected: ${r.stdout}`);
  const app = JSON.parse(lines[0]);
  server.addSecret(app.api_token);
  server.addSecret(app.signing_secret);
  assert.match(app.app_id, UUID_V4);
  assert.match(app.api_token, SECRET_RE);
  assert.match(app.signing_secret, SECRET_RE);
  assert.equal(app.name, 'Created By Test');
  assert.notEqual(app.api_token, app.signing_secret);
  // The new app is served at once by the running server.
  const list = await api.platform(app).listUsers();
  assertStatus(list, 200);
  assert.deepEqual(list.body.users, []);
});

test('app create makes different ids and secrets every time', async () => {
  const a = await createAppCli(server.dataDir, 'x1');
  const b = await createAppCli(server.dataDir, 'x2');
  for (const s of [a.api_token, a.signing_secret, b.api_token, b.signing_secret]) server.addSecret(s);
  assert.notEqual(a.app_id, b.app_id);
  assert.notEqual(a.api_token, b.api_token);
  assert.notEqual(a.signing_secret, b.signing_secret);
});

test('app create without --name fails with a non-zero exit', async () => {
  const r = await cli('app', 'create', '--json');
  assert.notEqual(r.code, 0);
});

test('app list --json lists the apps with app_id, name and created_at', async () => {
  const created = await createAppCli(server.dataDir, 'listed');
  server.addSecret(created.api_token);
  server.addSecret(created.signing_secret);
  const r = await cli('app', 'list', '--json');
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.split('\n').filter((l) => l.trim());
  assert.equal(lines.length, 1);
  const { apps } = JSON.parse(lines[0]);
  assert.ok(Array.isArray(apps));
  const mine = apps.find((a) => a.app_id === created.app_id);
  assert.ok(mine, 'created app is listed');
  assert.equal(mine.name, 'listed');
  assert.equal(typeof mine.created_at, 'number');
  assert.ok(Math.abs(mine.created_at - Date.now()) < 120_000, 'created_at is ms since epoch, about now');
  assert.ok(apps.some((a) => a.app_id === server.apps.first.app_id));
  for (const a of apps) {
    assert.match(a.app_id, UUID_V4);
    assert.equal(a.api_token, undefined, 'list never shows secrets');
    assert.equal(a.signing_secret, undefined, 'list never shows secrets');
  }
  assert.ok(!r.stdout.includes(created.api_token));
});

test('app rotate-token: the old api token is refused at once, the new one works', async () => {
  const app = await createAppCli(server.dataDir, 'rotating');
  server.addSecret(app.api_token);
  server.addSecret(app.signing_secret);
  assertStatus(await api.platform(app).listUsers(), 200);

  const r = await cli('app', 'rotate-token', app.app_id, '--json');
  assert.equal(r.code, 0, r.stderr);
  const rotated = JSON.parse(r.stdout.trim().split('\n').pop());
  server.addSecret(rotated.api_token);
  assert.equal(rotated.app_id, app.app_id);
  assert.match(rotated.api_token, SECRET_RE);
  assert.notEqual(rotated.api_token, app.api_token);

  assertError(await api.platform(app).listUsers(), 401, 'unauthorized');
  assertStatus(await api.platform({ ...app, api_token: rotated.api_token }).listUsers(), 200);
});

test('app rotate-token of an unknown app fails with a non-zero exit', async () => {
  const r = await cli('app', 'rotate-token', '00000000-0000-4000-8000-000000000000', '--json');
  assert.notEqual(r.code, 0);
});

test('app delete: the app disappears and its api token is refused', async () => {
  const app = await createAppCli(server.dataDir, 'doomed');
  server.addSecret(app.api_token);
  server.addSecret(app.signing_secret);
  const p = api.platform(app);
  assertStatus(await p.createUser('someone'), 201);

  const r = await cli('app', 'delete', app.app_id);
  assert.equal(r.code, 0, r.stderr);
  assertError(await p.listUsers(), 401, 'unauthorized');
  assertError(await p.getUser('someone'), 401, 'unauthorized');

  const list = await cli('app', 'list', '--json');
  const { apps } = JSON.parse(list.stdout.trim());
  assert.ok(!apps.some((a) => a.app_id === app.app_id), 'deleted app is not listed');

  // The other apps are untouched.
  assertStatus(await api.platform(server.apps.first).listUsers(), 200);
});

test('app delete of an unknown app fails with a non-zero exit', async () => {
  const r = await cli('app', 'delete', '00000000-0000-4000-8000-000000000000');
  assert.notEqual(r.code, 0);
});
