// Expiring sessions on the WebSocket: session_expiring 60 s ahead, refresh with a new session
// token or JWT, and session_expired + close 4001 when nobody refreshes.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from './lib/server.mjs';
import { assertError, assertStatus } from './lib/api.mjs';
import { connectWelcome } from './lib/ws.mjs';
import { jwtFor, makeJwt, nowS, uniq } from './lib/util.mjs';

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

/** A user with a session that expires at `expiresAt`, and its WebSocket. */
async function expiringSession(expiresAt, deviceId = 'dev') {
  const id = uniq('exp');
  assertStatus(await P.createUser(id), 201);
  const st = await P.createSessionToken(id, { expires_at: expiresAt });
  assertStatus(st, 201);
  const auth = await api.authOk(app, { user_id: id, session_token: st.body.token });
  assert.equal(auth.session_expires_at, expiresAt);
  const { ws, welcome } = await connectWelcome(server, auth.session_key, deviceId);
  assert.equal(welcome.session_expires_at, expiresAt);
  return { id, ws, welcome, sessionKey: auth.session_key };
}

test('session_expiring arrives 60 s before expiry; refresh with a new session token extends the session', async () => {
  const expiresAt = Date.now() + 62_000;
  const { id, ws, sessionKey } = await expiringSession(expiresAt);
  const ev = await ws.next('session_expiring', 5000);
  assert.equal(ev.expires_at, expiresAt);
  assert.equal(ev.req_id, undefined, 'events carry no req_id');
  assert.ok(Date.now() >= expiresAt - 61_000, 'not sent long before 60 s ahead');

  const fresh = await P.createSessionToken(id);
  assertStatus(fresh, 201);
  const ack = await ws.request('refresh', { session_token: fresh.body.token });
  assert.equal(ack.type, 'ack', JSON.stringify(ack));
  assert.equal(ack.session_expires_at, fresh.body.expires_at);
  // The session (and its key) now lives until the new expiry.
  const me = await api.me(sessionKey);
  assertStatus(me, 200);
  assert.equal(me.body.session_expires_at, fresh.body.expires_at);
  await ws.assertAlive();
  ws.close();
});

test('refresh with a JWT: ack with session_expires_at = exp * 1000', async () => {
  const { id, ws } = await expiringSession(Date.now() + 3_600_000);
  const exp = nowS() + 7200;
  const jwt = makeJwt({ sub: id, iss: app.app_id, exp }, app.signing_secret);
  server.addSecret(jwt);
  const ack = await ws.request('refresh', { jwt });
  assert.equal(ack.type, 'ack', JSON.stringify(ack));
  assert.equal(ack.session_expires_at, exp * 1000);
  ws.close();
});

test("refresh with another user's token: error invalid_credentials, the connection stays", async () => {
  const { ws } = await expiringSession(Date.now() + 3_600_000);
  const otherId = uniq('other');
  assertStatus(await P.createUser(otherId), 201);
  const otherToken = (await P.createSessionToken(otherId)).body.token;
  const err = await ws.request('refresh', { session_token: otherToken });
  assert.equal(err.type, 'error');
  assert.equal(err.code, 'invalid_credentials');
  const err2 = await ws.request('refresh', { jwt: jwtFor(app, otherId) });
  assert.equal(err2.type, 'error');
  assert.equal(err2.code, 'invalid_credentials');
  const err3 = await ws.request('refresh', { session_token: 'Q'.repeat(43) });
  assert.equal(err3.type, 'error');
  assert.equal(err3.code, 'invalid_credentials');
  await ws.assertAlive();
  ws.close();
});

test('refresh without a token: error invalid_request with the req_id', async () => {
  const { ws } = await expiringSession(Date.now() + 3_600_000);
  const err = await ws.request('refresh', {});
  assert.equal(err.type, 'error');
  assert.equal(err.code, 'invalid_request');
  await ws.assertAlive();
  ws.close();
});

test('no refresh: error session_expired at expiry, then close 4001; the key is then expired', async () => {
  const expiresAt = Date.now() + 3000;
  const { ws, sessionKey } = await expiringSession(expiresAt);
  // Inside the last minute already: session_expiring comes at once.
  const ev = await ws.next('session_expiring', 2000);
  assert.equal(ev.expires_at, expiresAt);
  const err = await ws.next('error', 6000);
  assert.equal(err.code, 'session_expired');
  assert.ok(Date.now() >= expiresAt - 100, 'not before expiry');
  const c = await ws.closed(2000);
  assert.equal(c.code, 4001);
  assertError(await api.me(sessionKey), 401, 'session_expired');
  // A new connection with the expired key: error session_expired, then close 4001.
  const { WsClient } = await import('./lib/ws.mjs');
  const late = await WsClient.connect(server.wsUrl);
  late.send({ type: 'hello', session_key: sessionKey });
  assert.equal((await late.next('error')).code, 'session_expired');
  assert.equal((await late.closed()).code, 4001);
});

test('a session from an access token has no expiry and gets no session_expiring', async () => {
  const { session_key } = await api.login(app, uniq('forever'));
  const { ws, welcome } = await connectWelcome(server, session_key);
  assert.equal(welcome.session_expires_at, null);
  await ws.assertAlive();
  assert.equal(ws.queue.filter((m) => m.type === 'session_expiring').length, 0);
  ws.close();
});
