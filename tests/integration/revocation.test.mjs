// Live revocation by deleting a user: every WebSocket closes 4003, session keys stop, tokens and
// push tokens are gone.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, ms } from './lib/server.mjs';
import { assertError, assertStatus } from './lib/api.mjs';
import { connectWelcome } from './lib/ws.mjs';
import { uniq } from './lib/util.mjs';

let server;
let api;
let app;
let P;

before(async () => {
  server = await startServer({ apps: ['a'] });
  api = server.api;
  app = server.apps.a;
  P = api.platform(app);
});

after(async () => {
  await server?.stop();
});

test('delete user: its WebSockets close 4003 within 1 s; keys, tokens and push tokens are gone', async () => {
  const id = uniq('gone');
  const { access_token, session_key } = await api.login(app, id);
  const st = (await P.createSessionToken(id)).body.token;
  const stAuth = await api.authOk(app, { user_id: id, session_token: st });
  assertStatus(await api.putPushToken(session_key, 'apns_voip', `voip-${id}`), 204);
  assertStatus(await api.putPushToken(session_key, 'fcm', `fcm-${id}`), 204);
  const { ws: w1 } = await connectWelcome(server, session_key, 'phone');
  const { ws: w2 } = await connectWelcome(server, stAuth.session_key, 'laptop');

  // A bystander of the same app.
  const other = uniq('stays');
  const lo = await api.login(app, other);
  const { ws: wo } = await connectWelcome(server, lo.session_key);

  const r = await P.deleteUser(id);
  assertStatus(r, 204);
  const t0 = Date.now();
  const [c1, c2] = await Promise.all([w1.closed(1000), w2.closed(1000)]);
  assert.equal(c1.code, 4003);
  assert.equal(c2.code, 4003);
  assert.ok(Date.now() - t0 <= ms(1000));

  assertError(await api.me(session_key), 401, 'unauthorized');
  assertError(await api.me(stAuth.session_key), 401, 'unauthorized');
  assertError(await api.auth(app, { user_id: id, access_token }), 401, 'invalid_credentials');
  assertError(await api.auth(app, { user_id: id, session_token: st }), 401, 'invalid_credentials');
  assertError(await P.listPushTokens(id), 404, 'not_found');

  // A new user with the same id starts with nothing of the old one.
  const again = await P.createUser(id);
  assertStatus(again, 201);
  assert.equal(again.body.user.has_access_token, false);
  const pt = await P.listPushTokens(id);
  assertStatus(pt, 200);
  assert.deepEqual(pt.body.push_tokens, []);
  assertError(await api.auth(app, { user_id: id, access_token }), 401, 'invalid_credentials');
  assertError(await api.auth(app, { user_id: id, session_token: st }), 401, 'invalid_credentials');
  assertError(await api.me(session_key), 401, 'unauthorized');

  // The bystander is untouched.
  await wo.assertAlive();
  assertStatus(await api.me(lo.session_key), 200);
  wo.close();
});

test('a deleted user cannot connect a WebSocket with an old session key', async () => {
  const id = uniq('late');
  const { session_key } = await api.login(app, id);
  assertStatus(await P.deleteUser(id), 204);
  const { WsClient } = await import('./lib/ws.mjs');
  const ws = await WsClient.connect(server.wsUrl);
  ws.send({ type: 'hello', session_key });
  const err = await ws.next('error');
  assert.equal(err.code, 'unauthorized');
  assert.equal((await ws.closed()).code, 4001);
});

test('delete user with many open connections: all of them close 4003', async () => {
  const id = uniq('many');
  const { access_token } = await api.userWithAccessToken(app, id);
  const keys = [];
  for (let i = 0; i < 5; i++) keys.push((await api.authOk(app, { user_id: id, access_token })).session_key);
  const sockets = [];
  for (let i = 0; i < 20; i++) sockets.push((await connectWelcome(server, keys[i % keys.length], `dev-${i}`)).ws);
  assertStatus(await P.deleteUser(id), 204);
  const closes = await Promise.all(sockets.map((w) => w.closed(2000)));
  assert.deepEqual([...new Set(closes.map((c) => c.code))], [4003]);
  assertStatus(await api.healthz(), 200);
});
