// Input limits and malformed input on HTTP: never a crash, never a silent cut, always a clear error.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from './lib/server.mjs';
import { assertError, assertStatus } from './lib/api.mjs';
import { uniq } from './lib/util.mjs';

let server;
let api;
let app;
let P;

before(async () => {
  server = await startServer({ apps: ['a'] });
  api = server.api;
  app = server.apps.a;
  P = api.platform(app);
});

after(async () => {
  await server?.stop();
});

async function healthy() {
  const r = await api.healthz();
  assertStatus(r, 200);
  assert.deepEqual(r.body, { status: 'ok' });
}

test('GET /healthz → 200 {"status":"ok"}', async () => {
  await healthy();
});

test('HTTP body over 64 KiB → 413 payload_too_large', async () => {
  const id = uniq('big');
  const body = JSON.stringify({ user_id: id, nickname: 'x', pad: 'p'.repeat(70 * 1024) });
  assertError(await P.req('POST', '/users', { body }), 413, 'payload_too_large');
  assertError(await P.getUser(id), 404, 'not_found');
  // Also on the client API.
  const big = JSON.stringify({ user_id: id, access_token: 'a'.repeat(80 * 1024) });
  assertError(await api.req('POST', `/v1/apps/${app.app_id}/auth`, { body: big }), 413, 'payload_too_large');
  await healthy();
});

test('a body just under 64 KiB is read whole (unknown fields are ignored)', async () => {
  const id = uniq('near');
  const body = JSON.stringify({ user_id: id, pad: 'p'.repeat(60 * 1024) });
  assertStatus(await P.req('POST', '/users', { body }), 201);
});

test('malformed JSON → 400 invalid_request', async () => {
  for (const body of ['{', '{"user_id": "x",}', 'user_id=x', '{"user_id": "x"} trailing', '', 'nul', '\u0000']) {
    assertError(await P.req('POST', '/users', { body }), 400, 'invalid_request');
  }
  await healthy();
});

test('JSON that is not an object → 400 invalid_request', async () => {
  for (const body of ['[]', '"x"', '42', 'null', 'true']) {
    assertError(await P.req('POST', '/users', { body }), 400, 'invalid_request');
  }
  await healthy();
});

test('JSON nested 33 deep → 400 invalid_request; moderate nesting in an unknown field is fine', async () => {
  const deep = (n) => '['.repeat(n) + ']'.repeat(n);
  // Outer object + 32 arrays = 33 levels.
  assertError(await P.req('POST', '/users', { body: `{"user_id":"${uniq('d')}","extra":${deep(32)}}` }), 400, 'invalid_request');
  assertError(await P.req('POST', '/users', { body: `{"user_id":"${uniq('d')}","extra":${deep(5000)}}` }), 400, 'invalid_request');
  assertError(await P.req('POST', '/users', { body: '{"a":'.repeat(100) + '1' + '}'.repeat(100) }), 400, 'invalid_request');
  assertStatus(await P.req('POST', '/users', { body: `{"user_id":"${uniq('d')}","extra":${deep(10)}}` }), 201);
  await healthy();
});

test('wrong types → 400 invalid_request naming the field', async () => {
  const cases = [
    [{ user_id: uniq('t'), nickname: 5 }, 'nickname'],
    [{ user_id: uniq('t'), nickname: {} }, 'nickname'],
    [{ user_id: uniq('t'), profile_url: [] }, 'profile_url'],
    [{ user_id: uniq('t'), metadata: 'x' }, 'metadata'],
    [{ user_id: uniq('t'), metadata: ['a'] }, 'metadata'],
    [{ user_id: uniq('t'), metadata: { a: 1 } }, 'metadata'],
    [{ user_id: uniq('t'), metadata: { a: null } }, 'metadata'],
    [{ user_id: uniq('t'), metadata: { a: { b: 'c' } } }, 'metadata'],
    [{ user_id: uniq('t'), issue_access_token: 'yes' }, 'issue_access_token'],
    [{ user_id: uniq('t'), issue_access_token: 1 }, 'issue_access_token'],
  ];
  for (const [json, field] of cases) {
    assertError(await P.req('POST', '/users', { json }), 400, 'invalid_request', field);
    assertError(await P.getUser(json.user_id), 404, 'not_found');
  }
  await healthy();
});

test('field bounds: nickname 128 bytes, profile_url 2048 bytes', async () => {
  assertStatus(await P.createUser(uniq('n'), { nickname: 'n'.repeat(128), profile_url: 'h'.repeat(2048) }), 201);
  assertError(await P.createUser(uniq('n'), { nickname: 'n'.repeat(129) }), 400, 'invalid_request', 'nickname');
  assertError(await P.createUser(uniq('n'), { profile_url: 'h'.repeat(2049) }), 400, 'invalid_request', 'profile_url');
});

test('metadata: 16 pairs of 128 bytes fit; 17 pairs, or a 129-byte key or value → 400', async () => {
  const pairs = (n, klen = 8, vlen = 8) =>
    Object.fromEntries(Array.from({ length: n }, (_, i) => [`${String(i).padStart(klen, 'k')}`, 'v'.repeat(vlen)]));
  const ok = await P.createUser(uniq('m'), { metadata: pairs(16, 128, 128) });
  assertStatus(ok, 201);
  assert.equal(Object.keys(ok.body.user.metadata).length, 16);
  assertError(await P.createUser(uniq('m'), { metadata: pairs(17) }), 400, 'invalid_request', 'metadata');
  assertError(await P.createUser(uniq('m'), { metadata: { k: 'v'.repeat(129) } }), 400, 'invalid_request', 'metadata');
  assertError(await P.createUser(uniq('m'), { metadata: { ['k'.repeat(129)]: 'v' } }), 400, 'invalid_request', 'metadata');
  // Bytes, not characters: 43 three-byte characters are 129 bytes.
  assertError(await P.createUser(uniq('m'), { metadata: { k: '€'.repeat(43) } }), 400, 'invalid_request', 'metadata');
  assertStatus(await P.createUser(uniq('m'), { metadata: { k: '€'.repeat(42) } }), 201);
  // The same limits on PATCH.
  const id = uniq('mp');
  assertStatus(await P.createUser(id), 201);
  assertError(await P.patchUser(id, { metadata: pairs(17) }), 400, 'invalid_request', 'metadata');
  assertError(await P.patchUser(id, { metadata: { k: 'v'.repeat(129) } }), 400, 'invalid_request', 'metadata');
  assert.deepEqual((await P.getUser(id)).body.user.metadata, {});
  await healthy();
});

test('unknown route → 404 not_found', async () => {
  for (const path of ['/nope', '/v1/nope', `/v1/apps/${app.app_id}/nope`, '/v2/me']) {
    const r = await api.req('GET', path, { apiToken: app.api_token, validate: false });
    assertError(r, 404, 'not_found');
  }
});

test('known path with a wrong method → 405 invalid_request', async () => {
  const cases = [
    ['PUT', `/v1/apps/${app.app_id}/users`],
    ['DELETE', '/v1/me'],
    ['POST', '/healthz'],
    ['GET', `/v1/apps/${app.app_id}/auth`],
  ];
  for (const [method, path] of cases) {
    const r = await api.req(method, path, { apiToken: app.api_token, validate: false });
    assertError(r, 405, 'invalid_request');
  }
  await healthy();
});

test('many malformed requests in a row leave the server healthy', async () => {
  const junk = ['{', '[[[[', '{"user_id":', '\u00ff\u00fe', '{"user_id":"x","metadata":{"a":'];
  await Promise.all(junk.flatMap((body) => [1, 2, 3].map(() => P.req('POST', '/users', { body }))));
  await healthy();
});

test('a raw non-HTTP byte stream does not take the server down', async () => {
  const net = await import('node:net');
  await new Promise((resolve) => {
    const s = net.connect(server.port, '127.0.0.1', () => {
      s.write('\x16\x03\x01 garbage that is not HTTP\r\n\r\n');
    });
    s.on('data', () => {});
    s.on('error', resolve);
    s.on('close', resolve);
    s.setTimeout(3000, () => s.destroy());
  });
  await healthy();
});
