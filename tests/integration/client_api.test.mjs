// Client API with a session key: GET /v1/me and DELETE /v1/session.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from './lib/server.mjs';
import { assertError, assertStatus } from './lib/api.mjs';
import { connectWelcome } from './lib/ws.mjs';
import { uniq } from './lib/util.mjs';

let server;
let api;
let app;

before(async () => {
  server = await startServer({ apps: ['a', 'b'] });
  api = server.api;
  app = server.apps.a;
});

after(async () => {
  await server?.stop();
});

test('GET /v1/me returns the user and session_expires_at', async () => {
  const id = uniq('me');
  const { access_token } = await api.userWithAccessToken(app, id, { nickname: 'Me', metadata: { x: 'y' } });
  const { session_key } = await api.authOk(app, { user_id: id, access_token });
  const r = await api.me(session_key);
  assertStatus(r, 200);
  assert.equal(r.body.user.user_id, id);
  assert.equal(r.body.user.nickname, 'Me');
  assert.deepEqual(r.body.user.metadata, { x: 'y' });
  assert.equal(r.body.session_expires_at, null);
  // The user object reflects later changes.
  assertStatus(await api.platform(app).patchUser(id, { nickname: 'Renamed' }), 200);
  assert.equal((await api.me(session_key)).body.user.nickname, 'Renamed');
});

test('GET /v1/me without or with a wrong session key is 401 unauthorized', async () => {
  assertError(await api.req('GET', '/v1/me'), 401, 'unauthorized');
  assertError(await api.me('x'.repeat(43)), 401, 'unauthorized');
  assertError(await api.me(''), 401, 'unauthorized');
  assertError(await api.req('GET', '/v1/me', { headers: { Authorization: 'Basic abc' } }), 401, 'unauthorized');
  // An access token or an api token is not a session key.
  const id = uniq('notkey');
  const { access_token } = await api.userWithAccessToken(app, id);
  assertError(await api.me(access_token), 401, 'unauthorized');
  assertError(await api.me(app.api_token), 401, 'unauthorized');
});

test('a session key finds its session by the id it carries, and only with its whole secret', async () => {
  // The key is base64url of the session's row id (8 bytes) and 32 random bytes.
  const { session_key } = await api.login(app, uniq('keyid'));
  assert.equal(session_key.length, 54);
  const raw = Buffer.from(session_key, 'base64url');
  assert.equal(raw.length, 40);
  assertStatus(await api.me(session_key), 200);
  // The same id with one secret bit changed, and the same secret under the next id: both 401.
  const flipped = Buffer.from(raw);
  flipped[39] ^= 1;
  assertError(await api.me(flipped.toString('base64url')), 401, 'unauthorized');
  const nextId = Buffer.from(raw);
  nextId.writeBigUInt64BE(raw.readBigUInt64BE(0) + 1n, 0);
  assertError(await api.me(nextId.toString('base64url')), 401, 'unauthorized');
  // Ids nobody was given, and the bare secret without its id.
  const zero = Buffer.from(raw);
  zero.writeBigUInt64BE(0n, 0);
  assertError(await api.me(zero.toString('base64url')), 401, 'unauthorized');
  assertError(await api.me(raw.subarray(8).toString('base64url')), 401, 'unauthorized');
  assertStatus(await api.me(session_key), 200);
});

test('DELETE /v1/session: 204, the key is then 401 and its WebSocket is closed 4000', async () => {
  const id = uniq('deauth');
  const { access_token, session_key } = await api.login(app, id);
  const second = await api.authOk(app, { user_id: id, access_token });
  const { ws } = await connectWelcome(server, session_key, 'phone');
  const { ws: ws2 } = await connectWelcome(server, second.session_key, 'tablet');

  const r = await api.deauth(session_key);
  assertStatus(r, 204);
  assert.equal(r.text, '');
  assert.equal((await ws.closed(1000)).code, 4000);
  assertError(await api.me(session_key), 401, 'unauthorized');
  assertError(await api.deauth(session_key), 401, 'unauthorized');
  assertError(await api.putPushToken(session_key, 'fcm', 'tok-after-deauth'), 401, 'unauthorized');

  // The user's other session is untouched and the access token still works.
  await ws2.assertAlive();
  assertStatus(await api.me(second.session_key), 200);
  assertStatus(await api.auth(app, { user_id: id, access_token }), 200);
  ws2.close();
});

test('DELETE /v1/session without a key is 401 unauthorized', async () => {
  assertError(await api.req('DELETE', '/v1/session'), 401, 'unauthorized');
  assertError(await api.deauth('nope'), 401, 'unauthorized');
});

test("sessions are scoped to their app: app B's user with the same id is another user", async () => {
  const id = uniq('scoped');
  const la = await api.login(app, id);
  const lb = await api.login(server.apps.b, id);
  assertStatus(await api.platform(server.apps.b).patchUser(id, { nickname: 'in B' }), 200);
  assert.equal((await api.me(la.session_key)).body.user.nickname, '');
  assert.equal((await api.me(lb.session_key)).body.user.nickname, 'in B');
  assertStatus(await api.platform(server.apps.b).deleteUser(id), 204);
  assertError(await api.me(lb.session_key), 401, 'unauthorized');
  assertStatus(await api.me(la.session_key), 200);
});
