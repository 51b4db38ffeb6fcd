// A WebSocket client for tests: queues every incoming JSON message; `await next(type)` takes the
// first queued (or the next arriving) message of that type; `await closed()` resolves {code, reason}.
// Nothing here sleeps: every wait is on an event, with a deadline that fails the test.

import WebSocket from 'ws';
import { ms } from './server.mjs';

let reqCounter = 0;
export const newReqId = () => `r${++reqCounter}`;

export class WsClient {
  /**
   * @param {string} url  ws:// or wss:// URL of /v1/ws
   * @param {object} [options]  passed to `ws` (e.g. {autoPong: false, rejectUnauthorized: false})
   */
  constructor(url, options = {}) {
    this.ws = new WebSocket(url, { maxPayload: 1 << 20, ...options });
    this.queue = [];
    this.waiters = [];
    this.pings = 0;
    this.pingWaiters = [];
    this.closeInfo = null;
    this.closeWaiters = [];
    this.errors = [];
    this.opened = new Promise((resolve, reject) => {
      this.ws.once('open', resolve);
      this.ws.once('error', reject);
      this.ws.once('close', (code) => reject(new Error(`closed (${code}) before open`)));
    });
    this.opened.catch(() => {});
    this.ws.on('error', (e) => this.errors.push(e));
    this.ws.on('message', (data, isBinary) => {
      let msg;
      try {
        msg = JSON.parse(data.toString('utf8'));
      } catch {
        msg = { type: '__unparsable__', raw: data.toString('utf8'), isBinary };
      }
      this.queue.push(msg);
      this.dispatch();
    });
    this.ws.on('ping', () => {
      this.pings++;
      const w = this.pingWaiters;
      this.pingWaiters = [];
      for (const f of w) f();
    });
    this.ws.on('close', (code, reason) => {
      this.closeInfo = { code, reason: reason.toString('utf8') };
      for (const w of this.closeWaiters) w(this.closeInfo);
      this.closeWaiters = [];
      // Wake the message waiters so that they fail fast with the close code.
      for (const w of this.waiters) w.onClose(this.closeInfo);
      this.waiters = [];
      for (const f of this.pingWaiters) f();
      this.pingWaiters = [];
    });
  }

  static async connect(url, options) {
    const c = new WsClient(url, options);
    await c.opened;
    return c;
  }

  dispatch() {
    for (let i = 0; i < this.waiters.length; i++) {
      const w = this.waiters[i];
      const idx = this.queue.findIndex(w.match);
      if (idx >= 0) {
        const [msg] = this.queue.splice(idx, 1);
        this.waiters.splice(i, 1);
        i--;
        w.resolve(msg);
      }
    }
  }

  get isOpen() {
    return this.ws.readyState === WebSocket.OPEN;
  }

  send(obj) {
    this.ws.send(JSON.stringify(obj));
  }

  sendRaw(data, opts = {}) {
    this.ws.send(data, opts);
  }

  /**
   * Waits for the next message matching `type` (a string, a predicate, or undefined for any).
   * Messages that do not match stay queued.
   */
  next(type, timeoutMs = 3000) {
    const match =
      type === undefined ? () => true : typeof type === 'function' ? type : (m) => m && m.type === type;
    const idx = this.queue.findIndex(match);
    if (idx >= 0) return Promise.resolve(this.queue.splice(idx, 1)[0]);
    const limit = ms(timeoutMs);
    return new Promise((resolve, reject) => {
      const w = {
        match,
        resolve: (m) => {
          clearTimeout(timer);
          resolve(m);
        },
        onClose: (info) => {
          clearTimeout(timer);
          reject(new Error(`connection closed (${info.code} ${info.reason}) while waiting for ${describe(type)}; queued: ${JSON.stringify(this.queue).slice(0, 1000)}`));
        },
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((x) => x !== w);
        reject(new Error(`no ${describe(type)} within ${limit} ms; queued: ${JSON.stringify(this.queue).slice(0, 1000)}`));
      }, limit);
      if (this.closeInfo) {
        w.onClose(this.closeInfo);
        return;
      }
      this.waiters.push(w);
    });
  }

  /** Resolves {code, reason} when the connection closes; rejects after the timeout. */
  closed(timeoutMs = 3000) {
    if (this.closeInfo) return Promise.resolve(this.closeInfo);
    const limit = ms(timeoutMs);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.closeWaiters = this.closeWaiters.filter((x) => x !== f);
        reject(new Error(`connection not closed within ${limit} ms; queued: ${JSON.stringify(this.queue).slice(0, 1000)}`));
      }, limit);
      const f = (info) => {
        clearTimeout(timer);
        resolve(info);
      };
      this.closeWaiters.push(f);
    });
  }

  /** Resolves once at least `count` ping frames in total have arrived from the server. */
  pingsReceived(count, timeoutMs = 5000) {
    if (this.pings >= count) return Promise.resolve(this.pings);
    const limit = ms(timeoutMs);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`only ${this.pings} pings within ${limit} ms`)), limit);
      const check = () => {
        if (this.pings >= count) {
          clearTimeout(timer);
          resolve(this.pings);
        } else if (this.closeInfo) {
          clearTimeout(timer);
          reject(new Error(`closed (${this.closeInfo.code}) after ${this.pings} pings`));
        } else this.pingWaiters.push(check);
      };
      check();
    });
  }

  /** Sends hello and waits for welcome (or returns the error frame when expectError). */
  async hello(sessionKey, deviceId, { timeoutMs = 3000 } = {}) {
    const m = { type: 'hello', session_key: sessionKey };
    if (deviceId !== undefined) m.device_id = deviceId;
    this.send(m);
    return this.next((x) => x.type === 'welcome' || x.type === 'error', timeoutMs);
  }

  /** Sends a request with a fresh req_id; resolves the ack or error frame carrying that req_id. */
  async request(type, fields = {}, timeoutMs = 3000) {
    const req_id = newReqId();
    this.send({ type, req_id, ...fields });
    return this.next((m) => m.req_id === req_id && (m.type === 'ack' || m.type === 'error'), timeoutMs);
  }

  /** Proves the connection is open and served: {"type":"ping"} → {"type":"pong"}. */
  async assertAlive(timeoutMs = 3000) {
    this.send({ type: 'ping' });
    const m = await this.next('pong', timeoutMs);
    return m;
  }

  close(code = 1000) {
    try {
      this.ws.close(code);
    } catch {
      /* already closing */
    }
  }

  terminate() {
    this.ws.terminate();
  }
}

function describe(type) {
  return type === undefined ? 'message' : typeof type === 'function' ? 'matching message' : `'${type}'`;
}

/** Opens a WebSocket, sends hello and asserts welcome. Returns {ws, welcome}. */
export async function connectWelcome(server, sessionKey, deviceId, options) {
  const ws = await WsClient.connect(server.wsUrl, options);
  const welcome = await ws.hello(sessionKey, deviceId);
  if (welcome.type !== 'welcome') {
    ws.terminate();
    throw new Error(`expected welcome, got ${JSON.stringify(welcome)}`);
  }
  return { ws, welcome };
}
