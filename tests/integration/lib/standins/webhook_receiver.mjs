// A webhook receiver, plain HTTP on 127.0.0.1, that checks every delivery as an app's backend
// should (docs/protocol.md, "Webhooks"):
// - `POST`, `Content-Type: application/json`, a body {event_id (UUID), event, app_id,
//   occurred_at (integer ms), data (object)};
// - `Parley-Event-Id` and `Parley-Event` equal the body's `event_id` and `event`;
// - `Parley-Signature: t=<unix s>,v1=<hex>` with v1 = HMAC-SHA256(secret, `${t}.${rawBody}`)
//   over the raw bytes, and t within 5 minutes of this clock.
// The secret is set with setSecret(secret) (every app) or setSecret(secret, appId) (one app).
//
//   const rx = await WebhookReceiver.start({secret});
//   PATCH /settings {webhook_url: rx.url}
//
// Records: `requests` (every POST: {time, headers, rawBody, body, verdict: {ok, errors},
// status}) and `events` (the ones answered 2xx: delivered). A delivery that fails a check is
// answered 401 (signature) or 400 (anything else) and listed by failures().
//
// Modes: ok() answers 200; answer(500) answers that status to every (valid) delivery; hang()
// never answers; setResponder(fn) answers fn(record) when it returns a number (e.g. 410 for a
// push token); down() closes the listening socket and every open connection (connections are
// then refused); up() listens again on the SAME port (and answers 200).

import http from 'node:http';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { Recorder } from './common.mjs';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** hex HMAC-SHA256(secret, `${t}.${rawBody}`), the v1 of Parley-Signature. */
export function signatureOf(secret, t, rawBody) {
  return createHmac('sha256', Buffer.from(secret, 'utf8')).update(`${t}.`).update(Buffer.from(rawBody, 'utf8')).digest('hex');
}

/** Parses `t=...,v1=...[,v1=...]` → {t, v1: [..]} or null. */
export function parseSignatureHeader(h) {
  if (typeof h !== 'string') return null;
  let t = null;
  const v1 = [];
  for (const part of h.split(',')) {
    const i = part.indexOf('=');
    if (i < 0) return null;
    const k = part.slice(0, i).trim();
    const v = part.slice(i + 1).trim();
    if (k === 't') t = v;
    else if (k === 'v1') v1.push(v);
  }
  if (t === null || !/^\d+$/.test(t) || v1.length === 0) return null;
  return { t: Number(t), tText: t, v1 };
}

/** True when the recorded delivery's signature verifies with `secret`. */
export function verifies(rec, secret) {
  const sig = parseSignatureHeader(rec.headers['parley-signature']);
  if (!sig || typeof secret !== 'string') return false;
  const want = Buffer.from(signatureOf(secret, sig.tText, rec.rawBody), 'utf8');
  return sig.v1.some((v) => {
    const got = Buffer.from(v, 'utf8');
    return got.length === want.length && timingSafeEqual(got, want);
  });
}

export class WebhookReceiver {
  /** @param {{secret?: string, path?: string, name?: string}} o */
  static async start(o = {}) {
    const r = new WebhookReceiver(o);
    await r.up();
    return r;
  }

  constructor({ secret = null, path = '/hook', name = 'webhook' } = {}) {
    this.name = name;
    this.path = path;
    this.defaultSecret = secret;
    this.secrets = new Map();
    this.recorder = new Recorder(name);
    this.mode = { status: 200 };
    this.responder = null;
    this.port = 0;
    this.sockets = new Set();
    this.hanging = new Set();
    this.isUp = false;
    this.server = http.createServer((req, res) => this.onRequest(req, res));
    // Idle connections stay open long enough that a client reusing one never races its close.
    this.server.keepAliveTimeout = 65000;
    this.server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
  }

  get url() {
    return `http://127.0.0.1:${this.port}${this.path}`;
  }

  get requests() {
    return this.recorder.items;
  }

  /** Deliveries answered 2xx, in the order they arrived. */
  get events() {
    return this.requests.filter((r) => r.status >= 200 && r.status < 300);
  }

  failures() {
    return this.requests.filter((r) => !r.verdict.ok);
  }

  setSecret(secret, appId) {
    if (appId === undefined) this.defaultSecret = secret;
    else this.secrets.set(appId, secret);
  }

  secretFor(appId) {
    return this.secrets.get(appId) ?? this.defaultSecret;
  }

  ok() {
    this.mode = { status: 200 };
  }

  answer(status) {
    this.mode = { status };
  }

  hang() {
    this.mode = { hang: true };
  }

  /** fn(record) → a status to answer, or null/undefined for the mode's answer. */
  setResponder(fn) {
    this.responder = fn;
  }

  waitFor(predicate, timeoutMs = 5000, what) {
    return this.recorder.waitFor(predicate, timeoutMs, what);
  }

  /** Waits for a delivered event matching pred(body, record); resolves the record. */
  waitForEvent(pred, timeoutMs = 5000, what = 'matching event') {
    return this.waitFor((items) => items.find((r) => r.status >= 200 && r.status < 300 && pred(r.body, r)), timeoutMs, what);
  }

  /** Listens (again) on the same port; answers 200 from now on. */
  up() {
    this.ok();
    if (this.isUp) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.port, '127.0.0.1', () => {
        this.server.off('error', reject);
        this.port = this.server.address().port;
        this.isUp = true;
        resolve();
      });
    });
  }

  /** Closes the listening socket and every connection: deliveries are refused until up(). */
  async down() {
    if (!this.isUp) return;
    this.isUp = false;
    const closed = new Promise((r) => this.server.close(() => r()));
    for (const s of this.sockets) s.destroy();
    this.hanging.clear();
    await closed;
  }

  async close() {
    await this.down();
  }

  onRequest(req, res) {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('error', () => {});
    req.on('end', () => {
      const rawBody = Buffer.concat(chunks).toString('utf8');
      const rec = this.check(req, rawBody);
      let status;
      if (!rec.verdict.ok) status = rec.verdict.signatureError ? 401 : 400;
      else {
        const custom = this.responder ? this.responder(rec) : null;
        if (typeof custom === 'number') status = custom;
        else if (this.mode.hang) status = null;
        else status = this.mode.status;
      }
      rec.status = status;
      this.recorder.push(rec);
      if (status === null) {
        this.hanging.add(res);
        res.on('close', () => this.hanging.delete(res));
        return;
      }
      res.writeHead(status, { 'content-type': 'text/plain' });
      res.end(status >= 200 && status < 300 ? 'ok' : 'no');
    });
  }

  check(req, rawBody) {
    const errors = [];
    const rec = {
      kind: 'webhook',
      time: Date.now(),
      method: req.method,
      path: req.url,
      headers: { ...req.headers },
      rawBody,
      body: null,
      status: null,
      verdict: { ok: true, errors, signatureError: null },
    };
    const bad = (why) => errors.push(why);
    if (req.method !== 'POST') bad(`method ${req.method}`);
    if (req.url !== this.path) bad(`path ${req.url}, want ${this.path}`);
    const ct = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
    if (ct !== 'application/json') bad(`content-type ${req.headers['content-type']}`);
    try {
      rec.body = JSON.parse(rawBody);
    } catch {
      rec.body = undefined;
      bad('body is not JSON');
    }
    const b = rec.body;
    if (b && typeof b === 'object' && !Array.isArray(b)) {
      if (typeof b.event_id !== 'string' || !UUID.test(b.event_id)) bad(`event_id ${b.event_id} is not a UUID`);
      if (typeof b.event !== 'string' || b.event === '') bad(`event ${b.event}`);
      if (typeof b.app_id !== 'string' || !UUID.test(b.app_id)) bad(`app_id ${b.app_id}`);
      if (!Number.isInteger(b.occurred_at) || b.occurred_at <= 0) bad(`occurred_at ${b.occurred_at}`);
      if (!b.data || typeof b.data !== 'object' || Array.isArray(b.data)) bad('data is not an object');
      if (req.headers['parley-event-id'] !== b.event_id) bad(`Parley-Event-Id ${req.headers['parley-event-id']} ≠ body event_id ${b.event_id}`);
      if (req.headers['parley-event'] !== b.event) bad(`Parley-Event ${req.headers['parley-event']} ≠ body event ${b.event}`);
    } else if (rec.body !== undefined) bad('body is not a JSON object');

    const sig = parseSignatureHeader(req.headers['parley-signature']);
    const secret = this.secretFor(b?.app_id);
    let sigErr = null;
    if (!sig) sigErr = `Parley-Signature malformed: ${req.headers['parley-signature']}`;
    else if (typeof secret !== 'string') sigErr = 'the receiver has no secret for this app';
    else if (!verifies(rec, secret)) sigErr = 'Parley-Signature does not verify with the secret';
    else if (Math.abs(sig.t - rec.time / 1000) > 300) sigErr = `Parley-Signature t=${sig.t} is ${Math.round(sig.t - rec.time / 1000)} s off`;
    if (sigErr) {
      rec.verdict.signatureError = sigErr;
      bad(sigErr);
    }
    rec.verdict.ok = errors.length === 0;
    return rec;
  }
}
