// Helpers for direct calls over the WebSocket: users with several devices, dial/accept/connect in
// one call, waiting for the events of one call (by call_id, so events of other calls stay queued),
// and checks of every call object against the Call schema and the contract's invariants.
//
// Nothing here sleeps: every wait is on a message, with a deadline (scaled by TIME_SCALE in ws.mjs).

import assert from 'node:assert/strict';
import { validator } from './openapi.mjs';
import { connectWelcome } from './ws.mjs';

export const END_RESULTS = [
  'completed',
  'canceled',
  'declined',
  'no_answer',
  'other_device_accepted',
  'timed_out',
  'connection_lost',
  'unknown',
];

/**
 * Asserts that `call` is a valid call object (schema Call) that keeps the contract's invariants,
 * then that the fields in `expect` have exactly those values. Returns the call.
 */
export function assertCall(call, expect = {}, what = 'call') {
  validator().assertSchema('Call', call, what);
  const s = call.state;
  const ctx = `${what}: ${JSON.stringify(call)}`;
  if (s === 'ringing') {
    assert.equal(call.accepted_at, null, `ringing call has no accepted_at (${ctx})`);
    assert.equal(call.connected_at, null, ctx);
  }
  if (s === 'accepted') {
    assert.equal(typeof call.accepted_at, 'number', ctx);
    assert.equal(call.connected_at, null, ctx);
  }
  if (s === 'connected') {
    assert.equal(typeof call.accepted_at, 'number', ctx);
    assert.equal(typeof call.connected_at, 'number', ctx);
  }
  if (s === 'ended') {
    assert.equal(typeof call.ended_at, 'number', `ended call has ended_at (${ctx})`);
    assert.ok(END_RESULTS.includes(call.end_result), `ended call has an end_result (${ctx})`);
    assert.ok(call.ended_at >= call.created_at, ctx);
  } else {
    assert.equal(call.ended_at, null, `not ended: ended_at null (${ctx})`);
    assert.equal(call.end_result, null, `not ended: end_result null (${ctx})`);
    assert.equal(call.ended_by, null, `not ended: ended_by null (${ctx})`);
    assert.equal(call.duration_ms, 0, `not ended: duration_ms 0 (${ctx})`);
  }
  if (call.accepted_at !== null) assert.ok(call.accepted_at >= call.created_at, ctx);
  if (call.connected_at !== null) {
    assert.notEqual(call.accepted_at, null, `connected implies accepted (${ctx})`);
    assert.ok(call.connected_at >= call.accepted_at, ctx);
  }
  if (s === 'ended' && call.connected_at !== null) {
    assert.equal(call.duration_ms, call.ended_at - call.connected_at, `duration_ms = ended_at - connected_at (${ctx})`);
  } else {
    assert.equal(call.duration_ms, 0, `duration_ms 0 when the call never connected (${ctx})`);
  }
  if (call.ended_by !== null) {
    assert.ok([call.caller_id, call.callee_id].includes(call.ended_by), `ended_by is a party (${ctx})`);
  }
  for (const [k, v] of Object.entries(expect)) {
    assert.deepEqual(call[k], v, `${what}.${k} (${ctx})`);
  }
  return call;
}

/** The fields of a call that every copy of it must agree on (events may differ only in state/end). */
export const sameCall = (a, b, what = 'call') => {
  for (const k of ['call_id', 'caller_id', 'callee_id', 'is_video', 'created_at', 'custom_items']) {
    assert.deepEqual(a[k], b[k], `${what}.${k}`);
  }
};

const callIdOf = (m) => m?.call?.call_id ?? m?.call_id;

/** Matcher for a message of `type` about `callId`. */
export const about = (type, callId) => (m) => m && m.type === type && callIdOf(m) === callId;

/** Waits for the next `type` event of `callId` on `ws`; validates the call it carries. */
export async function callEvent(ws, type, callId, timeoutMs = 3000) {
  const m = await ws.next(about(type, callId), timeoutMs);
  assert.equal(m.req_id, undefined, `events carry no req_id: ${JSON.stringify(m)}`);
  if (m.call) assertCall(m.call, {}, `${type} event`);
  return m;
}

/**
 * Waits on each ws for `ended` of `callId` and asserts end_result/ended_by (and state ended).
 * Returns the calls in the same order.
 */
export async function expectEnded(wss, callId, endResult, endedBy, timeoutMs = 3000) {
  return Promise.all(
    wss.map(async (ws, i) => {
      const m = await callEvent(ws, 'ended', callId, timeoutMs);
      assertCall(m.call, { state: 'ended', end_result: endResult, ended_by: endedBy }, `ended #${i}`);
      return m.call;
    }),
  );
}

/** Asserts a request answer is an ack; returns it. */
export function assertAck(m, what = 'request') {
  assert.equal(m.type, 'ack', `${what}: expected ack, got ${JSON.stringify(m)}`);
  return m;
}

/** Asserts a request answer is an error frame with `code` (and `field`). */
export function assertWsError(m, code, field) {
  assert.equal(m.type, 'error', `expected error ${code}, got ${JSON.stringify(m)}`);
  assert.equal(m.code, code, `error code: ${JSON.stringify(m)}`);
  assert.equal(typeof m.message, 'string');
  assert.ok(m.message.length > 0);
  if (field !== undefined) assert.equal(m.field, field, `error field: ${JSON.stringify(m)}`);
  return m;
}

/**
 * Proves that nothing matching `pred` is queued on `ws` now nor arrives before a ping round trip
 * (the server answers in order on one connection, so an event already sent precedes the pong).
 */
export async function assertNothing(ws, pred, what = 'message') {
  await ws.assertAlive();
  const found = ws.queue.filter(pred);
  assert.equal(found.length, 0, `unexpected ${what}: ${JSON.stringify(found).slice(0, 1500)}`);
}

/** Removes every queued message about `callId` (after a test is done with a call). */
export function drainCall(ws, callId) {
  ws.queue = ws.queue.filter((m) => callIdOf(m) !== callId);
}

/**
 * A user with devices, each device its own authenticated session and WebSocket with its own
 * device_id. `devices[i]` = {ws, welcome, deviceId, sessionKey}.
 */
export class CallUser {
  constructor(server, app, userId, accessToken) {
    this.server = server;
    this.app = app;
    this.id = userId;
    this.accessToken = accessToken;
    this.devices = [];
  }

  static async create(server, app, userId, nDevices = 1) {
    const { access_token } = await server.api.userWithAccessToken(app, userId);
    const u = new CallUser(server, app, userId, access_token);
    await Promise.all(Array.from({ length: nDevices }, (_, i) => u.addDevice(`${userId}-dev${i}`)));
    // Keep devices in index order whatever order they connected in.
    u.devices.sort((a, b) => a.deviceId.localeCompare(b.deviceId, 'en', { numeric: true }));
    return u;
  }

  /** A new session (auth with device_id) and a new WebSocket for it. */
  async session(deviceId) {
    const json = { user_id: this.id, access_token: this.accessToken };
    if (deviceId !== undefined) json.device_id = deviceId;
    const auth = await this.server.api.authOk(this.app, json);
    return auth.session_key;
  }

  async addDevice(deviceId) {
    const sessionKey = await this.session(deviceId);
    const { ws, welcome } = await connectWelcome(this.server, sessionKey, deviceId);
    const d = { ws, welcome, deviceId, sessionKey };
    this.devices.push(d);
    return d;
  }

  /** Opens another WebSocket for an existing device (same session key and device_id). */
  async reconnect(i, { newSession = false } = {}) {
    const d = this.devices[i];
    const sessionKey = newSession ? await this.session(d.deviceId) : d.sessionKey;
    const { ws, welcome } = await connectWelcome(this.server, sessionKey, d.deviceId);
    Object.assign(d, { ws, welcome, sessionKey });
    return d;
  }

  ws(i = 0) {
    return this.devices[i].ws;
  }

  get wss() {
    return this.devices.map((d) => d.ws);
  }

  closeAll() {
    for (const d of this.devices) d.ws.close();
  }
}

/** Dials from `ws`; asserts the ack (state ringing) and returns the call. */
export async function dial(ws, calleeId, { isVideo = false, customItems } = {}) {
  const fields = { callee_id: calleeId, is_video: isVideo };
  if (customItems !== undefined) fields.custom_items = customItems;
  const ack = assertAck(await ws.request('dial', fields), 'dial');
  assertCall(ack.call, { state: 'ringing', callee_id: calleeId, is_video: isVideo }, 'dial ack');
  return ack.call;
}

/**
 * caller.ws(ci) dials callee; every callee device rings; callee device `ai` accepts; the caller
 * gets `accepted`; the callee's other devices get `ended` other_device_accepted.
 * Returns the accepted call (from the accept ack).
 */
export async function establish(caller, callee, { ci = 0, ai = 0, isVideo = false } = {}) {
  const call = await dial(caller.ws(ci), callee.id, { isVideo });
  await Promise.all(callee.wss.map((ws) => callEvent(ws, 'ringing', call.call_id)));
  const ack = assertAck(await callee.ws(ai).request('accept', { call_id: call.call_id }), 'accept');
  assertCall(ack.call, { state: 'accepted', call_id: call.call_id }, 'accept ack');
  const ev = await callEvent(caller.ws(ci), 'accepted', call.call_id);
  assert.deepEqual(ev.call, ack.call, 'accepted event = accept ack');
  const others = callee.wss.filter((_, i) => i !== ai);
  await expectEnded(others, call.call_id, 'other_device_accepted', callee.id);
  return ack.call;
}

/** establish() then media_connected from the caller; both bound connections get `connected`. */
export async function connectCall(caller, callee, opts = {}) {
  const { ci = 0, ai = 0 } = opts;
  const call = await establish(caller, callee, opts);
  const ack = assertAck(await caller.ws(ci).request('media_connected', { call_id: call.call_id }), 'media_connected');
  assertCall(ack.call, { state: 'connected' }, 'media_connected ack');
  await callEvent(caller.ws(ci), 'connected', call.call_id);
  await callEvent(callee.ws(ai), 'connected', call.call_id);
  return ack.call;
}

/** Fetches every page of a call log. `fetchPage(query)` returns an HTTP response. */
export async function allPages(fetchPage, limit) {
  const pages = [];
  let next = null;
  for (let guard = 0; guard < 1000; guard++) {
    let q = `?limit=${limit}`;
    if (next !== null) q += `&next=${encodeURIComponent(next)}`;
    const r = await fetchPage(q);
    assert.equal(r.status, 200, r.text);
    for (const c of r.body.calls) assertCall(c, {}, 'call log entry');
    pages.push(r.body.calls);
    next = r.body.next;
    if (next === null) return pages;
    assert.equal(typeof next, 'string');
  }
  throw new Error('call log paging does not end');
}

/** The UTC day (YYYY-MM-DD) of a time in ms. */
export const utcDay = (t) => new Date(t).toISOString().slice(0, 10);
