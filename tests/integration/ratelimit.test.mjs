// Failed authentication limits: 10 per user id and N per address within 60 s → 429 rate_limited
// with a Retry-After header.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from './lib/server.mjs';
import { assertError, assertStatus } from './lib/api.mjs';
import { uniq } from './lib/util.mjs';

const servers = [];
after(async () => {
  for (const s of servers) await s.stop();
});

function assertRetryAfter(r) {
  const ra = r.headers.get('retry-after');
  assert.ok(ra !== null, 'Retry-After header present');
  assert.match(ra, /^\d+$/, `Retry-After is integer seconds: ${ra}`);
  const n = Number(ra);
  assert.ok(n >= 1 && n <= 60, `Retry-After ${n} within 1..60`);
}

test('10 failed tries for one user id: the 11th, even with the right token, is 429 rate_limited', async () => {
  const server = await startServer({ apps: ['a'] });
  servers.push(server);
  const { api } = server;
  const app = server.apps.a;
  const id = uniq('victim');
  const { access_token } = await api.userWithAccessToken(app, id);
  const wrong = access_token.slice(0, -4) + 'AAAA';
  for (let i = 0; i < 10; i++) {
    assertError(await api.auth(app, { user_id: id, access_token: wrong }), 401, 'invalid_credentials');
  }
  const r = await api.auth(app, { user_id: id, access_token });
  assertError(r, 429, 'rate_limited');
  assertRetryAfter(r);
  // Still limited for a wrong token, and for other credential kinds of the same user id.
  assertError(await api.auth(app, { user_id: id, access_token: wrong }), 429, 'rate_limited');
  const st = await api.platform(app).createSessionToken(id);
  assertStatus(st, 201);
  assertError(await api.auth(app, { user_id: id, session_token: st.body.token }), 429, 'rate_limited');

  // Another user id of the same app, from the same address, is not limited.
  const other = uniq('bystander');
  const { access_token: t2 } = await api.userWithAccessToken(app, other);
  assertStatus(await api.auth(app, { user_id: other, access_token: t2 }), 200);
});

test('successes do not count toward the per-user limit', async () => {
  const server = await startServer({ apps: ['a'] });
  servers.push(server);
  const { api } = server;
  const app = server.apps.a;
  const id = uniq('good');
  const { access_token } = await api.userWithAccessToken(app, id);
  for (let i = 0; i < 15; i++) {
    assertStatus(await api.auth(app, { user_id: id, access_token }), 200);
  }
  // 9 failures are still under the limit.
  for (let i = 0; i < 9; i++) {
    assertError(await api.auth(app, { user_id: id, access_token: 'x'.repeat(43) }), 401, 'invalid_credentials');
  }
  assertStatus(await api.auth(app, { user_id: id, access_token }), 200);
});

test('per-address limit (--auth-fail-limit-addr 5): the 6th try from the address is 429', async () => {
  const server = await startServer({ apps: ['a'], flags: ['--auth-fail-limit-addr', '5'] });
  servers.push(server);
  const { api } = server;
  const app = server.apps.a;
  const id = uniq('right');
  const { access_token } = await api.userWithAccessToken(app, id);
  // Five failures, each for a different (unknown) user id.
  for (let i = 0; i < 5; i++) {
    assertError(await api.auth(app, { user_id: uniq('nobody'), access_token: 'y'.repeat(43) }), 401, 'invalid_credentials');
  }
  const r = await api.auth(app, { user_id: id, access_token });
  assertError(r, 429, 'rate_limited');
  assertRetryAfter(r);
});

test('the per-user limit is configurable (--auth-fail-limit-user 3)', async () => {
  const server = await startServer({ apps: ['a'], flags: ['--auth-fail-limit-user', '3'] });
  servers.push(server);
  const { api } = server;
  const app = server.apps.a;
  const id = uniq('three');
  const { access_token } = await api.userWithAccessToken(app, id);
  for (let i = 0; i < 3; i++) {
    assertError(await api.auth(app, { user_id: id, access_token: 'z'.repeat(43) }), 401, 'invalid_credentials');
  }
  const r = await api.auth(app, { user_id: id, access_token });
  assertError(r, 429, 'rate_limited');
  assertRetryAfter(r);
});
