// An FCM HTTP v1 stand-in with its own Google OAuth2 token endpoint, over HTTPS on 127.0.0.1.
//
//   const fcm = await FcmStandin.start({cert});
//   const sa = fcm.serviceAccount();           // service account JSON, token_uri → fcm.tokenUrl
//   parleyd serve --fcm-url fcm.url --outbound-ca-file cert.certFile
//
// `POST /token` (application/x-www-form-urlencoded, grant_type=urn:ietf:params:oauth:grant-type:
// jwt-bearer, assertion=JWT): the assertion must be RS256 with header `kid` = the account's
// private_key_id, claims iss = client_email, scope = the firebase.messaging scope, aud = tokenUrl,
// iat not in the future (60 s leeway) nor over an hour old, exp after now and exp - iat ≤ 3600,
// signed by the account's key → 200 {access_token, expires_in, token_type: 'Bearer'}; else 400
// {error: 'invalid_grant'} and a failed verdict. `grants` counts the tokens handed out.
//
// `POST /v1/projects/{project}/messages:send`: `Authorization: Bearer <a token this stand-in
// issued, not expired>` (else 401 UNAUTHENTICATED, failed verdict) for an account of that project
// (else 403 PERMISSION_DENIED, failed verdict); body {message: {token, data: {parley: "<JSON
// object as a string>", ...strings}, android: {priority: 'HIGH', ttl: '<N>s'}}} (else 400
// INVALID_ARGUMENT, failed verdict) → 200 {name}, or the programmed answer for that token:
// 'unregistered' → 404 NOT_FOUND with errorCode UNREGISTERED; 'bad_token' → 400
// INVALID_ARGUMENT; {status: 429|503|..., retryAfter, times}.
// Records (`requests`): {time, kind: 'token'|'send', path, headers, rawBody, body, token (the
// device token), parley (parsed), project, status, verdict: {ok, errors}}.

import https from 'node:https';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { Recorder, Behaviours, checkJwt, randomHex, b64url } from './common.mjs';

export const FCM_SCOPE = 'https://www.googleapis.com/auth/firebase.messaging';
export const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';

const STATUS_NAMES = { 400: 'INVALID_ARGUMENT', 401: 'UNAUTHENTICATED', 403: 'PERMISSION_DENIED', 404: 'NOT_FOUND', 429: 'RESOURCE_EXHAUSTED', 500: 'INTERNAL', 503: 'UNAVAILABLE' };
const ERROR_CODES = { 400: 'INVALID_ARGUMENT', 401: 'THIRD_PARTY_AUTH_ERROR', 403: 'SENDER_ID_MISMATCH', 404: 'UNREGISTERED', 429: 'QUOTA_EXCEEDED', 500: 'INTERNAL', 503: 'UNAVAILABLE' };

function fcmError(status, errorCode = ERROR_CODES[status] ?? 'UNSPECIFIED_ERROR', message = `stand-in ${status}`) {
  return {
    error: {
      code: status,
      message,
      status: STATUS_NAMES[status] ?? 'UNKNOWN',
      details: [{ '@type': 'type.googleapis.com/google.firebase.fcm.v1.FcmError', errorCode }],
    },
  };
}

export class FcmStandin {
  static async start(o) {
    const s = new FcmStandin(o);
    await s.listen();
    return s;
  }

  /**
   * @param {object} o
   * @param {{certPem, keyPem}} o.cert
   * @param {number} [o.tokenTtlS] expires_in of the access tokens handed out (default 3599)
   */
  constructor({ cert, tokenTtlS = 3599, name = 'fcm' }) {
    this.cert = cert;
    this.tokenTtlS = tokenTtlS;
    this.recorder = new Recorder(name);
    this.behaviours = new Behaviours();
    this.accounts = new Map(); // private_key_id → {client_email, project_id, publicKey}
    this.accessTokens = new Map(); // access token → {account, expiresAt}
    this.grants = 0;
    this.sockets = new Set();
    this.server = https.createServer({ key: cert.keyPem, cert: cert.certPem }, (req, res) => this.onRequest(req, res));
    // Idle connections stay open long enough that a client reusing one never races its close.
    this.server.keepAliveTimeout = 65000;
    this.server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    this.server.on('error', () => {});
  }

  listen() {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(0, '127.0.0.1', () => {
        this.server.off('error', reject);
        this.port = this.server.address().port;
        this.url = `https://127.0.0.1:${this.port}`;
        this.tokenUrl = `${this.url}/token`;
        resolve();
      });
    });
  }

  /**
   * A new service account this stand-in trusts: the JSON object Google gives, with a fresh
   * RSA-2048 key (PKCS#8 PEM in `private_key`) and token_uri pointing here (or `tokenUri`).
   */
  serviceAccount({ projectId = 'parley-test', tokenUri } = {}) {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const privateKeyId = randomHex(20);
    const clientEmail = `parley-${randomHex(4)}@${projectId}.iam.gserviceaccount.com`;
    this.accounts.set(privateKeyId, { client_email: clientEmail, project_id: projectId, publicKey });
    return {
      type: 'service_account',
      project_id: projectId,
      private_key_id: privateKeyId,
      private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }),
      client_email: clientEmail,
      client_id: String(100000000000000000000n + BigInt('0x' + randomHex(6))),
      auth_uri: 'https://accounts.google.com/o/oauth2/auth',
      token_uri: tokenUri ?? this.tokenUrl,
      auth_provider_x509_cert_url: 'https://www.googleapis.com/oauth2/v1/certs',
      client_x509_cert_url: `https://www.googleapis.com/robot/v1/metadata/x509/${encodeURIComponent(clientEmail)}`,
      universe_domain: 'googleapis.com',
    };
  }

  get requests() {
    return this.recorder.items;
  }

  /** Device pushes (messages:send), not token requests. */
  get sends() {
    return this.requests.filter((r) => r.kind === 'send');
  }

  failures() {
    return this.requests.filter((r) => !r.verdict.ok);
  }

  forToken(token) {
    return this.sends.filter((r) => r.token === token);
  }

  program(token, behaviour) {
    this.behaviours.set(token, behaviour);
  }

  setDefault(behaviour) {
    this.behaviours.setDefault(behaviour);
  }

  /** Makes every access token handed out so far invalid (the next send is 401). */
  revokeAccessTokens() {
    this.accessTokens.clear();
  }

  waitFor(predicate, timeoutMs = 5000, what) {
    return this.recorder.waitFor(predicate, timeoutMs, what);
  }

  onRequest(req, res) {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('error', () => {});
    req.on('end', () => {
      const rawBody = Buffer.concat(chunks).toString('utf8');
      const url = new URL(req.url, this.url);
      const rec = {
        time: Date.now(),
        kind: 'other',
        method: req.method,
        path: url.pathname,
        headers: { ...req.headers },
        rawBody,
        body: null,
        status: 200,
        responseBody: null,
        verdict: { ok: true, errors: [] },
      };
      if (req.method === 'POST' && url.pathname === '/token') this.onToken(rec);
      else {
        const m = /^\/v1\/projects\/([^/]+)\/messages:send$/.exec(url.pathname);
        if (req.method === 'POST' && m) this.onSend(rec, decodeURIComponent(m[1]));
        else this.fail(rec, 404, fcmError(404, 'UNSPECIFIED_ERROR', `no route ${req.method} ${url.pathname}`), `no route ${req.method} ${url.pathname}`);
      }
      this.recorder.push(rec);
      const headers = { 'content-type': 'application/json; charset=UTF-8' };
      if (rec.retryAfter !== undefined) headers['retry-after'] = String(rec.retryAfter);
      res.writeHead(rec.status, headers);
      res.end(JSON.stringify(rec.responseBody ?? {}));
    });
  }

  fail(rec, status, body, why) {
    rec.verdict.ok = false;
    rec.verdict.errors.push(why);
    rec.status = status;
    rec.responseBody = body;
  }

  onToken(rec) {
    rec.kind = 'token';
    const oauthFail = (why) => this.fail(rec, 400, { error: 'invalid_grant', error_description: why }, why);
    const ct = rec.headers['content-type'] ?? '';
    if (!ct.toLowerCase().startsWith('application/x-www-form-urlencoded')) return oauthFail(`content-type ${ct}`);
    const form = new URLSearchParams(rec.rawBody);
    rec.body = Object.fromEntries(form);
    if (form.get('grant_type') !== JWT_BEARER) return oauthFail(`grant_type ${form.get('grant_type')}`);
    const assertion = form.get('assertion');
    // Find the account by the header's kid, then check everything.
    let kid;
    try {
      kid = JSON.parse(Buffer.from(String(assertion).split('.')[0], 'base64url').toString('utf8')).kid;
    } catch {
      return oauthFail('assertion is not a JWT');
    }
    const account = this.accounts.get(kid);
    if (!account) return oauthFail(`kid ${kid} is no private_key_id of a known service account`);
    const { header, claims, error } = checkJwt(assertion, account.publicKey, 'RS256');
    rec.jwtHeader = header;
    rec.jwtClaims = claims;
    if (error) return oauthFail(error);
    const nowS = rec.time / 1000;
    if (claims.iss !== account.client_email) return oauthFail(`iss ${claims.iss}, want ${account.client_email}`);
    const scopes = typeof claims.scope === 'string' ? claims.scope.split(' ') : [];
    if (!scopes.includes(FCM_SCOPE)) return oauthFail(`scope ${claims.scope}`);
    if (claims.aud !== this.tokenUrl) return oauthFail(`aud ${claims.aud}, want ${this.tokenUrl}`);
    if (!Number.isInteger(claims.iat) || !Number.isInteger(claims.exp)) return oauthFail('iat and exp must be integers');
    if (claims.iat > nowS + 60) return oauthFail(`iat ${claims.iat} in the future`);
    if (claims.iat < nowS - 3600) return oauthFail(`iat ${claims.iat} over an hour old`);
    if (claims.exp <= nowS) return oauthFail(`exp ${claims.exp} has passed`);
    if (claims.exp <= claims.iat || claims.exp - claims.iat > 3600) return oauthFail(`exp - iat = ${claims.exp - claims.iat}`);
    const token = 'ya29.' + b64url(randomBytes(32));
    this.accessTokens.set(token, { account, expiresAt: rec.time + this.tokenTtlS * 1000 });
    this.grants++;
    rec.accessToken = token;
    rec.responseBody = { access_token: token, expires_in: this.tokenTtlS, token_type: 'Bearer' };
  }

  onSend(rec, project) {
    rec.kind = 'send';
    rec.project = project;
    try {
      rec.body = JSON.parse(rec.rawBody);
    } catch {
      rec.body = undefined;
    }
    rec.token = rec.body?.message?.token ?? null;
    const auth = rec.headers.authorization ?? '';
    const am = /^Bearer (\S+)$/i.exec(auth);
    const grant = am ? this.accessTokens.get(am[1]) : undefined;
    if (!grant || grant.expiresAt <= rec.time) {
      return this.fail(rec, 401, fcmError(401, 'THIRD_PARTY_AUTH_ERROR', 'Request had invalid authentication credentials.'), `bad or expired bearer token (${auth.slice(0, 12)}…)`);
    }
    if (grant.account.project_id !== project) {
      return this.fail(rec, 403, fcmError(403, 'SENDER_ID_MISMATCH', 'Permission denied'), `project ${project}, token of ${grant.account.project_id}`);
    }
    const bad = (why) => this.fail(rec, 400, fcmError(400, 'INVALID_ARGUMENT', why), why);
    const msg = rec.body?.message;
    if (!msg || typeof msg !== 'object') return bad('no message object');
    if (typeof msg.token !== 'string' || msg.token === '') return bad('message.token missing');
    if (!msg.data || typeof msg.data !== 'object' || Array.isArray(msg.data)) return bad('message.data missing');
    for (const [k, v] of Object.entries(msg.data)) if (typeof v !== 'string') return bad(`message.data.${k} is not a string`);
    try {
      rec.parley = JSON.parse(msg.data.parley);
    } catch {
      return bad('message.data.parley is not JSON');
    }
    if (!rec.parley || typeof rec.parley !== 'object' || Array.isArray(rec.parley)) return bad('message.data.parley is not a JSON object');
    if (msg.android?.priority !== 'HIGH') return bad(`message.android.priority ${msg.android?.priority}`);
    if (typeof msg.android?.ttl !== 'string' || !/^\d+(\.\d{1,9})?s$/.test(msg.android.ttl)) return bad(`message.android.ttl ${msg.android?.ttl}`);

    const b = this.behaviours.next(rec.token);
    rec.behaviour = b;
    if (b === 'ok') {
      rec.responseBody = { name: `projects/${project}/messages/0:${Date.now()}%${randomHex(8)}` };
    } else if (b === 'unregistered') {
      rec.status = 404;
      rec.responseBody = fcmError(404, 'UNREGISTERED', 'Requested entity was not found.');
    } else if (b === 'bad_token') {
      rec.status = 400;
      rec.responseBody = fcmError(400, 'INVALID_ARGUMENT', 'The registration token is not a valid FCM registration token');
    } else {
      rec.status = b.status;
      rec.responseBody = fcmError(b.status, b.errorCode);
      if (b.retryAfter !== undefined) rec.retryAfter = b.retryAfter;
    }
  }

  async close() {
    for (const s of this.sockets) s.destroy();
    await new Promise((r) => this.server.close(() => r()));
  }
}

