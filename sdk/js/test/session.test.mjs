import test, { after } from 'node:test';
import assert from 'node:assert/strict';
import { FakeServer, until, tick } from '../testlib/fakes.mjs';
import { closeAll, makeClient } from '../testlib/setup.mjs';

async function sessionClient(kind, token) {
  const server = new FakeServer();
  const { client, storage } = await makeClient(server, null);
  await client.authenticate({ userId: 'alice', [kind]: token });
  await client.connectWebSocket();
  return { server, client, storage };
}

after(closeAll);

test('session handler: session_expiring → refresh with a session token → refreshed', async () => {
  const { server, client, storage } = await sessionClient('sessionToken', 'st-alice');
  const seen = [];
  client.setSessionHandler({
    onSessionTokenRequired: (provide) => { seen.push('required'); setTimeout(() => provide('st2-alice'), 1); },
    onSessionRefreshed: (at) => seen.push(['refreshed', at]),
    onSessionRefreshFailed: (e) => seen.push(['failed', e.code]),
  });
  const before = client.sessionExpiresAt;
  server.send(server.conns[0], { type: 'session_expiring', expires_at: before });
  await until(() => seen.length === 2);
  assert.equal(seen[0], 'required');
  assert.equal(seen[1][0], 'refreshed');
  const refresh = server.sent('alice', 'refresh');
  assert.equal(refresh.length, 1);
  assert.equal(refresh[0].session_token, 'st2-alice');
  assert.equal(typeof refresh[0].req_id, 'string');
  assert.ok(client.sessionExpiresAt > before);
  assert.equal(client.sessionExpiresAt, seen[1][1]);
  assert.equal(JSON.parse(storage.getItem(`parley.${server.appId}.state`)).sessionExpiresAt, client.sessionExpiresAt);
  assert.equal(client.connectionState, 'connected');
  assert.equal(server.sockets.length, 1, 'the connection was not dropped');
});

test('session handler: a JWT from a promise; a refused refresh reports the error', async () => {
  const { server, client } = await sessionClient('jwt', 'jwt-alice');
  const seen = [];
  let token = 'jwt2-alice';
  client.setSessionHandler({
    onSessionTokenRequired: async () => token,
    onSessionRefreshed: () => seen.push('refreshed'),
    onSessionRefreshFailed: (e) => seen.push(e.code),
  });
  server.send(server.conns[0], { type: 'session_expiring', expires_at: Date.now() + 60000 });
  await until(() => seen.length === 1);
  assert.equal(server.sent('alice', 'refresh')[0].jwt, 'jwt2-alice');
  token = 'bad';
  server.send(server.conns[0], { type: 'session_expiring', expires_at: Date.now() + 60000 });
  await until(() => seen.length === 2);
  assert.deepEqual(seen, ['refreshed', 'invalid_credentials']);
});

test('no handler or provide(null): no refresh is sent', async () => {
  const { server, client } = await sessionClient('sessionToken', 'st-alice');
  server.send(server.conns[0], { type: 'session_expiring', expires_at: 1 });
  client.setSessionHandler({ onSessionTokenRequired: (provide) => provide(null) });
  server.send(server.conns[0], { type: 'session_expiring', expires_at: 1 });
  await tick(20);
  assert.equal(server.sent('alice', 'refresh').length, 0);
});

test('close 4001 ends the session; a network drop reconnects with the same device id', async () => {
  const server = new FakeServer();
  const { client } = await makeClient(server, 'alice', { reconnect: { initialDelayMs: 5, jitter: 0 } });
  const events = [];
  client.addListener({
    onConnected: () => events.push('connected'),
    onReconnecting: (n, d) => events.push(`reconnecting ${n} ${d}`),
    onDisconnected: (i) => events.push(`disconnected ${i.reason} ${i.closeCode}`),
  });
  server.close(server.conns[0], 1006);
  await until(() => events.includes('connected'));
  assert.deepEqual(events, ['reconnecting 1 5', 'connected']);
  assert.equal(server.sockets[1].sent[0].device_id, client.deviceId);
  server.close(server.conns[0], 4001, 'revoked');
  await until(() => events.length === 3);
  assert.equal(events[2], 'disconnected session_invalid 4001');
  assert.equal(client.sessionKey, null);
  await assert.rejects(client.connectWebSocket(), (e) => e.code === 'not_authenticated');
});

test('a refused hello fails connectWebSocket with the server code', async () => {
  const server = new FakeServer();
  const { client } = await makeClient(server, 'alice', { connect: false });
  server.sessions.clear();
  await assert.rejects(client.connectWebSocket(), (e) => e.code === 'unauthorized');
  assert.equal(client.sessionKey, null);
});
