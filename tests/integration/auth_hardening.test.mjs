// Issue 11, defect 7 (service parts): refresh goes through the failed-auth limits and metrics;
// JWT numeric claims and base64url are strict, and an exp already past is token_expired; the
// admin token is at least 32 bytes and failed admin authentications are throttled; usage dates
// are strict; the Bearer scheme is case-insensitive.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { startServer, runCli, makeTempDir } from './lib/server.mjs';
import { assertError, assertStatus } from './lib/api.mjs';
import { uniq, makeJwt, nowS, jwtFor, parseMetrics, metricValue } from './lib/util.mjs';
import { connectWelcome } from './lib/ws.mjs';
import { assertWsError } from './lib/calls.mjs';

const ADMIN_TOKEN = randomBytes(32).toString('base64url');
let server;
let app;

before(async () => {
  server = await startServer({
    apps: ['a'],
    flags: ['--auth-fail-limit-user', '3', '--auth-fail-limit-addr', '1000', '--admin-token', ADMIN_TOKEN],
  });
  server.addSecret(ADMIN_TOKEN);
  app = server.apps.a;
});

after(async () => {
  await server?.stop();
});

const authCount = async (result) =>
  metricValue(parseMetrics((await server.api.req('GET', '/metrics', { validate: false })).text), 'parley_auth_total', { result }) ?? 0;

test('a WebSocket refresh with bad tokens is limited and counted like an authentication', async () => {
  const user = uniq('rita');
  const { session_key } = await server.api.login(app, user);
  const { ws } = await connectWelcome(server, session_key);
  const bad = makeJwt({ sub: user, iss: app.app_id, exp: nowS() + 600 }, 'not-the-secret');
  const failedBefore = await authCount('invalid_credentials');
  const limitedBefore = await authCount('rate_limited');
  const successBefore = await authCount('success');
  for (let i = 0; i < 3; ++i) assertWsError(await ws.request('refresh', { jwt: bad }), 'invalid_credentials');
  const limited = await ws.request('refresh', { jwt: jwtFor(app, user, 600) });
  assertWsError(limited, 'rate_limited');
  assert.ok(limited.retry_after_s >= 1 && limited.retry_after_s <= 60, JSON.stringify(limited));
  assert.equal(await authCount('invalid_credentials'), failedBefore + 3);
  assert.equal(await authCount('rate_limited'), limitedBefore + 1);
  // The same limit as authentication: the user cannot authenticate either now.
  assertError(await server.api.auth(app, { user_id: user, jwt: jwtFor(app, user, 600) }), 429, 'rate_limited');

  // Another user's refresh works and counts as a success.
  const other = uniq('sam');
  const o = await server.api.login(app, other);
  const { ws: ws2 } = await connectWelcome(server, o.session_key);
  const ok = await ws2.request('refresh', { jwt: jwtFor(app, other, 600) });
  assert.equal(ok.type, 'ack', JSON.stringify(ok));
  assert.equal(await authCount('success'), successBefore + 2);
  ws.close();
  ws2.close();
});

test('JWT: non-integer or huge numeric claims and padded parts are invalid_credentials; exp already past is token_expired', async () => {
  // A new user for each attempt: the server limits failures per user to 3.
  const claims = (extra = {}) => {
    const sub = uniq('jay');
    return { sub, iss: app.app_id, exp: nowS() + 600, ...extra };
  };
  const auth = (c, jwt = makeJwt(c, app.signing_secret)) => server.api.auth(app, { user_id: c.sub, jwt });
  assertStatus(await auth(claims()), 200);
  for (const extra of [{ nbf: 1e300 }, { nbf: 1.5 }, { nbf: -5 }, { iat: 1e300 }, { exp: nowS() + 600.5 }]) {
    assertError(await auth(claims(extra)), 401, 'invalid_credentials');
  }
  for (const pad of [(h, p, sig) => `${h}.${p}.${sig}=`, (h, p, sig) => `${h}=.${p}.${sig}`, (h, p, sig) => `${h}.${p}=.${sig}`]) {
    const c = claims();
    const [h, p, sig] = makeJwt(c, app.signing_secret).split('.');
    assertError(await auth(c, pad(h, p, sig)), 401, 'invalid_credentials');
  }
  // Within the old 60 s leeway, but already past: the session would be born expired.
  assertError(await auth(claims({ exp: nowS() - 10 })), 401, 'token_expired');
});

test('Authorization: the Bearer scheme is case-insensitive', async () => {
  const { session_key } = await server.api.login(app, uniq('kim'));
  server.addSecret(session_key);
  for (const value of [`bearer ${session_key}`, `BEARER ${session_key}`, `bEaReR  ${session_key}`]) {
    assertStatus(await server.api.req('GET', '/v1/me', { headers: { Authorization: value } }), 200, value);
  }
  for (const value of [`Basic ${session_key}`, `Bearer${session_key}`, 'bearer ', `Bearers ${session_key}`]) {
    assertError(await server.api.req('GET', '/v1/me', { headers: { Authorization: value } }), 401, 'unauthorized');
  }
});

test('usage: dates must be YYYY-MM-DD with four digits and a real calendar day', async () => {
  const P = server.api.platform(app);
  assertStatus(await P.usage('2024-02-28', '2024-02-29'), 200);
  for (const from of ['-001-01-01', '+999-01-01', '2023-02-29', '2023-13-01', '2023-00-10', '20230-1-01', ' 023-01-01']) {
    assertError(await P.usage(from, '2024-01-01'), 400, 'invalid_request', 'from');
  }
  assertError(await P.usage('2024-01-01', '-001-01-01'), 400, 'invalid_request', 'to');
});

test('admin API: failed admin authentications are throttled per address (429 Retry-After)', async () => {
  const s = await startServer({ apps: [], flags: ['--admin-token', ADMIN_TOKEN, '--auth-fail-limit-addr', '3'] });
  s.addSecret(ADMIN_TOKEN);
  try {
    assertStatus(await s.api.admin(ADMIN_TOKEN).listApps(), 200);
    for (let i = 0; i < 3; ++i) assertError(await s.api.admin(`wrong-${i}`).listApps(), 401, 'unauthorized');
    const limited = await s.api.admin('wrong-again').listApps();
    assertError(limited, 429, 'rate_limited');
    const retry = Number(limited.headers.get('retry-after'));
    assert.ok(retry >= 1 && retry <= 60, `Retry-After ${retry}`);
    // Refused before the token is looked at: the right one waits too.
    assertError(await s.api.admin(ADMIN_TOKEN).listApps(), 429, 'rate_limited');
  } finally {
    await s.stop();
  }
});

test('serve refuses an admin token shorter than 32 bytes', async () => {
  const dir = await makeTempDir();
  try {
    for (const token of ['x', 'a'.repeat(31)]) {
      const r = await runCli(['serve', '--listen', '127.0.0.1:0', '--data-dir', dir, '--admin-token', token]);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /at least 32 bytes/);
      const e = await runCli(['serve', '--listen', '127.0.0.1:0', '--data-dir', dir], { env: { PARLEY_ADMIN_TOKEN: token } });
      assert.equal(e.code, 2, e.stderr);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
