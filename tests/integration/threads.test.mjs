// Several I/O threads: every connection is served, whichever thread it lands on.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from './lib/server.mjs';
import { assertStatus } from './lib/api.mjs';
import { connectWelcome } from './lib/ws.mjs';
import { uniq } from './lib/util.mjs';

let server;

before(async () => {
  server = await startServer({ apps: ['a'], flags: ['--threads', '3'] });
});

after(async () => {
  await server?.stop();
});

test('--threads 3: concurrent requests on fresh connections are all answered', { timeout: 20000 }, async () => {
  const P = server.api.platform(server.apps.a);
  const ids = Array.from({ length: 60 }, () => uniq('t'));
  // Concurrent requests open many connections, which the server spreads over its threads.
  const results = await Promise.all(ids.map((id) => P.createUser(id)));
  for (const r of results) assertStatus(r, 201);
});

test('--threads 3: WebSockets on every thread get their welcome and pong', { timeout: 20000 }, async () => {
  const sockets = [];
  for (let i = 0; i < 9; i++) {
    const { session_key } = await server.api.login(server.apps.a, uniq('w'));
    const { ws } = await connectWelcome(server, session_key, `dev-${i}`);
    sockets.push(ws);
  }
  for (const ws of sockets) {
    ws.send({ type: 'ping' });
    const pong = await ws.next('pong');
    assert.equal(pong.type, 'pong');
  }
  for (const ws of sockets) ws.close();
});
