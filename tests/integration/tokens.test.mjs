// Access tokens and session tokens: issue, rotate, revoke, and their live effect on sessions.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, ms } from './lib/server.mjs';
import { assertError, assertStatus, SECRET_RE } from './lib/api.mjs';
import { connectWelcome } from './lib/ws.mjs';
import { uniq } from './lib/util.mjs';

const DAY = 86_400_000;
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

test('issue an access token for a user without one', async () => {
  const id = uniq('issue');
  assertStatus(await P.createUser(id), 201);
  const r = await P.issueAccessToken(id);
  assertStatus(r, 200);
  assert.match(r.body.access_token, SECRET_RE);
  assert.equal((await P.getUser(id)).body.user.has_access_token, true);
  const auth = await api.auth(app, { user_id: id, access_token: r.body.access_token });
  assertStatus(auth, 200);
  assert.equal(auth.body.session_expires_at, null);
});

test('issue access token for an unknown user is 404 not_found', async () => {
  assertError(await P.issueAccessToken('no-such-user'), 404, 'not_found');
  assertError(await P.revokeAccessToken('no-such-user'), 404, 'not_found');
});

test('rotating the access token: old token fails, its sessions end (WebSocket 4001 within 1 s, key 401)', async () => {
  const id = uniq('rot');
  const { access_token: oldToken, session_key } = await api.login(app, id);
  const { ws } = await connectWelcome(server, session_key, 'dev-1');

  // A session made from a session token is not touched by the access token rotation.
  const st = await P.createSessionToken(id);
  assertStatus(st, 201);
  const stAuth = await api.authOk(app, { user_id: id, session_token: st.body.token });
  const { ws: wsOther } = await connectWelcome(server, stAuth.session_key, 'dev-2');

  const r = await P.issueAccessToken(id);
  assertStatus(r, 200);
  const t0 = Date.now();
  const closed = await ws.closed(1000);
  assert.equal(closed.code, 4001);
  assert.ok(Date.now() - t0 <= ms(1000));
  assert.notEqual(r.body.access_token, oldToken);

  assertError(await api.auth(app, { user_id: id, access_token: oldToken }), 401, 'invalid_credentials');
  assertError(await api.me(session_key), 401, 'unauthorized');
  assertStatus(await api.auth(app, { user_id: id, access_token: r.body.access_token }), 200);

  await wsOther.assertAlive();
  assertStatus(await api.me(stAuth.session_key), 200);
  wsOther.close();
});

test('revoking the access token: 204, has_access_token false, sessions end with 4001', async () => {
  const id = uniq('rev');
  const { access_token, session_key } = await api.login(app, id);
  const { ws } = await connectWelcome(server, session_key);
  const r = await P.revokeAccessToken(id);
  assertStatus(r, 204);
  assert.equal((await ws.closed(1000)).code, 4001);
  assert.equal((await P.getUser(id)).body.user.has_access_token, false);
  assertError(await api.auth(app, { user_id: id, access_token }), 401, 'invalid_credentials');
  assertError(await api.me(session_key), 401, 'unauthorized');
  // A new token can be issued afterwards.
  const again = await P.issueAccessToken(id);
  assertStatus(again, 200);
  assertStatus(await api.auth(app, { user_id: id, access_token: again.body.access_token }), 200);
});

test('session token: default expiry is 7 days from now', async () => {
  const id = uniq('st');
  assertStatus(await P.createUser(id), 201);
  const before = Date.now();
  const r = await P.createSessionToken(id);
  assertStatus(r, 201);
  assert.match(r.body.token, SECRET_RE);
  assert.ok(Number.isInteger(r.body.expires_at));
  assert.ok(Math.abs(r.body.expires_at - (before + 7 * DAY)) < 60_000, `expires_at ${r.body.expires_at} ≈ now+7d`);
  // A session token is not an access token.
  assert.equal((await P.getUser(id)).body.user.has_access_token, false);
  // Without a body at all, too.
  const r2 = await P.req('POST', `/users/${id}/session_tokens`);
  assertStatus(r2, 201);
  assert.ok(Math.abs(r2.body.expires_at - (Date.now() + 7 * DAY)) < 60_000);
  assert.notEqual(r2.body.token, r.body.token);
});

test('session token: explicit expires_at is kept exactly', async () => {
  const id = uniq('st');
  assertStatus(await P.createUser(id), 201);
  const exp = Date.now() + 30 * DAY;
  const r = await P.createSessionToken(id, { expires_at: exp });
  assertStatus(r, 201);
  assert.equal(r.body.expires_at, exp);
  const near = Date.now() + 365 * DAY - 60_000;
  assertStatus(await P.createSessionToken(id, { expires_at: near }), 201);
  const auth = await api.authOk(app, { user_id: id, session_token: r.body.token });
  assert.equal(auth.session_expires_at, exp);
});

test('session token: expires_at in the past, more than 365 days ahead, or not an integer is 400', async () => {
  const id = uniq('st');
  assertStatus(await P.createUser(id), 201);
  const bad = [Date.now() - 1000, 0, Date.now() + 366 * DAY, Date.now() + 365 * DAY + 3_600_000, 'tomorrow', -5, 1.5 + Date.now(), true];
  for (const expires_at of bad) {
    assertError(await P.createSessionToken(id, { expires_at }), 400, 'invalid_request', 'expires_at');
  }
});

test('session token for an unknown user is 404 not_found', async () => {
  assertError(await P.createSessionToken('nobody-st'), 404, 'not_found');
});

test('revoke all session tokens: their sessions end with 4001 and their keys get 401', async () => {
  const id = uniq('revall');
  const { session_key: accessKey } = await api.login(app, id);
  const t1 = (await P.createSessionToken(id)).body.token;
  const t2 = (await P.createSessionToken(id)).body.token;
  const a1 = await api.authOk(app, { user_id: id, session_token: t1 });
  const a2 = await api.authOk(app, { user_id: id, session_token: t2 });
  const { ws: w1 } = await connectWelcome(server, a1.session_key, 'd1');
  const { ws: w2 } = await connectWelcome(server, a2.session_key, 'd2');
  const { ws: w3 } = await connectWelcome(server, accessKey, 'd3');

  const r = await P.revokeSessionTokens(id);
  assertStatus(r, 204);
  const [c1, c2] = await Promise.all([w1.closed(1000), w2.closed(1000)]);
  assert.equal(c1.code, 4001);
  assert.equal(c2.code, 4001);
  assertError(await api.me(a1.session_key), 401, 'unauthorized');
  assertError(await api.me(a2.session_key), 401, 'unauthorized');
  assertError(await api.auth(app, { user_id: id, session_token: t1 }), 401, 'invalid_credentials');
  assertError(await api.auth(app, { user_id: id, session_token: t2 }), 401, 'invalid_credentials');

  // The access-token session is untouched, and new session tokens work.
  await w3.assertAlive();
  assertStatus(await api.me(accessKey), 200);
  const t3 = (await P.createSessionToken(id)).body.token;
  assertStatus(await api.auth(app, { user_id: id, session_token: t3 }), 200);
  w3.close();
});

test("one user's token revocation does not touch another user's sessions", async () => {
  const a = uniq('iso-a');
  const b = uniq('iso-b');
  const la = await api.login(app, a);
  const lb = await api.login(app, b);
  const { ws: wb } = await connectWelcome(server, lb.session_key);
  const { ws: wa } = await connectWelcome(server, la.session_key);
  assertStatus(await P.revokeAccessToken(a), 204);
  assert.equal((await wa.closed(1000)).code, 4001);
  await wb.assertAlive();
  assertStatus(await api.me(lb.session_key), 200);
  wb.close();
});
