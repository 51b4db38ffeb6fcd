// WebSocket edge: refused handshakes answer the protocol's JSON error body; a ping flood is
// closed with 1008.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from './lib/server.mjs';
import { rawRequest } from './lib/raw_http.mjs';
import { connectWelcome } from './lib/ws.mjs';
import { parseMetrics, uniq } from './lib/util.mjs';

let server;

before(async () => {
  server = await startServer({ apps: ['a'] });
});

after(async () => {
  await server?.stop();
});

const KEY = 'dGhlIHNhbXBsZSBub25jZQ==';

function upgrade(target, headers) {
  const lines = [`GET ${target} HTTP/1.1`, 'Host: 127.0.0.1', ...headers, '', ''];
  return rawRequest(server.port, lines.join('\r\n'));
}

function assertJsonError(r, status, code) {
  assert.equal(r.status, status, r.raw.slice(0, 300));
  assert.match(r.headers['content-type'] ?? '', /^application\/json/);
  const body = JSON.parse(r.body);
  assert.equal(body.error.code, code);
  assert.equal(typeof body.error.message, 'string');
  assert.ok(body.error.message.length > 0);
  return body;
}

test('an upgrade without Sec-WebSocket-Key is 400 invalid_request with a JSON body', async () => {
  const r = await upgrade('/v1/ws', ['Connection: Upgrade', 'Upgrade: websocket', 'Sec-WebSocket-Version: 13']);
  assertJsonError(r, 400, 'invalid_request');
});

test('an upgrade with a bad Sec-WebSocket-Key is 400 invalid_request with a JSON body', async () => {
  const r = await upgrade('/v1/ws', [
    'Connection: Upgrade',
    'Upgrade: websocket',
    'Sec-WebSocket-Version: 13',
    `Sec-WebSocket-Key: ${'x'.repeat(80)}`,
  ]);
  assertJsonError(r, 400, 'invalid_request');
});

test('an upgrade with a wrong Sec-WebSocket-Version is 400 JSON and names version 13', async () => {
  const r = await upgrade('/v1/ws', [
    'Connection: Upgrade',
    'Upgrade: websocket',
    'Sec-WebSocket-Version: 8',
    `Sec-WebSocket-Key: ${KEY}`,
  ]);
  assertJsonError(r, 400, 'invalid_request');
  assert.equal(r.headers['sec-websocket-version'], '13');
});

test('an upgrade without Sec-WebSocket-Version is 400 JSON', async () => {
  const r = await upgrade('/v1/ws', ['Connection: Upgrade', 'Upgrade: websocket', `Sec-WebSocket-Key: ${KEY}`]);
  assertJsonError(r, 400, 'invalid_request');
});

test('an upgrade on another path is 404 not_found JSON', async () => {
  const r = await upgrade('/v1/wss', [
    'Connection: Upgrade',
    'Upgrade: websocket',
    'Sec-WebSocket-Version: 13',
    `Sec-WebSocket-Key: ${KEY}`,
  ]);
  assertJsonError(r, 404, 'not_found');
});

test('GET /v1/ws without an upgrade is 400 invalid_request JSON', async () => {
  const r = await upgrade('/v1/ws', ['Connection: close']);
  assertJsonError(r, 400, 'invalid_request');
  const half = await upgrade('/v1/ws', ['Upgrade: websocket', `Sec-WebSocket-Key: ${KEY}`, 'Connection: close']);
  assertJsonError(half, 400, 'invalid_request');
});

test('a ping flood is closed with 1008; a few pings are answered', async () => {
  const login = await server.api.login(server.apps.a, uniq('ping'));
  const { ws: calm } = await connectWelcome(server, login.session_key, 'calm');
  let pongs = 0;
  const fivePongs = new Promise((resolve) =>
    calm.ws.on('pong', () => {
      if (++pongs === 5) resolve();
    }),
  );
  for (let i = 0; i < 5; i++) calm.ws.ping();
  await fivePongs;
  await calm.assertAlive();

  const { ws: flood } = await connectWelcome(server, login.session_key, 'flood');
  for (let i = 0; i < 500 && flood.isOpen; i++) flood.ws.ping();
  const c = await flood.closed(5000);
  assert.equal(c.code, 1008);
  assert.match(c.reason, /ping/);
  await calm.assertAlive();
  calm.ws.close();
  const m = parseMetrics(await (await fetch(`${server.url}/metrics`)).text());
  const closes = m.find((x) => x.name === 'parley_ws_closes_total' && x.labels.code === '1008');
  assert.ok(closes && closes.value >= 1);
});
