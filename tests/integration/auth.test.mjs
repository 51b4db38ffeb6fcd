// Client authentication: access tokens, session tokens, JWTs, ICE servers with TURN credentials,
// and the failures (one code for every mismatch, so users cannot be enumerated).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from './lib/server.mjs';
import { assertError, assertStatus, SECRET_RE } from './lib/api.mjs';
import { validator } from './lib/openapi.mjs';
import { makeJwt, jwtFor, nowS, turnCredential, uniq, untilTime } from './lib/util.mjs';

const TURN_SECRET = 'turn-shared-secret-for-tests';
let server;
let api;
let app;
let other;
let P;

before(async () => {
  server = await startServer({
    apps: ['a', 'other'],
    flags: [
      '--stun-url', 'stun:127.0.0.1:3478',
      '--turn-url', 'turn:127.0.0.1:3478',
      '--turn-secret', TURN_SECRET,
      // Rate limits have their own file; here many failures come from one address.
      '--auth-fail-limit-addr', '1000',
    ],
  });
  server.addSecret(TURN_SECRET);
  api = server.api;
  app = server.apps.a;
  other = server.apps.other;
  P = api.platform(app);
});

after(async () => {
  await server?.stop();
});

function checkIce(iceServers, userId) {
  assert.ok(Array.isArray(iceServers));
  const stun = iceServers.find((s) => s.urls.includes('stun:127.0.0.1:3478'));
  assert.ok(stun, `a STUN entry: ${JSON.stringify(iceServers)}`);
  const turn = iceServers.find((s) => s.urls.includes('turn:127.0.0.1:3478'));
  assert.ok(turn, `a TURN entry: ${JSON.stringify(iceServers)}`);
  assert.equal(typeof turn.username, 'string');
  const m = /^(\d+):(.+)$/.exec(turn.username);
  assert.ok(m, `TURN username is "<expiry>:<user_id>": ${turn.username}`);
  assert.equal(m[2], userId);
  const expiry = Number(m[1]);
  assert.ok(Math.abs(expiry - (nowS() + 86400)) <= 120, `TURN expiry ${expiry} ≈ now + 86400 s`);
  assert.equal(turn.credential, turnCredential(TURN_SECRET, turn.username), 'credential = base64(HMAC-SHA1(secret, username))');
  assert.equal(stun.username, undefined, 'STUN has no credentials');
}

test('auth with an access token: session key, user, null expiry, ICE servers', async () => {
  const id = uniq('acc');
  const { access_token } = await api.userWithAccessToken(app, id, { nickname: 'Acc' });
  const r = await api.auth(app, { user_id: id, access_token });
  assertStatus(r, 200);
  assert.match(r.body.session_key, SECRET_RE);
  assert.notEqual(r.body.session_key, access_token);
  assert.equal(r.body.user.user_id, id);
  assert.equal(r.body.user.nickname, 'Acc');
  assert.equal(r.body.user.has_access_token, true);
  assert.equal(r.body.session_expires_at, null);
  checkIce(r.body.ice_servers, id);
  // Two authentications give two sessions.
  const r2 = await api.authOk(app, { user_id: id, access_token, device_id: 'phone-1' });
  assert.notEqual(r2.session_key, r.body.session_key);
  const me = await api.me(r.body.session_key);
  assertStatus(me, 200);
  assert.equal(me.body.user.user_id, id);
  assert.equal(me.body.session_expires_at, null);
});

test('auth with a session token: session expires with the token', async () => {
  const id = uniq('sess');
  assertStatus(await P.createUser(id), 201);
  const exp = Date.now() + 3_600_000;
  const st = await P.createSessionToken(id, { expires_at: exp });
  assertStatus(st, 201);
  const r = await api.authOk(app, { user_id: id, session_token: st.body.token });
  assert.match(r.session_key, SECRET_RE);
  assert.equal(r.session_expires_at, exp);
  assert.equal(r.user.user_id, id);
  checkIce(r.ice_servers, id);
  const me = await api.me(r.session_key);
  assert.equal(me.body.session_expires_at, exp);
  // A session token can be used more than once until it expires.
  assertStatus(await api.auth(app, { user_id: id, session_token: st.body.token }), 200);
});

test('auth with a JWT creates an unknown user; session expires at exp', async () => {
  const id = uniq('jwt');
  assertError(await P.getUser(id), 404, 'not_found');
  const exp = nowS() + 600;
  const jwt = makeJwt({ sub: id, iss: app.app_id, exp }, app.signing_secret);
  server.addSecret(jwt);
  const r = await api.authOk(app, { user_id: id, jwt });
  assert.equal(r.user.user_id, id);
  assert.equal(r.user.has_access_token, false);
  assert.equal(r.session_expires_at, exp * 1000);
  checkIce(r.ice_servers, id);
  const g = await P.getUser(id);
  assertStatus(g, 200);
  assert.equal(g.body.user.user_id, id);
  // An existing user authenticates with a JWT too.
  const r2 = await api.authOk(app, { user_id: id, jwt: jwtFor(app, id, 3600) });
  assert.equal(r2.user.user_id, id);
});

test('auth with a JWT up to 24 h ahead, with extra claims (iat, nbf) is accepted', async () => {
  const id = uniq('jwt24');
  const exp = nowS() + 24 * 3600 - 60;
  const jwt = makeJwt({ sub: id, iss: app.app_id, exp, iat: nowS(), nbf: nowS() - 5, name: 'x' }, app.signing_secret);
  const r = await api.authOk(app, { user_id: id, jwt });
  assert.equal(r.session_expires_at, exp * 1000);
});

test('JWT failures are 401 invalid_credentials', async () => {
  const exp = nowS() + 600;
  const cases = {
    'wrong signature': (id) => makeJwt({ sub: id, iss: app.app_id, exp }, 'not-the-secret'),
    "another app's secret": (id) => makeJwt({ sub: id, iss: app.app_id, exp }, other.signing_secret),
    'alg none': (id) => makeJwt({ sub: id, iss: app.app_id, exp }, app.signing_secret, { alg: 'none', sign: false }),
    'alg none signed': (id) => makeJwt({ sub: id, iss: app.app_id, exp }, app.signing_secret, { alg: 'none' }),
    'alg HS512 header': (id) => makeJwt({ sub: id, iss: app.app_id, exp }, app.signing_secret, { alg: 'HS512' }),
    'wrong iss': (id) => makeJwt({ sub: id, iss: other.app_id, exp }, app.signing_secret),
    'missing iss': (id) => makeJwt({ sub: id, exp }, app.signing_secret),
    'missing exp': (id) => makeJwt({ sub: id, iss: app.app_id }, app.signing_secret),
    'exp more than 24 h ahead': (id) => makeJwt({ sub: id, iss: app.app_id, exp: nowS() + 24 * 3600 + 600 }, app.signing_secret),
    'exp as a string': (id) => makeJwt({ sub: id, iss: app.app_id, exp: String(exp) }, app.signing_secret),
    'sub is another user': () => makeJwt({ sub: 'someone-else', iss: app.app_id, exp }, app.signing_secret),
    'missing sub': () => makeJwt({ iss: app.app_id, exp }, app.signing_secret),
    'tampered payload': (id) => {
      const [h, , s] = makeJwt({ sub: id, iss: app.app_id, exp }, app.signing_secret).split('.');
      const p = Buffer.from(JSON.stringify({ sub: id, iss: app.app_id, exp: exp + 1 })).toString('base64url');
      return `${h}.${p}.${s}`;
    },
  };
  for (const [name, make] of Object.entries(cases)) {
    // One user id per case: the per-user failure limit (10) is not what this test is about.
    const id = uniq('jwtbad');
    const r = await api.auth(app, { user_id: id, jwt: make(id) });
    assert.equal(r.status, 401, `${name}: ${r.text}`);
    assert.equal(r.body.error.code, 'invalid_credentials', name);
    // A refused JWT never creates the user.
    assertError(await P.getUser(id), 404, 'not_found');
  }
});

test('malformed JWT is 401 invalid_credentials', async () => {
  for (const jwt of ['not-a-jwt', 'a.b.c', '..', `${Buffer.from('{').toString('base64url')}.e30.sig`, '', 'a.b', 'a.b.c.d']) {
    const id = uniq('jwtmal');
    assertError(await api.auth(app, { user_id: id, jwt }), 401, 'invalid_credentials');
  }
});

test('expired JWT is 401 token_expired, also within 60 s of its exp (no session born expired)', async () => {
  const id = uniq('jwtexp');
  const expired = makeJwt({ sub: id, iss: app.app_id, exp: nowS() - 300 }, app.signing_secret);
  assertError(await api.auth(app, { user_id: id, jwt: expired }), 401, 'token_expired');
  assertError(await P.getUser(id), 404, 'not_found');
  const justPast = makeJwt({ sub: id, iss: app.app_id, exp: nowS() - 10 }, app.signing_secret);
  assertError(await api.auth(app, { user_id: id, jwt: justPast }), 401, 'token_expired');
  const r = await api.auth(app, { user_id: id, jwt: makeJwt({ sub: id, iss: app.app_id, exp: nowS() + 60 }, app.signing_secret) });
  assertStatus(r, 200);
  assert.ok(r.body.session_expires_at > Date.now(), 'the session is not born expired');
});

test('expired session token is 401 token_expired; its session key then is 401 session_expired', async () => {
  const id = uniq('stexp');
  assertStatus(await P.createUser(id), 201);
  const exp = Date.now() + 1500;
  const st = await P.createSessionToken(id, { expires_at: exp });
  assertStatus(st, 201);
  const a = await api.authOk(app, { user_id: id, session_token: st.body.token });
  assert.equal(a.session_expires_at, exp);
  assertStatus(await api.me(a.session_key), 200);
  await untilTime(exp + 200);
  assertError(await api.auth(app, { user_id: id, session_token: st.body.token }), 401, 'token_expired');
  assertError(await api.me(a.session_key), 401, 'session_expired');
});

test('unknown user and wrong token get the same 401 invalid_credentials answer', async () => {
  const id = uniq('enum');
  const { access_token } = await api.userWithAccessToken(app, id);
  const unknown = await api.auth(app, { user_id: uniq('ghost'), access_token });
  const wrong = await api.auth(app, { user_id: id, access_token: access_token.slice(0, -3) + 'AAA' });
  const otherUsersToken = await api.auth(app, { user_id: id, access_token: (await api.userWithAccessToken(app, uniq('x'))).access_token });
  const unknownSt = await api.auth(app, { user_id: uniq('ghost'), session_token: access_token });
  const wrongKind = await api.auth(app, { user_id: id, session_token: access_token });
  for (const r of [unknown, wrong, otherUsersToken, unknownSt, wrongKind]) assertError(r, 401, 'invalid_credentials');
  assert.deepEqual(unknown.body, wrong.body, 'no difference that would let a caller enumerate users');
  assert.deepEqual(unknownSt.body, wrongKind.body);
});

test("a user's token does not authenticate in another app", async () => {
  const id = uniq('xapp');
  const { access_token } = await api.userWithAccessToken(app, id);
  assertStatus(await api.platform(other).createUser(id), 201);
  assertError(await api.auth(other, { user_id: id, access_token }), 401, 'invalid_credentials');
  // A JWT for app A is not valid for app B.
  assertError(await api.auth(other, { user_id: id, jwt: jwtFor(app, id) }), 401, 'invalid_credentials');
});

test('auth request validation: 400 invalid_request', async () => {
  assertError(await api.auth(app, { access_token: 'x'.repeat(43) }), 400, 'invalid_request', 'user_id');
  const r = await api.auth(app, { user_id: 'someone' });
  assertError(r, 400, 'invalid_request');
  assertError(await api.auth(app, { user_id: 5, access_token: 'x' }), 400, 'invalid_request', 'user_id');
  assertError(await api.auth(app, { user_id: 'bad id', access_token: 'x' }), 400, 'invalid_request', 'user_id');
  assertError(await api.auth(app, { user_id: 'someone', access_token: 5 }), 400, 'invalid_request', 'access_token');
  assertError(await api.auth(app, { user_id: 'someone', access_token: 'x'.repeat(43), device_id: 'd'.repeat(65) }), 400, 'invalid_request', 'device_id');
});

test('auth with an empty device_id (the contract says 1-64 bytes) is 400 invalid_request', async () => {
  assertError(await api.auth(app, { user_id: 'someone', access_token: 'x'.repeat(43), device_id: '' }), 400, 'invalid_request', 'device_id');
});

test('the auth response matches the documented schema and the user object', async () => {
  const id = uniq('schema');
  const { access_token, user } = await api.userWithAccessToken(app, id, { metadata: { k: 'v' } });
  const r = await api.authOk(app, { user_id: id, access_token, device_id: 'd'.repeat(64) });
  validator().assertSchema('AuthResult', r);
  assert.deepEqual(r.user, { ...user, has_access_token: true });
});

test('ICE: repeatable --stun-url/--turn-url, --turn-ttl-s, and the same list in welcome', async () => {
  const secret = 'another-turn-secret';
  const s = await startServer({
    apps: ['a'],
    flags: [
      '--stun-url', 'stun:127.0.0.1:3478', '--stun-url', 'stun:127.0.0.2:3478',
      '--turn-url', 'turn:127.0.0.1:3478?transport=udp', '--turn-url', 'turns:127.0.0.1:5349?transport=tcp',
      '--turn-secret', secret, '--turn-ttl-s', '600',
    ],
  });
  s.addSecret(secret);
  try {
    const id = uniq('ice');
    const { auth } = await s.api.login(s.apps.a, id);
    const urls = auth.ice_servers.flatMap((x) => x.urls);
    for (const u of ['stun:127.0.0.1:3478', 'stun:127.0.0.2:3478', 'turn:127.0.0.1:3478?transport=udp', 'turns:127.0.0.1:5349?transport=tcp']) {
      assert.ok(urls.includes(u), `${u} in ${JSON.stringify(auth.ice_servers)}`);
    }
    const turns = auth.ice_servers.filter((x) => x.urls.some((u) => u.startsWith('turn')));
    assert.ok(turns.length >= 1);
    for (const t of turns) {
      const expiry = Number(t.username.split(':')[0]);
      assert.ok(Math.abs(expiry - (nowS() + 600)) <= 60, `TURN expiry ${expiry} ≈ now + 600 s`);
      assert.equal(t.username.slice(t.username.indexOf(':') + 1), id);
      assert.equal(t.credential, turnCredential(secret, t.username));
    }
    const { connectWelcome } = await import('./lib/ws.mjs');
    const { ws, welcome } = await connectWelcome(s, auth.session_key);
    assert.deepEqual(
      welcome.ice_servers.flatMap((x) => x.urls).sort(),
      [...urls].sort(),
      'welcome carries the same ICE servers',
    );
    ws.close();
  } finally {
    await s.stop();
  }
});

test('secrets never appear in the server log', async () => {
  // Everything the tests above used (api tokens, signing secrets, access tokens, session tokens,
  // JWTs, session keys, the TURN secret) was recorded by the helpers.
  assert.ok(server.secrets.size > 10);
  server.assertNoSecretsInLogs();
});
