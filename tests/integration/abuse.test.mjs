// Issue 11, defects 3 and 4, at small scale: one user cannot keep another from connecting by
// leaving calls ringing (per-caller and per-callee ringing limits, a bounded welcome), a relay
// dropped by a full queue is not acknowledged as delivered, and a user's sessions are capped
// (the oldest ends, its socket closes 4001, across a restart).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { startServer, makeTempDir } from './lib/server.mjs';
import { assertError, assertStatus } from './lib/api.mjs';
import { uniq, parseMetrics, metricValue } from './lib/util.mjs';
import { WsClient, connectWelcome } from './lib/ws.mjs';
import { CallUser, assertAck, assertWsError, dial, establish } from './lib/calls.mjs';

let server;

before(async () => {
  // A high message rate: the slow-consumer test floods one connection.
  server = await startServer({ apps: ['a', 'b'], flags: ['--ws-msg-rate', '5000'] });
});

after(async () => {
  await server?.stop();
});

test('ringing limits: dials past the caller\'s and the callee\'s limits are refused, the callee still gets its welcome', async () => {
  const app = server.apps.a;
  const P = server.api.platform(app);
  assertStatus(await P.patchSettings({ max_ringing_per_caller: 3, max_ringing_per_callee: 5 }), 200);
  const settings = await P.getSettings();
  assert.equal(settings.body.max_ringing_per_caller, 3);
  assert.equal(settings.body.max_ringing_per_callee, 5);
  for (const [field, value] of [['max_ringing_per_caller', 0], ['max_ringing_per_callee', 1001], ['max_ringing_per_caller', 'x']])
    assertError(await P.patchSettings({ [field]: value }), 400, 'invalid_request', field);

  const bob = uniq('bob');
  const bobToken = (await server.api.userWithAccessToken(app, bob)).access_token;
  const alice = await CallUser.create(server, app, uniq('alice'), 4);
  const carol = await CallUser.create(server, app, uniq('carol'), 1);

  // The attack: the caller dials the callee from every connection at once, several times each.
  // Exactly the caller's limit ring, however the dials race through the group commit.
  const answers = await Promise.all(
    alice.wss.flatMap((ws) => [0, 1, 2].map(() => ws.request('dial', { callee_id: bob, is_video: false }))),
  );
  const acks = answers.filter((m) => m.type === 'ack');
  const refused = answers.filter((m) => m.type === 'error');
  assert.equal(acks.length, 3, JSON.stringify(answers));
  for (const e of refused) {
    assertWsError(e, 'rate_limited');
    assert.ok(Number.isInteger(e.retry_after_s) && e.retry_after_s >= 1 && e.retry_after_s <= 60, JSON.stringify(e));
  }

  // Another caller fills the callee up to its limit, then is refused with invalid_call_state.
  await dial(carol.ws(), bob);
  await dial(carol.ws(), bob);
  assertWsError(await carol.ws().request('dial', { callee_id: bob, is_video: false }), 'invalid_call_state');

  // The callee connects: welcome with its five ringing calls.
  const session = await server.api.authOk(app, { user_id: bob, access_token: bobToken });
  const { ws, welcome } = await connectWelcome(server, session.session_key);
  assert.equal(welcome.ongoing_calls.length, 5);
  assert.equal(welcome.ongoing_calls_more, false);

  // A call that stops ringing frees its caller's slot.
  const first = acks[0].call;
  assertAck(await alice.ws().request('end', { call_id: first.call_id }));
  const again = await alice.ws().request('dial', { callee_id: carol.id, is_video: false });
  assertAck(again);
  ws.close();
  alice.closeAll();
  carol.closeAll();
});

test('welcome lists the newest 50 ongoing calls and says more exist; the rest are in the call log', async () => {
  const app = server.apps.b;
  const P = server.api.platform(app);
  assertStatus(await P.patchSettings({ max_ringing_per_caller: 100, max_ringing_per_callee: 100 }), 200);
  const bob = uniq('bob');
  const { access_token } = await server.api.userWithAccessToken(app, bob);
  const alice = await CallUser.create(server, app, uniq('alice'), 1);
  const calls = [];
  for (let i = 0; i < 53; ++i) calls.push(await dial(alice.ws(), bob));

  const session = await server.api.authOk(app, { user_id: bob, access_token });
  const { ws, welcome } = await connectWelcome(server, session.session_key);
  assert.equal(welcome.ongoing_calls.length, 50);
  assert.equal(welcome.ongoing_calls_more, true);
  const listed = new Set(welcome.ongoing_calls.map((c) => c.call_id));
  for (const c of calls.slice(3)) assert.ok(listed.has(c.call_id), `newest call ${c.call_id} in the welcome`);
  for (const c of calls.slice(0, 3)) assert.ok(!listed.has(c.call_id), `oldest call ${c.call_id} left out`);
  // The others: the user's call log (newest first).
  const log = await server.api.myCalls(session.session_key, '?limit=100');
  assertStatus(log, 200);
  const logged = new Set(log.body.calls.map((c) => c.call_id));
  for (const c of calls.slice(0, 3)) assert.ok(logged.has(c.call_id));
  ws.close();
  alice.closeAll();
});

test('a relay dropped by a full send queue is acked delivered: false and the slow peer is closed 1008 (counted)', async () => {
  const app = server.apps.a;
  const alice = await CallUser.create(server, app, uniq('alice'), 1);
  const bob = await CallUser.create(server, app, uniq('bob'), 1);
  const call = await establish(alice, bob);
  const before = metricValue(parseMetrics((await server.api.req('GET', '/metrics', { validate: false })).text), 'parley_ws_closes_total', { code: '1008' }) ?? 0;

  // Bob stops reading: the kernel buffers fill, then the server's queue (1 MiB).
  bob.ws().ws._socket.pause();
  const data = { blob: 'x'.repeat(60 * 1024) };
  let dropped = null;
  for (let i = 0; i < 2000 && !dropped; ++i) {
    const ack = assertAck(await alice.ws().request('signal', { call_id: call.call_id, data }), 'signal');
    assert.equal(typeof ack.delivered, 'boolean');
    if (!ack.delivered) dropped = ack;
  }
  assert.ok(dropped, 'a signal to a peer whose queue is full is acked delivered: false');
  // Once refused, never delivered again: the peer is being closed.
  assert.equal(assertAck(await alice.ws().request('signal', { call_id: call.call_id, data: {} })).delivered, false);

  bob.ws().ws._socket.resume();
  assert.equal((await bob.ws().closed(10000)).code, 1008);
  const after = metricValue(parseMetrics((await server.api.req('GET', '/metrics', { validate: false })).text), 'parley_ws_closes_total', { code: '1008' });
  assert.equal(after, before + 1);
  alice.closeAll();
});

test('a user holds at most --max-sessions-per-user sessions: the next one ends the oldest (4001), also after a restart', async () => {
  const dataDir = await makeTempDir('parley-sessions-');
  let s = await startServer({ apps: ['a'], dataDir, flags: ['--max-sessions-per-user', '5'] });
  try {
    const app = s.apps.a;
    const user = uniq('ann');
    const { access_token } = await s.api.userWithAccessToken(app, user);
    const login = async () => (await s.api.authOk(app, { user_id: user, access_token })).session_key;
    const keys = [];
    for (let i = 0; i < 5; ++i) keys.push(await login());
    const { ws: oldest } = await connectWelcome(s, keys[0]);
    const { ws: second } = await connectWelcome(s, keys[1]);

    keys.push(await login()); // the sixth: ends keys[0]
    assert.equal((await oldest.closed()).code, 4001);
    assertError(await s.api.me(keys[0]), 401, 'unauthorized');
    for (const k of keys.slice(1)) assertStatus(await s.api.me(k), 200);
    await second.assertAlive();
    // Another user is not affected.
    const other = uniq('ben');
    const o = await s.api.userWithAccessToken(app, other);
    const otherKey = (await s.api.authOk(app, { user_id: other, access_token: o.access_token })).session_key;

    second.close();
    await s.stop();
    s = await startServer({ apps: [], dataDir, flags: ['--max-sessions-per-user', '5'] });
    s.apps.a = app;
    for (const k of keys.slice(1)) assertStatus(await s.api.me(k), 200);
    const { ws } = await connectWelcome(s, keys[1]);
    keys.push(await login()); // the seventh, after the restart: ends keys[1]
    assert.equal((await ws.closed()).code, 4001);
    assertError(await s.api.me(keys[1]), 401, 'unauthorized');
    for (const k of keys.slice(2)) assertStatus(await s.api.me(k), 200);
    assertStatus(await s.api.me(otherKey), 200);
  } finally {
    await s.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
});
