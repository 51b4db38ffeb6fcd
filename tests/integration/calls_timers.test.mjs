// Direct calls ended by the server's timers (app settings captured at dial time, fired by a 250 ms
// sweep): no_answer after ringing_timeout_s, timed_out after connection_timeout_s,
// connection_lost after reconnect_grace_s when a bound connection drops (grace 0: at once).
// Each timer has its own app (settings are per app) and the three groups run concurrently.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, ms } from './lib/server.mjs';
import { uniq, untilTime } from './lib/util.mjs';
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

before(async () => {
  server = await startServer({ apps: ['ring', 'conn', 'grace', 'zero'] });
});

after(async () => {
  await server?.stop();
});

// The sweep runs every 250 ms; allow for it and for a slow machine.
const SLACK = () => ms(1500);

async function settings(appName, json) {
  const r = await server.api.platform(server.apps[appName]).patchSettings(json);
  assert.equal(r.status, 200, r.text);
  return r.body;
}

const pair = (appName, nA = 1, nB = 1) =>
  Promise.all([
    CallUser.create(server, server.apps[appName], uniq('alice'), nA),
    CallUser.create(server, server.apps[appName], uniq('bob'), nB),
  ]);

describe('timers', { concurrency: true }, () => {
  test('no_answer after ringing_timeout_s (10), on every connection of both users; the timeout is the one at dial time; an accepted call is not touched', async (t) => {
    await settings('ring', { ringing_timeout_s: 10 });
    const [alice, bob] = await pair('ring', 2, 2);
    const [carol, dave] = await pair('ring', 1, 1);
    const call = await dial(alice.ws(0), bob.id);
    const kept = await establish(carol, dave);
    // A change after the dial does not move this call's deadline.
    await settings('ring', { ringing_timeout_s: 180 });
    await Promise.all(bob.wss.map((ws) => callEvent(ws, 'ringing', call.call_id)));

    const ends = await expectEnded([...alice.wss, ...bob.wss], call.call_id, 'no_answer', null, 10000 + SLACK());
    const c = ends[0];
    for (const e of ends) assert.deepEqual(e, c);
    assertCall(c, { accepted_at: null, connected_at: null, duration_ms: 0, ended_by: null });
    const waited = c.ended_at - c.created_at;
    t.diagnostic(`no_answer ${waited} ms after the dial`);
    assert.ok(waited >= 10000, `no_answer only after 10 s (after ${waited} ms)`);
    assert.ok(waited <= 10000 + SLACK(), `no_answer within the sweep after 10 s (after ${waited} ms)`);
    assert.deepEqual((await server.api.platform(server.apps.ring).getCall(call.call_id)).body.call, c);

    // The call accepted before its ringing deadline was dialed at about the same time: it is not
    // ended by the ringing timer (let one more sweep pass to be sure).
    await untilTime(Date.now() + 500);
    const k = await server.api.platform(server.apps.ring).getCall(kept.call_id);
    assertCall(k.body.call, { state: 'accepted', end_result: null });
    await assertNothing(carol.ws(), about('ended', kept.call_id), 'ended of an accepted call');
    assertAck(await carol.ws().request('end', { call_id: kept.call_id }));
    await expectEnded([carol.ws(), dave.ws()], kept.call_id, 'completed', carol.id);
  });

  test('timed_out after connection_timeout_s (5) from the accept when media never connects; a connected call is not touched', async (t) => {
    await settings('conn', { connection_timeout_s: 5, ringing_timeout_s: 60 });
    const [alice, bob] = await pair('conn', 1, 2);
    const [carol, dave] = await pair('conn', 1, 1);
    // Dial both first, then change the setting: the calls keep 5 s.
    const call = await dial(alice.ws(), bob.id);
    const other = await dial(carol.ws(), dave.id);
    await settings('conn', { connection_timeout_s: 120 });
    await Promise.all(bob.wss.map((ws) => callEvent(ws, 'ringing', call.call_id)));
    await callEvent(dave.ws(), 'ringing', other.call_id);
    const acc = assertAck(await bob.ws(1).request('accept', { call_id: call.call_id })).call;
    assertAck(await dave.ws().request('accept', { call_id: other.call_id }));
    await callEvent(alice.ws(), 'accepted', call.call_id);
    await callEvent(carol.ws(), 'accepted', other.call_id);
    const connected = assertAck(await dave.ws().request('media_connected', { call_id: other.call_id })).call;
    assertCall(connected, { state: 'connected' });
    await expectEnded([bob.ws(0)], call.call_id, 'other_device_accepted', bob.id);

    const ends = await expectEnded([alice.ws(), ...bob.wss], call.call_id, 'timed_out', null, 5000 + SLACK());
    const c = ends[0];
    for (const e of ends) assert.deepEqual(e, c);
    assertCall(c, { accepted_at: acc.accepted_at, connected_at: null, duration_ms: 0 });
    const waited = c.ended_at - c.accepted_at;
    t.diagnostic(`timed_out ${waited} ms after the accept`);
    assert.ok(waited >= 5000, `timed_out only 5 s after the accept (after ${waited} ms)`);
    assert.ok(waited <= 5000 + SLACK(), `timed_out within the sweep after 5 s (after ${waited} ms)`);

    await untilTime(Date.now() + 500);
    const k = await server.api.platform(server.apps.conn).getCall(other.call_id);
    assertCall(k.body.call, { state: 'connected', connected_at: connected.connected_at });
    assertAck(await carol.ws().request('end', { call_id: other.call_id }));
    await expectEnded([carol.ws(), dave.ws()], other.call_id, 'completed', carol.id);
  });

  test('connection_lost after reconnect_grace_s (1) when a bound connection drops: peer_reconnecting first, then ended everywhere', async () => {
    await settings('grace', { reconnect_grace_s: 1 });
    const [alice, bob] = await pair('grace', 2, 2);
    const call = await connectCall(alice, bob, { ci: 0, ai: 1 });
    // A connection of the caller that is not bound may come and go: nothing happens.
    alice.ws(1).close();
    await alice.ws(1).closed();
    await assertNothing(bob.ws(1), (m) => m.type === 'peer_reconnecting', 'peer_reconnecting for a non-bound connection');
    const alice2 = await alice.addDevice(`${alice.id}-other`);
    assertCall(alice2.welcome.ongoing_calls[0], { call_id: call.call_id, state: 'connected' });

    // The callee's bound device vanishes (no close frame).
    const dropped = Date.now();
    bob.ws(1).terminate();
    const pr = await alice.ws(0).next(about('peer_reconnecting', call.call_id));
    assert.deepEqual(pr, { type: 'peer_reconnecting', call_id: call.call_id });
    const ends = await expectEnded([alice.ws(0), alice2.ws, bob.ws(0)], call.call_id, 'connection_lost', null, 1000 + SLACK() + 1000);
    const c = ends[0];
    for (const e of ends) assert.deepEqual(e, c);
    assertCall(c, { connected_at: call.connected_at });
    assert.ok(c.ended_at - dropped >= 1000 - 50, `not before the grace (${c.ended_at - dropped} ms after the drop)`);
    assert.equal(c.duration_ms, c.ended_at - call.connected_at);
    await assertNothing(alice.ws(0), about('peer_reconnected', call.call_id), 'peer_reconnected without a reconnect');

    // A caller that drops while ringing: the callee devices get connection_lost after the grace.
    const ring = await dial(alice.ws(0), bob.id);
    await callEvent(bob.ws(0), 'ringing', ring.call_id);
    alice.ws(0).terminate();
    const [r] = await expectEnded([bob.ws(0)], ring.call_id, 'connection_lost', null, 1000 + SLACK() + 1000);
    assertCall(r, { accepted_at: null });
    assert.ok(r.ended_at - r.created_at >= 1000 - 50);
  });

  test('reconnect_grace_s 0: a dropped bound connection ends the call at once, without peer_reconnecting', async () => {
    await settings('zero', { reconnect_grace_s: 0 });
    const [alice, bob] = await pair('zero', 1, 1);
    const call = await establish(alice, bob);
    bob.ws().close();
    const [c] = await expectEnded([alice.ws()], call.call_id, 'connection_lost', null, 1000);
    assertCall(c, { accepted_at: call.accepted_at, connected_at: null });
    assert.ok(c.ended_at - call.accepted_at < ms(1000));
    await assertNothing(alice.ws(), about('peer_reconnecting', call.call_id), 'peer_reconnecting with grace 0');
  });
});
