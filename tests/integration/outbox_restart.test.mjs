// The outbox survives a crash (docs/protocol.md, "Push notifications and webhooks in this
// server"): parleyd is killed with SIGKILL while webhook deliveries are in flight (the receiver
// holds them unanswered) or waiting behind them, and while a push is being retried; a new parleyd
// on the same data dir delivers every event recorded before the kill (duplicates allowed, told
// apart by event_id), in order per call, and the ringing call that the restart ends `unknown`
// gets its direct_call.end and a call_cancel push with reason unknown.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { startServer, makeTempDir, ms } from './lib/server.mjs';
import { assertStatus } from './lib/api.mjs';
import { uniq } from './lib/util.mjs';
import { CallUser, assertAck, assertCall, callEvent, dial, establish } from './lib/calls.mjs';
import { startOutbound, pemSecretLines } from './lib/standins/env.mjs';
import { WebhookReceiver, verifies } from './lib/standins/webhook_receiver.mjs';
import { eventually, randomHex } from './lib/standins/common.mjs';

let dataDir;
let first;
let second;
let out;
let rx;

after(async () => {
  if (first && !first.exitInfo) await first.kill();
  if (second) {
    for (const c of out.seenCredentials()) second.addSecret(c);
    await second.stop();
  }
  await rx?.close();
  await out?.close();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

async function allDeliveries(srv, app, state) {
  const list = [];
  let next = null;
  for (let i = 0; i < 100; i++) {
    let q = '?limit=100';
    if (state) q += `&state=${state}`;
    if (next !== null) q += `&next=${encodeURIComponent(next)}`;
    const r = await srv.api.platform(app).req('GET', `/webhook_deliveries${q}`);
    assertStatus(r, 200);
    list.push(...r.body.deliveries);
    next = r.body.next;
    if (next === null) return list;
  }
  throw new Error('paging does not end');
}

const callIdOf = (b) => b?.data?.call?.call_id;

/** First delivery of each event of a call, in arrival order. */
function eventsOfCall(callId) {
  const seen = new Set();
  return rx.events.filter((r) => {
    if (callIdOf(r.body) !== callId || seen.has(r.body.event_id)) return false;
    seen.add(r.body.event_id);
    return true;
  });
}

test('kill -9 with webhooks in flight and waiting: a new parleyd on the same data dir delivers every event, in order per call', { timeout: ms(150000) }, async () => {
  out = await startOutbound();
  rx = await WebhookReceiver.start({ name: 'rx-restart' });
  dataDir = await makeTempDir('parley-outbox-');
  first = await startServer({ apps: ['a'], dataDir, flags: out.flags });
  const app = first.apps.a;
  const P = first.api.platform(app);
  for (const l of pemSecretLines(out.apnsKey.privateKeyPem)) first.addSecret(l);
  assertStatus(await P.patchSettings({ webhook_url: rx.url, push: { apns: out.apnsConfig() } }), 200);
  const webhookSecret = (await P.getSettings()).body.webhook_secret;
  first.addSecret(webhookSecret);
  rx.setSecret(webhookSecret);

  // The receiver takes deliveries and never answers; APNs is unavailable.
  rx.hang();
  out.apns.setDefault({ status: 503 });
  const voip = randomHex(32);
  const alice = await CallUser.create(first, app, uniq('alice'), 1);
  const bob = await CallUser.create(first, app, uniq('bob'), 1);
  const carol = await CallUser.create(first, app, uniq('carol'), 1);
  assertStatus(await first.api.putPushToken(bob.devices[0].sessionKey, 'apns_voip', voip), 204);

  const c1 = await establish(alice, carol); // dial, accept, end
  assertAck(await alice.ws().request('end', { call_id: c1.call_id }));
  const c2 = await dial(alice.ws(), carol.id); // dial, end (canceled)
  assertAck(await alice.ws().request('end', { call_id: c2.call_id }));
  const c3 = await dial(carol.ws(), bob.id); // dial; still ringing at the kill
  await callEvent(bob.ws(), 'ringing', c3.call_id);

  // Deliveries are in flight (hanging at the receiver) and the push has been tried.
  await rx.waitFor((rs) => rs.length >= 1, ms(5000), 'a delivery in flight');
  await out.apns.waitFor((rs) => rs.some((r) => r.token === voip && r.status === 503), ms(5000), 'a push attempt');
  const before = await allDeliveries(first, app);
  const ids = new Map(before.map((d) => [d.event_id, d]));
  assert.ok(before.length >= 6, `6 events of 3 calls recorded: ${JSON.stringify(before)}`);
  for (const d of before) assert.equal(d.state, 'pending', `nothing delivered yet: ${JSON.stringify(d)}`);
  const inFlight = rx.requests.map((r) => r.body.event_id);
  for (const id of inFlight) assert.ok(ids.has(id), 'an event in flight is listed');
  first.assertNoSecretsInLogs();

  // kill -9; the receiver drops the hanging connections and is down during the restart.
  await first.kill();
  assert.equal(first.exitInfo.signal, 'SIGKILL');
  await rx.down();

  second = await startServer({ apps: [], dataDir, flags: out.flags });
  for (const s of first.secrets) second.addSecret(s);
  out.apns.setDefault('ok');
  await rx.up();

  // Every event recorded before the kill arrives, and the end of the ringing call (unknown).
  await rx.waitFor(() => {
    const got = new Set(rx.events.map((r) => r.body.event_id));
    return [...ids.keys()].every((id) => got.has(id)) && eventsOfCall(c3.call_id).some((r) => r.body.event === 'direct_call.end');
  }, ms(60000), `all ${ids.size} events recorded before the kill, and the end of the ringing call`);
  for (const r of rx.events) {
    assert.ok(r.verdict.ok, r.verdict.errors.join('; '));
    assert.ok(verifies(r, webhookSecret), 'the same secret after the restart');
  }
  const order = (callId) => eventsOfCall(callId).map((r) => r.body.event);
  assert.deepEqual(order(c1.call_id), ['direct_call.dial', 'direct_call.accept', 'direct_call.end']);
  assert.deepEqual(order(c2.call_id), ['direct_call.dial', 'direct_call.end']);
  assert.deepEqual(order(c3.call_id), ['direct_call.dial', 'direct_call.end']);
  const end3 = eventsOfCall(c3.call_id)[1].body.data.call;
  assertCall(end3, { call_id: c3.call_id, state: 'ended', end_result: 'unknown', ended_by: null });
  // Duplicates, if any, are the same event (same id, same body).
  const byId = new Map();
  for (const r of rx.events) {
    if (byId.has(r.body.event_id)) assert.deepEqual(r.body, byId.get(r.body.event_id), 'a duplicate is the same event');
    else byId.set(r.body.event_id, r.body);
  }
  for (const [id, d] of ids) assert.equal(byId.get(id).event, d.event, 'the event delivered is the one listed');

  // The ringing call's cancel push (reason unknown) reaches the token.
  const cancel = await out.apns.waitFor(
    (rs) => rs.find((r) => r.token === voip && r.status === 200 && r.body?.parley?.type === 'call_cancel'),
    ms(30000),
    'call_cancel push after the restart',
  );
  assert.deepEqual(cancel.body.parley, { type: 'call_cancel', app_id: app.app_id, call_id: c3.call_id, callee_id: bob.id, reason: 'unknown' });
  assert.deepEqual(out.apns.failures(), []);

  // Nothing is left pending; each listed event is delivered. A receiver answers before the
  // server records the outcome, so the record may trail it by a moment.
  const afterList = await eventually(async () => {
    const list = await allDeliveries(second, app);
    return [...ids.keys()].every((id) => list.find((x) => x.event_id === id)?.state === 'delivered') && list;
  }, ms(5000), 'every event recorded as delivered', 100);
  for (const id of ids.keys()) {
    const d = afterList.find((x) => x.event_id === id);
    assert.ok(d, `${id} still listed`);
    assert.equal(d.state, 'delivered', JSON.stringify(d));
  }
  assert.equal(afterList.filter((d) => d.state === 'pending').length, 0);
});
