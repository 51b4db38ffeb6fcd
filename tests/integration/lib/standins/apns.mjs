// An APNs stand-in: HTTP/2 over TLS only (no HTTP/1 fallback), on 127.0.0.1 and a free port.
//
//   const apns = await ApnsStandin.start({cert, keyId, teamId, publicKey, bundleId});
//   parleyd serve --apns-url apns.url --outbound-ca-file cert.certFile
//
// Every `POST /3/device/{token}` is checked as Apple would (and a little more):
// - `authorization: bearer <JWT>`: ES256 (JOSE r||s), header `kid` = keyId, claims `iss` = teamId,
//   `iat` within the last hour and at most 60 s ahead, signed by `publicKey`. Missing:
//   403 MissingProviderToken; bad: 403 InvalidProviderToken.
// - `apns-topic` = bundleId or bundleId + '.voip'; `apns-push-type` voip exactly for the .voip
//   topic, else alert or background; `apns-priority` 10 (5 for background); `apns-expiration` a
//   number of seconds; `apns-collapse-id` present and at most 64 bytes; a JSON object body with
//   a `parley` object, at most 5120 bytes (voip) or 4096.
// Each request is recorded in `requests` as {time, path, token, headers, rawBody, body, jwt,
// status, verdict: {ok, errors}}; a refused check answers Apple's error (with its `reason`) and
// its verdict is not ok: `failures()` lists them, tests assert there are none.
//
// Answers, programmable per device token with program(token, behaviour) (see Behaviours in
// common.mjs): 'ok' → 200 with an apns-id; 'unregistered' → 410 {reason: Unregistered,
// timestamp}; 'bad_token' → 400 {reason: BadDeviceToken}; {status: 429|503, retryAfter: N,
// times: K} → that status with Retry-After N for the first K attempts (default: always).

import http2 from 'node:http2';
import { randomUUID, createPublicKey } from 'node:crypto';
import { Recorder, Behaviours, checkJwt } from './common.mjs';

const REASONS = { 400: 'BadRequest', 403: 'Forbidden', 405: 'MethodNotAllowed', 410: 'Unregistered', 413: 'PayloadTooLarge', 429: 'TooManyRequests', 500: 'InternalServerError', 503: 'ServiceUnavailable' };

export class ApnsStandin {
  /**
   * @param {object} o
   * @param {{certPem: string, keyPem: string}} o.cert  from makeTestCert()
   * @param {string} o.keyId
   * @param {string} o.teamId
   * @param {import('node:crypto').KeyObject|string} o.publicKey  the provider key's public part
   * @param {string} o.bundleId
   */
  static async start(o) {
    const s = new ApnsStandin(o);
    await s.listen();
    return s;
  }

  constructor({ cert, keyId, teamId, publicKey, bundleId, name = 'apns' }) {
    this.cert = cert;
    this.name = name;
    this.configure({ keyId, teamId, publicKey, bundleId });
    this.recorder = new Recorder(name);
    this.behaviours = new Behaviours();
    this.sessions = new Set();
    this.server = http2.createSecureServer({ key: cert.keyPem, cert: cert.certPem, allowHTTP1: false });
    this.server.on('session', (s) => {
      this.sessions.add(s);
      s.on('close', () => this.sessions.delete(s));
    });
    this.server.on('stream', (stream, headers) => this.onStream(stream, headers));
    this.server.on('error', () => {});
  }

  /** Changes the provider key this stand-in trusts (and the team and bundle). */
  configure({ keyId, teamId, publicKey, bundleId }) {
    this.keyId = keyId;
    this.teamId = teamId;
    this.publicKey = typeof publicKey === 'string' ? createPublicKey(publicKey) : publicKey;
    this.bundleId = bundleId;
  }

  listen() {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(0, '127.0.0.1', () => {
        this.server.off('error', reject);
        this.port = this.server.address().port;
        this.url = `https://127.0.0.1:${this.port}`;
        resolve();
      });
    });
  }

  get requests() {
    return this.recorder.items;
  }

  /** Requests whose checks failed (bad JWT, header, body). */
  failures() {
    return this.requests.filter((r) => !r.verdict.ok);
  }

  /** Requests refused for their provider token (403 InvalidProviderToken / MissingProviderToken). */
  jwtFailures() {
    return this.requests.filter((r) => r.verdict.jwtError);
  }

  /** Requests for one device token. */
  forToken(token) {
    return this.requests.filter((r) => r.token === token);
  }

  program(token, behaviour) {
    this.behaviours.set(token, behaviour);
  }

  setDefault(behaviour) {
    this.behaviours.setDefault(behaviour);
  }

  waitFor(predicate, timeoutMs = 5000, what) {
    return this.recorder.waitFor(predicate, timeoutMs, what);
  }

  onStream(stream, headers) {
    const chunks = [];
    stream.on('data', (c) => chunks.push(c));
    stream.on('error', () => {});
    stream.on('end', () => {
      const rawBody = Buffer.concat(chunks).toString('utf8');
      const rec = this.check(headers, rawBody);
      this.recorder.push(rec);
      const out = { ':status': rec.status, 'apns-id': rec.apnsId };
      if (rec.retryAfter !== undefined) out['retry-after'] = String(rec.retryAfter);
      try {
        if (rec.responseBody) {
          out['content-type'] = 'application/json';
          stream.respond(out);
          stream.end(JSON.stringify(rec.responseBody));
        } else {
          stream.respond(out, { endStream: true });
        }
      } catch {
        /* the client went away */
      }
    });
  }

  /** Checks one request and decides the answer. */
  check(headers, rawBody) {
    const now = Date.now();
    const errors = [];
    const rec = {
      kind: 'push',
      time: now,
      method: headers[':method'],
      path: headers[':path'],
      headers: { ...headers },
      rawBody,
      body: null,
      token: null,
      jwt: null,
      apnsId: headers['apns-id'] ?? randomUUID(),
      status: 200,
      responseBody: null,
      verdict: { ok: true, errors, jwtError: null },
    };
    const refuse = (status, reason, msg) => {
      errors.push(`${reason}: ${msg}`);
      rec.verdict.ok = false;
      if (rec.status === 200) {
        rec.status = status;
        rec.responseBody = { reason };
      }
    };

    const m = /^\/3\/device\/([^/?]+)$/.exec(rec.path ?? '');
    if (rec.method !== 'POST') refuse(405, 'MethodNotAllowed', `method ${rec.method}`);
    if (!m) refuse(404, 'BadPath', `path ${rec.path}`);
    else {
      try {
        rec.token = decodeURIComponent(m[1]);
      } catch {
        rec.token = m[1];
      }
    }

    // The provider token.
    const auth = headers.authorization;
    if (rec.status === 200) {
      if (typeof auth !== 'string') {
        refuse(403, 'MissingProviderToken', 'no authorization header');
        rec.verdict.jwtError = 'missing';
      } else {
        const am = /^bearer (\S+)$/.exec(auth);
        const jwtErr = am ? this.checkProviderJwt(am[1], now, rec) : `authorization is not "bearer <jwt>": ${auth.slice(0, 20)}…`;
        if (jwtErr) {
          refuse(403, 'InvalidProviderToken', jwtErr);
          rec.verdict.jwtError = jwtErr;
        }
      }
    }

    // Headers.
    const topic = headers['apns-topic'];
    const pushType = headers['apns-push-type'];
    if (rec.status === 200) {
      if (!topic) refuse(400, 'MissingTopic', 'no apns-topic');
      else if (topic !== this.bundleId && topic !== `${this.bundleId}.voip`) refuse(400, 'BadTopic', `apns-topic ${topic}`);
    }
    if (rec.status === 200) {
      const voipTopic = topic.endsWith('.voip');
      if (voipTopic && pushType !== 'voip') refuse(400, 'InvalidPushType', `topic ${topic} with apns-push-type ${pushType}`);
      if (!voipTopic && !['alert', 'background'].includes(pushType)) refuse(400, 'InvalidPushType', `topic ${topic} with apns-push-type ${pushType}`);
    }
    if (rec.status === 200) {
      const prio = headers['apns-priority'];
      const want = pushType === 'background' ? '5' : '10';
      if (prio !== want) refuse(400, 'BadPriority', `apns-priority ${prio} for ${pushType} (want ${want})`);
    }
    if (rec.status === 200) {
      const exp = headers['apns-expiration'];
      if (typeof exp !== 'string' || !/^\d+$/.test(exp)) refuse(400, 'BadExpirationDate', `apns-expiration ${exp}`);
    }
    if (rec.status === 200) {
      const cid = headers['apns-collapse-id'];
      if (typeof cid !== 'string' || cid.length === 0) refuse(400, 'BadCollapseId', 'no apns-collapse-id');
      else if (Buffer.byteLength(cid) > 64) refuse(400, 'BadCollapseId', `apns-collapse-id of ${Buffer.byteLength(cid)} bytes`);
    }

    // Body.
    try {
      rec.body = JSON.parse(rawBody);
    } catch {
      rec.body = undefined;
    }
    if (rec.status === 200) {
      const limit = pushType === 'voip' ? 5120 : 4096;
      if (Buffer.byteLength(rawBody) > limit) refuse(413, 'PayloadTooLarge', `${Buffer.byteLength(rawBody)} bytes`);
      else if (!rec.body || typeof rec.body !== 'object' || Array.isArray(rec.body)) refuse(400, 'BadPayload', 'body is not a JSON object');
      else if (!rec.body.parley || typeof rec.body.parley !== 'object' || Array.isArray(rec.body.parley)) refuse(400, 'BadPayload', 'body has no parley object');
    }

    // The programmed answer (only for requests that passed every check).
    if (rec.status === 200 && rec.token) {
      const b = this.behaviours.next(rec.token);
      rec.behaviour = b;
      if (b === 'unregistered') {
        rec.status = 410;
        rec.responseBody = { reason: 'Unregistered', timestamp: now };
      } else if (b === 'bad_token') {
        rec.status = 400;
        rec.responseBody = { reason: 'BadDeviceToken' };
      } else if (b !== 'ok') {
        rec.status = b.status;
        rec.responseBody = { reason: b.reason ?? REASONS[b.status] ?? 'Error' };
        if (b.retryAfter !== undefined) rec.retryAfter = b.retryAfter;
      }
    }
    return rec;
  }

  /** Returns null when the provider JWT is good, else why not. */
  checkProviderJwt(jwt, now, rec) {
    rec.jwt = jwt;
    const { header, claims, error } = checkJwt(jwt, this.publicKey, 'ES256');
    rec.jwtHeader = header;
    rec.jwtClaims = claims;
    if (error) return error;
    if (header.kid !== this.keyId) return `kid ${header.kid}, want ${this.keyId}`;
    if (claims.iss !== this.teamId) return `iss ${claims.iss}, want ${this.teamId}`;
    if (!Number.isInteger(claims.iat)) return `iat ${claims.iat} is not an integer`;
    const nowS = now / 1000;
    if (claims.iat > nowS + 60) return `iat ${claims.iat} is ${Math.round(claims.iat - nowS)} s in the future`;
    if (claims.iat < nowS - 3600) return `iat ${claims.iat} is over an hour old`;
    return null;
  }

  /** Stops listening and drops every HTTP/2 session. */
  async close() {
    for (const s of this.sessions) s.destroy();
    await new Promise((r) => this.server.close(() => r()));
  }
}
