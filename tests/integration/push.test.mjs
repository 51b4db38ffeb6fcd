// Push notifications (docs/protocol.md, "Push notifications and webhooks in this server"):
// parleyd against an APNs stand-in (HTTP/2, ES256 provider JWT), an FCM stand-in (OAuth2
// JWT-bearer, HTTP v1) and a push gateway (push.webhook), all on 127.0.0.1 with a test CA.
// - push settings: only fingerprints come back, bad keys are 400 naming the field, null removes;
// - a dial pushes to every token of the callee (apns_voip, apns, fcm), WebSocket open or not,
//   with the contract's headers and `parley` object and no secret; ending a ringing call sends
//   call_cancel (canceled, declined, other_device_accepted, no_answer);
// - dead tokens (APNs 410 / BadDeviceToken, FCM UNREGISTERED, gateway 410) are deleted and
//   reported by push.failed unregistered; a token type without a provider: not_configured; an
//   app without providers pushes nothing;
// - 429/503 are retried, never sooner than Retry-After, first after 1 s then doubling;
// - an incoming-call push not sent by the ringing deadline is dropped (push.failed expired);
// - sandbox apps go to --apns-sandbox-url; FCM access tokens are cached; metrics.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { startServer, ms } from './lib/server.mjs';
import { assertStatus, assertError } from './lib/api.mjs';
import { uniq, parseMetrics, metricValue } from './lib/util.mjs';
import { validator } from './lib/openapi.mjs';
import { CallUser, assertAck, callEvent, dial, expectEnded } from './lib/calls.mjs';
import { startOutbound, keyFingerprint, makeApnsKey, pemSecretLines } from './lib/standins/env.mjs';
import { WebhookReceiver } from './lib/standins/webhook_receiver.mjs';
import { eventually, randomHex } from './lib/standins/common.mjs';

let out; // stand-ins
let rx; // the apps' webhook receiver (webhook_url)
let gw; // the push gateway of app w (push.webhook)
let server;
let api;
const sa = {}; // service accounts by app name
const secrets = {}; // webhook_secret by app name

// Apps: a (APNs + FCM), e (APNs + FCM, ringing_timeout_s 10), w (push gateway only),
// f (FCM only), n (no push provider), s (APNs sandbox), k (settings only).
const APPS = ['a', 'e', 'w', 'f', 'n', 's', 'k'];

before(async () => {
  out = await startOutbound();
  rx = await WebhookReceiver.start({ name: 'webhooks' });
  gw = await WebhookReceiver.start({ name: 'push-gateway', path: '/push' });
  server = await startServer({ apps: APPS, flags: out.flags });
  api = server.api;
  for (const line of pemSecretLines(out.apnsKey.privateKeyPem)) server.addSecret(line);

  const configure = async (name, json) => {
    const r = await api.platform(server.apps[name]).patchSettings(json);
    assertStatus(r, 200, `PATCH settings of ${name}`);
    const g = await api.platform(server.apps[name]).getSettings();
    assertStatus(g, 200);
    secrets[name] = g.body.webhook_secret;
    server.addSecret(g.body.webhook_secret);
    rx.setSecret(g.body.webhook_secret, server.apps[name].app_id);
    gw.setSecret(g.body.webhook_secret, server.apps[name].app_id);
    return r.body;
  };
  const newSa = (name) => {
    sa[name] = out.fcm.serviceAccount({ projectId: `proj-${name}` });
    for (const line of pemSecretLines(sa[name].private_key)) server.addSecret(line);
    return sa[name];
  };
  await configure('a', { webhook_url: rx.url, push: { apns: out.apnsConfig(), fcm: { service_account: newSa('a') } } });
  await configure('e', { webhook_url: rx.url, ringing_timeout_s: 10, push: { apns: out.apnsConfig(), fcm: { service_account: newSa('e') } } });
  await configure('w', { webhook_url: rx.url, push: { webhook: { url: gw.url } } });
  await configure('f', { webhook_url: rx.url, push: { fcm: { service_account: newSa('f') } } });
  await configure('n', { webhook_url: rx.url });
  await configure('s', { webhook_url: rx.url, push: { apns: out.apnsConfig({ environment: 'sandbox' }) } });
  await configure('k', {});
});

after(async () => {
  if (server) {
    for (const c of out.seenCredentials()) server.addSecret(c);
    await server.stop();
  }
  await rx?.close();
  await gw?.close();
  await out?.close();
});

// ---- helpers ------------------------------------------------------------------------------------

const apnsToken = () => randomHex(32); // 64 hex digits, like a real device token
const fcmToken = () => `${randomHex(11)}:APA91b${randomHex(60)}`;
const parleyOf = (rec) => (rec.kind === 'webhook' ? rec.body?.data?.parley : rec.parley ?? rec.body?.parley);

/** A user of `app` with an access token, `devices` WebSockets, and push tokens [[type, token]]. */
async function makeUser(appName, prefix, { nickname, devices = 0, tokens = [] } = {}) {
  const app = server.apps[appName];
  const id = uniq(prefix);
  const { access_token } = await api.userWithAccessToken(app, id, nickname === undefined ? {} : { nickname });
  const u = new CallUser(server, app, id, access_token);
  u.nickname = nickname ?? '';
  for (let i = 0; i < devices; i++) await u.addDevice(`${id}-dev${i}`);
  if (tokens.length) {
    const key = devices > 0 ? u.devices[0].sessionKey : await u.session();
    for (const [type, token] of tokens) assertStatus(await api.putPushToken(key, type, token), 204, `PUT ${type} token`);
  }
  return u;
}

/** Waits for a push of `type` about `callId` to `token` at `standin`, answered `status`. */
function pushTo(standin, token, callId, type, { status = 200, timeoutMs = 10000 } = {}) {
  return standin.waitFor(
    (rs) => rs.find((r) => r.token === token && parleyOf(r)?.call_id === callId && parleyOf(r)?.type === type && (status === undefined || r.status === status)),
    ms(timeoutMs),
    `${type} push (→ ${status}) to ${token.slice(0, 12)}… for call ${callId}`,
  );
}

const pushesTo = (standin, token, callId, type) =>
  standin.requests.filter((r) => r.token === token && parleyOf(r)?.call_id === callId && (type === undefined || parleyOf(r)?.type === type));

/** Waits for a webhook event of app `appName` matching pred(body). */
const eventOf = (appName, event, pred = () => true, timeoutMs = 10000) =>
  rx.waitForEvent((b) => b.app_id === server.apps[appName].app_id && b.event === event && pred(b.data, b), ms(timeoutMs), `${event} of app ${appName}`);

/**
 * Resolves once the outbox has handed out everything app `appName` had queued when called:
 * the outbox hands out due entries in the order they were queued, so a marker webhook queued
 * now (user.deleted of a throwaway user) reaches the receiver only after every earlier entry
 * of the app was sent or given up. A push given up at once (not_configured, expired) queues
 * its push.failed as it is given up, before the marker is sent: a second marker passes that
 * one too.
 */
async function outboxPassed(appName) {
  const P = api.platform(server.apps[appName]);
  for (let i = 0; i < 2; i++) {
    const id = uniq('marker');
    assertStatus(await P.createUser(id), 201);
    assertStatus(await P.deleteUser(id), 204);
    await eventOf(appName, 'user.deleted', (d) => d.user_id === id);
  }
}

/** The events of every webhook app `appName` has queued (any state), through the API. */
async function queuedWebhooks(appName) {
  const P = api.platform(server.apps[appName]);
  const events = [];
  for (let next = null, i = 0; i < 100; i++) {
    const r = await P.listDeliveries(`?limit=100${next ? `&next=${encodeURIComponent(next)}` : ''}`);
    assertStatus(r, 200);
    events.push(...r.body.deliveries.map((d) => d.event));
    next = r.body.next;
    if (!next) return events;
  }
  throw new Error('webhook_deliveries did not end');
}

async function tokensOf(appName, userId) {
  const r = await api.platform(server.apps[appName]).listPushTokens(userId);
  assertStatus(r, 200);
  return r.body.push_tokens.map((t) => `${t.type}/${t.token}`).sort();
}

/** Nothing the tests know as a secret (tokens, keys, webhook secrets, PEM lines) is in the record. */
function assertNoSecrets(rec, what) {
  const headers = { ...rec.headers };
  delete headers.authorization; // the provider's own credential
  const hay = `${rec.rawBody}\n${JSON.stringify(headers)}`;
  for (const s of server.secrets) assert.ok(!hay.includes(s), `${what}: a secret (${s.slice(0, 6)}…) is in the push`);
  for (const k of ['private_key', 'webhook_secret', 'api_token', 'signing_secret', 'session_key', 'access_token']) {
    assert.ok(!hay.includes(`"${k}"`), `${what}: the push has a ${k} field`);
  }
}

/** The incoming-call `parley` object of the contract. */
function assertIncoming(p, { appName, call, caller, ringingS = 60 }, what) {
  validator().assertSchema('PushParley', p, what);
  assert.equal(p.type, 'incoming_call', what);
  assert.equal(p.app_id, server.apps[appName].app_id, what);
  assert.equal(p.call_id, call.call_id, what);
  assert.deepEqual(p.caller, { user_id: caller.id, nickname: caller.nickname }, `${what}: caller`);
  assert.equal(p.callee_id, call.callee_id, what);
  assert.equal(p.is_video, call.is_video, what);
  assert.equal(p.created_at, call.created_at, `${what}: created_at is the call's`);
  const want = call.created_at + ringingS * 1000;
  assert.ok(p.ringing_deadline >= want - 1000 && p.ringing_deadline <= want + 1000, `${what}: ringing_deadline ${p.ringing_deadline} ≈ created_at + ${ringingS} s (${want})`);
}

function assertCancel(p, { appName, call, reason }, what) {
  validator().assertSchema('PushParley', p, what);
  assert.equal(p.type, 'call_cancel', what);
  assert.equal(p.app_id, server.apps[appName].app_id, what);
  assert.equal(p.call_id, call.call_id, what);
  assert.equal(p.callee_id, call.callee_id, what);
  assert.equal(p.reason, reason, `${what}: reason`);
}

/** APNs headers and body of a push to an `apns_voip` (voip) or `apns` token. */
function assertApns(rec, { voip, cancel, callId, deadline, isVideo, title }, what) {
  assert.ok(rec.verdict.ok, `${what}: ${rec.verdict.errors.join('; ')}`);
  const h = rec.headers;
  assert.equal(h['apns-topic'], voip ? `${out.bundleId}.voip` : out.bundleId, `${what}: apns-topic`);
  const type = voip ? 'voip' : cancel ? 'background' : 'alert';
  assert.equal(h['apns-push-type'], type, `${what}: apns-push-type`);
  assert.equal(h['apns-priority'], type === 'background' ? '5' : '10', `${what}: apns-priority`);
  assert.equal(h['apns-collapse-id'], callId, `${what}: apns-collapse-id is the call id`);
  assert.match(h['apns-expiration'], /^\d+$/, `${what}: apns-expiration`);
  if (!cancel) {
    const exp = Number(h['apns-expiration']);
    assert.ok(Math.abs(exp - deadline / 1000) <= 1, `${what}: apns-expiration ${exp} is the ringing deadline in s (${deadline / 1000})`);
  }
  if (type === 'voip') assert.equal(rec.body.aps, undefined, `${what}: a voip push has no aps`);
  if (type === 'alert') {
    assert.deepEqual(rec.body.aps, { alert: { title, body: isVideo ? 'Incoming video call' : 'Incoming call' }, sound: 'default' }, `${what}: aps`);
  }
  if (type === 'background') assert.deepEqual(rec.body.aps, { 'content-available': 1 }, `${what}: aps`);
  assert.equal(rec.jwtHeader.kid, out.keyId);
  assert.equal(rec.jwtClaims.iss, out.teamId);
}

/** FCM HTTP v1 message for `token`. */
function assertFcm(rec, { token, appName, cancel, ringingS = 60 }, what) {
  assert.ok(rec.verdict.ok, `${what}: ${rec.verdict.errors.join('; ')}`);
  assert.equal(rec.project, sa[appName].project_id, `${what}: project`);
  const m = rec.body.message;
  assert.equal(m.token, token, what);
  assert.equal(typeof m.data.parley, 'string', `${what}: data.parley is a JSON string`);
  assert.equal(m.android.priority, 'HIGH', what);
  const ttl = /^(\d+)s$/.exec(m.android.ttl);
  assert.ok(ttl, `${what}: android.ttl "${m.android.ttl}" is "<s>s"`);
  if (!cancel) {
    const n = Number(ttl[1]);
    assert.ok(n <= ringingS && n >= ringingS - 15, `${what}: ttl ${n} s is the time left to the ringing deadline`);
  }
}

// ---- settings -----------------------------------------------------------------------------------

test('push settings: GET shows fingerprints, never private keys; null removes a provider; bad keys are 400 naming the field', async () => {
  const P = api.platform(server.apps.k);
  const g0 = await P.getSettings();
  assertStatus(g0, 200);
  assert.deepEqual(g0.body.push, { apns: null, fcm: null, webhook: null });
  assert.match(g0.body.webhook_secret, /^whsec_/);
  assert.equal(g0.body.webhook_url, null);

  const key = makeApnsKey();
  for (const l of pemSecretLines(key.privateKeyPem)) server.addSecret(l);
  const account = out.fcm.serviceAccount({ projectId: 'proj-k' });
  for (const l of pemSecretLines(account.private_key)) server.addSecret(l);

  const p1 = await P.patchSettings({ push: { apns: { key_id: 'K1', team_id: 'T1', bundle_id: 'com.example.k', private_key: key.privateKeyPem } } });
  assertStatus(p1, 200);
  assert.deepEqual(p1.body.push.apns, { key_id: 'K1', team_id: 'T1', bundle_id: 'com.example.k', environment: 'production', private_key_fingerprint: keyFingerprint(key.privateKeyPem) });
  assert.equal(p1.body.push.fcm, null);
  const p2 = await P.patchSettings({ push: { fcm: { service_account: account } } });
  assertStatus(p2, 200);
  assert.deepEqual(p2.body.push.apns, p1.body.push.apns, 'a missing provider key leaves it as is');
  assert.deepEqual(p2.body.push.fcm, {
    project_id: 'proj-k',
    client_email: account.client_email,
    private_key_id: account.private_key_id,
    private_key_fingerprint: keyFingerprint(account.private_key),
  });
  const p3 = await P.patchSettings({ push: { webhook: { url: 'https://gateway.example.com/push' } } });
  assertStatus(p3, 200);
  assert.deepEqual(p3.body.push.webhook, { url: 'https://gateway.example.com/push' });
  const g = await P.getSettings();
  assertStatus(g, 200);
  assert.deepEqual(g.body.push, p3.body.push);
  for (const r of [p1, p2, p3, g]) {
    assert.ok(!r.text.includes('PRIVATE KEY'), 'no PEM in the answer');
    assert.ok(!/"private_key"/.test(r.text), 'no private_key field in the answer');
    for (const l of [...pemSecretLines(key.privateKeyPem), ...pemSecretLines(account.private_key)]) assert.ok(!r.text.includes(l), 'no key material in the answer');
  }

  // Bad keys and fields: 400 naming the field, nothing changes.
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' });
  const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey.export({ type: 'pkcs8', format: 'pem' });
  const apnsWith = (o) => ({ push: { apns: { key_id: 'K2', team_id: 'T2', bundle_id: 'com.example.k2', private_key: key.privateKeyPem, ...o } } });
  const cases = [
    [apnsWith({ private_key: 'not a key' }), 'push.apns.private_key'],
    [apnsWith({ private_key: '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n' }), 'push.apns.private_key'],
    [apnsWith({ private_key: rsa }), 'push.apns.private_key'],
    [apnsWith({ private_key: p384 }), 'push.apns.private_key'],
    [apnsWith({ environment: 'staging' }), 'push.apns.environment'],
    [{ push: { apns: { team_id: 'T2', bundle_id: 'b', private_key: key.privateKeyPem } } }, 'push.apns.key_id'],
    [{ push: 5 }, 'push'],
    [{ webhook_url: 'ftp://example.com/hook' }, 'webhook_url'],
    [{ webhook_url: `https://example.com/${'a'.repeat(2040)}` }, 'webhook_url'],
  ];
  for (const [json, field] of cases) assertError(await P.patchSettings(json), 400, 'invalid_request', field);
  const fcmKeyField = 'push.fcm.service_account.private_key';
  assertError(await P.patchSettings({ push: { fcm: { service_account: { ...account, private_key: 'nope' } } } }), 400, 'invalid_request', fcmKeyField);
  assertError(await P.patchSettings({ push: { fcm: { service_account: { ...account, private_key: key.privateKeyPem } } } }), 400, 'invalid_request', fcmKeyField);
  assert.deepEqual((await P.getSettings()).body, g.body, 'refused PATCHes changed nothing');

  // A long URL just within 2,048 bytes is fine.
  const long = `https://example.com/${'a'.repeat(2048 - 'https://example.com/'.length)}`;
  assertStatus(await P.patchSettings({ webhook_url: long }), 200);
  assertStatus(await P.patchSettings({ webhook_url: null }), 200);

  // null removes one provider and leaves the others.
  const p4 = await P.patchSettings({ push: { apns: null } });
  assertStatus(p4, 200);
  assert.deepEqual(p4.body.push, { apns: null, fcm: p2.body.push.fcm, webhook: { url: 'https://gateway.example.com/push' } });
  const p5 = await P.patchSettings({ push: { fcm: null, webhook: null, apns: { ...apnsWith({}).push.apns, environment: 'sandbox' } } });
  assertStatus(p5, 200);
  assert.deepEqual(p5.body.push, {
    apns: { key_id: 'K2', team_id: 'T2', bundle_id: 'com.example.k2', environment: 'sandbox', private_key_fingerprint: keyFingerprint(key.privateKeyPem) },
    fcm: null,
    webhook: null,
  });
  // The webhook secret did not change through any of this.
  assert.equal((await P.getSettings()).body.webhook_secret, g0.body.webhook_secret);
});

// ---- incoming-call and cancel pushes ------------------------------------------------------------

test('a dial pushes to every token of the callee (voip, alert, FCM) with the contract headers and payload, WebSocket open or not; canceling sends call_cancel canceled', { timeout: ms(60000) }, async () => {
  const voip1 = apnsToken();
  const voip2 = apnsToken();
  const alert = apnsToken();
  const fcm1 = fcmToken();
  const fcm2 = fcmToken();
  const alice = await makeUser('a', 'alice', { nickname: 'Alice Doe', devices: 1 });
  const bob = await makeUser('a', 'bob', { devices: 1, tokens: [['apns_voip', voip1], ['apns_voip', voip2], ['apns', alert], ['fcm', fcm1], ['fcm', fcm2]] });

  const call = await dial(alice.ws(), bob.id, { isVideo: true });
  await callEvent(bob.ws(), 'ringing', call.call_id); // the callee's WebSocket is open and rings

  const [rv1, rv2, ra] = await Promise.all([voip1, voip2, alert].map((t) => pushTo(out.apns, t, call.call_id, 'incoming_call')));
  const [rf1, rf2] = await Promise.all([fcm1, fcm2].map((t) => pushTo(out.fcm, t, call.call_id, 'incoming_call')));
  const deadline = rv1.body.parley.ringing_deadline;
  for (const [rec, voip, what] of [[rv1, true, 'voip 1'], [rv2, true, 'voip 2'], [ra, false, 'alert']]) {
    assertIncoming(rec.body.parley, { appName: 'a', call, caller: alice }, what);
    assertApns(rec, { voip, cancel: false, callId: call.call_id, deadline, isVideo: true, title: 'Alice Doe' }, what);
    assertNoSecrets(rec, what);
  }
  for (const [rec, token, what] of [[rf1, fcm1, 'fcm 1'], [rf2, fcm2, 'fcm 2']]) {
    assertFcm(rec, { token, appName: 'a', cancel: false }, what);
    assertIncoming(rec.parley, { appName: 'a', call, caller: alice }, what);
    assert.deepEqual(rec.parley, rv1.body.parley, `${what}: the same parley object for every provider`);
    assertNoSecrets(rec, what);
  }

  // The caller cancels while ringing: call_cancel canceled to every token.
  assertAck(await alice.ws().request('end', { call_id: call.call_id }));
  await expectEnded([bob.ws()], call.call_id, 'canceled', alice.id);
  const [cv1, cv2, ca] = await Promise.all([voip1, voip2, alert].map((t) => pushTo(out.apns, t, call.call_id, 'call_cancel')));
  const [cf1, cf2] = await Promise.all([fcm1, fcm2].map((t) => pushTo(out.fcm, t, call.call_id, 'call_cancel')));
  for (const [rec, voip, what] of [[cv1, true, 'voip 1 cancel'], [cv2, true, 'voip 2 cancel'], [ca, false, 'alert cancel']]) {
    assertCancel(rec.body.parley, { appName: 'a', call, reason: 'canceled' }, what);
    assertApns(rec, { voip, cancel: true, callId: call.call_id }, what);
    assertNoSecrets(rec, what);
  }
  for (const [rec, token, what] of [[cf1, fcm1, 'fcm 1 cancel'], [cf2, fcm2, 'fcm 2 cancel']]) {
    assertFcm(rec, { token, appName: 'a', cancel: true }, what);
    assertCancel(rec.parley, { appName: 'a', call, reason: 'canceled' }, what);
    assertNoSecrets(rec, what);
  }
  // One push of each kind per token; none to the caller (it has no tokens) and no failures.
  for (const [s, t] of [[out.apns, voip1], [out.apns, voip2], [out.apns, alert], [out.fcm, fcm1], [out.fcm, fcm2]]) {
    assert.equal(pushesTo(s, t, call.call_id, 'incoming_call').length, 1, 'one incoming push per token');
    assert.equal(pushesTo(s, t, call.call_id, 'call_cancel').length, 1, 'one cancel push per token');
  }
  assert.deepEqual(out.apns.failures(), []);
  assert.deepEqual(out.fcm.failures(), []);
});

test('a callee with no WebSocket at all gets the push; declining sends call_cancel declined; the alert title is the user id when the caller has no nickname', { timeout: ms(60000) }, async () => {
  const alert = apnsToken();
  const voip = apnsToken();
  const carol = await makeUser('a', 'carol', { devices: 1 }); // no nickname
  const dan = await makeUser('a', 'dan', { tokens: [['apns', alert], ['apns_voip', voip]] });
  const call = await dial(carol.ws(), dan.id, { isVideo: false });
  const ra = await pushTo(out.apns, alert, call.call_id, 'incoming_call');
  assertIncoming(ra.body.parley, { appName: 'a', call, caller: carol }, 'alert');
  assert.equal(ra.body.parley.caller.nickname, '');
  assertApns(ra, { voip: false, cancel: false, callId: call.call_id, deadline: ra.body.parley.ringing_deadline, isVideo: false, title: carol.id }, 'alert');
  await pushTo(out.apns, voip, call.call_id, 'incoming_call');

  // The device wakes up, connects (the call is in ongoing_calls) and declines.
  const d = await dan.addDevice(`${dan.id}-phone`);
  assert.deepEqual(d.welcome.ongoing_calls.map((c) => c.call_id), [call.call_id]);
  assertAck(await dan.ws().request('decline', { call_id: call.call_id }));
  for (const t of [alert, voip]) {
    const c = await pushTo(out.apns, t, call.call_id, 'call_cancel');
    assertCancel(c.body.parley, { appName: 'a', call, reason: 'declined' }, 'declined cancel');
  }
});

test('accept on one device: call_cancel other_device_accepted to every token, and no second cancel when the call ends', { timeout: ms(60000) }, async () => {
  const voip = apnsToken();
  const fcm = fcmToken();
  const erin = await makeUser('a', 'erin', { nickname: 'Erin', devices: 1 });
  const fred = await makeUser('a', 'fred', { devices: 2, tokens: [['apns_voip', voip], ['fcm', fcm]] });
  const call = await dial(erin.ws(), fred.id);
  await pushTo(out.apns, voip, call.call_id, 'incoming_call');
  await pushTo(out.fcm, fcm, call.call_id, 'incoming_call');
  await Promise.all(fred.wss.map((ws) => callEvent(ws, 'ringing', call.call_id)));
  assertAck(await fred.ws(0).request('accept', { call_id: call.call_id }));
  await expectEnded([fred.ws(1)], call.call_id, 'other_device_accepted', fred.id);
  const cv = await pushTo(out.apns, voip, call.call_id, 'call_cancel');
  assertCancel(cv.body.parley, { appName: 'a', call, reason: 'other_device_accepted' }, 'voip cancel');
  assertApns(cv, { voip: true, cancel: true, callId: call.call_id }, 'voip cancel');
  const cf = await pushTo(out.fcm, fcm, call.call_id, 'call_cancel');
  assertCancel(cf.parley, { appName: 'a', call, reason: 'other_device_accepted' }, 'fcm cancel');

  // The call goes on and ends completed: no further push.
  assertAck(await erin.ws().request('end', { call_id: call.call_id }));
  await expectEnded([fred.ws(0)], call.call_id, 'completed', erin.id);
  await eventOf('a', 'direct_call.end', (d) => d.call.call_id === call.call_id);
  // A marker call to the same tokens, dialed and canceled after that end: the outbox hands out
  // entries in the order they were queued, so a push the end had queued went to these tokens
  // before the marker's incoming push, and that one was answered before its cancel was sent.
  const marker = await dial(erin.ws(), fred.id);
  assertAck(await erin.ws().request('end', { call_id: marker.call_id }));
  await pushTo(out.apns, voip, marker.call_id, 'call_cancel');
  await pushTo(out.fcm, fcm, marker.call_id, 'call_cancel');
  assert.equal(pushesTo(out.apns, voip, call.call_id).length, 2, 'voip: one incoming, one cancel');
  assert.equal(pushesTo(out.fcm, fcm, call.call_id).length, 2, 'fcm: one incoming, one cancel');
});

// ---- dead tokens, not configured ----------------------------------------------------------------

test('dead tokens (APNs 410 and BadDeviceToken, FCM UNREGISTERED) are deleted and reported by push.failed unregistered', { timeout: ms(60000) }, async () => {
  const dead410 = apnsToken();
  const badDev = apnsToken();
  const fcmDead = fcmToken();
  const alive = apnsToken();
  out.apns.program(dead410, 'unregistered');
  out.apns.program(badDev, 'bad_token');
  out.fcm.program(fcmDead, 'unregistered');
  const gina = await makeUser('a', 'gina', { devices: 1 });
  const hal = await makeUser('a', 'hal', { tokens: [['apns_voip', dead410], ['apns', badDev], ['fcm', fcmDead], ['apns_voip', alive]] });
  assert.equal((await tokensOf('a', hal.id)).length, 4);

  const call = await dial(gina.ws(), hal.id);
  await pushTo(out.apns, dead410, call.call_id, 'incoming_call', { status: 410 });
  await pushTo(out.apns, badDev, call.call_id, 'incoming_call', { status: 400 });
  await pushTo(out.fcm, fcmDead, call.call_id, 'incoming_call', { status: 404 });
  await pushTo(out.apns, alive, call.call_id, 'incoming_call');

  await eventually(async () => {
    const t = await tokensOf('a', hal.id);
    return t.length === 1 && t[0] === `apns_voip/${alive}`;
  }, ms(10000), 'deletion of the dead tokens');

  for (const [type, token] of [['apns_voip', dead410], ['apns', badDev], ['fcm', fcmDead]]) {
    const ev = await eventOf('a', 'push.failed', (d) => d.token === token);
    validator().assertSchema('WebhookEvent', ev.body, 'push.failed');
    validator().assertSchema('PushFailedData', ev.body.data, 'push.failed data');
    assert.deepEqual(ev.body.data, { call_id: call.call_id, user_id: hal.id, token_type: type, token, reason: 'unregistered' });
  }
  // The live token gets its cancel; the call is otherwise unaffected.
  assertAck(await gina.ws().request('end', { call_id: call.call_id }));
  const c = await pushTo(out.apns, alive, call.call_id, 'call_cancel');
  assertCancel(c.body.parley, { appName: 'a', call, reason: 'canceled' }, 'cancel');
  assert.equal(rx.requests.filter((r) => r.body?.event === 'push.failed' && r.body.data.token === alive).length, 0);
});

test('push gateway (push.webhook): signed push.send with {user_id, token_type, token, parley}; a 410 deletes the token', { timeout: ms(60000) }, async () => {
  const voip = apnsToken();
  const fcm = fcmToken();
  const gone = apnsToken();
  gw.setResponder((rec) => (rec.body?.data?.token === gone ? 410 : null));
  const ivy = await makeUser('w', 'ivy', { nickname: 'Ivy', devices: 1 });
  const jon = await makeUser('w', 'jon', { tokens: [['apns_voip', voip], ['fcm', fcm], ['apns', gone]] });
  const call = await dial(ivy.ws(), jon.id, { isVideo: true });
  const sends = await gw.waitFor(
    (rs) => {
      const got = rs.filter((r) => r.body?.event === 'push.send' && r.body.data?.parley?.call_id === call.call_id && r.body.data.parley.type === 'incoming_call');
      return new Set(got.map((r) => r.body.data.token)).size === 3 && got;
    },
    ms(10000),
    'three push.send',
  );
  for (const rec of sends) {
    assert.ok(rec.verdict.ok, rec.verdict.errors.join('; '));
    const b = rec.body;
    validator().assertSchema('WebhookEvent', b, 'push.send');
    assert.equal(b.app_id, server.apps.w.app_id);
    const type = { [voip]: 'apns_voip', [fcm]: 'fcm', [gone]: 'apns' }[b.data.token];
    assert.equal(b.data.user_id, jon.id);
    assert.equal(b.data.token_type, type);
    assertIncoming(b.data.parley, { appName: 'w', call, caller: ivy }, `push.send ${type}`);
    assertNoSecrets(rec, 'push.send');
  }
  await eventually(async () => (await tokensOf('w', jon.id)).length === 2, ms(10000), 'deletion of the gateway-410 token');
  const failed = await eventOf('w', 'push.failed', (d) => d.token === gone);
  assert.deepEqual(failed.body.data, { call_id: call.call_id, user_id: jon.id, token_type: 'apns', token: gone, reason: 'unregistered' });

  assertAck(await ivy.ws().request('end', { call_id: call.call_id }));
  for (const t of [voip, fcm]) {
    const rec = await gw.waitForEvent((b) => b.event === 'push.send' && b.data.token === t && b.data.parley.type === 'call_cancel', ms(10000));
    assertCancel(rec.body.data.parley, { appName: 'w', call, reason: 'canceled' }, 'gateway cancel');
  }
  gw.setResponder(null);
  assert.deepEqual(gw.failures(), []);
  // Nothing of app w went to APNs or FCM.
  assert.equal(out.apns.requests.filter((r) => [voip, gone].includes(r.token)).length, 0);
  assert.equal(out.fcm.sends.filter((r) => r.token === fcm).length, 0);
});

test('a token type without a provider is push.failed not_configured; an app without any provider pushes nothing', { timeout: ms(60000) }, async () => {
  // App f has FCM only: its FCM token is pushed, its APNs token is not_configured.
  const fTok = fcmToken();
  const vTok = apnsToken();
  const kim = await makeUser('f', 'kim', { devices: 1 });
  const lou = await makeUser('f', 'lou', { tokens: [['fcm', fTok], ['apns_voip', vTok]] });
  const call = await dial(kim.ws(), lou.id);
  const rec = await pushTo(out.fcm, fTok, call.call_id, 'incoming_call');
  assertFcm(rec, { token: fTok, appName: 'f', cancel: false }, 'fcm of app f');
  const nc = await eventOf('f', 'push.failed', (d) => d.token === vTok);
  assert.deepEqual(nc.body.data, { call_id: call.call_id, user_id: lou.id, token_type: 'apns_voip', token: vTok, reason: 'not_configured' });
  assert.equal(out.apns.requests.filter((r) => r.token === vTok).length, 0);
  assert.deepEqual(await tokensOf('f', lou.id), [`apns_voip/${vTok}`, `fcm/${fTok}`].sort(), 'not_configured deletes nothing');
  assertAck(await kim.ws().request('end', { call_id: call.call_id }));

  // App n has no provider: no push, no push.failed.
  const nTok = apnsToken();
  const nFcm = fcmToken();
  const max = await makeUser('n', 'max', { devices: 1 });
  const ned = await makeUser('n', 'ned', { tokens: [['apns_voip', nTok], ['fcm', nFcm]] });
  const c2 = await dial(max.ws(), ned.id);
  assertAck(await max.ws().request('end', { call_id: c2.call_id }));
  await eventOf('n', 'direct_call.end', (d) => d.call.call_id === c2.call_id);
  await outboxPassed('n');
  assert.deepEqual((await queuedWebhooks('n')).filter((e) => e === 'push.failed'), [], 'no push.failed queued for an app without providers');
  assert.equal(rx.requests.filter((r) => r.body?.app_id === server.apps.n.app_id && r.body.event === 'push.failed').length, 0, 'no push.failed for an app without providers');
  assert.equal(out.apns.requests.filter((r) => r.token === nTok).length + out.fcm.sends.filter((r) => r.token === nFcm).length, 0);
});

// ---- retries ------------------------------------------------------------------------------------

test('429/503 are retried: never sooner than Retry-After; without it first after 1 s, then doubling', { timeout: ms(60000) }, async () => {
  const apnsRa = apnsToken();
  const fcmRa = fcmToken();
  const backoff = apnsToken();
  out.apns.program(apnsRa, { status: 503, retryAfter: 2, times: 1 });
  out.fcm.program(fcmRa, { status: 429, retryAfter: 2, times: 1 });
  out.apns.program(backoff, { status: 503, times: 2 });
  const olga = await makeUser('a', 'olga', { devices: 1 });
  const pete = await makeUser('a', 'pete', { tokens: [['apns_voip', apnsRa], ['fcm', fcmRa], ['apns_voip', backoff]] });
  const call = await dial(olga.ws(), pete.id);

  const ok1 = await pushTo(out.apns, apnsRa, call.call_id, 'incoming_call', { timeoutMs: 15000 });
  const ok2 = await pushTo(out.fcm, fcmRa, call.call_id, 'incoming_call', { timeoutMs: 15000 });
  const ok3 = await pushTo(out.apns, backoff, call.call_id, 'incoming_call', { timeoutMs: 15000 });
  const times = (s, t) => pushesTo(s, t, call.call_id, 'incoming_call').map((r) => [r.time, r.status]);

  const a = times(out.apns, apnsRa);
  assert.deepEqual(a.map((x) => x[1]), [503, 200], 'APNs: one 503, then delivered');
  assert.ok(a[1][0] - a[0][0] >= 1950, `APNs retry ${a[1][0] - a[0][0]} ms after the 503 with Retry-After: 2`);
  assert.ok(a[1][0] - a[0][0] <= ms(6000), `APNs retry not long after Retry-After (${a[1][0] - a[0][0]} ms)`);
  const f = times(out.fcm, fcmRa);
  assert.deepEqual(f.map((x) => x[1]), [429, 200], 'FCM: one 429, then delivered');
  assert.ok(f[1][0] - f[0][0] >= 1950, `FCM retry ${f[1][0] - f[0][0]} ms after the 429 with Retry-After: 2`);
  const b = times(out.apns, backoff);
  assert.deepEqual(b.map((x) => x[1]), [503, 503, 200]);
  assert.ok(b[1][0] - b[0][0] >= 950, `first retry ${b[1][0] - b[0][0]} ms after (≥ 1 s)`);
  assert.ok(b[2][0] - b[1][0] >= 1950, `second retry ${b[2][0] - b[1][0]} ms after (≥ 2 s)`);
  assert.ok(b[2][0] - b[1][0] <= ms(6000), `second retry not far past 2 s (${b[2][0] - b[1][0]} ms)`);
  for (const r of [ok1, ok2, ok3]) assertIncoming(parleyOf(r), { appName: 'a', call, caller: olga }, 'retried push');

  assertAck(await olga.ws().request('end', { call_id: call.call_id }));
  await eventOf('a', 'direct_call.end', (d) => d.call.call_id === call.call_id);
  assert.equal(rx.requests.filter((r) => r.body?.event === 'push.failed' && [apnsRa, fcmRa, backoff].includes(r.body.data.token)).length, 0, 'no push.failed for pushes that got through');
});

test('an incoming-call push not sent by the ringing deadline is dropped: nothing after it, push.failed expired; the call ends no_answer with a cancel', { timeout: ms(90000) }, async () => {
  const down = apnsToken();
  const fcmDown = fcmToken();
  const ok = apnsToken();
  out.apns.program(down, { status: 503, retryAfter: 1 });
  out.fcm.program(fcmDown, { status: 503 });
  const quinn = await makeUser('e', 'quinn', { nickname: 'Q', devices: 1 });
  const rose = await makeUser('e', 'rose', { tokens: [['apns_voip', down], ['fcm', fcmDown], ['apns_voip', ok]] });
  const call = await dial(quinn.ws(), rose.id);
  const first = await pushTo(out.apns, ok, call.call_id, 'incoming_call');
  assertIncoming(first.body.parley, { appName: 'e', call, caller: quinn, ringingS: 10 }, 'ringing 10 s');
  const deadline = first.body.parley.ringing_deadline;

  // The call ends no_answer at the deadline; the live token gets the cancel.
  const ended = await callEvent(quinn.ws(), 'ended', call.call_id, 20000);
  assert.equal(ended.call.end_result, 'no_answer');
  const cancel = await pushTo(out.apns, ok, call.call_id, 'call_cancel');
  assertCancel(cancel.body.parley, { appName: 'e', call, reason: 'no_answer' }, 'no_answer cancel');

  for (const [type, token] of [['apns_voip', down], ['fcm', fcmDown]]) {
    const ev = await eventOf('e', 'push.failed', (d) => d.token === token && d.reason === 'expired', 15000);
    assert.deepEqual(ev.body.data, { call_id: call.call_id, user_id: rose.id, token_type: type, token, reason: 'expired' });
  }
  // push.failed expired is queued as the push is given up, after the last answer to it: every
  // attempt of the push reached the stand-in before.
  for (const [s, t] of [[out.apns, down], [out.fcm, fcmDown]]) {
    const tries = pushesTo(s, t, call.call_id, 'incoming_call');
    assert.ok(tries.length >= 2, `the push was tried and retried (${tries.length})`);
    const late = tries.filter((r) => r.time > deadline + 500);
    assert.deepEqual(late.map((r) => r.time - deadline), [], 'no incoming-call push after the ringing deadline');
  }
  // Still in the token list: expired is no reason to delete a token.
  assert.equal((await tokensOf('e', rose.id)).length, 3);
  // The cancels to the down tokens are not dropped with their incoming pushes: a cancel lives
  // for minutes, so they are tried, stay queued and age (what the metrics test below reads).
  await pushTo(out.apns, down, call.call_id, 'call_cancel', { status: 503 });
  await pushTo(out.fcm, fcmDown, call.call_id, 'call_cancel', { status: 503 });
  await eventually(async () => {
    const r = await api.req('GET', '/metrics');
    assertStatus(r, 200);
    return metricValue(parseMetrics(r.text), 'parley_outbox_oldest_pending_seconds', { kind: 'push' }) > 0;
  }, ms(10000), 'a push pending for a second or more');
});

// ---- sandbox, token caching, metrics ------------------------------------------------------------

test('an app with environment sandbox pushes to --apns-sandbox-url', { timeout: ms(30000) }, async () => {
  const g = await api.platform(server.apps.s).getSettings();
  assert.equal(g.body.push.apns.environment, 'sandbox');
  const tok = apnsToken();
  const sam = await makeUser('s', 'sam', { devices: 1 });
  const tia = await makeUser('s', 'tia', { tokens: [['apns_voip', tok]] });
  const call = await dial(sam.ws(), tia.id);
  const rec = await pushTo(out.apnsSandbox, tok, call.call_id, 'incoming_call');
  assertApns(rec, { voip: true, cancel: false, callId: call.call_id, deadline: rec.body.parley.ringing_deadline }, 'sandbox');
  assert.equal(out.apns.requests.filter((r) => r.token === tok).length, 0, 'nothing to the production URL');
  assertAck(await sam.ws().request('end', { call_id: call.call_id }));
  await pushTo(out.apnsSandbox, tok, call.call_id, 'call_cancel');
});

test('FCM access tokens are bought with a valid assertion and cached across pushes', async () => {
  const grants = out.fcm.requests.filter((r) => r.kind === 'token');
  assert.ok(grants.length >= 1);
  for (const r of grants) assert.ok(r.verdict.ok, r.verdict.errors.join('; '));
  const byAccount = (name) => grants.filter((r) => r.jwtClaims?.iss === sa[name].client_email && r.status === 200).length;
  assert.ok(out.fcm.sends.filter((r) => r.project === sa.a.project_id && r.status === 200).length >= 4, 'app a made several FCM pushes');
  assert.equal(byAccount('a'), 1, 'one access token for all of app a\'s pushes');
  assert.ok(byAccount('e') <= 1);
});

test('metrics: parley_push_deliveries_total by provider and outcome, outbox gauges', async () => {
  const r = await api.req('GET', '/metrics');
  assertStatus(r, 200);
  const m = parseMetrics(r.text);
  const push = (provider, outcome) => metricValue(m, 'parley_push_deliveries_total', { provider, outcome }) ?? 0;
  assert.ok(push('apns', 'delivered') >= 10, `apns delivered ${push('apns', 'delivered')}`);
  assert.ok(push('fcm', 'delivered') >= 4);
  assert.ok(push('webhook', 'delivered') >= 3);
  assert.ok(push('apns', 'unregistered') >= 2);
  assert.ok(push('fcm', 'unregistered') >= 1);
  assert.ok(push('webhook', 'unregistered') >= 1);
  assert.ok(push('apns', 'retried') >= 3);
  assert.ok(push('fcm', 'retried') >= 1);
  assert.ok(push('apns', 'expired') >= 1);
  assert.ok(push('fcm', 'expired') >= 1);
  assert.ok(metricValue(m, 'parley_push_deliveries_total', { outcome: 'not_configured' }) >= 1);
  assert.ok(metricValue(m, 'parley_webhook_deliveries_total', { outcome: 'delivered' }) >= 10);
  for (const kind of ['push', 'webhook']) {
    const pending = metricValue(m, 'parley_outbox_pending', { kind });
    const oldest = metricValue(m, 'parley_outbox_oldest_pending_seconds', { kind });
    assert.ok(Number.isFinite(pending) && pending >= 0, `parley_outbox_pending{kind="${kind}"}: ${pending}`);
    assert.ok(Number.isFinite(oldest) && oldest >= 0, `parley_outbox_oldest_pending_seconds{kind="${kind}"}: ${oldest}`);
  }
  // The cancel pushes to always-503 tokens are still being retried.
  assert.ok(metricValue(m, 'parley_outbox_pending', { kind: 'push' }) >= 1);
  assert.ok(metricValue(m, 'parley_outbox_oldest_pending_seconds', { kind: 'push' }) > 0);
});

test('no stand-in saw a malformed request: provider JWTs, headers, bodies and signatures all valid', () => {
  assert.deepEqual(out.apns.failures().map((r) => r.verdict.errors), []);
  assert.deepEqual(out.apnsSandbox.failures().map((r) => r.verdict.errors), []);
  assert.deepEqual(out.fcm.failures().map((r) => r.verdict.errors), []);
  assert.deepEqual(rx.failures().map((r) => r.verdict.errors), []);
  assert.deepEqual(gw.failures().map((r) => r.verdict.errors), []);
  assert.equal(out.apns.jwtFailures().length, 0);
});
