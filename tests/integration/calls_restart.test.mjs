// A server killed (SIGKILL) with calls not ended, started again on the same data dir, ends them
// with `unknown` (ended_by null), visible in the call log; calls ended before the kill are
// untouched; nothing is ongoing afterwards and no device can take a call back.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { startServer, makeTempDir } from './lib/server.mjs';
import { uniq } from './lib/util.mjs';
import { connectWelcome } from './lib/ws.mjs';
import { CallUser, assertCall, assertAck, assertWsError, callEvent, dial, establish, connectCall } from './lib/calls.mjs';

let dataDir;
let first;
let second;

after(async () => {
  if (first && !first.exitInfo) await first.kill();
  await second?.stop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

test('SIGKILL mid-call, restart on the same data dir: ringing, accepted and connected calls end unknown', async () => {
  dataDir = await makeTempDir('parley-restart-');
  first = await startServer({ apps: ['a'], dataDir });
  const app = first.apps.a;
  const alice = await CallUser.create(first, app, uniq('alice'), 1);
  const bob = await CallUser.create(first, app, uniq('bob'), 2);
  const carol = await CallUser.create(first, app, uniq('carol'), 1);
  const dave = await CallUser.create(first, app, uniq('dave'), 1);

  // One call of each live state, and one ended before the kill.
  const done = await connectCall(carol, dave);
  const ended = assertAck(await dave.ws().request('end', { call_id: done.call_id })).call;
  const connected = await connectCall(alice, bob, { ai: 0 });
  const accepted = await establish(carol, dave);
  const ringing = await dial(dave.ws(), bob.id, { isVideo: true });
  await Promise.all(bob.wss.map((ws) => callEvent(ws, 'ringing', ringing.call_id)));

  const killedAt = Date.now();
  first.proc.kill('SIGKILL');
  const e = await first.exited;
  assert.equal(e.signal, 'SIGKILL');
  for (const ws of [...alice.wss, ...bob.wss]) assert.equal((await ws.closed()).code, 1006, 'no close frame from a killed server');

  second = await startServer({ apps: [], dataDir });
  const P = second.api.platform(app);
  const now = Date.now();
  const expectUnknown = async (before) => {
    const r = await P.getCall(before.call_id);
    assert.equal(r.status, 200, r.text);
    const c = r.body.call;
    assertCall(c, {
      state: 'ended',
      end_result: 'unknown',
      ended_by: null,
      caller_id: before.caller_id,
      callee_id: before.callee_id,
      created_at: before.created_at,
      accepted_at: before.accepted_at,
      connected_at: before.connected_at,
      is_video: before.is_video,
    });
    assert.ok(c.ended_at >= killedAt - 1000 && c.ended_at <= now, `ended_at ${c.ended_at} between the kill (${killedAt}) and the restart (${now})`);
    return c;
  };
  const rc = await expectUnknown(ringing);
  assert.equal(rc.duration_ms, 0);
  const ac = await expectUnknown(accepted);
  assert.equal(ac.duration_ms, 0);
  const cc = await expectUnknown(connected);
  assert.equal(cc.duration_ms, cc.ended_at - connected.connected_at);
  // The call that had ended is as it was.
  assert.deepEqual((await P.getCall(done.call_id)).body.call, ended);

  // The log of each user shows them, newest first.
  const log = await P.listCalls(`?user_id=${encodeURIComponent(bob.id)}`);
  assert.deepEqual(log.body.calls.map((c) => [c.call_id, c.end_result]), [
    [ringing.call_id, 'unknown'],
    [connected.call_id, 'unknown'],
  ]);

  // Devices that come back (same device_id) find nothing ongoing and cannot act on the calls.
  for (const u of [alice, bob, dave]) {
    const key = await second.api.authOk(app, { user_id: u.id, access_token: u.accessToken, device_id: u.devices[0].deviceId });
    const { ws, welcome } = await connectWelcome(second, key.session_key, u.devices[0].deviceId);
    assert.deepEqual(welcome.ongoing_calls, [], `${u.id}: nothing ongoing after the restart`);
    const callId = u === alice ? connected.call_id : u === bob ? ringing.call_id : accepted.call_id;
    assertWsError(await ws.request(u === bob ? 'accept' : 'end', { call_id: callId }), 'invalid_call_state');
    // A new connection is bound to nothing: relays are forbidden.
    if (u !== bob) assertWsError(await ws.request('signal', { call_id: callId, data: 1 }), 'forbidden');
    ws.close();
  }

  // The restarted server works: a new call between the same users.
  const a2 = await CallUser.create(second, app, uniq('alice'), 1);
  const b2 = await CallUser.create(second, app, uniq('bob'), 1);
  const fresh = await connectCall(a2, b2);
  assertAck(await a2.ws().request('end', { call_id: fresh.call_id }));
});
