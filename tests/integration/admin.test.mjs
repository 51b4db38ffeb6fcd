// The admin HTTP API (/admin/v1/apps): on with --admin-token or PARLEY_ADMIN_TOKEN, else 404.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { startServer } from './lib/server.mjs';
import { assertError, assertStatus, UUID_V4, SECRET_RE } from './lib/api.mjs';

const ADMIN_TOKEN = randomBytes(32).toString('base64url');
let server;
let api;
let admin;

before(async () => {
  server = await startServer({ apps: ['existing'], flags: ['--admin-token', ADMIN_TOKEN] });
  server.addSecret(ADMIN_TOKEN);
  api = server.api;
  admin = api.admin(ADMIN_TOKEN);
});

after(async () => {
  await server?.stop();
});

test('admin API: a missing or wrong Admin-Token is 401 unauthorized', async () => {
  assertError(await api.req('GET', '/admin/v1/apps'), 401, 'unauthorized');
  assertError(await api.admin('wrong-token').listApps(), 401, 'unauthorized');
  assertError(await api.admin(ADMIN_TOKEN + 'x').listApps(), 401, 'unauthorized');
  assertError(await api.admin('wrong-token').createApp('nope'), 401, 'unauthorized');
  assertError(await api.admin('').listApps(), 401, 'unauthorized');
  // An app's api token is not an admin token.
  assertError(await api.admin(server.apps.existing.api_token).listApps(), 401, 'unauthorized');
});

test('admin API: list apps', async () => {
  const r = await admin.listApps();
  assertStatus(r, 200);
  const found = r.body.apps.find((a) => a.app_id === server.apps.existing.app_id);
  assert.ok(found, 'the app made by the CLI is listed');
  assert.equal(found.name, 'existing');
  assert.equal(typeof found.created_at, 'number');
  assert.ok(!r.text.includes(server.apps.existing.api_token), 'no secrets in the list');
});

test('admin API: create an app; its api token works on the Platform API', async () => {
  const r = await admin.createApp('made over http');
  assertStatus(r, 201);
  assert.match(r.body.app_id, UUID_V4);
  assert.match(r.body.api_token, SECRET_RE);
  assert.match(r.body.signing_secret, SECRET_RE);
  assert.equal(r.body.name, 'made over http');
  const list = await admin.listApps();
  assert.ok(list.body.apps.some((a) => a.app_id === r.body.app_id && a.name === 'made over http'));
  const users = await api.platform(r.body).listUsers();
  assertStatus(users, 200);
  assert.deepEqual(users.body.users, []);
});

test('admin API: create without a name is 400 invalid_request on field name', async () => {
  assertError(await admin.req('POST', '/apps', { json: {} }), 400, 'invalid_request', 'name');
  assertError(await admin.req('POST', '/apps', { json: { name: 42 } }), 400, 'invalid_request', 'name');
  assertError(await admin.req('POST', '/apps', { json: { name: '' } }), 400, 'invalid_request', 'name');
});

test('admin API: rotate_token stops the old api token at once', async () => {
  const app = (await admin.createApp('rotate me')).body;
  assertStatus(await api.platform(app).listUsers(), 200);
  const r = await admin.rotateToken(app.app_id);
  assertStatus(r, 200);
  assert.equal(r.body.app_id, app.app_id);
  assert.match(r.body.api_token, SECRET_RE);
  assert.notEqual(r.body.api_token, app.api_token);
  assertError(await api.platform(app).listUsers(), 401, 'unauthorized');
  assertStatus(await api.platform({ ...app, api_token: r.body.api_token }).listUsers(), 200);
});

test('admin API: rotate_token / delete of an unknown app is 404 not_found', async () => {
  const unknown = '00000000-0000-4000-8000-000000000000';
  assertError(await admin.rotateToken(unknown), 404, 'not_found');
  assertError(await admin.deleteApp(unknown), 404, 'not_found');
});

test('admin API: delete an app; its api token is refused and it is no longer listed', async () => {
  const app = (await admin.createApp('delete me')).body;
  assertStatus(await api.platform(app).createUser('u1'), 201);
  const r = await admin.deleteApp(app.app_id);
  assertStatus(r, 204);
  assert.equal(r.text, '');
  assertError(await api.platform(app).listUsers(), 401, 'unauthorized');
  const list = await admin.listApps();
  assert.ok(!list.body.apps.some((a) => a.app_id === app.app_id));
  assertError(await admin.deleteApp(app.app_id), 404, 'not_found');
  // The wrong admin token cannot delete.
  const keep = (await admin.createApp('keep me')).body;
  assertError(await api.admin('nope').deleteApp(keep.app_id), 401, 'unauthorized');
  assertStatus(await api.platform(keep).listUsers(), 200);
});

test('admin API is 404 not_found on every path when no admin token is configured', async () => {
  const plain = await startServer({ apps: [], env: { PARLEY_ADMIN_TOKEN: undefined } });
  try {
    const a = plain.api;
    assertError(await a.req('GET', '/admin/v1/apps'), 404, 'not_found');
    assertError(await a.admin('anything').listApps(), 404, 'not_found');
    assertError(await a.admin('anything').createApp('x'), 404, 'not_found');
    assertError(await a.admin('').listApps(), 404, 'not_found');
  } finally {
    await plain.stop();
  }
});

test('admin API can be turned on with PARLEY_ADMIN_TOKEN', async () => {
  const token = randomBytes(32).toString('base64url');
  const s = await startServer({ apps: [], env: { PARLEY_ADMIN_TOKEN: token } });
  s.addSecret(token);
  try {
    assertStatus(await s.api.admin(token).listApps(), 200);
    assertError(await s.api.admin('wrong').listApps(), 401, 'unauthorized');
  } finally {
    await s.stop();
  }
});
