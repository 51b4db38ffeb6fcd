// Direct calls under races: N callee devices accept the same ringing call at the same moment
// (exactly one ack, the others invalid_call_state and an `ended` other_device_accepted each), over
// many rounds; accept against decline; accept against the caller's end; many callers at once.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from './lib/server.mjs';
import { uniq } from './lib/util.mjs';
import { newReqId } from './lib/ws.mjs';
import { CallUser, assertCall, assertAck, assertWsError, callEvent, expectEnded, dial } from './lib/calls.mjs';

let server;
let app;

before(async () => {
  server = await startServer({ apps: ['a'] });
  app = server.apps.a;
});

after(async () => {
  await server?.stop();
});

const DEVICES = 5;
const ROUNDS = 30;

/** Records every message a connection receives, in order (the queue is consumed by waits). */
function record(ws) {
  const log = [];
  ws.ws.on('message', (d) => {
    try {
      log.push(JSON.parse(d.toString('utf8')));
    } catch {
      /* not JSON: other tests cover that */
    }
  });
  return log;
}
const aboutCall = (log, callId) => log.filter((m) => (m.call?.call_id ?? m.call_id) === callId);

/**
 * Sends each item's request in the same tick, starting with item `first` (then round the list);
 * resolves the answers in the order of `items`.
 */
function sendAllAtOnce(items, first = 0) {
  const pending = items.map(({ ws, type, fields }) => {
    const req_id = newReqId();
    return { ws, msg: { type, req_id, ...fields }, req_id };
  });
  for (let k = 0; k < pending.length; k++) {
    const p = pending[(first + k) % pending.length];
    p.ws.send(p.msg);
  }
  return Promise.all(pending.map((p) => p.ws.next((m) => m.req_id === p.req_id && (m.type === 'ack' || m.type === 'error'))));
}

test(`accept race: ${DEVICES} callee devices accept at the same moment, ${ROUNDS} rounds: exactly one wins`, async (t) => {
  const alice = await CallUser.create(server, app, uniq('alice'), 1);
  const bob = await CallUser.create(server, app, uniq('bob'), DEVICES);
  const aliceLog = record(alice.ws());
  const bobLogs = bob.wss.map(record);
  const winners = new Map();

  for (let round = 0; round < ROUNDS; round++) {
    const call = await dial(alice.ws(), bob.id);
    const id = call.call_id;
    await Promise.all(bob.wss.map((ws) => callEvent(ws, 'ringing', id)));

    // Rotate who sends first so that every device gets to win some rounds.
    const answers = await sendAllAtOnce(bob.wss.map((ws) => ({ ws, type: 'accept', fields: { call_id: id } })), round);
    const acks = answers.map((a, i) => [a, i]).filter(([a]) => a.type === 'ack');
    assert.equal(acks.length, 1, `round ${round}: exactly one accept wins, got ${JSON.stringify(answers)}`);
    const [winAck, w] = acks[0];
    winners.set(w, (winners.get(w) ?? 0) + 1);
    assertCall(winAck.call, { call_id: id, state: 'accepted' });
    const losers = bob.wss.map((ws, i) => i).filter((i) => i !== w);
    for (const i of losers) assertWsError(answers[i], 'invalid_call_state');

    // Each loser gets other_device_accepted; the caller gets accepted (the winner's call).
    await expectEnded(losers.map((i) => bob.ws(i)), id, 'other_device_accepted', bob.id);
    const acc = await callEvent(alice.ws(), 'accepted', id);
    assert.deepEqual(acc.call, winAck.call);

    // The winner ends; every connection of both users gets completed.
    assertAck(await bob.ws(w).request('end', { call_id: id }));
    await expectEnded([alice.ws(), ...bob.wss], id, 'completed', bob.id);

    // After a ping round trip on each connection, count what each saw of this call.
    await Promise.all([alice.ws(), ...bob.wss].map((ws) => ws.assertAlive()));
    const a = aboutCall(aliceLog, id).map((m) => m.type === 'ended' ? `ended:${m.call.end_result}` : m.type);
    assert.deepEqual(a, ['ack', 'accepted', 'ended:completed'], `round ${round}: caller saw ${JSON.stringify(a)}`);
    for (let i = 0; i < DEVICES; i++) {
      const seen = aboutCall(bobLogs[i], id)
        .filter((m) => m.type !== 'ack' && m.type !== 'error')
        .map((m) => (m.type === 'ended' ? `ended:${m.call.end_result}` : m.type));
      const expected = i === w ? ['ringing', 'ended:completed'] : ['ringing', 'ended:other_device_accepted', 'ended:completed'];
      assert.deepEqual(seen, expected, `round ${round}, device ${i} (winner ${w})`);
    }
  }
  // The log has every round, each with exactly one accept.
  const r = await server.api.myCalls(bob.devices[0].sessionKey, `?limit=${ROUNDS}`);
  assert.equal(r.body.calls.length, ROUNDS);
  for (const c of r.body.calls) assertCall(c, { state: 'ended', end_result: 'completed', ended_by: bob.id });
  t.diagnostic(`accept race winners by device: ${JSON.stringify(Object.fromEntries(winners))}`);
});

test('decline against accepts at the same moment: one outcome, and every connection agrees', async (t) => {
  const alice = await CallUser.create(server, app, uniq('alice'), 1);
  const bob = await CallUser.create(server, app, uniq('bob'), 3);
  const outcomes = { declined: 0, accepted: 0 };
  for (let round = 0; round < 15; round++) {
    const call = await dial(alice.ws(), bob.id);
    const id = call.call_id;
    await Promise.all(bob.wss.map((ws) => callEvent(ws, 'ringing', id)));
    const answers = await sendAllAtOnce([
      { ws: bob.ws(0), type: 'decline', fields: { call_id: id } },
      { ws: bob.ws(1), type: 'accept', fields: { call_id: id } },
      { ws: bob.ws(2), type: 'accept', fields: { call_id: id } },
    ], round);
    const oks = answers.filter((a) => a.type === 'ack');
    assert.equal(oks.length, 1, `round ${round}: one request wins: ${JSON.stringify(answers)}`);
    for (const a of answers) if (a.type === 'error') assertWsError(a, 'invalid_call_state');
    if (answers[0].type === 'ack') {
      outcomes.declined++;
      assertCall(answers[0].call, { end_result: 'declined', ended_by: bob.id });
      await expectEnded([alice.ws(), ...bob.wss], id, 'declined', bob.id);
    } else {
      outcomes.accepted++;
      const w = answers[1].type === 'ack' ? 1 : 2;
      await callEvent(alice.ws(), 'accepted', id);
      await expectEnded([bob.ws(0), bob.ws(3 - w)], id, 'other_device_accepted', bob.id);
      assertAck(await alice.ws().request('end', { call_id: id }));
      await expectEnded([alice.ws(), ...bob.wss], id, 'completed', alice.id);
    }
  }
  t.diagnostic(`decline/accept race outcomes: ${JSON.stringify(outcomes)}`);
});

test("accept against the caller's end at the same moment: either completed after an accept, or canceled and the accept refused", async (t) => {
  const alice = await CallUser.create(server, app, uniq('alice'), 1);
  const bob = await CallUser.create(server, app, uniq('bob'), 1);
  const outcomes = { canceled: 0, completed: 0 };
  for (let round = 0; round < 20; round++) {
    const call = await dial(alice.ws(), bob.id);
    const id = call.call_id;
    await callEvent(bob.ws(), 'ringing', id);
    const [accept, end] = await sendAllAtOnce([
      { ws: bob.ws(), type: 'accept', fields: { call_id: id } },
      { ws: alice.ws(), type: 'end', fields: { call_id: id } },
    ], round);
    assertAck(end, 'the caller may always end');
    if (accept.type === 'ack') {
      outcomes.completed++;
      assertCall(end.call, { end_result: 'completed', ended_by: alice.id, accepted_at: accept.call.accepted_at });
      await callEvent(alice.ws(), 'accepted', id);
    } else {
      outcomes.canceled++;
      assertWsError(accept, 'invalid_call_state');
      assertCall(end.call, { end_result: 'canceled', ended_by: alice.id, accepted_at: null });
    }
    const ends = await expectEnded([alice.ws(), bob.ws()], id, end.call.end_result, alice.id);
    for (const c of ends) assert.deepEqual(c, end.call);
  }
  t.diagnostic(`accept/end race outcomes: ${JSON.stringify(outcomes)}`);
});

test('ten callers dial the same callee at once: ten distinct calls ring on every callee device', async () => {
  const callers = await Promise.all(Array.from({ length: 10 }, () => CallUser.create(server, app, uniq('caller'), 1)));
  const bob = await CallUser.create(server, app, uniq('bob'), 2);
  const answers = await sendAllAtOnce(callers.map((c) => ({ ws: c.ws(), type: 'dial', fields: { callee_id: bob.id, is_video: false } })));
  const ids = answers.map((a) => assertAck(a).call.call_id);
  assert.equal(new Set(ids).size, 10);
  for (const ws of bob.wss) await Promise.all(ids.map((id) => callEvent(ws, 'ringing', id)));
  const d = await bob.addDevice(`${bob.id}-late`);
  assert.deepEqual(d.welcome.ongoing_calls.map((c) => c.call_id).sort(), [...ids].sort());
  // Decline them all at once from one device.
  const dec = await sendAllAtOnce(ids.map((id) => ({ ws: bob.ws(0), type: 'decline', fields: { call_id: id } })));
  for (const a of dec) assertCall(assertAck(a).call, { end_result: 'declined' });
  await Promise.all(callers.map((c, i) => expectEnded([c.ws()], ids[i], 'declined', bob.id)));
});
