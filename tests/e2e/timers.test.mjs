// Browser end to end, the server's timers: no answer after a short ringing timeout, and a page
// closed mid-call ending the other side with connection_lost after the reconnect grace.
// Both timers are set through the Platform API (PATCH /settings) before any call is dialed.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { expectMediaFlowing } from './lib/harness.mjs';
import { startBrowser, startServerWithSettings, withTwoUsers, connectCall, lastCall } from './lib/suite.mjs';

const RINGING_TIMEOUT_S = 10; // the smallest the API allows
const RECONNECT_GRACE_S = 3;

let server;
let browser;

before(async () => {
  server = await startServerWithSettings({
    settings: { ringing_timeout_s: RINGING_TIMEOUT_S, reconnect_grace_s: RECONNECT_GRACE_S },
  });
  browser = await startBrowser();
});

after(async () => {
  await browser?.close().catch(() => {});
  await server?.stop();
});

test(`no answer: after ringing_timeout_s (${RINGING_TIMEOUT_S} s) both sides end with no_answer`, { timeout: 60000 }, async () => {
  await withTwoUsers(browser, server, 'no-answer', async ({ caller, callee, callerId, calleeId }) => {
    const dialedAt = Date.now();
    await caller.dial(calleeId);
    await callee.waitState(/^ringing/);
    // Waiting for the server's ringing timer is the point of this test.
    const timeoutMs = RINGING_TIMEOUT_S * 1000 + 8000;
    await caller.waitState(/^ended: no_answer$/, { timeoutMs });
    await callee.waitState(/^ended: no_answer$/, { timeoutMs: 5000 });
    const elapsed = Date.now() - dialedAt;
    assert.ok(elapsed >= RINGING_TIMEOUT_S * 1000 - 500, `ended after ${elapsed} ms, before the ringing timeout`);
    const call = await lastCall(server, callerId);
    assert.equal(call.end_result, 'no_answer');
    assert.equal(call.ended_by, null);
  });
});

test(`a page closed mid-call ends the other side with connection_lost after the grace (${RECONNECT_GRACE_S} s)`, { timeout: 60000 }, async () => {
  await withTwoUsers(browser, server, 'connection-lost', async ({ caller, callee, callerId, calleeId }) => {
    await connectCall(caller, callee, calleeId);
    await expectMediaFlowing(caller.page);

    const closedAt = Date.now();
    await callee.close(); // the callee's tab goes away: WebSocket and peer connection with it
    const state = await caller.waitState(/^ended: connection_lost$/, { timeoutMs: RECONNECT_GRACE_S * 1000 + 10000 });
    const elapsed = Date.now() - closedAt;
    assert.equal(state, 'ended: connection_lost');
    assert.ok(elapsed >= RECONNECT_GRACE_S * 1000 - 500,
      `the call ended ${elapsed} ms after the page closed, before the reconnect grace of ${RECONNECT_GRACE_S} s`);

    // During the grace the demo showed the peer reconnecting (the server's peer_reconnecting).
    const history = await caller.stateHistory();
    const at = history.lastIndexOf('connected');
    assert.ok(at >= 0 && history.indexOf('reconnecting', at) > at,
      `caller showed "reconnecting" between connected and the end: ${JSON.stringify(history)}`);

    const call = await lastCall(server, callerId);
    assert.equal(call.end_result, 'connection_lost');
    assert.equal(call.ended_by, null);
    assert.ok(call.connected_at !== null);
  });
});
