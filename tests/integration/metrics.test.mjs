// GET /metrics: Prometheus text with the WebSocket gauge, auth counters by result, HTTP request
// counters and the request duration histogram.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from './lib/server.mjs';
import { assertError, assertStatus } from './lib/api.mjs';
import { connectWelcome } from './lib/ws.mjs';
import { parseMetrics, metricValue, uniq, jwtFor, makeJwt, nowS } from './lib/util.mjs';

let server;
let api;
let app;

before(async () => {
  server = await startServer({ apps: ['a'] });
  api = server.api;
  app = server.apps.a;
});

after(async () => {
  await server?.stop();
});

async function scrape() {
  const r = await api.req('GET', '/metrics');
  assertStatus(r, 200);
  assert.match(r.headers.get('content-type') ?? '', /^text\/plain/);
  return { text: r.text, samples: parseMetrics(r.text) };
}

test('metrics has the documented families with HELP/TYPE lines', async () => {
  const { text } = await scrape();
  assert.match(text, /^# TYPE parley_ws_connections gauge$/m);
  assert.match(text, /^# TYPE parley_auth_total counter$/m);
  assert.match(text, /^# TYPE parley_http_requests_total counter$/m);
  assert.match(text, /^# TYPE parley_http_request_duration_seconds histogram$/m);
});

test('parley_auth_total counts an actual success and each kind of failure by result', async () => {
  const before = (await scrape()).samples;
  const get = (samples, result) => metricValue(samples, 'parley_auth_total', { result }) ?? 0;

  const id = uniq('m');
  const { access_token } = await api.userWithAccessToken(app, id);
  assertStatus(await api.auth(app, { user_id: id, access_token }), 200);
  assertError(await api.auth(app, { user_id: id, access_token: 'w'.repeat(43) }), 401, 'invalid_credentials');
  const expired = makeJwt({ sub: id, iss: app.app_id, exp: nowS() - 600 }, app.signing_secret);
  assertError(await api.auth(app, { user_id: id, jwt: expired }), 401, 'token_expired');
  assertStatus(await api.auth(app, { user_id: id, jwt: jwtFor(app, id) }), 200);

  const afterS = (await scrape()).samples;
  assert.equal(get(afterS, 'success') - get(before, 'success'), 2, 'two successes counted');
  assert.equal(get(afterS, 'invalid_credentials') - get(before, 'invalid_credentials'), 1, 'one failure counted');
  assert.equal(get(afterS, 'token_expired') - get(before, 'token_expired'), 1, 'one expired counted');
});

test('parley_ws_connections follows open WebSockets', async () => {
  const gauge = async () => metricValue((await scrape()).samples, 'parley_ws_connections');
  const base = await gauge();
  assert.equal(typeof base, 'number');
  const { session_key } = await api.login(app, uniq('g'));
  const { ws: a } = await connectWelcome(server, session_key, 'a');
  const { ws: b } = await connectWelcome(server, session_key, 'b');
  assert.equal(await gauge(), base + 2);
  a.close();
  b.close();
  await Promise.all([a.closed(), b.closed()]);
  // The server may take a moment to notice the close; poll the gauge with a deadline.
  const deadline = Date.now() + 3000;
  let v;
  do {
    v = await gauge();
    if (v === base) break;
    await new Promise((r) => setTimeout(r, 50));
  } while (Date.now() < deadline);
  assert.equal(v, base);
});

test('parley_http_requests_total counts requests by route and status', async () => {
  const total = (samples) =>
    samples.filter((s) => s.name === 'parley_http_requests_total').reduce((n, s) => n + s.value, 0);
  const s1 = (await scrape()).samples;
  for (let i = 0; i < 5; i++) assertStatus(await api.healthz(), 200);
  assertError(await api.me('bogus-key'), 401, 'unauthorized');
  const s2 = (await scrape()).samples;
  assert.ok(total(s2) - total(s1) >= 6, 'at least the six requests were counted');
  const labelled = s2.filter((s) => s.name === 'parley_http_requests_total');
  assert.ok(labelled.every((s) => 'route' in s.labels && 'status' in s.labels), 'route and status labels');
  assert.ok(labelled.some((s) => s.labels.status === '200'));
  assert.ok(labelled.some((s) => s.labels.status === '401'));
  // Routes are templates, not raw paths: no user ids or app ids as label values.
  assert.ok(!labelled.some((s) => s.labels.route.includes(app.app_id)), 'route label has no app id');
});

test('parley_http_request_duration_seconds is a histogram with buckets, +Inf, _sum and _count', async () => {
  assertStatus(await api.healthz(), 200);
  const { samples } = await scrape();
  const buckets = samples.filter((s) => s.name === 'parley_http_request_duration_seconds_bucket');
  assert.ok(buckets.length >= 3, 'several buckets');
  assert.ok(buckets.every((b) => 'le' in b.labels));
  assert.ok(buckets.some((b) => b.labels.le === '+Inf'));
  const sum = samples.filter((s) => s.name === 'parley_http_request_duration_seconds_sum');
  const count = samples.filter((s) => s.name === 'parley_http_request_duration_seconds_count');
  assert.ok(sum.length >= 1 && count.length >= 1);
  const inf = buckets.filter((b) => b.labels.le === '+Inf').reduce((n, b) => n + b.value, 0);
  const cnt = count.reduce((n, c) => n + c.value, 0);
  assert.equal(inf, cnt, '+Inf bucket equals _count');
  assert.ok(cnt > 0);
  // Buckets are cumulative within each label set.
  const groups = new Map();
  for (const b of buckets) {
    const { le, ...rest } = b.labels;
    const key = JSON.stringify(rest);
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key).push([le === '+Inf' ? Infinity : Number(le), b.value]);
  }
  for (const list of groups.values()) {
    list.sort((x, y) => x[0] - y[0]);
    for (let i = 1; i < list.length; i++) assert.ok(list[i][1] >= list[i - 1][1], 'cumulative buckets');
  }
});
