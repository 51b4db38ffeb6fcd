// Webhooks (docs/protocol.md, "Webhooks"): signed POSTs to webhook_url of direct_call.dial,
// direct_call.accept, direct_call.end and user.deleted, in order per call; a new webhook_secret
// signs every later delivery; a receiver down for 30 s gets every event afterwards, in order;
// deliveries given up (`--webhook-give-up-s 3`) are listed as failed and can be retried;
// webhook_deliveries paging and errors; metrics.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { startServer, ms } from './lib/server.mjs';
import { assertStatus, assertError, UUID_V4 } from './lib/api.mjs';
import { uniq, parseMetrics, metricValue } from './lib/util.mjs';
import { validator } from './lib/openapi.mjs';
import { CallUser, assertAck, assertCall, callEvent, dial, establish, connectCall, expectEnded } from './lib/calls.mjs';
import { WebhookReceiver, verifies, parseSignatureHeader } from './lib/standins/webhook_receiver.mjs';
import { eventually, sleep } from './lib/standins/common.mjs';

let server; // default give-up (24 h)
let server2; // --webhook-give-up-s 3
let rx; // receiver of apps a, b, r
let rxd; // receiver of app d (goes down for 30 s)
let rxg; // receiver of server2's app g (answers 500)
const secret = {};

async function setUp(srv, name, receiver) {
  const P = srv.api.platform(srv.apps[name]);
  assertStatus(await P.patchSettings({ webhook_url: receiver.url }), 200);
  const g = await P.getSettings();
  assertStatus(g, 200);
  assert.equal(g.body.webhook_url, receiver.url);
  assert.match(g.body.webhook_secret, /^whsec_/);
  secret[name] = g.body.webhook_secret;
  srv.addSecret(g.body.webhook_secret);
  receiver.setSecret(g.body.webhook_secret, srv.apps[name].app_id);
}

before(async () => {
  rx = await WebhookReceiver.start({ name: 'rx' });
  rxd = await WebhookReceiver.start({ name: 'rx-down' });
  rxg = await WebhookReceiver.start({ name: 'rx-giveup' });
  server = await startServer({ apps: ['a', 'b', 'r', 'd'], allowPrivateOutbound: true });
  server2 = await startServer({ apps: ['g', 'h'], flags: ['--webhook-give-up-s', '3'], allowPrivateOutbound: true });
  for (const n of ['a', 'b', 'r']) await setUp(server, n, rx);
  await setUp(server, 'd', rxd);
  await setUp(server2, 'g', rxg);
  await setUp(server2, 'h', rxg);
});

after(async () => {
  await server?.stop();
  await server2?.stop();
  await rx?.close();
  await rxd?.close();
  await rxg?.close();
});

// ---- helpers ------------------------------------------------------------------------------------

const users = (srv, appName, ...specs) => Promise.all(specs.map(([p, n]) => CallUser.create(srv, srv.apps[appName], uniq(p), n)));
const callIdOf = (b) => b?.data?.call?.call_id;

/** Delivered events (first delivery of each event_id) of one call, in arrival order. */
function eventsOfCall(receiver, callId) {
  const seen = new Set();
  return receiver.events.filter((r) => {
    if (callIdOf(r.body) !== callId || seen.has(r.body.event_id)) return false;
    seen.add(r.body.event_id);
    return true;
  });
}

/** Waits until `events` (names) of the call have all been delivered; returns the records in order. */
async function waitCallEvents(receiver, callId, names, timeoutMs = 10000) {
  await receiver.waitFor(() => {
    const got = eventsOfCall(receiver, callId).map((r) => r.body.event);
    return names.every((n) => got.includes(n));
  }, ms(timeoutMs), `events ${names.join(', ')} of call ${callId}`);
  return eventsOfCall(receiver, callId);
}

/** The checks every delivery must pass: body shape, headers, signature with the app's secret. */
function assertDelivery(rec, srv, appName, event, what = event) {
  assert.ok(rec.verdict.ok, `${what}: ${rec.verdict.errors.join('; ')}`);
  const b = rec.body;
  validator().assertSchema('WebhookEvent', b, what);
  assert.match(b.event_id, UUID_V4);
  assert.equal(b.event, event, what);
  assert.equal(b.app_id, srv.apps[appName].app_id, what);
  assert.equal(rec.headers['parley-event-id'], b.event_id);
  assert.equal(rec.headers['parley-event'], event);
  assert.match(rec.headers['content-type'], /^application\/json/);
  const sig = parseSignatureHeader(rec.headers['parley-signature']);
  assert.ok(sig, `${what}: Parley-Signature ${rec.headers['parley-signature']}`);
  assert.ok(Math.abs(sig.t - rec.time / 1000) <= 60, `${what}: t=${sig.t} is about now`);
  assert.ok(verifies(rec, secret[appName]), `${what}: signed with the app's webhook_secret`);
  for (const s of srv.secrets) assert.ok(!rec.rawBody.includes(s), `${what}: a secret is in the webhook body`);
}

async function deliveries(srv, appName, query = '') {
  const r = await srv.api.platform(srv.apps[appName]).req('GET', `/webhook_deliveries${query}`);
  assertStatus(r, 200);
  return r.body;
}

/** Every page of GET webhook_deliveries (limit per page). */
async function allDeliveries(srv, appName, { state, limit = 100 } = {}) {
  const out = [];
  let next = null;
  for (let i = 0; i < 100; i++) {
    let q = `?limit=${limit}`;
    if (state) q += `&state=${state}`;
    if (next !== null) q += `&next=${encodeURIComponent(next)}`;
    const page = await deliveries(srv, appName, q);
    assert.ok(page.deliveries.length <= limit);
    out.push(...page.deliveries);
    next = page.next;
    if (next === null) return out;
  }
  throw new Error('webhook_deliveries paging does not end');
}

// The delivered list once it holds every one of `ids`: a receiver answers before the server
// records the outcome, so the record may trail the receiver by a moment.
function deliveredList(srv, app, ids) {
  return eventually(async () => {
    const list = await allDeliveries(srv, app, { state: 'delivered' });
    return ids.every((id) => list.some((x) => x.event_id === id)) && list;
  }, ms(5000), `delivered records of ${ids.join(', ')}`, 100);
}

const near = (a, b, tol, what) => assert.ok(Math.abs(a - b) <= tol, `${what}: ${a} vs ${b} (±${tol})`);

// ---- events -------------------------------------------------------------------------------------

test('a call sends direct_call.dial, .accept, .end with the call, signed, in order, once each', { timeout: ms(30000) }, async () => {
  const [alice, bob] = await users(server, 'a', ['alice', 1], ['bob', 2]);
  const t0 = Date.now();
  const dialed = await dial(alice.ws(), bob.id, { isVideo: true, customItems: { order: '7' } });
  await Promise.all(bob.wss.map((ws) => callEvent(ws, 'ringing', dialed.call_id)));
  const acc = assertAck(await bob.ws(1).request('accept', { call_id: dialed.call_id })).call;
  await callEvent(alice.ws(), 'accepted', dialed.call_id);
  await expectEnded([bob.ws(0)], dialed.call_id, 'other_device_accepted', bob.id);
  const con = assertAck(await alice.ws().request('media_connected', { call_id: dialed.call_id })).call;
  await callEvent(bob.ws(1), 'connected', dialed.call_id);
  const end = assertAck(await bob.ws(1).request('end', { call_id: dialed.call_id })).call;
  assertCall(end, { end_result: 'completed', ended_by: bob.id, connected_at: con.connected_at });

  const evs = await waitCallEvents(rx, dialed.call_id, ['direct_call.dial', 'direct_call.accept', 'direct_call.end']);
  assert.deepEqual(evs.map((r) => r.body.event), ['direct_call.dial', 'direct_call.accept', 'direct_call.end'], 'in the order they happened');
  const [d, a, e] = evs;
  assertDelivery(d, server, 'a', 'direct_call.dial');
  assertDelivery(a, server, 'a', 'direct_call.accept');
  assertDelivery(e, server, 'a', 'direct_call.end');
  assertCall(d.body.data.call, { state: 'ringing' }, 'dial event call');
  assert.deepEqual(d.body.data.call, dialed, 'dial: the call as dialed');
  assert.deepEqual(a.body.data.call, acc, 'accept: the call as accepted');
  assert.deepEqual(e.body.data.call, end, 'end: the call as ended');
  near(d.body.occurred_at, dialed.created_at, 1000, 'dial occurred_at');
  near(a.body.occurred_at, acc.accepted_at, 1000, 'accept occurred_at');
  near(e.body.occurred_at, end.ended_at, 1000, 'end occurred_at');
  assert.ok(d.body.occurred_at >= t0 - 1000 && e.body.occurred_at <= Date.now());
  assert.equal(new Set(evs.map((r) => r.body.event_id)).size, 3, 'distinct event ids');

  // Exactly once each (no event for the other_device_accepted copy, none for media_connected).
  await sleep(ms(1000));
  const all = rx.requests.filter((r) => callIdOf(r.body) === dialed.call_id);
  assert.deepEqual(all.map((r) => r.body.event), ['direct_call.dial', 'direct_call.accept', 'direct_call.end']);
});

test('canceled and declined calls: dial then end with the end result; no accept event', { timeout: ms(30000) }, async () => {
  const [carol, dan] = await users(server, 'a', ['carol', 1], ['dan', 1]);
  const c1 = await dial(carol.ws(), dan.id);
  const end1 = assertAck(await carol.ws().request('end', { call_id: c1.call_id })).call;
  const c2 = await dial(dan.ws(), carol.id);
  await callEvent(carol.ws(), 'ringing', c2.call_id);
  const end2 = assertAck(await carol.ws().request('decline', { call_id: c2.call_id })).call;
  for (const [c, end, result, by] of [[c1, end1, 'canceled', carol.id], [c2, end2, 'declined', carol.id]]) {
    const evs = await waitCallEvents(rx, c.call_id, ['direct_call.dial', 'direct_call.end']);
    assert.deepEqual(evs.map((r) => r.body.event), ['direct_call.dial', 'direct_call.end']);
    assertDelivery(evs[1], server, 'a', 'direct_call.end');
    assertCall(evs[1].body.data.call, { state: 'ended', end_result: result, ended_by: by });
    assert.deepEqual(evs[1].body.data.call, end);
  }
});

test('deleting a user: user.deleted {user_id}, and direct_call.end connection_lost for its ringing call', { timeout: ms(30000) }, async () => {
  const [eve, fay] = await users(server, 'a', ['eve', 1], ['fay', 1]);
  const c = await dial(eve.ws(), fay.id);
  await callEvent(fay.ws(), 'ringing', c.call_id);
  assertStatus(await server.api.platform(server.apps.a).deleteUser(fay.id), 204);
  await expectEnded([eve.ws()], c.call_id, 'connection_lost', null);
  const evs = await waitCallEvents(rx, c.call_id, ['direct_call.dial', 'direct_call.end']);
  assertCall(evs[1].body.data.call, { end_result: 'connection_lost', ended_by: null });
  const del = await rx.waitForEvent((b) => b.event === 'user.deleted' && b.data.user_id === fay.id, ms(10000));
  assertDelivery(del, server, 'a', 'user.deleted');
  assert.deepEqual(del.body.data, { user_id: fay.id });

  // A user without calls.
  const lone = uniq('lone');
  assertStatus(await server.api.platform(server.apps.a).createUser(lone), 201);
  assertStatus(await server.api.platform(server.apps.a).deleteUser(lone), 204);
  const d2 = await rx.waitForEvent((b) => b.event === 'user.deleted' && b.data.user_id === lone, ms(10000));
  assertDelivery(d2, server, 'a', 'user.deleted');
});

test('webhook_url null stops webhooks for that app', { timeout: ms(30000) }, async () => {
  const P = server.api.platform(server.apps.b);
  assertStatus(await P.patchSettings({ webhook_url: null }), 200);
  const [g, h] = await users(server, 'b', ['gil', 1], ['hu', 1]);
  const c = await dial(g.ws(), h.id);
  assertAck(await g.ws().request('end', { call_id: c.call_id }));
  // A call of app a made after it is delivered; nothing of app b's arrives meanwhile.
  const [x, y] = await users(server, 'a', ['x', 1], ['y', 1]);
  const c2 = await dial(x.ws(), y.id);
  assertAck(await x.ws().request('end', { call_id: c2.call_id }));
  await waitCallEvents(rx, c2.call_id, ['direct_call.dial', 'direct_call.end']);
  await sleep(ms(500));
  assert.equal(rx.requests.filter((r) => r.body?.app_id === server.apps.b.app_id).length, 0);
  assertStatus(await P.patchSettings({ webhook_url: rx.url }), 200);
});

test('POST /settings/webhook_secret makes a new secret; later deliveries verify with it only', { timeout: ms(30000) }, async () => {
  const P = server.api.platform(server.apps.r);
  const old = secret.r;
  const [ivy, jay] = await users(server, 'r', ['ivy', 1], ['jay', 1]);
  const c1 = await dial(ivy.ws(), jay.id);
  assertAck(await ivy.ws().request('end', { call_id: c1.call_id }));
  const before = await waitCallEvents(rx, c1.call_id, ['direct_call.dial', 'direct_call.end']);
  for (const r of before) assert.ok(verifies(r, old));

  const rot = await P.req('POST', '/settings/webhook_secret');
  assertStatus(rot, 200);
  const fresh = rot.body.webhook_secret;
  server.addSecret(fresh);
  assert.match(fresh, /^whsec_/);
  assert.notEqual(fresh, old);
  assert.equal((await P.getSettings()).body.webhook_secret, fresh, 'GET shows the new secret');
  secret.r = fresh;
  rx.setSecret(fresh, server.apps.r.app_id);

  const c2 = await dial(jay.ws(), ivy.id);
  assertAck(await jay.ws().request('end', { call_id: c2.call_id }));
  const afterEvs = await waitCallEvents(rx, c2.call_id, ['direct_call.dial', 'direct_call.end']);
  for (const r of afterEvs) {
    assertDelivery(r, server, 'r', r.body.event);
    assert.ok(verifies(r, fresh), 'signed with the new secret');
    assert.ok(!verifies(r, old), 'not with the old one');
  }
  // A second rotation makes yet another secret.
  const rot2 = await P.req('POST', '/settings/webhook_secret');
  assertStatus(rot2, 200);
  server.addSecret(rot2.body.webhook_secret);
  assert.notEqual(rot2.body.webhook_secret, fresh);
  secret.r = rot2.body.webhook_secret;
  rx.setSecret(rot2.body.webhook_secret, server.apps.r.app_id);
  // Another app's secret did not change.
  assert.equal((await server.api.platform(server.apps.a).getSettings()).body.webhook_secret, secret.a);
});

test('GET webhook_deliveries: bad state, limit and cursor are 400 naming the field; another app\'s token is 401', async () => {
  const P = server.api.platform(server.apps.a);
  assertError(await P.req('GET', '/webhook_deliveries?state=lost'), 400, 'invalid_request', 'state');
  assertError(await P.req('GET', '/webhook_deliveries?limit=0'), 400, 'invalid_request', 'limit');
  assertError(await P.req('GET', '/webhook_deliveries?limit=101'), 400, 'invalid_request', 'limit');
  assertError(await P.req('GET', '/webhook_deliveries?next=bogus'), 400, 'invalid_request', 'next');
  const crossed = await server.api.req('GET', `/v1/apps/${server.apps.a.app_id}/webhook_deliveries`, { apiToken: server.apps.b.api_token });
  assertError(crossed, 401, 'unauthorized');
  const delivered = await deliveries(server, 'a', '?state=delivered&limit=100');
  assert.ok(delivered.deliveries.length >= 5);
  for (const d of delivered.deliveries) {
    assert.equal(d.state, 'delivered');
    assert.equal(d.next_attempt_at, null);
    assert.ok(d.attempts >= 1);
    assert.equal(d.last_status, 200);
  }
  const times = delivered.deliveries.map((d) => d.created_at);
  assert.deepEqual(times, [...times].sort((x, y) => x - y), 'oldest first');
  // Paging with limit 2 gives the same list.
  const paged = await allDeliveries(server, 'a', { state: 'delivered', limit: 2 });
  assert.deepEqual(paged.map((d) => d.event_id).slice(0, delivered.deliveries.length), delivered.deliveries.map((d) => d.event_id));
});

// ---- a receiver down for 30 s -------------------------------------------------------------------

test('a receiver down for 30 s gets every event afterwards, in order per call', { timeout: ms(150000) }, async () => {
  await rxd.down();
  const downAt = Date.now();
  const [kai, lee, mo] = await users(server, 'd', ['kai', 1], ['lee', 1], ['mo', 1]);
  // Call 1: dial, accept, end. Call 2: dial, cancel. Call 3: dial, decline. Call 4: connected, ended by the callee.
  const c1 = await establish(kai, lee);
  assertAck(await kai.ws().request('end', { call_id: c1.call_id }));
  const c2 = await dial(lee.ws(), mo.id);
  assertAck(await lee.ws().request('end', { call_id: c2.call_id }));
  const c3 = await dial(mo.ws(), kai.id);
  await callEvent(kai.ws(), 'ringing', c3.call_id);
  assertAck(await kai.ws().request('decline', { call_id: c3.call_id }));
  const c4 = await connectCall(mo, lee);
  assertAck(await lee.ws().request('end', { call_id: c4.call_id }));
  const expected = {
    [c1.call_id]: ['direct_call.dial', 'direct_call.accept', 'direct_call.end'],
    [c2.call_id]: ['direct_call.dial', 'direct_call.end'],
    [c3.call_id]: ['direct_call.dial', 'direct_call.end'],
    [c4.call_id]: ['direct_call.dial', 'direct_call.accept', 'direct_call.end'],
  };
  const total = Object.values(expected).flat().length;

  // While down: all pending, the first of each call tried (no HTTP answer), the others waiting.
  await sleep(ms(2500));
  const pending = await allDeliveries(server, 'd', { state: 'pending', limit: 3 });
  assert.equal(pending.length, total, `pending deliveries: ${JSON.stringify(pending)}`);
  for (const p of pending) {
    validator().assertSchema('WebhookDelivery', p);
    assert.equal(p.state, 'pending');
    assert.equal(typeof p.next_attempt_at, 'number');
    assert.equal(p.last_status, null, 'no HTTP answer came');
    if (p.attempts > 0) assert.equal(typeof p.last_error, 'string');
  }
  const times = pending.map((p) => p.created_at);
  assert.deepEqual(times, [...times].sort((x, y) => x - y), 'oldest first');
  assert.ok(pending.some((p) => p.attempts >= 1), 'the receiver was tried');
  const ids = new Set(pending.map((p) => p.event_id));
  const m = parseMetrics((await server.api.req('GET', '/metrics')).text);
  assert.ok(metricValue(m, 'parley_outbox_pending', { kind: 'webhook' }) >= total, 'parley_outbox_pending{kind="webhook"}');
  assert.ok(metricValue(m, 'parley_outbox_oldest_pending_seconds', { kind: 'webhook' }) >= 1, 'parley_outbox_oldest_pending_seconds{kind="webhook"}');
  assert.ok(metricValue(m, 'parley_webhook_deliveries_total', { outcome: 'retried' }) >= 1, 'parley_webhook_deliveries_total{outcome="retried"}');

  // Down for 30 s in all, then up on the same port.
  await sleep(Math.max(0, downAt + ms(30000) - Date.now()));
  await rxd.up();
  const upAt = Date.now();
  await rxd.waitFor(() => {
    const got = new Set(rxd.events.map((r) => r.body.event_id));
    return [...ids].every((id) => got.has(id));
  }, ms(70000), `all ${total} events after the receiver came back`);
  const lastAt = Math.max(...rxd.events.map((r) => r.time));
  for (const [callId, names] of Object.entries(expected)) {
    const evs = eventsOfCall(rxd, callId);
    assert.deepEqual(evs.map((r) => r.body.event), names, `call ${callId}: every event, in order`);
    for (const r of evs) assertDelivery(r, server, 'd', r.body.event);
  }
  assert.deepEqual(rxd.failures(), []);
  assert.ok(lastAt - upAt < ms(70000));
  const after = await deliveredList(server, 'd', [...ids]);
  for (const id of ids) {
    const d = after.find((x) => x.event_id === id);
    assert.ok(d, `delivery ${id} listed as delivered`);
    assert.equal(d.last_status, 200);
    assert.equal(d.next_attempt_at, null);
  }
  assert.equal((await allDeliveries(server, 'd', { state: 'pending' })).length, 0);
});

// ---- given up, listed, retried ------------------------------------------------------------------

test('--webhook-give-up-s 3: a receiver answering 500 → failed deliveries listed; retry → 202, delivered; unknown id → 404', { timeout: ms(60000) }, async () => {
  rxg.answer(500);
  const [nia, oz] = await users(server2, 'g', ['nia', 1], ['oz', 1]);
  const c = await dial(nia.ws(), oz.id);
  assertAck(await nia.ws().request('end', { call_id: c.call_id }));

  const failed = await (async () => {
    const end = Date.now() + ms(20000);
    for (;;) {
      const f = (await allDeliveries(server2, 'g', { state: 'failed' })).filter((d) => ['direct_call.dial', 'direct_call.end'].includes(d.event));
      if (f.length >= 2) return f;
      if (Date.now() > end) throw new Error(`not failed in time: ${JSON.stringify(await allDeliveries(server2, 'g'))}`);
      await sleep(250);
    }
  })();
  const [fd, fe] = failed;
  assert.deepEqual([fd.event, fe.event], ['direct_call.dial', 'direct_call.end'], 'oldest first');
  for (const d of failed) {
    validator().assertSchema('WebhookDelivery', d);
    assert.equal(d.state, 'failed');
    assert.equal(d.next_attempt_at, null);
  }
  assert.ok(fd.attempts >= 2, `the dial was tried and retried (${fd.attempts})`);
  assert.equal(fd.last_status, 500);
  // The end waited behind the dial until its own window had passed: it may have been tried once
  // or given up untried.
  if (fe.attempts > 0) assert.equal(fe.last_status, 500);
  else assert.equal(fe.last_status, null);
  // The receiver saw them: the end only after the dial had been given up (order per call).
  const tries = rxg.requests.filter((r) => callIdOf(r.body) === c.call_id);
  assert.ok(tries.every((r) => r.verdict.ok), 'every attempt was well signed');
  const lastDial = Math.max(...tries.filter((r) => r.body.event === 'direct_call.dial').map((r) => r.time));
  const firstEnd = Math.min(...tries.filter((r) => r.body.event === 'direct_call.end').map((r) => r.time));
  assert.ok(firstEnd >= lastDial, 'the end was not sent before the dial was given up');
  assert.ok(tries.some((r) => r.body.event_id === fd.event_id));

  // Healthy again: nothing comes by itself; a retry sends it.
  rxg.ok();
  await sleep(ms(1500));
  assert.equal(eventsOfCall(rxg, c.call_id).length, 0, 'failed deliveries stay failed');
  const P = server2.api.platform(server2.apps.g);
  const r1 = await P.req('POST', `/webhook_deliveries/${fd.event_id}/retry`);
  assertStatus(r1, 202);
  assert.equal(r1.body.delivery.event_id, fd.event_id);
  assert.equal(r1.body.delivery.event, 'direct_call.dial');
  assert.equal(r1.body.delivery.state, 'pending');
  const got1 = await rxg.waitForEvent((b) => b.event_id === fd.event_id, ms(10000));
  assertDelivery(got1, server2, 'g', 'direct_call.dial');
  assertCall(got1.body.data.call, { call_id: c.call_id, state: 'ringing' });
  assertStatus(await P.req('POST', `/webhook_deliveries/${fe.event_id}/retry`), 202);
  const got2 = await rxg.waitForEvent((b) => b.event_id === fe.event_id, ms(10000));
  assertDelivery(got2, server2, 'g', 'direct_call.end');
  assertCall(got2.body.data.call, { call_id: c.call_id, end_result: 'canceled' });
  const delivered = await deliveredList(server2, 'g', [fd.event_id, fe.event_id]);
  for (const id of [fd.event_id, fe.event_id]) {
    const d = delivered.find((x) => x.event_id === id);
    assert.ok(d, `${id} delivered`);
    assert.equal(d.last_status, 200);
  }

  // Unknown ids, and an event of another app, are 404.
  assertError(await P.req('POST', `/webhook_deliveries/${randomUUID()}/retry`), 404, 'not_found');
  assertError(await P.req('POST', '/webhook_deliveries/not-an-event/retry'), 404, 'not_found');
  const H = server2.api.platform(server2.apps.h);
  assertError(await H.req('POST', `/webhook_deliveries/${fd.event_id}/retry`), 404, 'not_found');

  const m = parseMetrics((await server2.api.req('GET', '/metrics')).text);
  assert.ok(metricValue(m, 'parley_webhook_deliveries_total', { outcome: 'failed' }) >= 2, 'failed counted');
  assert.ok(metricValue(m, 'parley_webhook_deliveries_total', { outcome: 'retried' }) >= 1, 'retried counted');
  assert.ok(metricValue(m, 'parley_webhook_deliveries_total', { outcome: 'delivered' }) >= 2, 'delivered counted');
});

test('no receiver saw a malformed or badly signed delivery', () => {
  assert.deepEqual(rx.failures().map((r) => r.verdict.errors), []);
  assert.deepEqual(rxd.failures().map((r) => r.verdict.errors), []);
  assert.deepEqual(rxg.failures().map((r) => r.verdict.errors), []);
});
