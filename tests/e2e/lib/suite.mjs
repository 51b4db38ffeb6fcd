// Shared scaffolding of the test files: one parleyd (and browser) per file, two demo pages per
// test, screenshots of both pages when a test fails.

import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { ARTIFACTS, launchBrowser, missingPrerequisite, startParleyd } from './harness.mjs';
import { DemoPage } from './demo.mjs';

let userSeq = 0;
/** A user id unique within this process: "<prefix>-<n>-<random>". */
export function uid(prefix) {
  userSeq += 1;
  return `${prefix}-${userSeq}-${Math.random().toString(36).slice(2, 8)}`;
}

/** Starts the browser; asserts the prerequisites first so a missing one fails with its reason. */
export async function startBrowser(opts = {}) {
  const missing = missingPrerequisite(opts);
  assert.equal(missing, null, `e2e prerequisite missing: ${missing}`);
  return launchBrowser();
}

export async function startServerWithSettings({ flags = [], settings = null } = {}) {
  const server = await startParleyd({ flags });
  if (settings) {
    const r = await server.platform('PATCH', '/settings', settings);
    assert.equal(r.status, 200, `PATCH /settings: ${JSON.stringify(r.body)}`);
    for (const [k, v] of Object.entries(settings)) assert.equal(r.body[k], v, `settings.${k}`);
  }
  return server;
}

/**
 * Opens a caller and a callee page on the server, signs both in, runs `fn({caller, callee,
 * callerId, calleeId})`, and closes both pages. When `fn` fails, both pages are screenshot to
 * tests/artifacts/failed-<label>-<caller|callee>.png first.
 */
export async function withTwoUsers(browser, server, label, fn, { relayOnly = false } = {}) {
  const safe = label.replace(/[^a-z0-9]+/gi, '-').toLowerCase();
  for (const who of ['caller', 'callee']) rmSync(path.join(ARTIFACTS, `failed-${safe}-${who}.png`), { force: true });
  const callerId = uid('alice');
  const calleeId = uid('bob');
  const caller = await DemoPage.open(browser, server.url, { name: 'caller', relayOnly });
  const callee = await DemoPage.open(browser, server.url, { name: 'callee', relayOnly });
  try {
    await caller.signIn(callerId);
    await callee.signIn(calleeId);
    await fn({ caller, callee, callerId, calleeId });
  } catch (e) {
    await caller.screenshot(`failed-${safe}-caller.png`).catch(() => {});
    await callee.screenshot(`failed-${safe}-callee.png`).catch(() => {});
    e.message += `\n--- caller page log ---\n${caller.logTail()}\n--- callee page log ---\n${callee.logTail()}`;
    throw e;
  } finally {
    await caller.close();
    await callee.close();
  }
}

/** Dials and waits until both sides show "connected". */
export async function connectCall(caller, callee, calleeId) {
  await caller.dial(calleeId);
  await callee.waitState(/^ringing/);
  await callee.accept();
  await caller.waitState(/^connected/, { timeoutMs: 20000 });
  await callee.waitState(/^connected/, { timeoutMs: 20000 });
}

/** The newest call of `userId` from the Platform API's call log. */
export async function lastCall(server, userId) {
  const r = await server.platform('GET', `/direct_calls?user_id=${encodeURIComponent(userId)}&limit=1`);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.ok(r.body.calls.length >= 1, `no call in the log of ${userId}`);
  return r.body.calls[0];
}
