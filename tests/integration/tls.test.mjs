// TLS: serve --tls-cert/--tls-key answers https and wss.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile, rm } from 'node:fs/promises';
import https from 'node:https';
import path from 'node:path';
import { startServer, makeTempDir } from './lib/server.mjs';
import { validator } from './lib/openapi.mjs';
import { WsClient } from './lib/ws.mjs';
import { uniq } from './lib/util.mjs';

let server;
let certDir;
let ca;

function run(cmd, args) {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, (err, stdout, stderr) => (err ? reject(new Error(`${cmd}: ${stderr}`)) : resolve(stdout)));
  });
}

/** A small https client that trusts only the test's self-signed certificate. */
function request(method, urlPath, { headers = {}, json } = {}) {
  return new Promise((resolve, reject) => {
    const body = json === undefined ? undefined : JSON.stringify(json);
    const req = https.request(
      {
        host: '127.0.0.1',
        port: server.port,
        method,
        path: urlPath,
        ca,
        servername: 'localhost',
        headers: { ...headers, ...(body ? { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) } : {}) },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d) => (text += d));
        res.on('end', () => {
          validator().check(method, urlPath.split('?')[0], res.statusCode, res.headers['content-type'] ?? null, text, res.headers);
          resolve({ status: res.statusCode, headers: res.headers, text, body: text ? JSON.parse(text) : null });
        });
      },
    );
    req.on('error', reject);
    if (body) req.write(body);
    req.end();
  });
}

before(async () => {
  certDir = await makeTempDir('parley-tls-');
  const cert = path.join(certDir, 'cert.pem');
  const key = path.join(certDir, 'key.pem');
  await run('openssl', [
    'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=localhost', '-days', '1',
    '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1',
    '-keyout', key, '-out', cert,
  ]);
  ca = await readFile(cert);
  server = await startServer({ apps: ['a'], flags: ['--tls-cert', cert, '--tls-key', key], scheme: 'https' });
});

after(async () => {
  await server?.stop();
  if (certDir) await rm(certDir, { recursive: true, force: true });
});

test('the listening line says https://', () => {
  assert.match(server.stdoutText(), /^parleyd listening on https:\/\/127\.0\.0\.1:\d+$/m);
  assert.ok(server.url.startsWith('https://'));
});

test('GET /healthz over https', async () => {
  const r = await request('GET', '/healthz');
  assert.equal(r.status, 200);
  assert.deepEqual(r.body, { status: 'ok' });
});

test('Platform API and authentication over https, then hello/welcome over wss', async () => {
  const app = server.apps.a;
  const id = uniq('tls');
  const created = await request('POST', `/v1/apps/${app.app_id}/users`, {
    headers: { 'Api-Token': app.api_token },
    json: { user_id: id, issue_access_token: true },
  });
  assert.equal(created.status, 201, created.text);
  server.addSecret(created.body.access_token);
  const auth = await request('POST', `/v1/apps/${app.app_id}/auth`, {
    json: { user_id: id, access_token: created.body.access_token },
  });
  assert.equal(auth.status, 200, auth.text);
  server.addSecret(auth.body.session_key);
  const me = await request('GET', '/v1/me', { headers: { Authorization: `Bearer ${auth.body.session_key}` } });
  assert.equal(me.status, 200);
  assert.equal(me.body.user.user_id, id);

  assert.ok(server.wsUrl.startsWith('wss://'));
  const ws = await WsClient.connect(server.wsUrl, { ca, servername: 'localhost' });
  const welcome = await ws.hello(auth.body.session_key, 'tls-device');
  assert.equal(welcome.type, 'welcome', JSON.stringify(welcome));
  assert.equal(welcome.user.user_id, id);
  await ws.assertAlive();
  ws.close();
  await ws.closed();
});

test('wss with rejectUnauthorized: false works too; plain ws:// to the TLS port does not', async () => {
  const ws = await WsClient.connect(server.wsUrl, { rejectUnauthorized: false });
  ws.send({ type: 'hello', session_key: 'B'.repeat(43) });
  assert.equal((await ws.next('error')).code, 'unauthorized');
  assert.equal((await ws.closed()).code, 4001);

  const plain = new WsClient(server.wsUrl.replace('wss://', 'ws://'));
  await assert.rejects(plain.opened);
  // And the server is still fine.
  assert.equal((await request('GET', '/healthz')).status, 200);
});
