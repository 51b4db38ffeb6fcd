// Browser end to end: two demo pages in Debian's Chromium (fake camera and microphone), two users,
// a real parleyd. A call with media both ways, mute, hang up; decline; cancel.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { expectMediaFlowing, mediaStats, waitFor } from './lib/harness.mjs';
import { startBrowser, startServerWithSettings, withTwoUsers, lastCall } from './lib/suite.mjs';

let server;
let browser;

before(async () => {
  server = await startServerWithSettings();
  browser = await startBrowser();
});

after(async () => {
  await browser?.close().catch(() => {});
  await server?.stop();
});

/**
 * The page shows whether the peer's microphone is muted: the demo appends "(muted)" to #peer
 * ("with alice (muted)") on onRemoteAudioSettingsChanged.
 */
async function waitRemoteMuted(demo, muted, timeoutMs = 10000) {
  try {
    await demo.page.waitForFunction((want) => {
      const t = (document.getElementById('peer')?.textContent ?? '').trim();
      return t.startsWith('with ') && /\(muted\)/i.test(t) === want;
    }, muted, { timeout: timeoutMs, polling: 50 });
  } catch {
    throw new Error(`${demo.name}: #peer does not show the peer ${muted ? 'muted' : 'unmuted'} (it is "${await demo.text('peer')}")`);
  }
}

/** The page shows or hides the peer's video: the demo hides #remote-video on onRemoteVideoSettingsChanged. */
async function waitRemoteVideoShown(demo, shown, timeoutMs = 10000) {
  try {
    await demo.page.waitForFunction((want) => {
      const v = document.getElementById('remote-video');
      return !!v && (getComputedStyle(v).visibility !== 'hidden') === want;
    }, shown, { timeout: timeoutMs, polling: 50 });
  } catch {
    throw new Error(`${demo.name}: #remote-video is not ${shown ? 'shown' : 'hidden'}`);
  }
}

test('dial, ring, accept: media both ways, mute shows on the other side, hang up ends both completed', { timeout: 90000 }, async () => {
  await withTwoUsers(browser, server, 'call', async ({ caller, callee, callerId, calleeId }) => {
    await caller.dial(calleeId);
    await callee.waitState(/^ringing/);
    await callee.accept();
    await caller.waitState(/^connected/, { timeoutMs: 20000 });
    await callee.waitState(/^connected/, { timeoutMs: 20000 });

    // Media: both sides receive audio and video, and the byte counts grow.
    const [a, b] = await Promise.all([expectMediaFlowing(caller.page), expectMediaFlowing(callee.page)]);
    assert.ok(a.audioIn > 0 && a.videoIn > 0, `caller stats ${JSON.stringify(a)}`);
    assert.ok(b.audioIn > 0 && b.videoIn > 0, `callee stats ${JSON.stringify(b)}`);

    // The remote <video> of both pages plays; keep a screenshot of the demo during the call.
    await waitFor(() => caller.remoteVideoPlaying(), { timeoutMs: 10000, what: 'caller #remote-video playing' });
    await waitFor(() => callee.remoteVideoPlaying(), { timeoutMs: 10000, what: 'callee #remote-video playing' });
    for (const [page, file] of [[caller, 'demo-call-caller.png'], [callee, 'demo-call-callee.png']]) {
      const p = await page.screenshot(file);
      assert.ok(statSync(p).size > 5000, `${p} is a real screenshot`);
    }

    // Mute on the caller shows on the callee; unmute too. Audio bytes keep flowing (silence).
    await waitRemoteMuted(callee, false);
    await caller.toggleMute();
    await waitRemoteMuted(callee, true);
    assert.equal(await caller.text('mute'), 'Unmute');
    await caller.toggleMute();
    await waitRemoteMuted(callee, false);

    // Video off on the callee hides it on the caller; on again shows it and frames flow again.
    await callee.toggleVideo();
    await waitRemoteVideoShown(caller, false);
    await callee.toggleVideo();
    await waitRemoteVideoShown(caller, true);
    await expectMediaFlowing(caller.page);

    // Hang up: both end with completed.
    await caller.hangUp();
    await caller.waitState(/^ended: completed$/);
    await callee.waitState(/^ended: completed$/);

    const call = await lastCall(server, callerId);
    assert.equal(call.caller_id, callerId);
    assert.equal(call.callee_id, calleeId);
    assert.equal(call.end_result, 'completed');
    assert.equal(call.ended_by, callerId);
    assert.ok(call.connected_at !== null, 'the server saw media connect');

    // The demo's call log lists the call on both pages.
    await waitFor(async () => /completed/i.test(await caller.callLogText()), { timeoutMs: 10000, what: 'caller #call-log shows the completed call' });
    await waitFor(async () => /completed/i.test(await callee.callLogText()), { timeoutMs: 10000, what: 'callee #call-log shows the completed call' });

    // No media once ended.
    const after = await mediaStats(caller.page);
    assert.ok(after === null || after.connectionState === 'closed', `caller peer connection closed: ${JSON.stringify(after)}`);
  });
});

test('decline: both sides end with declined', { timeout: 60000 }, async () => {
  await withTwoUsers(browser, server, 'decline', async ({ caller, callee, callerId, calleeId }) => {
    await caller.dial(calleeId);
    await callee.waitState(/^ringing/);
    await callee.decline();
    await callee.waitState(/^ended: declined$/);
    await caller.waitState(/^ended: declined$/);
    const call = await lastCall(server, callerId);
    assert.equal(call.end_result, 'declined');
    assert.equal(call.ended_by, calleeId);
    assert.equal(call.connected_at, null);
  });
});

test('cancel: the caller hangs up while it rings, both sides end with canceled', { timeout: 60000 }, async () => {
  await withTwoUsers(browser, server, 'cancel', async ({ caller, callee, callerId, calleeId }) => {
    await caller.dial(calleeId);
    await callee.waitState(/^ringing/);
    await caller.hangUp();
    await caller.waitState(/^ended: canceled$/);
    await callee.waitState(/^ended: canceled$/);
    const call = await lastCall(server, callerId);
    assert.equal(call.end_result, 'canceled');
    assert.equal(call.ended_by, callerId);
    assert.equal(call.accepted_at, null);
  });
});

test('the incoming-call panel shows on the callee only, and only while it rings', { timeout: 60000 }, async () => {
  await withTwoUsers(browser, server, 'incoming-panel', async ({ caller, callee, calleeId }) => {
    const visible = (demo, id) => demo.page.locator(`#${id}`).isVisible();
    assert.equal(await visible(callee, 'accept'), false, 'callee: no Accept button before a call rings');
    await caller.dial(calleeId);
    await callee.waitState(/^ringing/);
    assert.equal(await visible(callee, 'accept'), true, 'callee: Accept shows while ringing');
    assert.equal(await visible(callee, 'decline'), true, 'callee: Decline shows while ringing');
    assert.equal(await visible(caller, 'accept'), false, 'caller: no Accept button on an outgoing call');
    assert.equal(await visible(caller, 'decline'), false, 'caller: no Decline button on an outgoing call');
    await caller.hangUp();
    await callee.waitState(/^ended: canceled$/);
    assert.equal(await visible(callee, 'accept'), false, 'callee: Accept gone once the call ended');
  });
});
