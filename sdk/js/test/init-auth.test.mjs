import test, { after } from 'node:test';
import assert from 'node:assert/strict';
import Parley, { ParleyClient, ParleyError, MemoryStorage } from '../dist/parley.js';
import { FakeServer, fakeFetch } from '../testlib/fakes.mjs';
import { closeAll, makeClient } from '../testlib/setup.mjs';

after(closeAll);

test('the default export is a Parley client', () => {
  assert.ok(Parley instanceof ParleyClient);
  assert.equal(typeof Parley.init, 'function');
  assert.equal(typeof Parley.authenticate, 'function');
  assert.equal(typeof Parley.dial, 'function');
});

test('init validates the app id and the api url', () => {
  const c = new ParleyClient();
  assert.throws(() => c.init('', { apiUrl: 'http://x' }), (e) => e instanceof ParleyError && e.code === 'invalid_request');
  assert.throws(() => c.init('a', { apiUrl: 'ftp://x' }), (e) => e.code === 'invalid_request');
});

test('init with another app id clears the old app\'s stored data', async () => {
  const storage = new MemoryStorage();
  const s1 = new FakeServer({ appId: 'app-A' });
  const { client } = await makeClient(s1, 'alice', { storage, connect: false });
  assert.ok(storage.getItem('parley.app-A.state'));
  assert.equal(storage.getItem('parley.app'), 'app-A');
  const deviceA = client.deviceId;
  assert.ok(JSON.parse(storage.getItem('parley.app-A.state')).sessionKey);

  // Same app again (a reload): the session and the device id are restored.
  const again = new ParleyClient();
  again.init('app-A', { apiUrl: 'http://parley.test', storage, fetch: s1.fetch });
  assert.equal(again.currentUser.userId, 'alice');
  assert.equal(again.deviceId, deviceA);
  assert.ok(again.sessionKey);

  // Another app: the old app's keys go, a new device id is made, nobody is signed in.
  storage.setItem('parley.app-A.extra', 'x');
  storage.setItem('unrelated', 'keep');
  const other = new ParleyClient();
  other.init('app-B', { apiUrl: 'http://parley.test', storage, fetch: s1.fetch });
  assert.equal(storage.getItem('parley.app-A.state'), null);
  assert.equal(storage.getItem('parley.app-A.extra'), null);
  assert.equal(storage.getItem('unrelated'), 'keep');
  assert.equal(storage.getItem('parley.app'), 'app-B');
  assert.equal(other.currentUser, null);
  assert.equal(other.sessionKey, null);
  assert.notEqual(other.deviceId, deviceA);
  await assert.rejects(other.callLog(), (e) => e.code === 'not_authenticated');
});

test('not_initialized is raised before any request', async () => {
  const f = fakeFetch(() => ({ status: 200, body: {} }));
  const c = new ParleyClient();
  for (const op of [
    () => c.authenticate({ userId: 'alice', accessToken: 't' }),
    () => c.connectWebSocket(),
    () => c.deauthenticate(),
    () => c.registerPushToken('p', 'fcm'),
    () => c.unregisterPushToken('p', 'fcm'),
    () => c.unregisterAllPushTokens('fcm'),
    () => c.callLog(),
    () => c.dial({ userId: 'bob' }),
  ]) await assert.rejects(op(), (e) => e instanceof ParleyError && e.code === 'not_initialized');
  assert.equal(f.calls.length, 0);
});

test('not_authenticated is raised before any request', async () => {
  const server = new FakeServer();
  const { client } = await makeClient(server, null);
  for (const op of [
    () => client.connectWebSocket(),
    () => client.deauthenticate(),
    () => client.registerPushToken('p', 'fcm'),
    () => client.unregisterPushToken('p', 'apns'),
    () => client.unregisterAllPushTokens('apns_voip'),
    () => client.callLog(),
    () => client.dial({ userId: 'bob', isVideoCall: true }),
  ]) await assert.rejects(op(), (e) => e.code === 'not_authenticated');
  assert.equal(server.fetch.calls.length, 0);
  assert.equal(server.sockets.length, 0);
});

test('authenticate with an access token, a session token or a JWT (promise form)', async () => {
  const server = new FakeServer();
  const { client } = await makeClient(server, null);
  const u1 = await client.authenticate({ userId: 'alice', accessToken: 'tok-alice' });
  assert.equal(u1.userId, 'alice');
  assert.equal(client.sessionExpiresAt, null);
  const u2 = await client.authenticate({ userId: 'alice', sessionToken: 'st-alice' });
  assert.equal(u2.userId, 'alice');
  assert.equal(typeof client.sessionExpiresAt, 'number');
  await client.authenticate({ userId: 'bob', jwt: 'jwt-bob' });
  assert.equal(client.currentUser.userId, 'bob');
  const bodies = server.fetch.calls.map((c) => c.body);
  assert.deepEqual(Object.keys(bodies[0]).sort(), ['access_token', 'device_id', 'user_id']);
  assert.equal(bodies[1].session_token, 'st-alice');
  assert.equal(bodies[2].jwt, 'jwt-bob');
  assert.ok(bodies.every((b) => b.device_id === client.deviceId));
  assert.ok(server.fetch.calls.every((c) => c.url === `http://parley.test/v1/apps/${server.appId}/auth` && c.method === 'POST'));
  assert.deepEqual(client.iceServers, [{ urls: ['stun:stun.example.org:3478'] }]);
});

test('authenticate with a callback', async () => {
  const server = new FakeServer();
  const { client } = await makeClient(server, null);
  const ok = await new Promise((resolve) => client.authenticate({ userId: 'alice', accessToken: 'tok-alice' }, (err, user) => resolve({ err, user })));
  assert.equal(ok.err, null);
  assert.equal(ok.user.userId, 'alice');
  const bad = await new Promise((resolve) => client.authenticate({ userId: 'alice', accessToken: 'wrong' }, (err, user) => resolve({ err, user })).catch(() => {}));
  assert.equal(bad.err.code, 'invalid_credentials');
  assert.equal(bad.user, undefined);
});

test('authenticate needs exactly one credential; nothing is sent otherwise', async () => {
  const server = new FakeServer();
  const { client } = await makeClient(server, null);
  await assert.rejects(client.authenticate({ userId: 'alice' }), (e) => e.code === 'invalid_request');
  await assert.rejects(client.authenticate({ userId: 'alice', accessToken: 'a', jwt: 'b' }), (e) => e.code === 'invalid_request');
  await assert.rejects(client.authenticate({ accessToken: 'a' }), (e) => e.code === 'invalid_request');
  assert.equal(server.fetch.calls.length, 0);
});

test('errors carry the server\'s codes, HTTP status, field and Retry-After', async () => {
  const answers = [
    { status: 401, body: { error: { code: 'invalid_credentials', message: 'no match' } } },
    { status: 429, headers: { 'Retry-After': '17' }, body: { error: { code: 'rate_limited', message: 'slow down' } } },
    { status: 401, body: { error: { code: 'token_expired', message: 'old' } } },
    { status: 400, body: { error: { code: 'invalid_request', message: 'bad', field: 'user_id' } } },
    { status: 418, body: { error: { code: 'teapot', message: 'new code' } } },
    { status: 502, body: undefined },
  ];
  const f = fakeFetch(() => answers.shift());
  const c = new ParleyClient();
  c.init('app-1', { apiUrl: 'http://parley.test', storage: new MemoryStorage(), fetch: f });
  const p = { userId: 'alice', accessToken: 't' };
  await assert.rejects(c.authenticate(p), (e) => e instanceof ParleyError && e.code === 'invalid_credentials' && e.httpStatus === 401 && e.serverCode === 'invalid_credentials');
  await assert.rejects(c.authenticate(p), (e) => e.code === 'rate_limited' && e.retryAfterS === 17 && e.httpStatus === 429);
  await assert.rejects(c.authenticate(p), (e) => e.code === 'token_expired');
  await assert.rejects(c.authenticate(p), (e) => e.code === 'invalid_request' && e.field === 'user_id');
  await assert.rejects(c.authenticate(p), (e) => e.code === 'unknown' && e.serverCode === 'teapot');
  await assert.rejects(c.authenticate(p), (e) => e.code === 'invalid_response' && e.httpStatus === 502);
  const down = new ParleyClient();
  down.init('app-1', { apiUrl: 'http://parley.test', storage: new MemoryStorage(), fetch: async () => { throw new TypeError('Failed to fetch'); } });
  await assert.rejects(down.authenticate(p), (e) => e.code === 'network_error');
});

test('push tokens, call log and deauthenticate use the session key', async () => {
  const server = new FakeServer();
  const { client, storage } = await makeClient(server, 'alice', { connect: false });
  await client.registerPushToken('a/b c', 'fcm');
  await client.unregisterPushToken('a/b c', 'fcm');
  await client.unregisterAllPushTokens('apns_voip');
  const page = await client.callLog({ limit: 5 });
  assert.deepEqual(page, { calls: [], next: null });
  await assert.rejects(client.callLog({ limit: 0 }), (e) => e.code === 'invalid_request');
  const urls = server.fetch.calls.slice(1).map((c) => `${c.method} ${c.url.replace('http://parley.test', '')}`);
  assert.deepEqual(urls, ['PUT /v1/me/push_tokens/fcm/a%2Fb%20c', 'DELETE /v1/me/push_tokens/fcm/a%2Fb%20c',
    'DELETE /v1/me/push_tokens/apns_voip', 'GET /v1/me/direct_calls?limit=5']);
  assert.ok(server.fetch.calls.slice(1).every((c) => c.headers.Authorization === `Bearer ${client.sessionKey}`));
  await client.deauthenticate();
  assert.equal(client.currentUser, null);
  assert.equal(JSON.parse(storage.getItem(`parley.${server.appId}.state`)).sessionKey, null);
  await assert.rejects(client.callLog(), (e) => e.code === 'not_authenticated');
});
