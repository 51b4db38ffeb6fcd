// HTTP helpers: one request function that validates every response against docs/openapi.yaml,
// and thin wrappers for the Platform API (Api-Token), the client API (Bearer session key) and the
// admin API (Admin-Token).

import assert from 'node:assert/strict';
import { validator } from './openapi.mjs';

const SECRET_KEYS = new Set(['api_token', 'access_token', 'token', 'session_key', 'signing_secret', 'session_token', 'jwt']);

function collectSecrets(value, sink, depth = 0) {
  if (!sink || value === null || typeof value !== 'object' || depth > 8) return;
  for (const [k, v] of Object.entries(value)) {
    if (SECRET_KEYS.has(k) && typeof v === 'string') sink(v);
    else if (typeof v === 'object') collectSecrets(v, sink, depth + 1);
  }
}

export const enc = encodeURIComponent;

export class Api {
  /**
   * @param {string} baseUrl e.g. http://127.0.0.1:1234
   * @param {{onSecret?: (s: string) => void}} [opts]
   */
  constructor(baseUrl, { onSecret } = {}) {
    this.baseUrl = baseUrl;
    this.onSecret = onSecret;
  }

  /**
   * @returns {Promise<{status:number, headers:Headers, body:any, text:string}>}
   * Options: apiToken, bearer, adminToken, json (object → JSON body), body (raw string/Buffer),
   * headers, validate (default true: check against the OpenAPI document).
   */
  async req(method, path, opts = {}) {
    const headers = { ...(opts.headers ?? {}) };
    if (opts.apiToken !== undefined) headers['Api-Token'] = opts.apiToken;
    if (opts.adminToken !== undefined) headers['Admin-Token'] = opts.adminToken;
    if (opts.bearer !== undefined) headers.Authorization = `Bearer ${opts.bearer}`;
    let body;
    if (opts.json !== undefined) {
      body = JSON.stringify(opts.json);
      headers['Content-Type'] ??= 'application/json';
      collectSecrets(opts.json, this.onSecret);
    } else if (opts.body !== undefined) {
      body = opts.body;
      headers['Content-Type'] ??= 'application/json';
    }
    for (const v of [opts.apiToken, opts.bearer, opts.adminToken]) {
      if (typeof v === 'string' && this.onSecret) this.onSecret(v);
    }
    const res = await fetch(this.baseUrl + path, { method, headers, body });
    const text = await res.text();
    let parsed = null;
    const ct = res.headers.get('content-type') ?? '';
    if (text.length > 0 && ct.includes('json')) {
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = undefined;
      }
    }
    collectSecrets(parsed, this.onSecret);
    if (opts.validate !== false) {
      const urlPath = path.split('?')[0];
      validator().check(method, urlPath, res.status, ct || null, text, res.headers);
    }
    return { status: res.status, headers: res.headers, body: parsed, text };
  }

  // ---- Platform API -------------------------------------------------------------------------

  platform(app) {
    const base = `/v1/apps/${app.app_id}`;
    const apiToken = app.api_token;
    const r = (method, p, opts = {}) => this.req(method, base + p, { apiToken, ...opts });
    return {
      req: r,
      createUser: (userId, extra = {}) => r('POST', '/users', { json: { user_id: userId, ...extra } }),
      getUser: (userId) => r('GET', `/users/${enc(userId)}`),
      listUsers: (query = '') => r('GET', `/users${query}`),
      patchUser: (userId, json) => r('PATCH', `/users/${enc(userId)}`, { json }),
      deleteUser: (userId) => r('DELETE', `/users/${enc(userId)}`),
      issueAccessToken: (userId) => r('POST', `/users/${enc(userId)}/access_token`),
      revokeAccessToken: (userId) => r('DELETE', `/users/${enc(userId)}/access_token`),
      createSessionToken: (userId, json = {}) => r('POST', `/users/${enc(userId)}/session_tokens`, { json }),
      revokeSessionTokens: (userId) => r('DELETE', `/users/${enc(userId)}/session_tokens`),
      listPushTokens: (userId) => r('GET', `/users/${enc(userId)}/push_tokens`),
      deletePushToken: (userId, type, token) => r('DELETE', `/users/${enc(userId)}/push_tokens/${enc(type)}/${enc(token)}`),
      deletePushTokensOfType: (userId, type) => r('DELETE', `/users/${enc(userId)}/push_tokens/${enc(type)}`),
      listCalls: (query = '') => r('GET', `/direct_calls${query}`),
      getCall: (callId) => r('GET', `/direct_calls/${enc(callId)}`),
      usage: (from, to) => r('GET', `/usage?from=${enc(from)}&to=${enc(to)}`),
      getSettings: () => r('GET', '/settings'),
      patchSettings: (json) => r('PATCH', '/settings', { json }),
      listDeliveries: (query = '') => r('GET', `/webhook_deliveries${query}`),
    };
  }

  // ---- Client API ---------------------------------------------------------------------------

  auth(app, json, opts = {}) {
    return this.req('POST', `/v1/apps/${app.app_id}/auth`, { json, ...opts });
  }

  me(sessionKey) {
    return this.req('GET', '/v1/me', { bearer: sessionKey });
  }

  deauth(sessionKey) {
    return this.req('DELETE', '/v1/session', { bearer: sessionKey });
  }

  putPushToken(sessionKey, type, token) {
    return this.req('PUT', `/v1/me/push_tokens/${enc(type)}/${enc(token)}`, { bearer: sessionKey });
  }

  deletePushToken(sessionKey, type, token) {
    return this.req('DELETE', `/v1/me/push_tokens/${enc(type)}/${enc(token)}`, { bearer: sessionKey });
  }

  deletePushTokensOfType(sessionKey, type) {
    return this.req('DELETE', `/v1/me/push_tokens/${enc(type)}`, { bearer: sessionKey });
  }

  myCalls(sessionKey, query = '') {
    return this.req('GET', `/v1/me/direct_calls${query}`, { bearer: sessionKey });
  }

  healthz() {
    return this.req('GET', '/healthz');
  }

  // ---- Admin API ----------------------------------------------------------------------------

  admin(adminToken) {
    const r = (method, p, opts = {}) => this.req(method, `/admin/v1${p}`, { adminToken, ...opts });
    return {
      req: r,
      listApps: () => r('GET', '/apps'),
      createApp: (name) => r('POST', '/apps', { json: { name } }),
      rotateToken: (appId) => r('POST', `/apps/${appId}/rotate_token`),
      deleteApp: (appId) => r('DELETE', `/apps/${appId}`),
    };
  }

  // ---- Composite flows ----------------------------------------------------------------------

  /** Creates a user with an access token (201 asserted). Returns {user, access_token}. */
  async userWithAccessToken(app, userId, extra = {}) {
    const r = await this.platform(app).createUser(userId, { ...extra, issue_access_token: true });
    assertStatus(r, 201);
    assert.equal(typeof r.body.access_token, 'string');
    return r.body;
  }

  /** Authenticates (200 asserted) and returns the body {session_key, user, ...}. */
  async authOk(app, json) {
    const r = await this.auth(app, json);
    assertStatus(r, 200);
    return r.body;
  }

  /** Creates the user with an access token and authenticates it. Returns {access_token, session_key, auth}. */
  async login(app, userId, { deviceId } = {}) {
    const { access_token } = await this.userWithAccessToken(app, userId);
    const json = { user_id: userId, access_token };
    if (deviceId) json.device_id = deviceId;
    const auth = await this.authOk(app, json);
    return { access_token, session_key: auth.session_key, auth };
  }
}

/** Asserts the status, printing the body when it differs. */
export function assertStatus(res, status, msg = '') {
  assert.equal(res.status, status, `${msg ? msg + ': ' : ''}expected HTTP ${status}, got ${res.status} ${res.text?.slice(0, 500)}`);
}

/** Asserts an error response: status, error.code, and optionally error.field. */
export function assertError(res, status, code, field) {
  assertStatus(res, status);
  assert.ok(res.body && typeof res.body === 'object' && res.body.error, `expected an error body, got ${res.text}`);
  assert.equal(res.body.error.code, code, `error code (message: ${res.body.error.message})`);
  assert.equal(typeof res.body.error.message, 'string');
  assert.ok(res.body.error.message.length > 0, 'error message is empty');
  if (field !== undefined) assert.equal(res.body.error.field, field, `error field (message: ${res.body.error.message})`);
}

export const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
export const SECRET_RE = /^[A-Za-z0-9_-]{43,}$/;
