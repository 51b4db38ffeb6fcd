// Push tokens: registered by the client (PUT /v1/me/push_tokens/{type}/{token}), listed and
// deleted by the Platform API, moved between users of the app.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from './lib/server.mjs';
import { assertError, assertStatus } from './lib/api.mjs';
import { uniq } from './lib/util.mjs';

let server;
let api;
let app;
let P;

before(async () => {
  server = await startServer({ apps: ['a', 'b'] });
  api = server.api;
  app = server.apps.a;
  P = api.platform(app);
});

after(async () => {
  await server?.stop();
});

async function tokensOf(userId, platform = P) {
  const r = await platform.listPushTokens(userId);
  assertStatus(r, 200);
  return r.body.push_tokens.map((t) => `${t.type}/${t.token}`).sort();
}

test('PUT a push token of each type: 204, listed by the Platform API', async () => {
  const id = uniq('push');
  const { session_key } = await api.login(app, id);
  const t0 = Date.now();
  for (const type of ['apns_voip', 'apns', 'fcm']) {
    const r = await api.putPushToken(session_key, type, `${type}-${id}`);
    assertStatus(r, 204, type);
    assert.equal(r.text, '');
  }
  const r = await P.listPushTokens(id);
  assertStatus(r, 200);
  assert.equal(r.body.push_tokens.length, 3);
  for (const t of r.body.push_tokens) {
    assert.equal(t.token, `${t.type}-${id}`);
    assert.ok(Number.isInteger(t.registered_at));
    assert.ok(t.registered_at >= t0 - 2000 && t.registered_at <= Date.now() + 2000);
  }
  // PUT is idempotent.
  assertStatus(await api.putPushToken(session_key, 'fcm', `fcm-${id}`), 204);
  assert.equal((await tokensOf(id)).length, 3);
});

test('a long FCM-style token (with a colon) round-trips', async () => {
  const id = uniq('push');
  const { session_key } = await api.login(app, id);
  const token = 'dXNlcjpwYXNz:APA91bH-abc_def' + 'f'.repeat(150);
  assertStatus(await api.putPushToken(session_key, 'fcm', token), 204);
  assert.deepEqual(await tokensOf(id), [`fcm/${token}`]);
});

test('a user without push tokens lists none; an unknown user is 404', async () => {
  const id = uniq('empty');
  assertStatus(await P.createUser(id), 201);
  assert.deepEqual(await tokensOf(id), []);
  assertError(await P.listPushTokens('no-such-user'), 404, 'not_found');
});

test('an unknown push token type is 400 invalid_request', async () => {
  const id = uniq('badtype');
  const { session_key } = await api.login(app, id);
  for (const type of ['gcm', 'APNS', 'voip']) {
    assertError(await api.putPushToken(session_key, type, 'tok'), 400, 'invalid_request');
    assertError(await api.deletePushToken(session_key, type, 'tok'), 400, 'invalid_request');
    assertError(await api.deletePushTokensOfType(session_key, type), 400, 'invalid_request');
    assertError(await P.deletePushTokensOfType(id, type), 400, 'invalid_request');
  }
  assert.deepEqual(await tokensOf(id), []);
});

test('PUT without a session key is 401 unauthorized', async () => {
  assertError(await api.req('PUT', '/v1/me/push_tokens/fcm/abc'), 401, 'unauthorized');
});

test('a token registered by another user of the app moves to that user', async () => {
  const a = uniq('first');
  const b = uniq('second');
  const la = await api.login(app, a);
  const lb = await api.login(app, b);
  assertStatus(await api.putPushToken(la.session_key, 'apns_voip', 'shared-device'), 204);
  assertStatus(await api.putPushToken(la.session_key, 'fcm', 'only-a'), 204);
  assert.deepEqual(await tokensOf(a), ['apns_voip/shared-device', 'fcm/only-a']);
  assertStatus(await api.putPushToken(lb.session_key, 'apns_voip', 'shared-device'), 204);
  assert.deepEqual(await tokensOf(a), ['fcm/only-a']);
  assert.deepEqual(await tokensOf(b), ['apns_voip/shared-device']);
});

test('the same token in another app does not move', async () => {
  const id = uniq('xa');
  const la = await api.login(app, id);
  const lb = await api.login(server.apps.b, id);
  assertStatus(await api.putPushToken(la.session_key, 'fcm', 'device-in-two-apps'), 204);
  assertStatus(await api.putPushToken(lb.session_key, 'fcm', 'device-in-two-apps'), 204);
  assert.deepEqual(await tokensOf(id), ['fcm/device-in-two-apps']);
  assert.deepEqual(await tokensOf(id, api.platform(server.apps.b)), ['fcm/device-in-two-apps']);
});

test('client DELETE of one token and of all tokens of a type', async () => {
  const id = uniq('del');
  const { session_key } = await api.login(app, id);
  for (const [type, token] of [['fcm', 'f1'], ['fcm', 'f2'], ['apns', 'a1'], ['apns_voip', 'v1']]) {
    assertStatus(await api.putPushToken(session_key, type, token), 204);
  }
  assertStatus(await api.deletePushToken(session_key, 'fcm', 'f1'), 204);
  assert.deepEqual(await tokensOf(id), ['apns/a1', 'apns_voip/v1', 'fcm/f2']);
  // Deleting a token one does not hold is fine and changes nothing.
  assertStatus(await api.deletePushToken(session_key, 'fcm', 'never-registered'), 204);
  assertStatus(await api.deletePushTokensOfType(session_key, 'apns'), 204);
  assert.deepEqual(await tokensOf(id), ['apns_voip/v1', 'fcm/f2']);
  assertStatus(await api.deletePushTokensOfType(session_key, 'fcm'), 204);
  assert.deepEqual(await tokensOf(id), ['apns_voip/v1']);
});

test("client DELETE does not touch another user's token", async () => {
  const a = uniq('owner');
  const b = uniq('thief');
  const la = await api.login(app, a);
  const lb = await api.login(app, b);
  assertStatus(await api.putPushToken(la.session_key, 'fcm', 'owned'), 204);
  const r = await api.deletePushToken(lb.session_key, 'fcm', 'owned');
  assertStatus(r, 204);
  assertStatus(await api.deletePushTokensOfType(lb.session_key, 'fcm'), 204);
  assert.deepEqual(await tokensOf(a), ['fcm/owned']);
});

test('Platform DELETE of one token and of all tokens of a type', async () => {
  const id = uniq('pdel');
  const { session_key } = await api.login(app, id);
  for (const [type, token] of [['fcm', 'f1'], ['fcm', 'f2'], ['apns', 'a1']]) {
    assertStatus(await api.putPushToken(session_key, type, token), 204);
  }
  assertStatus(await P.deletePushToken(id, 'fcm', 'f2'), 204);
  assert.deepEqual(await tokensOf(id), ['apns/a1', 'fcm/f1']);
  assertStatus(await P.deletePushTokensOfType(id, 'apns'), 204);
  assert.deepEqual(await tokensOf(id), ['fcm/f1']);
  assertError(await P.deletePushTokensOfType('no-such-user', 'fcm'), 404, 'not_found');
});
