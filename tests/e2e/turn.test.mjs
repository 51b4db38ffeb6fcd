// Browser end to end through a real TURN server: coturn started here with use-auth-secret, and
// two parleyd: one that knows coturn's secret and one with a wrong secret. The pages force
// iceTransportPolicy "relay", so media can only flow through coturn with the credentials parleyd
// issued in `ice_servers`.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { expectMediaFlowing, mediaStats, startCoturn } from './lib/harness.mjs';
import { startBrowser, startServerWithSettings, withTwoUsers, connectCall, lastCall } from './lib/suite.mjs';

const SECRET = crypto.randomBytes(24).toString('base64url');
const WRONG_SECRET = crypto.randomBytes(24).toString('base64url');
const CONNECTION_TIMEOUT_S = 5; // the smallest the API allows

let turn;
let good;
let bad;
let browser;

before(async () => {
  browser = await startBrowser({ turn: true });
  turn = await startCoturn({ secret: SECRET });
  good = await startServerWithSettings({ flags: ['--turn-url', turn.url, '--turn-secret', SECRET] });
  bad = await startServerWithSettings({
    flags: ['--turn-url', turn.url, '--turn-secret', WRONG_SECRET],
    settings: { connection_timeout_s: CONNECTION_TIMEOUT_S },
  });
});

after(async () => {
  await browser?.close().catch(() => {});
  await good?.stop();
  await bad?.stop();
  await turn?.stop();
});

/** The ICE servers the SDK handed to the page's RTCPeerConnection. */
async function pcConfigs(page) {
  return page.page.evaluate(() => window.__e2e.configs);
}

function assertTurnConfig(configs, userId) {
  assert.ok(configs.length >= 1, 'the page made a peer connection');
  const cfg = configs[configs.length - 1];
  assert.equal(cfg.iceTransportPolicy, 'relay');
  const turnServer = cfg.iceServers.find((s) => [].concat(s.urls).some((u) => u.startsWith('turn:')));
  assert.ok(turnServer, `a TURN server in ${JSON.stringify(cfg.iceServers)}`);
  assert.ok([].concat(turnServer.urls).includes(turn.url), `parleyd's TURN url ${turn.url}`);
  // coturn use-auth-secret: "<expiry unix s>:<user id>".
  const m = /^(\d+):(.+)$/.exec(turnServer.username ?? '');
  assert.ok(m, `TURN username "${turnServer.username}"`);
  assert.equal(m[2], userId);
  assert.ok(Number(m[1]) > Date.now() / 1000, 'TURN credentials not expired');
  return turnServer;
}

test('relay-only call through coturn with the credentials parleyd issues', { timeout: 90000 }, async () => {
  await withTwoUsers(browser, good, 'relay', async ({ caller, callee, callerId, calleeId }) => {
    await connectCall(caller, callee, calleeId);
    const [a, b] = await Promise.all([expectMediaFlowing(caller.page), expectMediaFlowing(callee.page)]);
    for (const [who, s] of [['caller', a], ['callee', b]]) {
      assert.ok(s.pair, `${who}: a selected candidate pair (${JSON.stringify(s)})`);
      assert.equal(s.pair.local, 'relay', `${who}: media goes through the TURN relay (${JSON.stringify(s.pair)})`);
      assert.ok(s.localCandidateTypes.length > 0 && s.localCandidateTypes.every((t) => t === 'relay'),
        `${who}: relay candidates only (${s.localCandidateTypes})`);
    }
    assertTurnConfig(await pcConfigs(caller), callerId);
    assertTurnConfig(await pcConfigs(callee), calleeId);

    await callee.hangUp();
    await callee.waitState(/^ended: completed$/);
    await caller.waitState(/^ended: completed$/);
    const call = await lastCall(good, callerId);
    assert.equal(call.end_result, 'completed');
    assert.ok(call.connected_at !== null);
    // coturn accepted parleyd's credentials: no auth error for these users.
    const authErrors = turn.logText().split('\n')
      .filter((l) => (l.includes(`:${callerId}`) || l.includes(`:${calleeId}`)) && /check_stun_auth|401|unauthori[sz]ed/i.test(l) && !/success/i.test(l));
    assert.deepEqual(authErrors, [], 'coturn refused none of the credentials parleyd issued');
  }, { relayOnly: true });
});

test('relay-only call with TURN credentials from a wrong secret never connects', { timeout: 60000 }, async () => {
  await withTwoUsers(browser, bad, 'wrong-secret', async ({ caller, callee, callerId, calleeId }) => {
    await caller.dial(calleeId);
    await callee.waitState(/^ringing/);
    await callee.accept();
    // coturn refuses the allocation, so no relay candidate exists and ICE cannot connect; the
    // server's connection timer ends the call. Waiting for that timer is the point here.
    const timeoutMs = CONNECTION_TIMEOUT_S * 1000 + 10000;
    await caller.waitState(/^ended: timed_out$/, { timeoutMs });
    await callee.waitState(/^ended: timed_out$/, { timeoutMs: 5000 });

    for (const page of [caller, callee]) {
      const history = await page.stateHistory();
      assert.ok(!history.some((s) => /^connected/i.test(s)), `${page.name} never showed connected: ${JSON.stringify(history)}`);
    }
    assertTurnConfig(await pcConfigs(caller), callerId);
    assertTurnConfig(await pcConfigs(callee), calleeId);
    const s = await mediaStats(caller.page);
    if (s) {
      assert.equal(s.localCandidateTypes.length, 0, `no relay candidate with a wrong secret: ${JSON.stringify(s)}`);
      assert.equal(s.audioIn + s.videoIn, 0, 'no media received');
    }
    const call = await lastCall(bad, callerId);
    assert.equal(call.end_result, 'timed_out');
    assert.equal(call.connected_at, null);
    assert.ok(call.accepted_at !== null);
    // coturn saw the caller's username and refused it (coturn 4.6: "check_stun_auth: Cannot find
    // credentials of user <...>"; others: a 401 on the line of the user).
    const refused = turn.logText().split('\n').some((l) => l.includes(`:${callerId}`) && /check_stun_auth|401|unauthori[sz]ed/i.test(l));
    assert.ok(refused, `coturn log shows the refused allocation of ${callerId}:\n${turn.logText().slice(-3000)}`);
  }, { relayOnly: true });
});
