// Platform API: Api-Token authentication, app isolation, and the users resource.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from './lib/server.mjs';
import { assertError, assertStatus, enc, SECRET_RE } from './lib/api.mjs';
import { validator } from './lib/openapi.mjs';

let server;
let api;
let A;
let B;
let P; // an app used only for paging, so that its user list is exactly known

before(async () => {
  server = await startServer({ apps: ['a', 'b', 'paging'] });
  api = server.api;
  A = api.platform(server.apps.a);
  B = api.platform(server.apps.b);
  P = api.platform(server.apps.paging);
});

after(async () => {
  await server?.stop();
});

test('Platform API without Api-Token is 401 unauthorized', async () => {
  const path = `/v1/apps/${server.apps.a.app_id}/users`;
  assertError(await api.req('GET', path), 401, 'unauthorized');
  assertError(await api.req('POST', path, { json: { user_id: 'x' } }), 401, 'unauthorized');
  assertError(await api.req('GET', path, { apiToken: '' }), 401, 'unauthorized');
});

test('Platform API with a wrong Api-Token is 401 unauthorized', async () => {
  const app = { ...server.apps.a, api_token: server.apps.a.api_token.slice(0, -2) + 'AA' };
  assertError(await api.platform(app).listUsers(), 401, 'unauthorized');
  assertError(await api.platform({ ...server.apps.a, api_token: 'garbage' }).getUser('x'), 401, 'unauthorized');
  // The signing secret is not an api token.
  assertError(await api.platform({ ...server.apps.a, api_token: server.apps.a.signing_secret }).listUsers(), 401, 'unauthorized');
});

test("app isolation: app A's token on app B's path is 401 and changes nothing", async () => {
  assertStatus(await B.createUser('only-in-b'), 201);
  const crossed = api.platform({ app_id: server.apps.b.app_id, api_token: server.apps.a.api_token });
  const r1 = await crossed.listUsers();
  assertError(r1, 401, 'unauthorized');
  assert.ok(!r1.text.includes('only-in-b'));
  assertError(await crossed.getUser('only-in-b'), 401, 'unauthorized');
  assertError(await crossed.createUser('planted'), 401, 'unauthorized');
  assertError(await crossed.patchUser('only-in-b', { nickname: 'hacked' }), 401, 'unauthorized');
  assertError(await crossed.deleteUser('only-in-b'), 401, 'unauthorized');
  assertError(await crossed.issueAccessToken('only-in-b'), 401, 'unauthorized');
  assertError(await crossed.getSettings(), 401, 'unauthorized');
  const still = await B.getUser('only-in-b');
  assertStatus(still, 200);
  assert.equal(still.body.user.nickname, '');
  assertError(await B.getUser('planted'), 404, 'not_found');
  // App A cannot see B's user on its own path either.
  assertError(await A.getUser('only-in-b'), 404, 'not_found');
});

test('an unknown app id with a valid token of another app is 401 unauthorized', async () => {
  const ghost = api.platform({ app_id: '00000000-0000-4000-8000-000000000000', api_token: server.apps.a.api_token });
  assertError(await ghost.listUsers(), 401, 'unauthorized');
});

test('the same user_id exists independently in two apps', async () => {
  const ra = await A.createUser('same-id', { nickname: 'in A' });
  const rb = await B.createUser('same-id', { nickname: 'in B' });
  assertStatus(ra, 201);
  assertStatus(rb, 201);
  assertStatus(await A.patchUser('same-id', { nickname: 'A changed' }), 200);
  assert.equal((await B.getUser('same-id')).body.user.nickname, 'in B');
  assertStatus(await A.deleteUser('same-id'), 204);
  assertError(await A.getUser('same-id'), 404, 'not_found');
  const stillB = await B.getUser('same-id');
  assertStatus(stillB, 200);
  assert.equal(stillB.body.user.nickname, 'in B');
});

test('create user: 201 with the user object', async () => {
  const before = Date.now();
  const r = await A.createUser('alice', {
    nickname: 'Alice',
    profile_url: 'https://example.com/alice.png',
    metadata: { team: 'red', lang: 'en' },
  });
  assertStatus(r, 201);
  const u = r.body.user;
  for (const k of ['user_id', 'nickname', 'profile_url', 'metadata', 'created_at', 'has_access_token']) {
    assert.ok(k in u, `user object has ${k}`);
  }
  assert.equal(u.user_id, 'alice');
  assert.equal(u.nickname, 'Alice');
  assert.equal(u.profile_url, 'https://example.com/alice.png');
  assert.deepEqual(u.metadata, { team: 'red', lang: 'en' });
  assert.equal(u.has_access_token, false);
  assert.ok(Number.isInteger(u.created_at));
  assert.ok(u.created_at >= before - 2000 && u.created_at <= Date.now() + 2000, 'created_at is now in ms');
  assert.equal(r.body.access_token, undefined, 'no access token unless asked');
  validator().assertSchema('User', u);
});

test('create user with only user_id: defaults', async () => {
  const r = await A.createUser('minimal');
  assertStatus(r, 201);
  assert.equal(r.body.user.nickname, '', "an unset nickname is the empty string");
  assert.equal(r.body.user.profile_url, '', "an unset profile_url is the empty string");
  assert.deepEqual(r.body.user.metadata, {});
  assert.equal(r.body.user.has_access_token, false);
});

test('create user with issue_access_token returns an access token', async () => {
  const r = await A.createUser('with-token', { issue_access_token: true });
  assertStatus(r, 201);
  assert.match(r.body.access_token, SECRET_RE);
  assert.equal(r.body.user.has_access_token, true);
  const g = await A.getUser('with-token');
  assert.equal(g.body.user.has_access_token, true);
  assert.ok(!g.text.includes(r.body.access_token), 'the token is never shown again');
});

test('create user with issue_access_token false returns no access token', async () => {
  const r = await A.createUser('without-token', { issue_access_token: false });
  assertStatus(r, 201);
  assert.equal(r.body.access_token, undefined);
  assert.equal(r.body.user.has_access_token, false);
});

test('user ids with every allowed character, and 128 bytes, are accepted', async () => {
  for (const id of ['a.b_c-d', 'someone+tag@example.com', 'urn:user:42', 'X'.repeat(128), '0']) {
    const r = await A.createUser(id);
    assertStatus(r, 201, id);
    assert.equal(r.body.user.user_id, id);
    const g = await A.getUser(id);
    assertStatus(g, 200, id);
    assert.equal(g.body.user.user_id, id);
  }
});

test('user ids with @ : + are found when written raw in the path, too', async () => {
  const id = 'raw+path@example.com:1';
  assertStatus(await A.createUser(id), 201);
  const r = await A.req('GET', `/users/${id}`);
  assertStatus(r, 200);
  assert.equal(r.body.user.user_id, id, "'+' in a path is not a space");
});

test('concurrent creates of one user id: exactly one 201, the others 409', async () => {
  const results = await Promise.all(Array.from({ length: 12 }, () => A.createUser('racy', { issue_access_token: true })));
  const statuses = results.map((r) => r.status).sort();
  assert.equal(statuses.filter((x) => x === 201).length, 1, `statuses: ${statuses}`);
  assert.equal(statuses.filter((x) => x === 409).length, 11, `statuses: ${statuses}`);
});

test('concurrent access token issues: exactly one of the returned tokens works', async () => {
  assertStatus(await A.createUser('racy-token'), 201);
  const results = await Promise.all(Array.from({ length: 8 }, () => A.issueAccessToken('racy-token')));
  for (const r of results) assertStatus(r, 200);
  const tokens = results.map((r) => r.body.access_token);
  assert.equal(new Set(tokens).size, tokens.length, 'all different');
  let works = 0;
  for (const access_token of tokens) {
    const r = await api.auth(server.apps.a, { user_id: 'racy-token', access_token });
    if (r.status === 200) works++;
    else assertError(r, 401, 'invalid_credentials');
  }
  assert.equal(works, 1);
});

test('duplicate user is 409 user_exists', async () => {
  assertStatus(await A.createUser('dup'), 201);
  assertError(await A.createUser('dup'), 409, 'user_exists');
  assertError(await A.createUser('dup', { issue_access_token: true }), 409, 'user_exists');
});

test('invalid user_id is 400 invalid_request with field user_id', async () => {
  const bad = ['', 'a'.repeat(129), 'has space', 'slash/inside', 'ünicode', 'semi;colon', 'q?x', 'tab\t', 'quote"', 'hash#'];
  for (const id of bad) {
    assertError(await A.createUser(id), 400, 'invalid_request', 'user_id');
  }
  assertError(await A.req('POST', '/users', { json: {} }), 400, 'invalid_request', 'user_id');
  assertError(await A.req('POST', '/users', { json: { user_id: 42 } }), 400, 'invalid_request', 'user_id');
  assertError(await A.req('POST', '/users', { json: { user_id: null } }), 400, 'invalid_request', 'user_id');
  assertError(await A.req('POST', '/users', { json: { user_id: ['a'] } }), 400, 'invalid_request', 'user_id');
});

test('invalid user_id in a path is 400 invalid_request or 404 not_found, never 500', async () => {
  const r = await A.getUser('a'.repeat(129));
  assert.ok([400, 404].includes(r.status), `got ${r.status}`);
  assert.ok(['invalid_request', 'not_found'].includes(r.body.error.code));
  const r2 = await A.req('GET', `/users/${enc('bad id')}`);
  assert.ok([400, 404].includes(r2.status), `got ${r2.status}`);
});

test('get user, and 404 not_found for an unknown one', async () => {
  assertStatus(await A.createUser('getme', { nickname: 'G' }), 201);
  const r = await A.getUser('getme');
  assertStatus(r, 200);
  assert.equal(r.body.user.user_id, 'getme');
  assert.equal(r.body.user.nickname, 'G');
  assertError(await A.getUser('nobody-here'), 404, 'not_found');
});

test('list users pages with limit and next: no duplicates, no gaps, next null at the end', async () => {
  const ids = [];
  for (let i = 0; i < 25; i++) ids.push(`user-${String(i).padStart(2, '0')}`);
  // Create in a shuffled order; the list is ordered by user_id.
  const shuffled = [...ids].sort(() => Math.random() - 0.5);
  for (const id of shuffled) assertStatus(await P.createUser(id), 201);

  const seen = [];
  let next = null;
  let pages = 0;
  do {
    const q = `?limit=10${next ? `&next=${enc(next)}` : ''}`;
    const r = await P.listUsers(q);
    assertStatus(r, 200);
    assert.ok(r.body.users.length <= 10);
    seen.push(...r.body.users.map((u) => u.user_id));
    next = r.body.next;
    pages++;
    assert.ok(pages <= 5, 'paging does not end');
    if (next !== null) assert.equal(typeof next, 'string');
  } while (next !== null);
  assert.deepEqual(seen, ids, 'every user once, ordered by user_id');
  assert.equal(pages, 3);

  // Default limit is 20.
  const d = await P.listUsers();
  assertStatus(d, 200);
  assert.equal(d.body.users.length, 20);
  assert.equal(typeof d.body.next, 'string');
  const rest = await P.listUsers(`?next=${enc(d.body.next)}`);
  assert.deepEqual(rest.body.users.map((u) => u.user_id), ids.slice(20));
  assert.equal(rest.body.next, null);

  // limit=100 gets all in one page; limit=25 gets exactly all (next may be null or lead to an empty page).
  const all = await P.listUsers('?limit=100');
  assert.deepEqual(all.body.users.map((u) => u.user_id), ids);
  assert.equal(all.body.next, null);
  const exact = await P.listUsers('?limit=25');
  assert.equal(exact.body.users.length, 25);
  if (exact.body.next !== null) {
    const tail = await P.listUsers(`?limit=25&next=${enc(exact.body.next)}`);
    assert.deepEqual(tail.body.users, []);
    assert.equal(tail.body.next, null);
  }
  const one = await P.listUsers('?limit=1');
  assert.deepEqual(one.body.users.map((u) => u.user_id), ['user-00']);
});

test('list users: a cursor the server did not issue is 400 invalid_request on field next', async () => {
  assertError(await P.listUsers('?next=garbage'), 400, 'invalid_request', 'next');
});

test('list users: limit out of range or not a number is 400 invalid_request', async () => {
  for (const q of ['?limit=0', '?limit=101', '?limit=-1', '?limit=abc', '?limit=1.5']) {
    assertError(await P.listUsers(q), 400, 'invalid_request', 'limit');
  }
});

test('list users shows only the users of the app', async () => {
  const r = await B.listUsers('?limit=100');
  assertStatus(r, 200);
  const ids = r.body.users.map((u) => u.user_id);
  assert.ok(!ids.some((id) => id.startsWith('user-')), "app B does not list the paging app's users");
  assert.ok(!ids.includes('alice'), "app B does not list app A's users");
  assert.deepEqual(ids, [...ids].sort(), 'ordered by user_id');
});

test('patch user changes the given fields and keeps the others', async () => {
  assertStatus(await A.createUser('patchme', { nickname: 'Old', profile_url: 'https://x/1', metadata: { k: 'v' } }), 201);
  let r = await A.patchUser('patchme', { nickname: 'New' });
  assertStatus(r, 200);
  assert.equal(r.body.user.nickname, 'New');
  assert.equal(r.body.user.profile_url, 'https://x/1');
  assert.deepEqual(r.body.user.metadata, { k: 'v' });
  r = await A.patchUser('patchme', { profile_url: 'https://x/2', metadata: { a: '1', b: '2' } });
  assertStatus(r, 200);
  assert.equal(r.body.user.nickname, 'New');
  assert.equal(r.body.user.profile_url, 'https://x/2');
  assert.deepEqual(r.body.user.metadata, { a: '1', b: '2' });
  const g = await A.getUser('patchme');
  assert.deepEqual(g.body.user, r.body.user);
  // An empty patch changes nothing.
  const e = await A.patchUser('patchme', {});
  assertStatus(e, 200);
  assert.deepEqual(e.body.user, r.body.user);
});

test('patch user: unknown user 404, bad fields 400 with field', async () => {
  assertError(await A.patchUser('nobody-patch', { nickname: 'x' }), 404, 'not_found');
  assertStatus(await A.createUser('patchbad'), 201);
  assertError(await A.patchUser('patchbad', { nickname: 5 }), 400, 'invalid_request', 'nickname');
  assertError(await A.patchUser('patchbad', { nickname: 'n'.repeat(129) }), 400, 'invalid_request', 'nickname');
  assertError(await A.patchUser('patchbad', { profile_url: 'h'.repeat(2049) }), 400, 'invalid_request', 'profile_url');
  assertError(await A.patchUser('patchbad', { metadata: 'x' }), 400, 'invalid_request', 'metadata');
  assertError(await A.patchUser('patchbad', { metadata: { a: 1 } }), 400, 'invalid_request', 'metadata');
  // 128-byte nickname (multi-byte UTF-8 counted in bytes) is fine, 129 bytes is not.
  assertStatus(await A.patchUser('patchbad', { nickname: 'é'.repeat(64) }), 200);
  assertError(await A.patchUser('patchbad', { nickname: 'é'.repeat(64) + 'x' }), 400, 'invalid_request', 'nickname');
  const g = await A.getUser('patchbad');
  assert.equal(g.body.user.nickname, 'é'.repeat(64));
});

test('delete user: 204, then 404 for get, patch and delete', async () => {
  assertStatus(await A.createUser('deleteme', { issue_access_token: true }), 201);
  const r = await A.deleteUser('deleteme');
  assertStatus(r, 204);
  assert.equal(r.text, '');
  assertError(await A.getUser('deleteme'), 404, 'not_found');
  assertError(await A.patchUser('deleteme', { nickname: 'x' }), 404, 'not_found');
  assertError(await A.deleteUser('deleteme'), 404, 'not_found');
  assertError(await A.issueAccessToken('deleteme'), 404, 'not_found');
  assertError(await A.createSessionToken('deleteme'), 404, 'not_found');
  // The id can be used again, as a new user.
  const again = await A.createUser('deleteme');
  assertStatus(again, 201);
  assert.equal(again.body.user.has_access_token, false);
});

test('settings: defaults, patch within range, 400 with field out of range, per app', async () => {
  const g = await A.getSettings();
  assertStatus(g, 200);
  assert.equal(g.body.ringing_timeout_s, 60);
  assert.equal(g.body.connection_timeout_s, 60);
  assert.equal(g.body.reconnect_grace_s, 30);
  assert.equal(g.body.webhook_url, null);

  const p = await A.patchSettings({ ringing_timeout_s: 10, reconnect_grace_s: 0 });
  assertStatus(p, 200);
  assert.equal(p.body.ringing_timeout_s, 10);
  assert.equal(p.body.connection_timeout_s, 60);
  assert.equal(p.body.reconnect_grace_s, 0);
  const p2 = await A.patchSettings({ ringing_timeout_s: 180, connection_timeout_s: 5, reconnect_grace_s: 120 });
  assertStatus(p2, 200);
  assert.deepEqual(
    [p2.body.ringing_timeout_s, p2.body.connection_timeout_s, p2.body.reconnect_grace_s],
    [180, 5, 120],
  );
  const p3 = await A.patchSettings({ webhook_url: 'https://hooks.example.com/parley' });
  assertStatus(p3, 200);
  assert.equal(p3.body.webhook_url, 'https://hooks.example.com/parley');
  assert.equal((await A.getSettings()).body.webhook_url, 'https://hooks.example.com/parley');
  const p4 = await A.patchSettings({ webhook_url: null });
  assertStatus(p4, 200);
  assert.equal(p4.body.webhook_url, null);

  const bad = [
    [{ ringing_timeout_s: 9 }, 'ringing_timeout_s'],
    [{ ringing_timeout_s: 181 }, 'ringing_timeout_s'],
    [{ ringing_timeout_s: '60' }, 'ringing_timeout_s'],
    [{ ringing_timeout_s: 30.5 }, 'ringing_timeout_s'],
    [{ connection_timeout_s: 4 }, 'connection_timeout_s'],
    [{ connection_timeout_s: 121 }, 'connection_timeout_s'],
    [{ reconnect_grace_s: -1 }, 'reconnect_grace_s'],
    [{ reconnect_grace_s: 121 }, 'reconnect_grace_s'],
    [{ webhook_url: 5 }, 'webhook_url'],
  ];
  for (const [json, field] of bad) {
    assertError(await A.patchSettings(json), 400, 'invalid_request', field);
  }
  // A rejected patch changes nothing, not even its valid fields.
  assertError(await A.patchSettings({ ringing_timeout_s: 20, connection_timeout_s: 500 }), 400, 'invalid_request', 'connection_timeout_s');
  const after = await A.getSettings();
  assert.equal(after.body.ringing_timeout_s, 180);
  assert.equal(after.body.connection_timeout_s, 5);

  // App B still has the defaults.
  const b = await B.getSettings();
  assert.equal(b.body.ringing_timeout_s, 60);
  assert.equal(b.body.connection_timeout_s, 60);
  assert.equal(b.body.reconnect_grace_s, 30);
});
