// Direct calls, the happy path and the rules of each request: dial → ringing on every callee
// device → accept → signal / media_state relays → media_connected (once) → end; welcome
// ongoing_calls; dial errors; who may do what and in which state; a second call while one is on.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from './lib/server.mjs';
import { uniq } from './lib/util.mjs';
import { newReqId } from './lib/ws.mjs';
import {
  CallUser,
  assertCall,
  assertAck,
  assertWsError,
  assertNothing,
  callEvent,
  expectEnded,
  dial,
  establish,
  connectCall,
  about,
  sameCall,
} from './lib/calls.mjs';

let server;
let app;
let appB;

before(async () => {
  server = await startServer({ apps: ['a', 'b'] });
  app = server.apps.a;
  appB = server.apps.b;
});

after(async () => {
  await server?.stop();
});

const users = (...specs) => Promise.all(specs.map(([p, n]) => CallUser.create(server, app, uniq(p), n)));

test('a full call: dial, ringing on every callee device, accept, signal both ways, media, connect, end completed', async () => {
  const [alice, bob] = await users(['alice', 1], ['bob', 3]);
  const customItems = { order: '42', 'x-y': 'zé' };
  const t0 = Date.now();
  const call = await dial(alice.ws(), bob.id, { isVideo: true, customItems });
  assertCall(call, {
    caller_id: alice.id,
    callee_id: bob.id,
    is_video: true,
    state: 'ringing',
    accepted_at: null,
    connected_at: null,
    ended_at: null,
    end_result: null,
    ended_by: null,
    duration_ms: 0,
    custom_items: customItems,
  });
  assert.ok(Math.abs(call.created_at - t0) < 5000, 'created_at is now');

  // ringing {call} on every connection of the callee, none on the caller.
  for (const ws of bob.wss) {
    const ev = await callEvent(ws, 'ringing', call.call_id);
    assert.deepEqual(ev.call, call, 'ringing carries the call as dialed');
  }
  await assertNothing(alice.ws(), about('ringing', call.call_id), 'ringing to the caller');

  // Device 1 accepts: ack {call} accepted; caller gets accepted; the two other devices get ended
  // other_device_accepted with ended_by the callee.
  const acc = assertAck(await bob.ws(1).request('accept', { call_id: call.call_id }));
  assertCall(acc.call, { state: 'accepted', end_result: null, ended_at: null });
  sameCall(acc.call, call);
  assert.ok(acc.call.accepted_at >= call.created_at);
  const accepted = await callEvent(alice.ws(), 'accepted', call.call_id);
  assert.deepEqual(accepted.call, acc.call);
  const others = await expectEnded([bob.ws(0), bob.ws(2)], call.call_id, 'other_device_accepted', bob.id);
  for (const c of others) {
    sameCall(c, call);
    assert.equal(c.accepted_at, acc.call.accepted_at);
  }
  await assertNothing(bob.ws(1), about('ended', call.call_id), 'ended to the accepting device');

  // signal: relayed between the two bound connections, in both directions, data untouched.
  const sdp = { type: 'offer', sdp: 'v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n', nested: { list: [1, 'two', null, true] } };
  const s1 = assertAck(await alice.ws().request('signal', { call_id: call.call_id, data: sdp }));
  assert.equal(s1.delivered, true);
  assert.equal(s1.call, undefined);
  const got1 = await bob.ws(1).next(about('signal', call.call_id));
  assert.deepEqual(got1, { type: 'signal', call_id: call.call_id, from_user_id: alice.id, data: sdp });
  const s2 = assertAck(await bob.ws(1).request('signal', { call_id: call.call_id, data: 'candidate:1 1 udp 1 10.0.0.1 9 typ host' }));
  assert.equal(s2.delivered, true);
  const got2 = await alice.ws().next(about('signal', call.call_id));
  assert.deepEqual(got2, { type: 'signal', call_id: call.call_id, from_user_id: bob.id, data: 'candidate:1 1 udp 1 10.0.0.1 9 typ host' });

  // media_state: relayed as remote_media_state, both directions.
  const m1 = assertAck(await alice.ws().request('media_state', { call_id: call.call_id, audio: false, video: true }));
  assert.equal(m1.delivered, true);
  assert.deepEqual(await bob.ws(1).next(about('remote_media_state', call.call_id)), {
    type: 'remote_media_state',
    call_id: call.call_id,
    audio: false,
    video: true,
  });
  const m2 = assertAck(await bob.ws(1).request('media_state', { call_id: call.call_id, audio: true, video: false }));
  assert.equal(m2.delivered, true);
  assert.deepEqual(await alice.ws().next(about('remote_media_state', call.call_id)), {
    type: 'remote_media_state',
    call_id: call.call_id,
    audio: true,
    video: false,
  });
  // The non-bound devices saw none of it.
  for (const ws of [bob.ws(0), bob.ws(2)]) {
    await assertNothing(ws, (m) => ['signal', 'remote_media_state', 'accepted', 'connected'].includes(m.type), 'relay to a non-bound device');
  }

  // media_connected from the callee: connected_at set, connected {call} to both bound connections.
  const mc = assertAck(await bob.ws(1).request('media_connected', { call_id: call.call_id }));
  assertCall(mc.call, { state: 'connected', accepted_at: acc.call.accepted_at });
  assert.ok(mc.call.connected_at >= acc.call.accepted_at);
  assert.deepEqual((await callEvent(alice.ws(), 'connected', call.call_id)).call, mc.call);
  assert.deepEqual((await callEvent(bob.ws(1), 'connected', call.call_id)).call, mc.call);

  // The call as the Platform API sees it meanwhile.
  const live = await server.api.platform(app).getCall(call.call_id);
  assert.equal(live.status, 200);
  assert.deepEqual(live.body.call, mc.call);

  // The caller ends: completed, ended_by caller, to every connection of both users.
  const end = assertAck(await alice.ws().request('end', { call_id: call.call_id }));
  assertCall(end.call, { state: 'ended', end_result: 'completed', ended_by: alice.id, connected_at: mc.call.connected_at });
  assert.equal(end.call.duration_ms, end.call.ended_at - end.call.connected_at);
  const ends = await expectEnded([alice.ws(), ...bob.wss], call.call_id, 'completed', alice.id);
  for (const c of ends) assert.deepEqual(c, end.call);

  const logged = await server.api.platform(app).getCall(call.call_id);
  assert.deepEqual(logged.body.call, end.call, 'the log holds the call as ended');
});

test('media_connected sets connected_at once: a second report (either side) changes nothing and sends no event', async () => {
  const [alice, bob] = await users(['alice', 1], ['bob', 1]);
  const first = await connectCall(alice, bob);
  for (const ws of [alice.ws(), bob.ws(), alice.ws()]) {
    const again = assertAck(await ws.request('media_connected', { call_id: first.call_id }));
    assertCall(again.call, { state: 'connected', connected_at: first.connected_at, accepted_at: first.accepted_at });
  }
  await assertNothing(alice.ws(), about('connected', first.call_id), 'second connected event');
  await assertNothing(bob.ws(), about('connected', first.call_id), 'second connected event');
  const r = await server.api.platform(app).getCall(first.call_id);
  assert.equal(r.body.call.connected_at, first.connected_at);
  const end = assertAck(await bob.ws().request('end', { call_id: first.call_id }));
  assertCall(end.call, { end_result: 'completed', ended_by: bob.id, connected_at: first.connected_at });
  await expectEnded([alice.ws(), bob.ws()], first.call_id, 'completed', bob.id);
});

test('welcome ongoing_calls lists ringing and active calls; a device that connects after the dial can accept', async () => {
  const [alice, bob] = await users(['alice', 1], ['bob', 1]);
  const call = await dial(alice.ws(), bob.id, { isVideo: true });
  await callEvent(bob.ws(), 'ringing', call.call_id);

  // A new device of the callee (as after a push) learns the ringing call from welcome.
  const late = await bob.addDevice(`${bob.id}-late`);
  assert.deepEqual(late.welcome.ongoing_calls, [call]);
  // The caller's new connection sees it too.
  const alice2 = await alice.addDevice(`${alice.id}-second`);
  assert.deepEqual(alice2.welcome.ongoing_calls, [call]);

  // The late device accepts; the first device gets other_device_accepted.
  const acc = assertAck(await late.ws.request('accept', { call_id: call.call_id }));
  assertCall(acc.call, { state: 'accepted' });
  await callEvent(alice.ws(), 'accepted', call.call_id);
  await expectEnded([bob.ws(0)], call.call_id, 'other_device_accepted', bob.id);
  // The caller's second connection is not bound: no accepted event there.
  await assertNothing(alice2.ws, about('accepted', call.call_id), 'accepted to a non-dialing connection');

  const bob3 = await bob.addDevice(`${bob.id}-third`);
  assert.equal(bob3.welcome.ongoing_calls.length, 1);
  assertCall(bob3.welcome.ongoing_calls[0], { call_id: call.call_id, state: 'accepted' });

  assertAck(await late.ws.request('end', { call_id: call.call_id }));
  await expectEnded([...alice.wss, ...bob.wss], call.call_id, 'completed', bob.id);
  const after = await bob.addDevice(`${bob.id}-fourth`);
  assert.deepEqual(after.welcome.ongoing_calls, [], 'an ended call is not ongoing');
});

test('dial errors: dial_myself, callee_not_found (also a user of another app), invalid callee_id, custom_items over the limits', async () => {
  const [alice, bob] = await users(['alice', 1], ['bob', 1]);
  const ws = alice.ws();
  assertWsError(await ws.request('dial', { callee_id: alice.id, is_video: false }), 'dial_myself');
  assertWsError(await ws.request('dial', { callee_id: uniq('nobody'), is_video: false }), 'callee_not_found');
  // A user of app b with a user id unknown in app a.
  const other = uniq('appb');
  await server.api.userWithAccessToken(appB, other);
  assertWsError(await ws.request('dial', { callee_id: other, is_video: false }), 'callee_not_found');
  assertWsError(await ws.request('dial', { is_video: false }), 'invalid_request', 'callee_id');
  assertWsError(await ws.request('dial', { callee_id: 'bad id!', is_video: false }), 'invalid_request', 'callee_id');
  assertWsError(await ws.request('dial', { callee_id: 42, is_video: false }), 'invalid_request', 'callee_id');
  assertWsError(await ws.request('dial', { callee_id: bob.id, is_video: 'yes' }), 'invalid_request', 'is_video');

  const pairs = (n, k = 1, v = 1) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`${'k'.repeat(k - 1)}${String.fromCharCode(97 + i)}`, 'v'.repeat(v)]));
  assertWsError(await ws.request('dial', { callee_id: bob.id, is_video: false, custom_items: pairs(17) }), 'invalid_request', 'custom_items');
  assertWsError(await ws.request('dial', { callee_id: bob.id, is_video: false, custom_items: { k: 'v'.repeat(129) } }), 'invalid_request', 'custom_items');
  assertWsError(await ws.request('dial', { callee_id: bob.id, is_video: false, custom_items: { ['k'.repeat(129)]: 'v' } }), 'invalid_request', 'custom_items');
  // 129 bytes of UTF-8 in 65 characters.
  assertWsError(await ws.request('dial', { callee_id: bob.id, is_video: false, custom_items: { k: 'é'.repeat(64) + 'x' } }), 'invalid_request', 'custom_items');
  assertWsError(await ws.request('dial', { callee_id: bob.id, is_video: false, custom_items: { k: 1 } }), 'invalid_request', 'custom_items');
  assertWsError(await ws.request('dial', { callee_id: bob.id, is_video: false, custom_items: ['a'] }), 'invalid_request', 'custom_items');
  assertWsError(await ws.request('dial', { callee_id: bob.id, is_video: false, custom_items: 'a=b' }), 'invalid_request', 'custom_items');
  // None of those rang anybody.
  await assertNothing(bob.ws(), (m) => m.type === 'ringing', 'ringing after a refused dial');

  // Exactly at the limits: 16 pairs of 128-byte keys and values.
  const max = pairs(16, 128, 128);
  const call = await dial(ws, bob.id, { customItems: max });
  assert.deepEqual(call.custom_items, max);
  assert.deepEqual((await callEvent(bob.ws(), 'ringing', call.call_id)).call.custom_items, max);
  assertAck(await ws.request('end', { call_id: call.call_id }));
  await expectEnded([ws, bob.ws()], call.call_id, 'canceled', alice.id);
});

test('dial without is_video: invalid_request naming is_video (the contract lists it as required)', async () => {
  const [alice, bob] = await users(['alice', 1], ['bob', 1]);
  const r = await alice.ws().request('dial', { callee_id: bob.id });
  if (r.type === 'ack') {
    // Clean up so that the failure below is the only effect.
    await alice.ws().request('end', { call_id: r.call.call_id });
  }
  assertWsError(r, 'invalid_request', 'is_video');
});

test('requests without req_id, without call_id, or about an unknown call', async () => {
  const [alice] = await users(['alice', 1]);
  const ws = alice.ws();
  for (const type of ['dial', 'accept', 'decline', 'end', 'signal', 'media_connected', 'media_state']) {
    ws.send({ type, call_id: '00000000-0000-4000-8000-000000000000', callee_id: 'x', is_video: false, data: 1, audio: true, video: true });
    const e = await ws.next('error');
    assertWsError(e, 'invalid_request', 'req_id');
    assert.equal(e.req_id, undefined, `${type}: no req_id to echo`);
  }
  const unknown = '6f1c5c7e-2b1a-4c1e-9a51-0d9e3f0a1b2c';
  for (const [type, extra] of [
    ['accept', {}],
    ['decline', {}],
    ['end', {}],
    ['signal', { data: { a: 1 } }],
    ['media_connected', {}],
    ['media_state', { audio: true, video: true }],
  ]) {
    assertWsError(await ws.request(type, { ...extra }), 'invalid_request', 'call_id');
    assertWsError(await ws.request(type, { call_id: unknown, ...extra }), 'not_found');
  }
  await ws.assertAlive();
});

test('who may do what: accept/decline only by the callee, end only by a party, in the right state', async () => {
  const [alice, bob, carol] = await users(['alice', 1], ['bob', 2], ['carol', 1]);
  const call = await dial(alice.ws(), bob.id);
  await Promise.all(bob.wss.map((ws) => callEvent(ws, 'ringing', call.call_id)));
  const id = { call_id: call.call_id };

  assertWsError(await alice.ws().request('accept', id), 'forbidden');
  assertWsError(await alice.ws().request('decline', id), 'forbidden');
  assertWsError(await carol.ws().request('accept', id), 'forbidden');
  assertWsError(await carol.ws().request('decline', id), 'forbidden');
  assertWsError(await carol.ws().request('end', id), 'forbidden');
  // Before accept nothing is relayed and nothing connects.
  assertWsError(await alice.ws().request('signal', { ...id, data: {} }), 'invalid_call_state');
  assertWsError(await alice.ws().request('media_state', { ...id, audio: true, video: true }), 'invalid_call_state');
  assertWsError(await alice.ws().request('media_connected', id), 'invalid_call_state');
  assertWsError(await bob.ws(0).request('signal', { ...id, data: {} }), 'forbidden');

  assertAck(await bob.ws(0).request('accept', id));
  await callEvent(alice.ws(), 'accepted', call.call_id);
  await expectEnded([bob.ws(1)], call.call_id, 'other_device_accepted', bob.id);
  assertWsError(await bob.ws(0).request('accept', id), 'invalid_call_state');
  assertWsError(await bob.ws(1).request('accept', id), 'invalid_call_state');
  assertWsError(await bob.ws(0).request('decline', id), 'invalid_call_state');
  assertWsError(await carol.ws().request('end', id), 'forbidden');

  // Wrong payloads from a bound connection.
  assertWsError(await alice.ws().request('signal', { ...id }), 'invalid_request', 'data');
  assertWsError(await alice.ws().request('signal', { ...id, data: null }), 'invalid_request', 'data');
  assertWsError(await alice.ws().request('media_state', { ...id, video: true }), 'invalid_request', 'audio');
  assertWsError(await alice.ws().request('media_state', { ...id, audio: true }), 'invalid_request', 'video');
  assertWsError(await alice.ws().request('media_state', { ...id, audio: 'on', video: true }), 'invalid_request', 'audio');

  const end = assertAck(await bob.ws(0).request('end', id));
  assertCall(end.call, { end_result: 'completed', ended_by: bob.id, connected_at: null, duration_ms: 0 });
  await expectEnded([alice.ws(), ...bob.wss], call.call_id, 'completed', bob.id);
  // Everything on an ended call: invalid_call_state (still forbidden for strangers).
  for (const [type, extra] of [
    ['accept', {}],
    ['decline', {}],
    ['end', {}],
    ['media_connected', {}],
    ['signal', { data: 1 }],
    ['media_state', { audio: true, video: true }],
  ]) {
    const ws = type === 'accept' || type === 'decline' ? bob.ws(0) : alice.ws();
    assertWsError(await ws.request(type, { ...id, ...extra }), 'invalid_call_state');
  }
  assertWsError(await carol.ws().request('end', id), 'forbidden');
  // Carol, a bystander, saw nothing of this call.
  await assertNothing(carol.ws(), (m) => m.type !== 'pong', 'event to a bystander');
});

test('signal and media_state only between the bound connections: another caller connection or a non-accepting callee device is forbidden', async () => {
  const [alice, bob] = await users(['alice', 2], ['bob', 2]);
  const call = await establish(alice, bob, { ci: 0, ai: 1 });
  const id = { call_id: call.call_id };
  // Alice's second connection (same user, did not dial) and Bob's device 0 (did not accept).
  for (const ws of [alice.ws(1), bob.ws(0)]) {
    assertWsError(await ws.request('signal', { ...id, data: { sdp: 'x' } }), 'forbidden');
    assertWsError(await ws.request('media_state', { ...id, audio: true, video: false }), 'forbidden');
    assertWsError(await ws.request('media_connected', id), 'forbidden');
  }
  // A signal from the caller reaches only Bob's device 1.
  const ack = assertAck(await alice.ws(0).request('signal', { ...id, data: { n: 1 } }));
  assert.equal(ack.delivered, true);
  assert.deepEqual((await bob.ws(1).next(about('signal', call.call_id))).data, { n: 1 });
  await assertNothing(bob.ws(0), about('signal', call.call_id), 'signal to the non-accepting device');
  await assertNothing(alice.ws(1), about('signal', call.call_id), 'signal to the caller\'s other connection');
  // And back: only Alice's dialing connection.
  assertAck(await bob.ws(1).request('media_state', { ...id, audio: false, video: false }));
  await alice.ws(0).next(about('remote_media_state', call.call_id));
  await assertNothing(alice.ws(1), about('remote_media_state', call.call_id), 'media state to a non-bound connection');
  // Many signals keep their order.
  const acks = await Promise.all(Array.from({ length: 20 }, (_, i) => alice.ws(0).request('signal', { ...id, data: { i } })));
  for (const a of acks) assert.equal(assertAck(a).delivered, true);
  for (let i = 0; i < 20; i++) assert.deepEqual((await bob.ws(1).next(about('signal', call.call_id))).data, { i });

  assertAck(await alice.ws(0).request('end', id));
  await expectEnded([...alice.wss, ...bob.wss], call.call_id, 'completed', alice.id);
});

test('a second incoming call rings every callee device while one is active; the first goes on', async () => {
  const [alice, bob, carol] = await users(['alice', 1], ['bob', 2], ['carol', 1]);
  const first = await connectCall(alice, bob, { ai: 0 });
  const second = await dial(carol.ws(), bob.id, { isVideo: true });
  for (const ws of bob.wss) assertCall((await callEvent(ws, 'ringing', second.call_id)).call, { caller_id: carol.id, state: 'ringing' });
  await assertNothing(alice.ws(), about('ringing', second.call_id), 'ringing of another user\'s call');
  // Both are ongoing for Bob.
  const d = await bob.addDevice(`${bob.id}-x`);
  assert.deepEqual(d.welcome.ongoing_calls.map((c) => c.call_id).sort(), [first.call_id, second.call_id].sort());
  // Bob declines the second from the busy device; Carol and all of Bob's connections learn it.
  const dec = assertAck(await bob.ws(0).request('decline', { call_id: second.call_id }));
  assertCall(dec.call, { state: 'ended', end_result: 'declined', ended_by: bob.id });
  await expectEnded([carol.ws(), ...bob.wss], second.call_id, 'declined', bob.id);
  await assertNothing(alice.ws(), about('ended', second.call_id), 'ended of a call Alice is not in');
  // The first call still relays.
  assert.equal(assertAck(await alice.ws().request('signal', { call_id: first.call_id, data: 'still here' })).delivered, true);
  assert.equal((await bob.ws(0).next(about('signal', first.call_id))).data, 'still here');
  assertAck(await bob.ws(0).request('end', { call_id: first.call_id }));
  await expectEnded([alice.ws(), ...bob.wss], first.call_id, 'completed', bob.id);
});

test('a callee accepts a second call from another device while the first is active; both run independently', async () => {
  const [alice, bob, carol] = await users(['alice', 1], ['bob', 2], ['carol', 1]);
  const first = await connectCall(alice, bob, { ai: 0 });
  const second = await dial(carol.ws(), bob.id);
  await Promise.all(bob.wss.map((ws) => callEvent(ws, 'ringing', second.call_id)));
  assertAck(await bob.ws(1).request('accept', { call_id: second.call_id }));
  await callEvent(carol.ws(), 'accepted', second.call_id);
  // The other device of Bob (the one in the first call) gets the other_device_accepted copy.
  await expectEnded([bob.ws(0)], second.call_id, 'other_device_accepted', bob.id);
  // Relays stay within each call's bound pair.
  assertAck(await carol.ws().request('signal', { call_id: second.call_id, data: 2 }));
  assertAck(await alice.ws().request('signal', { call_id: first.call_id, data: 1 }));
  assert.equal((await bob.ws(1).next(about('signal', second.call_id))).data, 2);
  assert.equal((await bob.ws(0).next(about('signal', first.call_id))).data, 1);
  await assertNothing(bob.ws(0), about('signal', second.call_id), 'cross-call relay');
  await assertNothing(bob.ws(1), about('signal', first.call_id), 'cross-call relay');
  assertAck(await carol.ws().request('end', { call_id: second.call_id }));
  assertAck(await alice.ws().request('end', { call_id: first.call_id }));
  await expectEnded([carol.ws(), ...bob.wss], second.call_id, 'completed', carol.id);
  await expectEnded([alice.ws(), ...bob.wss], first.call_id, 'completed', alice.id);
});

test('the same user id in another app is not rung; calls of one app are invisible to the other', async () => {
  const name = uniq('twin');
  const [alice] = await users(['alice', 1]);
  const bobA = await CallUser.create(server, app, name, 1);
  const bobB = await CallUser.create(server, appB, name, 1);
  const call = await dial(alice.ws(), name);
  await callEvent(bobA.ws(), 'ringing', call.call_id);
  await assertNothing(bobB.ws(), (m) => m.type === 'ringing', 'ringing in another app');
  // Bob of app b cannot touch the call of app a.
  assertWsError(await bobB.ws().request('accept', { call_id: call.call_id }), 'not_found');
  assertWsError(await bobB.ws().request('end', { call_id: call.call_id }), 'not_found');
  assertAck(await bobA.ws().request('decline', { call_id: call.call_id }));
  await expectEnded([alice.ws(), bobA.ws()], call.call_id, 'declined', name);
  await assertNothing(bobB.ws(), (m) => m.type === 'ended', 'ended in another app');
});

test('signal data is any JSON value (false, 0, "", [], {}) and a 64 KiB signal frame is relayed intact', async () => {
  const [alice, bob] = await users(['alice', 1], ['bob', 1]);
  const call = await connectCall(alice, bob);
  for (const data of [false, 0, '', [], {}, true, 'x']) {
    assert.equal(assertAck(await alice.ws().request('signal', { call_id: call.call_id, data })).delivered, true);
    assert.deepEqual((await bob.ws().next(about('signal', call.call_id))).data, data);
  }
  // A request frame of exactly 64 KiB (the limit) whose relay is a little larger.
  const shell = JSON.stringify({ type: 'signal', req_id: 'max-frame', call_id: call.call_id, data: '' });
  const data = 'a'.repeat(65536 - Buffer.byteLength(shell));
  bob.ws().sendRaw(JSON.stringify({ type: 'signal', req_id: 'max-frame', call_id: call.call_id, data }));
  const ack = await bob.ws().next((m) => m.req_id === 'max-frame');
  assert.equal(assertAck(ack).delivered, true);
  const got = await alice.ws().next(about('signal', call.call_id));
  assert.equal(got.data, data);
  assert.equal(got.from_user_id, bob.id);
  assertAck(await alice.ws().request('end', { call_id: call.call_id }));
  await expectEnded([alice.ws(), bob.ws()], call.call_id, 'completed', alice.id);
});

test('a callee with no connection at dial time finds the ringing call in welcome and accepts it', async () => {
  const [alice] = await users(['alice', 1]);
  const bob = await CallUser.create(server, app, uniq('bob'), 0);
  const call = await dial(alice.ws(), bob.id, { isVideo: true });
  const d = await bob.addDevice(`${bob.id}-woken`);
  assert.deepEqual(d.welcome.ongoing_calls, [call]);
  assertCall(assertAck(await d.ws.request('accept', { call_id: call.call_id })).call, { state: 'accepted' });
  await callEvent(alice.ws(), 'accepted', call.call_id);
  assertWsError(await d.ws.request('decline', { call_id: call.call_id }), 'invalid_call_state');
  assertAck(await d.ws.request('end', { call_id: call.call_id }));
  await expectEnded([alice.ws(), d.ws], call.call_id, 'completed', bob.id);
});

test("one connection's requests apply in the order sent, even when the next is sent before the answer", async () => {
  // Call changes are committed by the store's group-commit thread; the server reads nothing more
  // from that connection until the answer is out. Sent back to back without waiting: accept,
  // a signal that needs the accept, media_connected, then end.
  const [alice, bob] = await users(['alice', 1], ['bob', 1]);
  for (let round = 0; round < 5; round++) {
    const call = await dial(alice.ws(), bob.id);
    await callEvent(bob.ws(), 'ringing', call.call_id);
    const ids = ['accept', 'signal', 'media_connected', 'end'].map((type) => ({ type, req_id: newReqId() }));
    const fields = { accept: {}, signal: { data: 'offer' }, media_connected: {}, end: {} };
    for (const { type, req_id } of ids) bob.ws().send({ type, req_id, call_id: call.call_id, ...fields[type] });
    const answers = [];
    for (const { req_id } of ids) answers.push(await bob.ws().next((m) => m.req_id === req_id && (m.type === 'ack' || m.type === 'error')));
    assert.equal(assertAck(answers[0], 'accept').call.state, 'accepted');
    assert.equal(assertAck(answers[1], 'signal').delivered, true);
    assert.equal(assertAck(answers[2], 'media_connected').call.state, 'connected');
    const ended = assertAck(answers[3], 'end').call;
    assert.equal(ended.state, 'ended');
    assert.equal(ended.end_result, 'completed');
    assert.equal((await alice.ws().next(about('signal', call.call_id))).data, 'offer');
    await expectEnded([alice.ws()], call.call_id, 'completed', bob.id);
  }
});
