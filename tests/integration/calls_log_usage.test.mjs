// The call log (GET /v1/me/direct_calls, GET /v1/apps/{app}/direct_calls[?user_id],
// GET /v1/apps/{app}/direct_calls/{call_id}): newest first, opaque cursor, no duplicates or gaps,
// limits; app isolation. Usage (GET /v1/apps/{app}/usage): every day of the range, calls counted
// on the day they were dialed, billable minutes = ceil(connected duration / 60 s).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from './lib/server.mjs';
import { assertError, assertStatus, enc } from './lib/api.mjs';
import { uniq, untilTime } from './lib/util.mjs';
import {
  CallUser,
  assertCall,
  assertAck,
  expectEnded,
  dial,
  establish,
  connectCall,
  allPages,
  utcDay,
} from './lib/calls.mjs';

let server;
let api;

before(async () => {
  server = await startServer({ apps: ['log', 'other', 'usage'] });
  api = server.api;
});

after(async () => {
  await server?.stop();
});

/** A call that rings and is canceled at once; returns the ended call. */
async function shortCall(from, to) {
  const c = await dial(from.ws(), to.id);
  return assertAck(await from.ws().request('end', { call_id: c.call_id })).call;
}

const ids = (calls) => calls.map((c) => c.call_id);

/**
 * Asserts `listed` is exactly the calls of `made` (each once), newest first: created_at never
 * increases. Calls made in the same millisecond may come in either order among themselves, but
 * `made` is in dial order, so a call listed before an older-dialed one must share its created_at.
 */
function assertNewestFirst(listed, made, what) {
  assert.equal(listed.length, made.length, `${what}: count`);
  assert.equal(new Set(ids(listed)).size, listed.length, `${what}: no duplicates`);
  assert.deepEqual(new Set(ids(listed)), new Set(ids(made)), `${what}: the same calls`);
  for (let i = 1; i < listed.length; i++) {
    assert.ok(listed[i - 1].created_at >= listed[i].created_at, `${what}: newest first at ${i}`);
  }
  const rank = new Map(made.map((c, i) => [c.call_id, i]));
  for (let i = 1; i < listed.length; i++) {
    const [a, b] = [listed[i - 1], listed[i]];
    if (rank.get(a.call_id) < rank.get(b.call_id)) {
      assert.equal(a.created_at, b.created_at, `${what}: an older call before a newer one at ${i}`);
    }
  }
  const byId = new Map(made.map((c) => [c.call_id, c]));
  for (const c of listed) assert.deepEqual(c, byId.get(c.call_id), `${what}: the logged call is the call as it ended`);
}

test('call log paging: 25 calls, limit 10, on /v1/me and on the Platform API: newest first, no duplicates, no gaps', async () => {
  const app = server.apps.log;
  const P = api.platform(app);
  const [alice, bob, carol, dave] = await Promise.all(['alice', 'bob', 'carol', 'dave'].map((n) => CallUser.create(server, app, uniq(n), 1)));
  const aliceCalls = [];
  const all = [];
  for (let i = 0; i < 25; i++) {
    // Alice is the caller in some and the callee in others; carol and dave call in between.
    const c = i % 3 === 2 ? await shortCall(bob, alice) : await shortCall(alice, bob);
    aliceCalls.push(c);
    all.push(c);
    if (i % 8 === 0) all.push(await shortCall(carol, dave));
  }
  // The order of one page of 100 is the reference that the pages of 10 must follow exactly.
  const oneShot = (await api.myCalls(alice.devices[0].sessionKey, '?limit=100')).body.calls;
  assertNewestFirst(oneShot, aliceCalls, '/v1/me/direct_calls?limit=100');
  const newestFirst = ids(oneShot);

  const mine = await allPages((q) => api.myCalls(alice.devices[0].sessionKey, q), 10);
  assert.deepEqual(mine.map((p) => p.length), [10, 10, 5]);
  assert.deepEqual(ids(mine.flat()), newestFirst, '/v1/me/direct_calls: pages of 10 = one page of 100');
  assertNewestFirst(mine.flat(), aliceCalls, '/v1/me/direct_calls pages');

  const viaPlatform = await allPages((q) => P.listCalls(`${q}&user_id=${enc(alice.id)}`), 10);
  assert.deepEqual(viaPlatform.map((p) => p.length), [10, 10, 5]);
  assert.deepEqual(ids(viaPlatform.flat()), newestFirst, 'Platform API ?user_id: the same list in the same order');

  // Without user_id: every call of the app (25 + 4), newest first, in pages of 7.
  const everything = await allPages((q) => P.listCalls(q), 7);
  assert.deepEqual(everything.map((p) => p.length), [7, 7, 7, 7, 1]);
  assertNewestFirst(everything.flat(), all, 'Platform API, all calls');
  assert.deepEqual(ids(everything.flat()), ids((await P.listCalls('?limit=100')).body.calls));

  // Dave only sees the calls he was in.
  const daves = await allPages((q) => api.myCalls(dave.devices[0].sessionKey, q), 2);
  assertNewestFirst(daves.flat(), all.filter((c) => c.callee_id === dave.id), "dave's log");

  // Default limit 20; limit 100 takes all.
  const def = await api.myCalls(alice.devices[0].sessionKey);
  assertStatus(def, 200);
  assert.equal(def.body.calls.length, 20);
  assert.equal(typeof def.body.next, 'string');
  const big = await P.listCalls(`?user_id=${enc(alice.id)}&limit=100`);
  assert.equal(big.body.calls.length, 25);
  assert.equal(big.body.next, null);

  // A cursor keeps its place when newer calls are made between pages.
  const p1 = await api.myCalls(alice.devices[0].sessionKey, '?limit=10');
  const newer = await shortCall(alice, carol);
  const p2 = await api.myCalls(alice.devices[0].sessionKey, `?limit=10&next=${enc(p1.body.next)}`);
  assert.deepEqual(ids(p2.body.calls), newestFirst.slice(10, 20), 'page 2 after a new call: no duplicate, no gap');
  const top = await api.myCalls(alice.devices[0].sessionKey, '?limit=1');
  assert.deepEqual(ids(top.body.calls), [newer.call_id], 'the new call is first');
});

test('call log: limits, cursors and user_id are validated; the client endpoint needs a session', async () => {
  const app = server.apps.log;
  const P = api.platform(app);
  const u = await CallUser.create(server, app, uniq('val'), 1);
  const key = u.devices[0].sessionKey;
  for (const bad of ['0', '101', '-1', 'x', '1.5', '']) {
    assertError(await P.listCalls(`?limit=${bad}`), 400, 'invalid_request', 'limit');
    assertError(await api.myCalls(key, `?limit=${bad}`), 400, 'invalid_request', 'limit');
  }
  for (const bad of ['garbage', 'AAAA', '%00']) {
    assertError(await P.listCalls(`?next=${bad}`), 400, 'invalid_request', 'next');
    assertError(await api.myCalls(key, `?next=${bad}`), 400, 'invalid_request', 'next');
  }
  assertError(await P.listCalls(`?user_id=${enc('bad id')}`), 400, 'invalid_request', 'user_id');
  const none = await P.listCalls(`?user_id=${uniq('nobody')}`);
  assertStatus(none, 200);
  assert.deepEqual(none.body, { calls: [], next: null });
  const empty = await api.myCalls(key);
  assert.deepEqual(empty.body, { calls: [], next: null });
  assertError(await api.req('GET', '/v1/me/direct_calls'), 401, 'unauthorized');
  assertError(await api.myCalls('A'.repeat(43)), 401, 'unauthorized');
  assertError(await api.req('GET', `/v1/apps/${app.app_id}/direct_calls`), 401, 'unauthorized');
  // An id that is no call: 404 (a malformed one: 400 or 404, never 500).
  assertError(await P.getCall('6f1c5c7e-2b1a-4c1e-9a51-0d9e3f0a1b2c'), 404, 'not_found');
  const r = await P.getCall('not-a-uuid');
  assert.ok([400, 404].includes(r.status), `got ${r.status}`);
});

test('app isolation: another app\'s token cannot read the log (401); an app cannot see another app\'s call (404); same user id, separate logs', async () => {
  const A = server.apps.log;
  const B = server.apps.other;
  const name = uniq('twin');
  const [aliceA, bobA] = await Promise.all([CallUser.create(server, A, name, 1), CallUser.create(server, A, uniq('bob'), 1)]);
  const [aliceB, bobB] = await Promise.all([CallUser.create(server, B, name, 1), CallUser.create(server, B, uniq('bob'), 1)]);
  const callA = await shortCall(aliceA, bobA);
  const callB = await shortCall(aliceB, bobB);

  // App B's api token on app A's paths.
  const asB = (p) => api.req('GET', `/v1/apps/${A.app_id}${p}`, { apiToken: B.api_token });
  assertError(await asB('/direct_calls'), 401, 'unauthorized');
  assertError(await asB(`/direct_calls/${callA.call_id}`), 401, 'unauthorized');
  assertError(await asB('/usage?from=2024-01-01&to=2024-01-02'), 401, 'unauthorized');
  // App A asking for app B's call by id.
  assertError(await api.platform(A).getCall(callB.call_id), 404, 'not_found');
  assertError(await api.platform(B).getCall(callA.call_id), 404, 'not_found');
  assert.deepEqual((await api.platform(B).getCall(callB.call_id)).body.call, callB);
  // Lists never mix apps.
  const listA = await api.platform(A).listCalls(`?user_id=${enc(name)}`);
  assert.deepEqual(ids(listA.body.calls), [callA.call_id]);
  const listB = await api.platform(B).listCalls('?limit=100');
  assert.deepEqual(ids(listB.body.calls), [callB.call_id]);
  assert.deepEqual(ids((await api.myCalls(aliceA.devices[0].sessionKey)).body.calls), [callA.call_id]);
  assert.deepEqual(ids((await api.myCalls(aliceB.devices[0].sessionKey)).body.calls), [callB.call_id]);
});

test('usage: a few-second connected call is 1 billable minute; calls that never connected count with 0 minutes; every day of the range', async () => {
  const app = server.apps.usage;
  const P = api.platform(app);
  const [alice, bob] = await Promise.all([CallUser.create(server, app, uniq('alice'), 1), CallUser.create(server, app, uniq('bob'), 1)]);

  // 1) connected, lasts a bit over a second.
  const c1 = await connectCall(alice, bob);
  await untilTime(c1.connected_at + 1100);
  const e1 = assertAck(await bob.ws().request('end', { call_id: c1.call_id })).call;
  assertCall(e1, { end_result: 'completed' });
  assert.ok(e1.duration_ms >= 1000 && e1.duration_ms < 60000, `duration ${e1.duration_ms}`);
  // 2) canceled while ringing.
  const e2 = await shortCall(alice, bob);
  // 3) accepted, never connected.
  const c3 = await establish(bob, alice);
  const e3 = assertAck(await alice.ws().request('end', { call_id: c3.call_id })).call;
  assertCall(e3, { connected_at: null, duration_ms: 0 });
  // 4) declined.
  const c4 = await dial(alice.ws(), bob.id);
  const e4 = assertAck(await bob.ws().request('decline', { call_id: c4.call_id })).call;
  await expectEnded([alice.ws()], c4.call_id, 'declined', bob.id);

  const calls = [e1, e2, e3, e4];
  const days = [...new Set(calls.map((c) => utcDay(c.created_at)))].sort();
  const dayMs = 86400000;
  const from = utcDay(Date.parse(days[0]) - dayMs);
  const to = utcDay(Date.parse(days[days.length - 1]) + dayMs);
  const r = await P.usage(from, to);
  assertStatus(r, 200);

  // Expected, from the calls themselves.
  const want = new Map();
  for (let t = Date.parse(from); t <= Date.parse(to); t += dayMs) want.set(utcDay(t), { calls: 0, connected_calls: 0, billable_minutes: 0 });
  for (const c of calls) {
    const w = want.get(utcDay(c.created_at));
    w.calls++;
    if (c.connected_at !== null) {
      w.connected_calls++;
      w.billable_minutes += Math.ceil((c.ended_at - c.connected_at) / 60000);
    }
  }
  assert.deepEqual(
    r.body.days,
    [...want].map(([date, v]) => ({ date, ...v })),
    'one entry per day of the range, ascending, zeros included',
  );
  assert.equal(r.body.total_billable_minutes, 1);
  const sum = r.body.days.reduce((s, d) => ({ calls: s.calls + d.calls, connected: s.connected + d.connected_calls }), { calls: 0, connected: 0 });
  assert.deepEqual(sum, { calls: 4, connected: 1 });

  // A one-day range.
  const one = await P.usage(utcDay(e1.created_at), utcDay(e1.created_at));
  assert.equal(one.body.days.length, 1);
  assert.equal(one.body.days[0].billable_minutes, 1);
  // A range with no calls: all zeros.
  const past = await P.usage('2020-02-27', '2020-03-01');
  assertStatus(past, 200);
  assert.deepEqual(past.body, {
    days: ['2020-02-27', '2020-02-28', '2020-02-29', '2020-03-01'].map((date) => ({ date, calls: 0, connected_calls: 0, billable_minutes: 0 })),
    total_billable_minutes: 0,
  });
  // Another app's usage does not include these calls.
  const otherDay = await api.platform(server.apps.other).usage(utcDay(e1.created_at), utcDay(e1.created_at));
  assert.equal(otherDay.body.days[0].billable_minutes, 0);
});

test('usage: from and to are required dates (YYYY-MM-DD), to not before from, at most 366 days', async () => {
  const P = api.platform(server.apps.usage);
  assertError(await P.req('GET', '/usage'), 400, 'invalid_request', 'from');
  assertError(await P.req('GET', '/usage?to=2024-01-01'), 400, 'invalid_request', 'from');
  assertError(await P.req('GET', '/usage?from=2024-01-01'), 400, 'invalid_request', 'to');
  for (const bad of ['2024-02-30', '2023-02-29', '2024-13-01', '2024-3-1', '20240301', 'yesterday', '2024-03-01T00:00:00Z', '']) {
    assertError(await P.usage(bad, '2024-03-01'), 400, 'invalid_request', 'from');
    assertError(await P.usage('2024-03-01', bad), 400, 'invalid_request', 'to');
  }
  assertError(await P.usage('2024-03-02', '2024-03-01'), 400, 'invalid_request', 'to');
  // Leap day exists in 2024.
  assertStatus(await P.usage('2024-02-29', '2024-02-29'), 200);
  // 366 days (2024 is a leap year) is allowed, 367 is not.
  const full = await P.usage('2024-01-01', '2024-12-31');
  assertStatus(full, 200);
  assert.equal(full.body.days.length, 366);
  assert.equal(full.body.days[0].date, '2024-01-01');
  assert.equal(full.body.days[365].date, '2024-12-31');
  const over = await P.req('GET', '/usage?from=2024-01-01&to=2025-01-01', { validate: false });
  assert.equal(over.status, 400, `a 367-day range must be refused, got ${over.status} with ${over.body?.days?.length} days`);
  assertError(await P.usage('2024-01-01', '2025-01-01'), 400, 'invalid_request', 'to');
  // 2023 has 365 days: 2023-01-01..2024-01-01 is 366 days (allowed), one more is not.
  assertStatus(await P.usage('2023-01-01', '2024-01-01'), 200);
  assertError(await P.usage('2023-01-01', '2024-01-02'), 400, 'invalid_request', 'to');
});
