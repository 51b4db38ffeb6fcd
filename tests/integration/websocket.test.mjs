// WebSocket /v1/ws: hello/welcome, failures and close codes, replacement by device_id, ping/pong,
// errors that keep the connection, size and encoding limits, heartbeat and message rate.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, ms } from './lib/server.mjs';
import { assertStatus, UUID_V4 } from './lib/api.mjs';
import { validator } from './lib/openapi.mjs';
import { WsClient, connectWelcome } from './lib/ws.mjs';
import { uniq } from './lib/util.mjs';

let server;
let api;
let app;

before(async () => {
  server = await startServer({ apps: ['a'], flags: ['--hello-timeout-ms', '500'] });
  api = server.api;
  app = server.apps.a;
});

after(async () => {
  await server?.stop();
});

test('hello → welcome with connection_id, user, session_expires_at, heartbeat_s, ongoing_calls, ice_servers', async () => {
  const id = uniq('ws');
  const { session_key } = await api.login(app, id);
  const ws = await WsClient.connect(server.wsUrl);
  const welcome = await ws.hello(session_key, 'device-1');
  assert.equal(welcome.type, 'welcome', JSON.stringify(welcome));
  assert.match(welcome.connection_id, UUID_V4);
  assert.equal(welcome.user.user_id, id);
  validator().assertSchema('User', welcome.user, 'welcome.user');
  assert.equal(welcome.session_expires_at, null);
  assert.equal(welcome.heartbeat_s, 15);
  assert.deepEqual(welcome.ongoing_calls, []);
  assert.deepEqual(welcome.ice_servers, [], 'no STUN/TURN configured on this server');
  assert.equal(welcome.req_id, undefined);
  // Each connection gets its own id.
  const { welcome: w2 } = await connectWelcome(server, session_key, 'device-2');
  assert.notEqual(w2.connection_id, welcome.connection_id);
  ws.close();
});

test('hello without device_id is accepted', async () => {
  const { session_key } = await api.login(app, uniq('nodev'));
  const ws = await WsClient.connect(server.wsUrl);
  const w = await ws.hello(session_key);
  assert.equal(w.type, 'welcome');
  await ws.assertAlive();
  ws.close();
});

test('hello with a bad session key: error frame, then close 4001', async () => {
  const ws = await WsClient.connect(server.wsUrl);
  ws.send({ type: 'hello', session_key: 'A'.repeat(43), device_id: 'd' });
  const err = await ws.next('error');
  assert.equal(err.code, 'unauthorized');
  assert.equal(typeof err.message, 'string');
  assert.equal((await ws.closed()).code, 4001);
});

test('hello failures of every kind: error frame, then close 4001', async () => {
  const { session_key } = await api.login(app, uniq('hf'));
  const bad = [
    '{not json',
    JSON.stringify({ type: 'ping' }),
    JSON.stringify({ type: 'hello' }),
    JSON.stringify({ type: 'hello', session_key: 42 }),
    JSON.stringify({ type: 'hello', session_key, device_id: 'd'.repeat(65) }),
    JSON.stringify({ type: 'hello', session_key, device_id: 7 }),
    JSON.stringify([1, 2]),
  ];
  for (const frame of bad) {
    const ws = await WsClient.connect(server.wsUrl);
    ws.sendRaw(frame);
    const err = await ws.next('error');
    assert.equal(typeof err.code, 'string', frame);
    assert.equal((await ws.closed()).code, 4001, frame);
  }
});

test('no hello within --hello-timeout-ms (500): close 4002', async () => {
  const ws = await WsClient.connect(server.wsUrl);
  const t0 = Date.now();
  const c = await ws.closed(3000);
  assert.equal(c.code, 4002);
  assert.ok(Date.now() - t0 >= 400, 'not closed before the timeout');
});

test('same session and device_id: the new connection replaces the old (4004); the new one stays', async () => {
  const { session_key } = await api.login(app, uniq('rep'));
  const { ws: old } = await connectWelcome(server, session_key, 'phone');
  const { ws: fresh } = await connectWelcome(server, session_key, 'phone');
  assert.equal((await old.closed(1000)).code, 4004);
  await fresh.assertAlive();
  fresh.close();
});

test('different device ids (and no device id) coexist', async () => {
  const { session_key } = await api.login(app, uniq('multi'));
  const { ws: a } = await connectWelcome(server, session_key, 'phone');
  const { ws: b } = await connectWelcome(server, session_key, 'laptop');
  const { ws: c } = await connectWelcome(server, session_key);
  const { ws: d } = await connectWelcome(server, session_key);
  for (const w of [a, b, c, d]) await w.assertAlive();
  for (const w of [a, b, c, d]) w.close();
});

test('the same device_id in two different sessions of two users does not replace', async () => {
  const s1 = (await api.login(app, uniq('u1'))).session_key;
  const s2 = (await api.login(app, uniq('u2'))).session_key;
  const { ws: a } = await connectWelcome(server, s1, 'same-device');
  const { ws: b } = await connectWelcome(server, s2, 'same-device');
  await a.assertAlive();
  await b.assertAlive();
  a.close();
  b.close();
});

test('{"type":"ping"} → {"type":"pong"}', async () => {
  const { session_key } = await api.login(app, uniq('ping'));
  const { ws } = await connectWelcome(server, session_key);
  const pong = await ws.assertAlive();
  assert.equal(pong.type, 'pong');
  ws.close();
});

test('unknown message type with req_id: error invalid_request with that req_id; the connection stays', async () => {
  const { session_key } = await api.login(app, uniq('unk'));
  const { ws } = await connectWelcome(server, session_key);
  ws.send({ type: 'teleport', req_id: 'abc-123' });
  const err = await ws.next('error');
  assert.equal(err.req_id, 'abc-123');
  assert.equal(err.code, 'invalid_request');
  assert.equal(typeof err.message, 'string');
  ws.send({ no_type: true });
  const err2 = await ws.next('error');
  assert.equal(err2.code, 'invalid_request');
  await ws.assertAlive();
  ws.close();
});

test('invalid JSON after welcome: error invalid_request; the connection stays', async () => {
  const { session_key } = await api.login(app, uniq('badjson'));
  const { ws } = await connectWelcome(server, session_key);
  ws.sendRaw('{"type": "ping", oops');
  const err = await ws.next('error');
  assert.equal(err.code, 'invalid_request');
  ws.sendRaw('"just a string"');
  assert.equal((await ws.next('error')).code, 'invalid_request');
  await ws.assertAlive();
  ws.close();
});

test('a req_id over 64 bytes, or not a string: error invalid_request; the connection stays', async () => {
  const { session_key } = await api.login(app, uniq('reqid'));
  const { ws } = await connectWelcome(server, session_key);
  ws.send({ type: 'refresh', req_id: 'x'.repeat(65), session_token: 'abc' });
  assert.equal((await ws.next('error')).code, 'invalid_request');
  ws.send({ type: 'refresh', req_id: 5, session_token: 'abc' });
  assert.equal((await ws.next('error')).code, 'invalid_request');
  await ws.assertAlive();
  ws.close();
});

test('a message nested deeper than 32 levels: error invalid_request; the connection stays', async () => {
  const { session_key } = await api.login(app, uniq('deep'));
  const { ws } = await connectWelcome(server, session_key);
  ws.sendRaw(`{"type":"ping","x":${'['.repeat(40)}${']'.repeat(40)}}`);
  assert.equal((await ws.next('error')).code, 'invalid_request');
  await ws.assertAlive();
  ws.close();
});

test('a second hello after welcome is an error, not a crash; the connection stays', async () => {
  const { session_key } = await api.login(app, uniq('rehello'));
  const { ws } = await connectWelcome(server, session_key);
  ws.send({ type: 'hello', session_key, req_id: 'h2' });
  const m = await ws.next((x) => x.type === 'error' || x.type === 'welcome');
  assert.equal(m.type, 'error');
  assert.equal(m.code, 'invalid_request');
  assert.equal(m.req_id, 'h2');
  await ws.assertAlive();
  ws.close();
});

test('binary frame after welcome: error invalid_request; the connection stays', async () => {
  const { session_key } = await api.login(app, uniq('bin'));
  const { ws } = await connectWelcome(server, session_key);
  ws.sendRaw(Buffer.from(JSON.stringify({ type: 'ping' })), { binary: true });
  const err = await ws.next('error');
  assert.equal(err.code, 'invalid_request');
  await ws.assertAlive();
  ws.close();
});

test('a message over 64 KiB: close 1009', async () => {
  const { session_key } = await api.login(app, uniq('big'));
  const { ws } = await connectWelcome(server, session_key);
  ws.send({ type: 'ping', pad: 'x'.repeat(70 * 1024) });
  assert.equal((await ws.closed()).code, 1009);
  // The server is fine afterwards.
  assertStatus(await api.healthz(), 200);
});

test('a message just under 64 KiB is processed', async () => {
  const { session_key } = await api.login(app, uniq('nearbig'));
  const { ws } = await connectWelcome(server, session_key);
  ws.send({ type: 'ping', pad: 'x'.repeat(60 * 1024) });
  await ws.next('pong');
  ws.close();
});

test('text that is not UTF-8: close 1007', async () => {
  const { session_key } = await api.login(app, uniq('utf'));
  const { ws } = await connectWelcome(server, session_key);
  ws.sendRaw(Buffer.from([0x7b, 0x22, 0x74, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d]), { binary: false });
  assert.equal((await ws.closed()).code, 1007);
  assertStatus(await api.healthz(), 200);
});

test('a plain HTTP GET on /v1/ws (no upgrade) is refused without a crash', async () => {
  const r = await fetch(`${server.url}/v1/ws`);
  assert.ok(r.status >= 400 && r.status < 500, `status ${r.status}`);
  await r.text();
  assertStatus(await api.healthz(), 200);
});

test('--heartbeat-s 1: a client that never answers pings is closed within ~3 s, a normal one stays', async () => {
  const hb = await startServer({ apps: ['a'], flags: ['--heartbeat-s', '1'] });
  try {
    const login = await hb.api.login(hb.apps.a, uniq('hb'));
    const { ws: good, welcome } = await connectWelcome(hb, login.session_key, 'good');
    assert.equal(welcome.heartbeat_s, 1);
    const { ws: mute } = await connectWelcome(hb, login.session_key, 'mute', { autoPong: false });
    const t0 = Date.now();
    const c = await mute.closed(4000);
    assert.ok(Date.now() - t0 <= ms(4000));
    assert.ok(mute.pings >= 1, 'the server pinged the mute client');
    assert.ok(c.code !== 4001 && c.code !== 4004, `closed for liveness, not for auth (${c.code})`);
    // The normal client has answered pings the whole time and is still served.
    await good.pingsReceived(3, 5000);
    await good.assertAlive();
    good.close();
  } finally {
    await hb.stop();
  }
});

test('--ws-msg-rate 5: a burst within the limit is served, a flood is closed 4008', async () => {
  const rl = await startServer({ apps: ['a'], flags: ['--ws-msg-rate', '5'] });
  try {
    const login = await rl.api.login(rl.apps.a, uniq('rate'));
    const { ws } = await connectWelcome(rl, login.session_key, 'calm');
    for (let i = 0; i < 4; i++) await ws.assertAlive();
    const { ws: flood } = await connectWelcome(rl, login.session_key, 'flood');
    for (let i = 0; i < 100; i++) flood.send({ type: 'ping' });
    const c = await flood.closed(3000);
    assert.equal(c.code, 4008);
    // The calm connection of the same user is not affected.
    await ws.assertAlive();
    ws.close();
  } finally {
    await rl.stop();
  }
});

test('closing the socket from the client side leaves the server healthy', async () => {
  const { session_key } = await api.login(app, uniq('bye'));
  const { ws } = await connectWelcome(server, session_key);
  ws.terminate();
  await ws.closed();
  const { ws: again } = await connectWelcome(server, session_key);
  await again.assertAlive();
  again.close();
  assertStatus(await api.healthz(), 200);
});
