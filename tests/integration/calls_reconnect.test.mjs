// Direct calls across a dropped connection: within reconnect_grace_s a new WebSocket of the same
// user and device_id takes the call back (peer_reconnecting, then peer_reconnected to the peer;
// the call is in the new welcome's ongoing_calls; relays go to the new connection; the call can
// be ended completed). Another device_id does not take it back. A replacing connection (4004)
// takes the call over at once.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from './lib/server.mjs';
import { uniq } from './lib/util.mjs';
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
} from './lib/calls.mjs';

let server;

before(async () => {
  server = await startServer({ apps: ['long', 'short'] });
  const r1 = await server.api.platform(server.apps.long).patchSettings({ reconnect_grace_s: 30 });
  assert.equal(r1.status, 200);
  const r2 = await server.api.platform(server.apps.short).patchSettings({ reconnect_grace_s: 2 });
  assert.equal(r2.status, 200);
});

after(async () => {
  await server?.stop();
});

const pair = (appName, nA = 1, nB = 1) =>
  Promise.all([
    CallUser.create(server, server.apps[appName], uniq('alice'), nA),
    CallUser.create(server, server.apps[appName], uniq('bob'), nB),
  ]);

async function signalBothWays(alice, ai, bob, bi, callId, tag) {
  const a = assertAck(await alice.ws(ai).request('signal', { call_id: callId, data: { from: 'a', tag } }));
  assert.equal(a.delivered, true);
  assert.deepEqual((await bob.ws(bi).next(about('signal', callId))).data, { from: 'a', tag });
  const b = assertAck(await bob.ws(bi).request('signal', { call_id: callId, data: { from: 'b', tag } }));
  assert.equal(b.delivered, true);
  assert.deepEqual((await alice.ws(ai).next(about('signal', callId))).data, { from: 'b', tag });
}

test('the caller drops and comes back with the same device_id within the grace: the call goes on and ends completed', async () => {
  const [alice, bob] = await pair('long', 2, 2);
  const call = await connectCall(alice, bob, { ci: 0, ai: 1 });
  alice.ws(0).terminate();
  assert.deepEqual(await bob.ws(1).next(about('peer_reconnecting', call.call_id)), { type: 'peer_reconnecting', call_id: call.call_id });
  await assertNothing(bob.ws(0), about('peer_reconnecting', call.call_id), 'peer_reconnecting to a non-bound device');

  // Meanwhile: the peer's relays are not delivered; the caller's other connection is not bound.
  const s = assertAck(await bob.ws(1).request('signal', { call_id: call.call_id, data: 'lost' }));
  assert.equal(s.delivered, false);
  const m = assertAck(await bob.ws(1).request('media_state', { call_id: call.call_id, audio: false, video: false }));
  assert.equal(m.delivered, false);
  assertWsError(await alice.ws(1).request('signal', { call_id: call.call_id, data: 'x' }), 'forbidden');
  const live = await server.api.platform(server.apps.long).getCall(call.call_id);
  assertCall(live.body.call, { state: 'connected', end_result: null });

  // Same session, same device_id.
  const back = await alice.reconnect(0);
  assert.equal(back.welcome.ongoing_calls.length, 1);
  assertCall(back.welcome.ongoing_calls[0], { call_id: call.call_id, state: 'connected', connected_at: call.connected_at });
  assert.deepEqual(await bob.ws(1).next(about('peer_reconnected', call.call_id)), { type: 'peer_reconnected', call_id: call.call_id });
  // What was sent while away is not replayed.
  await assertNothing(back.ws, (m2) => m2.type === 'signal' || m2.type === 'remote_media_state', 'a relay sent during the grace');

  await signalBothWays(alice, 0, bob, 1, call.call_id, 'after reconnect');
  const mc = assertAck(await alice.ws(0).request('media_connected', { call_id: call.call_id }));
  assert.equal(mc.call.connected_at, call.connected_at, 'connected_at does not move on reconnect');

  const end = assertAck(await alice.ws(0).request('end', { call_id: call.call_id }));
  assertCall(end.call, { end_result: 'completed', ended_by: alice.id, connected_at: call.connected_at });
  await expectEnded([...alice.wss, ...bob.wss], call.call_id, 'completed', alice.id);
});

test('the callee drops (clean close) and comes back with a new session and the same device_id: rebinds, then the callee ends it', async () => {
  const [alice, bob] = await pair('long', 1, 2);
  const call = await connectCall(alice, bob, { ai: 0 });
  bob.ws(0).close();
  await alice.ws().next(about('peer_reconnecting', call.call_id));
  const back = await bob.reconnect(0, { newSession: true });
  assert.deepEqual(back.welcome.ongoing_calls.map((c) => [c.call_id, c.state]), [[call.call_id, 'connected']]);
  await alice.ws().next(about('peer_reconnected', call.call_id));

  const ms1 = assertAck(await alice.ws().request('media_state', { call_id: call.call_id, audio: true, video: true }));
  assert.equal(ms1.delivered, true);
  assert.deepEqual(await back.ws.next(about('remote_media_state', call.call_id)), { type: 'remote_media_state', call_id: call.call_id, audio: true, video: true });
  await signalBothWays(alice, 0, bob, 0, call.call_id, 'new session');
  // The callee's other device is still not bound.
  assertWsError(await bob.ws(1).request('signal', { call_id: call.call_id, data: 1 }), 'forbidden');

  assertAck(await back.ws.request('end', { call_id: call.call_id }));
  await expectEnded([alice.ws(), ...bob.wss], call.call_id, 'completed', bob.id);
});

test('a call accepted but not yet connected survives a reconnect and then connects', async () => {
  const [alice, bob] = await pair('long', 1, 1);
  const call = await establish(alice, bob);
  bob.ws().terminate();
  await alice.ws().next(about('peer_reconnecting', call.call_id));
  const back = await bob.reconnect(0);
  assertCall(back.welcome.ongoing_calls[0], { call_id: call.call_id, state: 'accepted' });
  await alice.ws().next(about('peer_reconnected', call.call_id));
  const mc = assertAck(await back.ws.request('media_connected', { call_id: call.call_id }));
  assertCall(mc.call, { state: 'connected' });
  await callEvent(alice.ws(), 'connected', call.call_id);
  await callEvent(back.ws, 'connected', call.call_id);
  assertAck(await alice.ws().request('end', { call_id: call.call_id }));
  await expectEnded([alice.ws(), back.ws], call.call_id, 'completed', alice.id);
});

test('both parties drop and both come back: the call goes on', async () => {
  const [alice, bob] = await pair('long', 1, 1);
  const call = await connectCall(alice, bob);
  alice.ws().terminate();
  await bob.ws().next(about('peer_reconnecting', call.call_id));
  bob.ws().terminate();
  await bob.ws().closed();
  const a = await alice.reconnect(0);
  assertCall(a.welcome.ongoing_calls[0], { call_id: call.call_id, state: 'connected' });
  const b = await bob.reconnect(0);
  assertCall(b.welcome.ongoing_calls[0], { call_id: call.call_id, state: 'connected' });
  await a.ws.next(about('peer_reconnected', call.call_id));
  await signalBothWays(alice, 0, bob, 0, call.call_id, 'both back');
  assertAck(await b.ws.request('end', { call_id: call.call_id }));
  await expectEnded([a.ws, b.ws], call.call_id, 'completed', bob.id);
});

test('a replacing connection (same session and device_id, old one closed 4004) takes the call over at once', async () => {
  const [alice, bob] = await pair('long', 1, 1);
  const call = await connectCall(alice, bob);
  const old = bob.ws();
  const fresh = await bob.reconnect(0);
  assert.equal((await old.closed()).code, 4004);
  assertCall(fresh.welcome.ongoing_calls[0], { call_id: call.call_id, state: 'connected' });
  await signalBothWays(alice, 0, bob, 0, call.call_id, 'replaced');
  assertAck(await alice.ws().request('end', { call_id: call.call_id }));
  await expectEnded([alice.ws(), fresh.ws], call.call_id, 'completed', alice.id);
});

test('a callee device dropping while the call rings changes nothing: no peer_reconnecting, another device accepts', async () => {
  const [alice, bob] = await pair('long', 1, 2);
  const call = await dial(alice.ws(), bob.id);
  await Promise.all(bob.wss.map((ws) => callEvent(ws, 'ringing', call.call_id)));
  bob.ws(0).terminate();
  await bob.ws(0).closed();
  await assertNothing(alice.ws(), (m) => m.type === 'peer_reconnecting' || m.type === 'ended', 'an event for an unbound drop');
  assertAck(await bob.ws(1).request('accept', { call_id: call.call_id }));
  await callEvent(alice.ws(), 'accepted', call.call_id);
  assertAck(await alice.ws().request('end', { call_id: call.call_id }));
  await expectEnded([alice.ws(), bob.ws(1)], call.call_id, 'completed', alice.id);
});

test('another device_id of the same user does not take the call back: connection_lost after the grace (2 s)', async () => {
  const [alice, bob] = await pair('short', 1, 1);
  const call = await connectCall(alice, bob);
  alice.ws().terminate();
  await bob.ws().next(about('peer_reconnecting', call.call_id));
  const other = await alice.addDevice(`${alice.id}-another-phone`);
  assert.deepEqual(other.welcome.ongoing_calls.map((c) => c.call_id), [call.call_id], 'the call is listed (not ended yet)');
  assertWsError(await other.ws.request('signal', { call_id: call.call_id, data: 1 }), 'forbidden');
  assertWsError(await other.ws.request('media_connected', { call_id: call.call_id }), 'forbidden');
  const [c1, c2] = await expectEnded([bob.ws(), other.ws], call.call_id, 'connection_lost', null, 2000 + 3000);
  assert.deepEqual(c1, c2);
  await assertNothing(bob.ws(), about('peer_reconnected', call.call_id), 'peer_reconnected for another device');
  // Coming back after the end: nothing to take back.
  const late = await alice.reconnect(0);
  assert.deepEqual(late.welcome.ongoing_calls, []);
});
