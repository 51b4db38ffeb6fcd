// Drives the demo page (web/demo) through its element ids, as a person would:
// #user-id, #sign-in, #callee-id, #call, #accept, #decline, #hangup, #mute, #video-toggle,
// #state, #local-video, #remote-video, #call-log.

import path from 'node:path';
import { newPage, ensureArtifactsDir } from './harness.mjs';

export class DemoPage {
  /** @param {import('playwright-core').Page} page */
  constructor(page, name) {
    this.page = page;
    this.name = name;
  }

  static async open(browser, serverUrl, { name, relayOnly = false } = {}) {
    const page = await newPage(browser, { relayOnly, name });
    const demo = new DemoPage(page, name);
    await page.goto(`${serverUrl}/`, { waitUntil: 'load' });
    await page.locator('#sign-in').waitFor({ state: 'visible', timeout: 10000 });
    return demo;
  }

  /** Text of #state, trimmed. */
  async state() {
    return ((await this.page.locator('#state').textContent({ timeout: 5000 })) ?? '').trim();
  }

  /**
   * Waits until #state matches `re` (a RegExp, matched case-insensitively on the trimmed text).
   * On timeout the error carries the last text and the page's console.
   */
  async waitState(re, { timeoutMs = 15000 } = {}) {
    const source = re instanceof RegExp ? re.source : `^${String(re).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`;
    try {
      await this.page.waitForFunction(
        (src) => new RegExp(src, 'i').test((document.getElementById('state')?.textContent ?? '').trim()),
        source, { timeout: timeoutMs, polling: 50 });
    } catch (e) {
      throw new Error(`${this.name}: #state did not match /${source}/i within ${timeoutMs} ms ` +
        `(it is "${await this.state().catch(() => '?')}")\n${this.logTail()}`);
    }
    return this.state();
  }

  /** Every text #state has shown since the page loaded, in order. */
  async stateHistory() {
    return this.page.evaluate(() => window.__e2e.states.slice());
  }

  logTail(n = 25) {
    return (this.page.__logs ?? []).slice(-n).join('\n');
  }

  async click(id) {
    await this.page.locator(`#${id}`).click({ timeout: 10000 });
  }

  /**
   * Signs in as `userId` (the demo fetches a token from /demo/v1, authenticates and connects the
   * WebSocket) and waits until it can call: #call visible and enabled, #state "idle".
   */
  async signIn(userId) {
    await this.page.locator('#user-id').fill(userId, { timeout: 5000 });
    await this.click('sign-in');
    try {
      await this.page.waitForFunction(() => {
        const call = document.getElementById('call');
        return !!call && !call.disabled && call.offsetParent !== null;
      }, null, { timeout: 15000, polling: 50 });
    } catch (e) {
      const err = await this.page.locator('#error').textContent({ timeout: 1000 }).catch(() => '');
      throw new Error(`${this.name}: sign-in as ${userId} did not finish (#error: "${err}")\n${this.logTail()}`);
    }
    await this.waitState(/^idle$/, { timeoutMs: 5000 });
  }

  /** Text of an element (trimmed), '' when missing. */
  async text(id) {
    return this.page.evaluate((i) => (document.getElementById(i)?.textContent ?? '').trim(), id);
  }

  async dial(calleeId) {
    await this.page.locator('#callee-id').fill(calleeId, { timeout: 5000 });
    await this.click('call');
  }

  async accept() { await this.click('accept'); }
  async decline() { await this.click('decline'); }
  async hangUp() { await this.click('hangup'); }
  async toggleMute() { await this.click('mute'); }
  async toggleVideo() { await this.click('video-toggle'); }

  /** Whole visible text of the page (for indicators whose element the test does not know). */
  async bodyText() {
    return this.page.evaluate(() => document.body.innerText);
  }

  async callLogText() {
    return ((await this.page.locator('#call-log').textContent({ timeout: 5000 })) ?? '').trim();
  }

  /** true when #remote-video plays frames (a decoded video of non-zero size). */
  async remoteVideoPlaying() {
    return this.page.evaluate(() => {
      const v = document.getElementById('remote-video');
      return !!v && v.videoWidth > 0 && v.readyState >= 2 && !v.paused;
    });
  }

  async screenshot(file) {
    const dir = ensureArtifactsDir();
    const p = path.join(dir, file);
    await this.page.screenshot({ path: p, fullPage: true, timeout: 10000 });
    return p;
  }

  async close() {
    await this.page.context().close().catch(() => {});
  }
}
