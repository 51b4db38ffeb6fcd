// Usage across midnight UTC. The server runs with --clock-offset-ms so that its clock is a couple
// of seconds before the next UTC midnight: a call dialed and connected before midnight and ended
// after it counts on the day it was dialed, with ceil(connected duration / 60 s) = 1 minute; the
// next day has nothing. Every time the server reports is on its shifted clock.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { startServer, makeTempDir, ms } from './lib/server.mjs';
import { uniq, untilTime } from './lib/util.mjs';
import { validator } from './lib/openapi.mjs';
import { CallUser, assertCall, assertAck, expectEnded, connectCall, utcDay } from './lib/calls.mjs';

const DAY = 86400000;
let dataDir;
let server;
let app;
let users; // [{id, accessToken}] made before the aimed start

before(async () => {
  // Everything slow (app and users, the OpenAPI validator) happens on a first, unshifted run, so
  // that the aimed run below has little to do between its start and the connected call.
  dataDir = await makeTempDir('parley-midnight-');
  const warm = await startServer({ apps: ['a'], dataDir });
  app = warm.apps.a;
  users = [];
  for (const n of ['alice', 'bob']) {
    const id = uniq(n);
    const { access_token } = await warm.api.userWithAccessToken(app, id);
    users.push({ id, accessToken: access_token });
  }
  await warm.api.platform(app).usage('2024-01-01', '2024-01-01');
  await warm.api.platform(app).listCalls();
  validator().compile('/components/schemas/Call');
  await warm.stop();
});

after(async () => {
  await server?.stop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

/** The same users, with one device each, on the running server. */
async function devices() {
  return Promise.all(
    users.map(async ({ id, accessToken }) => {
      const u = new CallUser(server, app, id, accessToken);
      await u.addDevice(`${id}-dev0`);
      return u;
    }),
  );
}

test('a call dialed before midnight UTC and ended after it counts on the day it was dialed: 1 call, 1 connected, 1 minute', async (t) => {
  // Aim the server clock at a midnight minus a lead that covers start-up, login, dial and connect.
  // Should a slow machine miss it, aim again two days further on (so the days do not mix).
  const lead = ms(2000);
  let midnight;
  let offset;
  let alice;
  let bob;
  let call;
  for (let attempt = 0; ; attempt++) {
    const now = Date.now();
    midnight = Math.ceil((now + lead) / DAY) * DAY + attempt * 2 * DAY;
    offset = midnight - lead - now;
    server = await startServer({ apps: [], dataDir, flags: ['--clock-offset-ms', String(offset)] });
    [alice, bob] = await devices();
    call = await connectCall(alice, bob);
    t.diagnostic(`attempt ${attempt}: connected ${midnight - call.connected_at} ms before midnight`);
    if (call.connected_at < midnight - 100) break;
    assert.ok(attempt < 2, 'could not connect a call before the aimed midnight in 3 attempts');
    assertAck(await alice.ws().request('end', { call_id: call.call_id }));
    await server.stop();
    server = null;
  }
  const P = server.api.platform(app);
  // The server's clock is the shifted one.
  assert.ok(Math.abs(call.created_at - (Date.now() + offset)) < ms(3000), `created_at ${call.created_at} is on the shifted clock`);

  // Let the server's clock pass midnight (this is the point of the test), then end the call.
  await untilTime(midnight - offset + 300);
  const ended = assertAck(await alice.ws().request('end', { call_id: call.call_id })).call;
  assertCall(ended, { end_result: 'completed', connected_at: call.connected_at });
  assert.ok(ended.ended_at >= midnight, `ended after midnight (${ended.ended_at - midnight} ms after)`);
  assert.ok(ended.duration_ms > 0 && ended.duration_ms < 60000);
  await expectEnded([alice.ws(), bob.ws()], call.call_id, 'completed', alice.id);

  const dayBefore = utcDay(midnight - 1);
  const dayAfter = utcDay(midnight);
  assert.equal(utcDay(call.created_at), dayBefore);
  assert.equal(utcDay(ended.ended_at), dayAfter);
  const r = await P.usage(dayBefore, dayAfter);
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.body, {
    days: [
      { date: dayBefore, calls: 1, connected_calls: 1, billable_minutes: 1 },
      { date: dayAfter, calls: 0, connected_calls: 0, billable_minutes: 0 },
    ],
    total_billable_minutes: 1,
  });
  // Asking for the new day alone: nothing.
  const after = await P.usage(dayAfter, dayAfter);
  assert.deepEqual(after.body, { days: [{ date: dayAfter, calls: 0, connected_calls: 0, billable_minutes: 0 }], total_billable_minutes: 0 });

  // A call dialed after midnight counts on the new day.
  const next = await connectCall(alice, bob);
  assert.equal(utcDay(next.created_at), dayAfter);
  assertAck(await bob.ws().request('end', { call_id: next.call_id }));
  await expectEnded([alice.ws(), bob.ws()], next.call_id, 'completed', bob.id);
  const r2 = await P.usage(dayBefore, dayAfter);
  assert.deepEqual(r2.body.days.map((d) => [d.date, d.calls, d.connected_calls]), [
    [dayBefore, 1, 1],
    [dayAfter, 1, 1],
  ]);
  const second = r2.body.days[1].billable_minutes;
  const n = await P.getCall(next.call_id);
  assert.equal(second, Math.ceil(n.body.call.duration_ms / 60000), 'billable minutes of the new day follow the formula');
  assert.equal(r2.body.total_billable_minutes, 1 + second);
});
