// Direct calls, every end that a request causes: completed (caller or callee; connected or only
// accepted), canceled, declined (decline, or end by the callee while ringing),
// other_device_accepted, connection_lost when a party is deleted. Every `ended` reaches every
// connection of both users, and the call log holds exactly what was sent.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from './lib/server.mjs';
import { uniq } from './lib/util.mjs';
import {
  CallUser,
  assertCall,
  assertAck,
  assertNothing,
  callEvent,
  expectEnded,
  dial,
  establish,
  connectCall,
  about,
} from './lib/calls.mjs';

let server;
let app;
let P;

before(async () => {
  server = await startServer({ apps: ['a'] });
  app = server.apps.a;
  P = server.api.platform(app);
});

after(async () => {
  await server?.stop();
});

// Caller with 2 connections (one dials), callee with 3 devices, and a bystander.
async function cast() {
  const [alice, bob, eve] = await Promise.all([
    CallUser.create(server, app, uniq('alice'), 2),
    CallUser.create(server, app, uniq('bob'), 3),
    CallUser.create(server, app, uniq('eve'), 1),
  ]);
  return { alice, bob, eve, all: [...alice.wss, ...bob.wss] };
}

/** The ended copies all agree with the ack and with the call log; the bystander saw nothing. */
async function checkEnd({ ack, ends, eve, callId }) {
  for (const c of ends) assert.deepEqual(c, ack.call, 'every ended carries the call as the ack');
  const r = await P.getCall(callId);
  assert.equal(r.status, 200);
  assert.deepEqual(r.body.call, ack.call, 'the call log holds the ended call');
  await assertNothing(eve.ws(), (m) => m.type !== 'pong', 'event to a bystander');
}

test('completed: the caller ends a connected call', async () => {
  const { alice, bob, eve, all } = await cast();
  const call = await connectCall(alice, bob, { ai: 2 });
  const ack = assertAck(await alice.ws(0).request('end', { call_id: call.call_id }));
  assertCall(ack.call, { state: 'ended', end_result: 'completed', ended_by: alice.id, connected_at: call.connected_at, accepted_at: call.accepted_at });
  assert.ok(ack.call.ended_at >= call.connected_at);
  const ends = await expectEnded(all, call.call_id, 'completed', alice.id);
  await checkEnd({ ack, ends, eve, callId: call.call_id });
});

test('completed: the callee ends a connected call', async () => {
  const { alice, bob, eve, all } = await cast();
  const call = await connectCall(alice, bob, { ci: 1, ai: 0 });
  const ack = assertAck(await bob.ws(0).request('end', { call_id: call.call_id }));
  assertCall(ack.call, { end_result: 'completed', ended_by: bob.id });
  const ends = await expectEnded(all, call.call_id, 'completed', bob.id);
  await checkEnd({ ack, ends, eve, callId: call.call_id });
});

test('completed: a call accepted but never connected, ended by either party, has duration 0', async () => {
  for (const who of ['caller', 'callee']) {
    const { alice, bob, eve, all } = await cast();
    const call = await establish(alice, bob, { ai: 1 });
    const ender = who === 'caller' ? alice : bob;
    const ack = assertAck(await (who === 'caller' ? alice.ws(0) : bob.ws(1)).request('end', { call_id: call.call_id }));
    assertCall(ack.call, { end_result: 'completed', ended_by: ender.id, connected_at: null, duration_ms: 0, accepted_at: call.accepted_at });
    const ends = await expectEnded(all, call.call_id, 'completed', ender.id);
    await checkEnd({ ack, ends, eve, callId: call.call_id });
  }
});

test('canceled: the caller ends while ringing', async () => {
  const { alice, bob, eve, all } = await cast();
  const call = await dial(alice.ws(0), bob.id);
  await Promise.all(bob.wss.map((ws) => callEvent(ws, 'ringing', call.call_id)));
  const ack = assertAck(await alice.ws(0).request('end', { call_id: call.call_id }));
  assertCall(ack.call, { state: 'ended', end_result: 'canceled', ended_by: alice.id, accepted_at: null, connected_at: null, duration_ms: 0 });
  const ends = await expectEnded(all, call.call_id, 'canceled', alice.id);
  await checkEnd({ ack, ends, eve, callId: call.call_id });
});

test('canceled: the caller may end from another of its connections while ringing', async () => {
  const { alice, bob, eve, all } = await cast();
  const call = await dial(alice.ws(0), bob.id);
  await Promise.all(bob.wss.map((ws) => callEvent(ws, 'ringing', call.call_id)));
  const ack = assertAck(await alice.ws(1).request('end', { call_id: call.call_id }));
  assertCall(ack.call, { end_result: 'canceled', ended_by: alice.id });
  const ends = await expectEnded(all, call.call_id, 'canceled', alice.id);
  await checkEnd({ ack, ends, eve, callId: call.call_id });
});

test('declined: decline by one callee device reaches the caller and every callee device', async () => {
  const { alice, bob, eve, all } = await cast();
  const call = await dial(alice.ws(0), bob.id, { isVideo: true });
  await Promise.all(bob.wss.map((ws) => callEvent(ws, 'ringing', call.call_id)));
  const ack = assertAck(await bob.ws(2).request('decline', { call_id: call.call_id }));
  assertCall(ack.call, { state: 'ended', end_result: 'declined', ended_by: bob.id, accepted_at: null, is_video: true });
  const ends = await expectEnded(all, call.call_id, 'declined', bob.id);
  await checkEnd({ ack, ends, eve, callId: call.call_id });
});

test('declined: end by the callee while ringing', async () => {
  const { alice, bob, eve, all } = await cast();
  const call = await dial(alice.ws(0), bob.id);
  await Promise.all(bob.wss.map((ws) => callEvent(ws, 'ringing', call.call_id)));
  const ack = assertAck(await bob.ws(0).request('end', { call_id: call.call_id }));
  assertCall(ack.call, { end_result: 'declined', ended_by: bob.id });
  const ends = await expectEnded(all, call.call_id, 'declined', bob.id);
  await checkEnd({ ack, ends, eve, callId: call.call_id });
});

test('other_device_accepted on every other callee connection, including one that connected after the dial; the log keeps the call going', async () => {
  const { alice, bob, eve } = await cast();
  const call = await dial(alice.ws(0), bob.id);
  await Promise.all(bob.wss.map((ws) => callEvent(ws, 'ringing', call.call_id)));
  const late = await bob.addDevice(`${bob.id}-late`);
  assert.deepEqual(late.welcome.ongoing_calls.map((c) => c.call_id), [call.call_id]);
  const ack = assertAck(await bob.ws(1).request('accept', { call_id: call.call_id }));
  const copies = await expectEnded([bob.ws(0), bob.ws(2), late.ws], call.call_id, 'other_device_accepted', bob.id);
  for (const c of copies) {
    assertCall(c, { state: 'ended', accepted_at: ack.call.accepted_at, connected_at: null, duration_ms: 0 });
  }
  // Neither the caller nor the accepting device gets that copy; the stored call is accepted.
  await assertNothing(alice.ws(0), about('ended', call.call_id), 'other_device_accepted to the caller');
  await assertNothing(alice.ws(1), about('ended', call.call_id), 'other_device_accepted to the caller');
  await assertNothing(bob.ws(1), about('ended', call.call_id), 'other_device_accepted to the accepting device');
  await callEvent(alice.ws(0), 'accepted', call.call_id);
  const live = await P.getCall(call.call_id);
  assertCall(live.body.call, { state: 'accepted', end_result: null });
  // When the call really ends, every connection of both users (other devices included) gets it.
  const end = assertAck(await alice.ws(0).request('end', { call_id: call.call_id }));
  const ends = await expectEnded([...alice.wss, ...bob.wss], call.call_id, 'completed', alice.id);
  await checkEnd({ ack: end, ends, eve, callId: call.call_id });
});

test('connection_lost: deleting the callee mid-call ends it for the caller (ended_by null); the log stays', async () => {
  const { alice, bob, eve } = await cast();
  const call = await connectCall(alice, bob, { ai: 0 });
  const del = await P.deleteUser(bob.id);
  assert.equal(del.status, 204);
  const [a0, a1] = await expectEnded(alice.wss, call.call_id, 'connection_lost', null);
  assertCall(a0, { connected_at: call.connected_at });
  assert.deepEqual(a1, a0);
  for (const ws of bob.wss) assert.equal((await ws.closed()).code, 4003);
  const r = await P.getCall(call.call_id);
  assert.deepEqual(r.body.call, a0, 'the call log keeps the call of a deleted user');
  const mine = await server.api.myCalls(alice.devices[0].sessionKey);
  assert.deepEqual(mine.body.calls.map((c) => c.call_id), [call.call_id]);
  await assertNothing(eve.ws(), (m) => m.type !== 'pong', 'event to a bystander');
});

test('connection_lost: deleting the caller while ringing ends it on every callee device', async () => {
  const { alice, bob } = await cast();
  const call = await dial(alice.ws(0), bob.id);
  await Promise.all(bob.wss.map((ws) => callEvent(ws, 'ringing', call.call_id)));
  assert.equal((await P.deleteUser(alice.id)).status, 204);
  const ends = await expectEnded(bob.wss, call.call_id, 'connection_lost', null);
  assertCall(ends[0], { accepted_at: null, connected_at: null });
  for (const ws of alice.wss) assert.equal((await ws.closed()).code, 4003);
  const fresh = await bob.addDevice(`${bob.id}-after`);
  assert.deepEqual(fresh.welcome.ongoing_calls, []);
});

test('ended_by and end_result of every call a user had, as the log lists them', async () => {
  const { alice, bob } = await cast();
  const expected = [];
  // canceled
  let c = await dial(alice.ws(0), bob.id);
  assertAck(await alice.ws(0).request('end', { call_id: c.call_id }));
  expected.push([c.created_at, c.call_id, 'canceled', alice.id]);
  // declined
  c = await dial(alice.ws(0), bob.id);
  assertAck(await bob.ws(0).request('decline', { call_id: c.call_id }));
  expected.push([c.created_at, c.call_id, 'declined', bob.id]);
  // completed
  c = await dial(alice.ws(0), bob.id);
  assertAck(await bob.ws(1).request('accept', { call_id: c.call_id }));
  assertAck(await bob.ws(1).request('end', { call_id: c.call_id }));
  expected.push([c.created_at, c.call_id, 'completed', bob.id]);
  const r = await server.api.myCalls(bob.devices[2].sessionKey);
  assert.equal(r.status, 200);
  assert.deepEqual(
    r.body.calls.map((x) => [x.call_id, x.end_result, x.ended_by]),
    // Newest first; calls dialed in the same millisecond come by call_id, descending.
    expected
      .sort((a, b) => b[0] - a[0] || (a[1] < b[1] ? 1 : a[1] > b[1] ? -1 : 0))
      .map(([, id, result, by]) => [id, result, by]),
    'newest first, with the right results',
  );
  for (const x of r.body.calls) assertCall(x, { state: 'ended', caller_id: alice.id, callee_id: bob.id });
});
