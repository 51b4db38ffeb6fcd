// SIGTERM drains: open WebSockets are closed with 1001 and the process exits 0.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from './lib/server.mjs';
import { assertStatus } from './lib/api.mjs';
import { connectWelcome } from './lib/ws.mjs';
import { uniq } from './lib/util.mjs';

test('SIGTERM with open WebSockets: each gets close 1001, and parleyd exits 0', async () => {
  const server = await startServer({ apps: ['a'] });
  try {
    const { api } = server;
    const app = server.apps.a;
    const { session_key } = await api.login(app, uniq('drain'));
    const { ws: a } = await connectWelcome(server, session_key, 'a');
    const { ws: b } = await connectWelcome(server, session_key, 'b');
    assertStatus(await api.healthz(), 200);

    server.terminate();
    const [ca, cb] = await Promise.all([a.closed(5000), b.closed(5000)]);
    assert.equal(ca.code, 1001);
    assert.equal(cb.code, 1001);
  } finally {
    await server.stop(); // awaits the exit and asserts code 0
  }
});

test('SIGTERM with no connections exits 0 promptly', async () => {
  const server = await startServer({ apps: [] });
  const t0 = Date.now();
  await server.stop();
  assert.ok(Date.now() - t0 < 10_000);
});

test('data survives a restart on the same data dir', async () => {
  const { makeTempDir } = await import('./lib/server.mjs');
  const dataDir = await makeTempDir();
  const s1 = await startServer({ apps: ['a'], dataDir });
  const app = s1.apps.a;
  const id = uniq('persist');
  const { access_token } = await s1.api.userWithAccessToken(app, id, { nickname: 'P' });
  await s1.stop();
  const s2 = await startServer({ apps: [], dataDir });
  try {
    const g = await s2.api.platform(app).getUser(id);
    assertStatus(g, 200);
    assert.equal(g.body.user.nickname, 'P');
    assertStatus(await s2.api.auth(app, { user_id: id, access_token }), 200);
  } finally {
    s2.addSecret(access_token);
    await s2.stop();
    const { rm } = await import('node:fs/promises');
    await rm(dataDir, { recursive: true, force: true });
  }
});
