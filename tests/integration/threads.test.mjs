// Several I/O threads: every connection is served, whichever thread it lands on.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startServer, ms } from './lib/server.mjs';
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

// The accept loop opens each next socket on the next thread's context before accepting into it.
// After exactly one connection that socket belongs to the second thread, and the first context
// (which holds the accept loop) used to be destroyed after the second one: the socket then
// released a strand of a destroyed context. Seen by the sanitizer builds (a use after free).
test('--threads 2: a server stopped after one connection shuts down cleanly', { timeout: ms(30000) }, async () => {
  const s = await startServer({ apps: ['a'], flags: ['--threads', '2'] });
  try {
    const reply = await new Promise((resolve, reject) => {
      const sock = net.connect(s.port, '127.0.0.1');
      let text = '';
      sock.setEncoding('utf8');
      sock.on('data', (d) => {
        text += d;
      });
      sock.on('end', () => resolve(text));
      sock.on('error', reject);
      sock.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n');
    });
    assert.match(reply, /^HTTP\/1\.1 200 /);
  } finally {
    await s.stop();
  }
});
