// Outbound address policy (docs/protocol.md, "Settings" and "Webhooks"; docs/operations.md,
// --allow-private-outbound): an app cannot make the server send requests into the operator's
// network.
// - PATCH /settings refuses webhook_url, push.webhook.url and FCM token_uri that name loopback,
//   private, link-local or unspecified addresses in any literal form, `localhost`, or carry
//   user:pass@ (400 invalid_request with the field), and nothing is queued or sent;
// - a NAME that resolves to loopback passes validation but the connection is refused when the
//   socket would open: the receiver sees nothing and the delivery reads "could not connect";
// - with --allow-private-outbound the same receiver is reached (the control for the above);
// - a transport failure is reported as "could not connect", never libcurl's text;
// - pending deliveries of an app that removes its webhook_url fail at once.
//
// Every request in this file goes to 127.0.0.0/8 or ::1. The private and link-local literals
// below are only ever PATCHed (and must be refused): no event is triggered while one could be
// saved.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import dns from 'node:dns/promises';
import os from 'node:os';
import { generateKeyPairSync } from 'node:crypto';
import { startServer, ms } from './lib/server.mjs';
import { assertStatus, assertError } from './lib/api.mjs';
import { uniq } from './lib/util.mjs';
import { WebhookReceiver } from './lib/standins/webhook_receiver.mjs';
import { eventually } from './lib/standins/common.mjs';

let strict; // the default: private outbound refused
let open; // --allow-private-outbound
let listener; // a plain TCP listener on loopback that counts connections
let rx; // a webhook receiver on loopback

/** Listens on `hosts` (loopback addresses) on one port; counts the connections it accepts. */
async function countingListener(hosts = ['127.0.0.1']) {
  const servers = [];
  const sockets = new Set();
  const state = { port: 0, connections: 0 };
  for (const host of hosts) {
    const srv = net.createServer((s) => {
      state.connections += 1;
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => {});
      // An HTTP answer, so that a connection that should not happen fails no other way.
      s.once('data', () => s.end('HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n'));
    });
    await new Promise((resolve, reject) => {
      srv.once('error', reject);
      srv.listen(state.port, host, () => resolve());
    });
    state.port = srv.address().port;
    servers.push(srv);
  }
  state.close = async () => {
    for (const s of sockets) s.destroy();
    await Promise.all(servers.map((srv) => new Promise((r) => srv.close(() => r()))));
  };
  return state;
}

const isLoopback = (a) => (a.family === 4 ? a.address.startsWith('127.') : a.address === '::1');

/**
 * A host name (not `localhost` or `*.localhost`, which validation refuses) whose every address is
 * loopback, from /etc/hosts on this machine; null when there is none.
 */
async function loopbackName() {
  const candidates = [os.hostname(), 'ip6-localhost', 'ip6-loopback', 'localhost.localdomain', 'localhost6'];
  for (const name of candidates) {
    if (!name || name === 'localhost' || name.endsWith('.localhost') || name.endsWith('.')) continue;
    let addrs;
    try {
      addrs = await dns.lookup(name, { all: true });
    } catch {
      continue;
    }
    if (addrs.length > 0 && addrs.every(isLoopback)) return { name, addresses: [...new Set(addrs.map((a) => a.address))] };
  }
  return null;
}

async function deliveries(srv, app, query = '') {
  const r = await srv.api.platform(srv.apps[app]).req('GET', `/webhook_deliveries${query}`);
  assertStatus(r, 200);
  return r.body.deliveries;
}

/** Creates and deletes a user: one user.deleted webhook when the app has a webhook_url. */
async function userDeletedEvent(srv, app) {
  const P = srv.api.platform(srv.apps[app]);
  const id = uniq('gone');
  assertStatus(await P.createUser(id), 201);
  assertStatus(await P.deleteUser(id), 204);
}

function rsaPem() {
  return generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' });
}

before(async () => {
  listener = await countingListener();
  rx = await WebhookReceiver.start({ name: 'rx-policy' });
  strict = await startServer({ apps: ['v', 'n'] });
  open = await startServer({ apps: ['c', 'g', 'r'], allowPrivateOutbound: true });
});

after(async () => {
  await strict?.stop();
  await open?.stop();
  await listener?.close();
  await rx?.close();
});

test('settings refuse private, link-local and loopback literals in every form, userinfo and localhost', { timeout: ms(60000) }, async () => {
  const P = strict.api.platform(strict.apps.v);
  const port = listener.port;
  // Loopback forms carry the listener's port, so a slip would show as a connection.
  const refused = [
    'http://169.254.169.254/latest/meta-data/',
    'http://10.0.0.1/hook',
    'http://192.168.1.1/hook',
    'http://172.16.0.1/hook',
    'http://100.64.0.1/hook',
    'https://[fd00::1]/hook',
    'http://[fe80::1%25eth0]/hook',
    'http://0.0.0.0/hook',
    `http://0.0.0.0:${port}/hook`,
    `http://127.0.0.1:${port}/hook`,
    `http://[::1]:${port}/hook`,
    `http://[::ffff:127.0.0.1]:${port}/hook`,
    `http://0x7f000001:${port}/hook`,
    `http://2130706433:${port}/hook`,
    `http://127.1:${port}/hook`,
    `http://0177.0.0.1:${port}/hook`,
    `http://127.0.0.1.:${port}/hook`,
    `https://localhost:${port}/hook`,
    `http://api.localhost:${port}/hook`,
    'https://user:pass@example.com/hook',
    'https://user@example.com/hook',
  ];
  for (const url of refused) {
    assertError(await P.patchSettings({ webhook_url: url }), 400, 'invalid_request', 'webhook_url');
    assertError(await P.patchSettings({ push: { webhook: { url } } }), 400, 'invalid_request', 'push.webhook.url');
  }
  const sa = {
    type: 'service_account',
    project_id: 'p',
    private_key_id: 'k1',
    private_key: rsaPem(),
    client_email: 'sa@p.iam.gserviceaccount.com',
  };
  for (const url of ['http://169.254.169.254/token', `http://127.1:${port}/token`, 'https://u:p@oauth2.example.com/token']) {
    assertError(
      await P.patchSettings({ push: { fcm: { service_account: { ...sa, token_uri: url } } } }),
      400,
      'invalid_request',
      'push.fcm.service_account.token_uri',
    );
  }
  // Nothing was saved, so an event queues nothing and nothing is sent.
  const s = await P.getSettings();
  assertStatus(s, 200);
  assert.equal(s.body.webhook_url, null);
  assert.equal(s.body.push.webhook, null);
  assert.equal(s.body.push.fcm, null);
  await userDeletedEvent(strict, 'v');
  assert.deepEqual(await deliveries(strict, 'v'), []);
  assert.equal(listener.connections, 0);
  // A public name is still accepted (it is judged when it is resolved).
  assertStatus(await P.patchSettings({ webhook_url: 'https://hooks.example.com/parley' }), 200);
  assertStatus(await P.patchSettings({ webhook_url: null }), 200);
});

test('a name that resolves to loopback is refused at connect time; with the opt-in it is reached', { timeout: ms(60000) }, async (t) => {
  const found = await loopbackName();
  if (!found) {
    t.skip('no host name on this machine resolves only to loopback (tried the hostname, ip6-localhost, ip6-loopback, localhost.localdomain)');
    return;
  }
  const target = await countingListener(found.addresses);
  try {
    const url = `http://${found.name}:${target.port}/hook`;
    // Validation cannot tell where a name leads: it is saved.
    const P = strict.api.platform(strict.apps.n);
    assertStatus(await P.patchSettings({ webhook_url: url }), 200);
    await userDeletedEvent(strict, 'n');
    const [d] = await eventually(async () => {
      const ds = await deliveries(strict, 'n');
      return ds.length === 1 && ds[0].attempts >= 1 ? ds : null;
    }, ms(10000), 'a first delivery attempt');
    assert.equal(d.state, 'pending');
    assert.equal(d.last_status, null);
    assert.equal(d.last_error, 'could not connect');
    assert.equal(target.connections, 0, `${found.name} (${found.addresses}) was connected to`);
    // The operator's log says why; the app was not told.
    assert.match(strict.stderrText(), /address not allowed \(loopback\)/);
    // Stop the retries: they would all be refused the same way.
    assertStatus(await P.patchSettings({ webhook_url: null }), 200);

    // The control: the same URL with the opt-in reaches the listener.
    const C = open.api.platform(open.apps.c);
    assertStatus(await C.patchSettings({ webhook_url: url }), 200);
    await userDeletedEvent(open, 'c');
    await eventually(() => target.connections > 0, ms(10000), `a connection to ${found.name}`);
    const [ok] = await eventually(async () => {
      const ds = await deliveries(open, 'c');
      return ds.length === 1 && ds[0].state === 'delivered' ? ds : null;
    }, ms(10000), 'a delivered webhook');
    assert.equal(ok.last_status, 200);
    assertStatus(await C.patchSettings({ webhook_url: null }), 200);
  } finally {
    await target.close();
  }
});

test('a transport failure reaches the app as "could not connect", not the connection error', { timeout: ms(60000) }, async () => {
  // A port nothing listens on: connection refused.
  const closed = await countingListener();
  const port = closed.port;
  await closed.close();
  const P = open.api.platform(open.apps.g);
  assertStatus(await P.patchSettings({ webhook_url: `http://127.0.0.1:${port}/hook` }), 200);
  await userDeletedEvent(open, 'g');
  const [d] = await eventually(async () => {
    const ds = await deliveries(open, 'g');
    return ds.length === 1 && ds[0].attempts >= 1 ? ds : null;
  }, ms(10000), 'a first delivery attempt');
  assert.equal(d.last_status, null);
  assert.equal(d.last_error, 'could not connect');
  assertStatus(await P.patchSettings({ webhook_url: null }), 200);
});

test('pending deliveries fail at once when the app removes its webhook_url', { timeout: ms(60000) }, async () => {
  rx.answer(500);
  const P = open.api.platform(open.apps.r);
  const set = await P.patchSettings({ webhook_url: rx.url });
  assertStatus(set, 200);
  open.addSecret(set.body.webhook_secret);
  rx.setSecret(set.body.webhook_secret, open.apps.r.app_id);
  await userDeletedEvent(open, 'r');
  // Four attempts (1 + 2 + 4 s apart): the next one is 16 s away.
  const [before] = await eventually(async () => {
    const ds = await deliveries(open, 'r', '?state=pending');
    return ds.length === 1 && ds[0].attempts >= 4 && ds[0].last_status === 500 ? ds : null;
  }, ms(20000), 'four attempts answered 500');
  assert.ok(before.next_attempt_at - Date.now() > 6000, `next attempt at ${before.next_attempt_at}, now ${Date.now()}`);
  const removedAt = Date.now();
  assertStatus(await P.patchSettings({ webhook_url: null }), 200);
  // Without the change it would be retried for 24 h; it fails now, well before its next turn.
  const [d] = await eventually(async () => {
    const ds = await deliveries(open, 'r', '?state=failed');
    return ds.length === 1 ? ds : null;
  }, ms(5000), 'the delivery given up', 100);
  assert.ok(Date.now() < before.next_attempt_at, `given up ${Date.now() - removedAt} ms after the removal`);
  assert.equal(d.state, 'failed');
  assert.equal(d.attempts, before.attempts + 1);
  assert.equal(d.last_error, 'the app has no webhook_url');
  assert.deepEqual(await deliveries(open, 'r', '?state=pending'), []);
});
