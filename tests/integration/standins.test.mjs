// Self-tests of the push and webhook stand-ins (lib/standins/), without parleyd: the test
// certificate is trusted by node and by OpenSSL (curl, when installed), the APNs stand-in speaks
// HTTP/2 only and accepts a good ES256 provider token and refuses bad ones, the FCM stand-in runs
// the OAuth2 JWT-bearer flow and checks messages, the webhook receiver checks signatures and can
// fail, hang, go down and come back on the same port.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import https from 'node:https';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { generateKeyPairSync, createPrivateKey, sign as cryptoSign, randomUUID } from 'node:crypto';
import { makeTestCert } from './lib/standins/certs.mjs';
import { ApnsStandin } from './lib/standins/apns.mjs';
import { FcmStandin, FCM_SCOPE, JWT_BEARER } from './lib/standins/fcm.mjs';
import { WebhookReceiver, signatureOf, verifies } from './lib/standins/webhook_receiver.mjs';
import { signJwt, b64url, sleep } from './lib/standins/common.mjs';

let cert;
let apns;
let fcm;
const apnsKey = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const otherEcKey = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const APNS = { keyId: 'ABC123DEFG', teamId: 'TEAM123456', bundleId: 'com.example.parley' };

before(async () => {
  cert = await makeTestCert();
  apns = await ApnsStandin.start({ cert, ...APNS, publicKey: apnsKey.publicKey });
  fcm = await FcmStandin.start({ cert });
});

after(async () => {
  await apns?.close();
  await fcm?.close();
  await cert?.remove();
});

const nowS = () => Math.floor(Date.now() / 1000);
const providerJwt = (over = {}, key = apnsKey.privateKey, header = { kid: APNS.keyId }) =>
  signJwt({ iss: APNS.teamId, iat: nowS(), ...over }, key, { alg: 'ES256', header });

/** One HTTP/2 POST to the APNs stand-in; resolves {status, headers, body}. */
function h2post(path, headers, body) {
  return new Promise((resolve, reject) => {
    const client = http2.connect(apns.url, { ca: cert.certPem });
    client.on('error', reject);
    const req = client.request({ ':method': 'POST', ':path': path, ...headers });
    let status;
    let resHeaders;
    const chunks = [];
    req.on('response', (h) => {
      status = h[':status'];
      resHeaders = h;
    });
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      client.close();
      const text = Buffer.concat(chunks).toString('utf8');
      resolve({ status, headers: resHeaders, body: text ? JSON.parse(text) : null });
    });
    req.on('error', reject);
    req.end(body);
  });
}

const voipHeaders = (over = {}) => ({
  authorization: `bearer ${providerJwt()}`,
  'apns-topic': `${APNS.bundleId}.voip`,
  'apns-push-type': 'voip',
  'apns-priority': '10',
  'apns-expiration': String(nowS() + 60),
  'apns-collapse-id': randomUUID(),
  ...over,
});
const parleyBody = JSON.stringify({ parley: { type: 'incoming_call', call_id: randomUUID() } });

/** An HTTPS request with the test CA (node:https, HTTP/1.1). */
function httpsReq(url, { method = 'POST', headers = {}, body = '', alpn } = {}) {
  return new Promise((resolve, reject) => {
    const req = https.request(url, { method, headers, ca: cert.certPem, ALPNProtocols: alpn, agent: false }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let parsed = null;
        try {
          parsed = JSON.parse(text);
        } catch {
          /* not JSON */
        }
        resolve({ status: res.statusCode, headers: res.headers, body: parsed, text });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

// ---- certificate --------------------------------------------------------------------------------

test('the test certificate: PEM files for 127.0.0.1 and localhost, trusted as its own CA', async () => {
  assert.match(cert.certPem, /^-----BEGIN CERTIFICATE-----/);
  assert.match(cert.keyPem, /-----BEGIN PRIVATE KEY-----/);
  assert.ok(existsSync(cert.certFile) && existsSync(cert.keyFile));
  const k = createPrivateKey(cert.keyPem);
  assert.equal(k.asymmetricKeyType, 'ec');
  assert.equal(k.asymmetricKeyDetails.namedCurve, 'prime256v1');
  // Node trusts it for 127.0.0.1 with it as the only CA (checked through the FCM stand-in).
  const r = await httpsReq(`${fcm.url}/nope`, { method: 'GET' });
  assert.equal(r.status, 404);
  // Without the CA it is refused.
  await assert.rejects(
    new Promise((resolve, reject) => {
      const req = https.request(`${fcm.url}/nope`, { method: 'GET', agent: false }, resolve);
      req.on('error', reject);
      req.end();
    }),
    /self[- ]signed|unable to verify|certificate/i,
  );
});

test('OpenSSL (curl) trusts the certificate as a CA file, and the APNs stand-in answers it over HTTP/2', { skip: !existsSync('/usr/bin/curl') && 'no curl' }, async () => {
  const before = apns.requests.length;
  const h = voipHeaders();
  const args = ['-sS', '--http2', '--cacert', cert.certFile, '-o', '-', '-w', '\n%{http_code} %{http_version}', '-X', 'POST', '--data-binary', parleyBody];
  for (const [k, v] of Object.entries(h)) args.push('-H', `${k}: ${v}`);
  args.push(`${apns.url}/3/device/curltoken`);
  const out = await new Promise((resolve, reject) =>
    execFile('curl', args, { timeout: 10000 }, (err, stdout, stderr) => (err ? reject(new Error(`${err.message} ${stderr}`)) : resolve(stdout))),
  );
  assert.match(out.trim(), /200 2$/, `curl: ${out}`);
  assert.equal(apns.requests.length, before + 1);
  assert.equal(apns.requests.at(-1).token, 'curltoken');
  assert.ok(apns.requests.at(-1).verdict.ok, apns.requests.at(-1).verdict.errors.join('; '));
});

// ---- APNs ---------------------------------------------------------------------------------------

test('APNs: a good ES256 provider token and headers → 200 with apns-id, recorded as valid', async () => {
  const h = voipHeaders();
  const r = await h2post('/3/device/aabbcc01', h, parleyBody);
  assert.equal(r.status, 200);
  assert.ok(r.headers['apns-id']);
  const rec = apns.forToken('aabbcc01').at(-1);
  assert.ok(rec.verdict.ok, rec.verdict.errors.join('; '));
  assert.equal(rec.headers['apns-topic'], `${APNS.bundleId}.voip`);
  assert.deepEqual(rec.body, JSON.parse(parleyBody));
  assert.equal(rec.jwtClaims.iss, APNS.teamId);
  assert.equal(rec.jwtHeader.kid, APNS.keyId);
  // An alert push to the plain topic and a background one with priority 5 are fine too.
  const alert = await h2post('/3/device/aabbcc02', voipHeaders({ 'apns-topic': APNS.bundleId, 'apns-push-type': 'alert' }), parleyBody);
  assert.equal(alert.status, 200);
  const bg = await h2post('/3/device/aabbcc02', voipHeaders({ 'apns-topic': APNS.bundleId, 'apns-push-type': 'background', 'apns-priority': '5' }), parleyBody);
  assert.equal(bg.status, 200);
  assert.equal(apns.failures().length, 0);
});

test('APNs: bad provider tokens are 403 InvalidProviderToken and recorded as failures', async () => {
  const derSig = (() => {
    const h = b64url(JSON.stringify({ alg: 'ES256', kid: APNS.keyId }));
    const p = b64url(JSON.stringify({ iss: APNS.teamId, iat: nowS() }));
    const sig = cryptoSign('sha256', Buffer.from(`${h}.${p}`), apnsKey.privateKey); // DER, not JOSE
    return `${h}.${p}.${b64url(sig)}`;
  })();
  const cases = {
    'other key': providerJwt({}, otherEcKey.privateKey),
    'wrong kid': providerJwt({}, apnsKey.privateKey, { kid: 'ZZZ' }),
    'wrong iss': providerJwt({ iss: 'OTHERTEAM1' }),
    'iat two hours old': providerJwt({ iat: nowS() - 7200 }),
    'iat five minutes ahead': providerJwt({ iat: nowS() + 300 }),
    'DER signature': derSig,
    'alg HS256': signJwt({ iss: APNS.teamId, iat: nowS() }, apnsKey.privateKey, { alg: 'ES256', header: { kid: APNS.keyId, alg: 'HS256' } }),
    garbage: 'not.a.jwt',
  };
  const before = apns.jwtFailures().length;
  for (const [what, jwt] of Object.entries(cases)) {
    const r = await h2post('/3/device/badjwt', voipHeaders({ authorization: `bearer ${jwt}` }), parleyBody);
    assert.equal(r.status, 403, what);
    assert.deepEqual(r.body, { reason: 'InvalidProviderToken' }, what);
  }
  const missing = await h2post('/3/device/badjwt', { ...voipHeaders(), authorization: undefined }, parleyBody);
  assert.equal(missing.status, 403);
  assert.equal(missing.body.reason, 'MissingProviderToken');
  assert.equal(apns.jwtFailures().length - before, Object.keys(cases).length + 1);
  // A token 59 minutes old, or 30 s ahead (clock skew), is fine.
  for (const iat of [nowS() - 59 * 60, nowS() + 30]) {
    const r = await h2post('/3/device/okjwt', voipHeaders({ authorization: `bearer ${providerJwt({ iat })}` }), parleyBody);
    assert.equal(r.status, 200);
  }
});

test('APNs: wrong topic, push type, priority, missing headers and bodies are refused and recorded', async () => {
  const cases = [
    [{ 'apns-topic': 'com.other.app' }, 400, 'BadTopic'],
    [{ 'apns-topic': undefined }, 400, 'MissingTopic'],
    [{ 'apns-push-type': 'alert' }, 400, 'InvalidPushType'], // .voip topic with alert
    [{ 'apns-topic': APNS.bundleId, 'apns-push-type': 'voip' }, 400, 'InvalidPushType'],
    [{ 'apns-topic': APNS.bundleId, 'apns-push-type': 'background', 'apns-priority': '10' }, 400, 'BadPriority'],
    [{ 'apns-priority': undefined }, 400, 'BadPriority'],
    [{ 'apns-expiration': undefined }, 400, 'BadExpirationDate'],
    [{ 'apns-collapse-id': undefined }, 400, 'BadCollapseId'],
    [{ 'apns-collapse-id': 'x'.repeat(65) }, 400, 'BadCollapseId'],
  ];
  for (const [over, status, reason] of cases) {
    const h = voipHeaders(over);
    for (const k of Object.keys(h)) if (h[k] === undefined) delete h[k];
    const r = await h2post('/3/device/badhdr', h, parleyBody);
    assert.equal(r.status, status, JSON.stringify(over));
    assert.equal(r.body.reason, reason, JSON.stringify(over));
  }
  const noParley = await h2post('/3/device/badhdr', voipHeaders(), JSON.stringify({ aps: {} }));
  assert.equal(noParley.status, 400);
  const notJson = await h2post('/3/device/badhdr', voipHeaders(), 'hello');
  assert.equal(notJson.status, 400);
  assert.equal(apns.forToken('badhdr').filter((r) => !r.verdict.ok).length, cases.length + 2);
  assert.equal(apns.forToken('badhdr').filter((r) => r.verdict.jwtError).length, 0, 'the JWT was fine');
});

test('APNs: programmed answers per token: 410, BadDeviceToken, 503 with Retry-After for the first K, always 503', async () => {
  apns.program('dead410', 'unregistered');
  apns.program('badtok', 'bad_token');
  apns.program('flaky', { status: 503, retryAfter: 2, times: 2 });
  apns.program('busy', { status: 429, retryAfter: 7 });
  apns.program('down', { status: 503 });
  const r410 = await h2post('/3/device/dead410', voipHeaders(), parleyBody);
  assert.equal(r410.status, 410);
  assert.equal(r410.body.reason, 'Unregistered');
  assert.equal(typeof r410.body.timestamp, 'number');
  const rBad = await h2post('/3/device/badtok', voipHeaders(), parleyBody);
  assert.equal(rBad.status, 400);
  assert.equal(rBad.body.reason, 'BadDeviceToken');
  for (const want of [503, 503, 200, 200]) {
    const r = await h2post('/3/device/flaky', voipHeaders(), parleyBody);
    assert.equal(r.status, want);
    if (want === 503) {
      assert.equal(r.headers['retry-after'], '2');
      assert.equal(r.body.reason, 'ServiceUnavailable');
    }
  }
  for (let i = 0; i < 3; i++) {
    const busy = await h2post('/3/device/busy', voipHeaders(), parleyBody);
    assert.equal(busy.status, 429);
    assert.equal(busy.headers['retry-after'], '7');
    const down = await h2post('/3/device/down', voipHeaders(), parleyBody);
    assert.equal(down.status, 503);
    assert.equal(down.headers['retry-after'], undefined);
  }
  // Programmed answers are not failures of the sender.
  for (const t of ['dead410', 'badtok', 'flaky', 'busy', 'down']) assert.ok(apns.forToken(t).every((r) => r.verdict.ok), t);
});

test('APNs: HTTP/1.1 is refused (no fallback)', async () => {
  // A client offering only http/1.1 in ALPN fails the TLS handshake.
  await assert.rejects(httpsReq(`${apns.url}/3/device/h1`, { headers: voipHeaders(), body: parleyBody, alpn: ['http/1.1'] }), /no application protocol/);
  // One that offers no ALPN at all is not served either (node answers a bare 403).
  const r = await httpsReq(`${apns.url}/3/device/h1`, { headers: voipHeaders(), body: parleyBody }).catch((e) => ({ status: 'error', e }));
  assert.notEqual(r.status, 200);
  assert.equal(apns.forToken('h1').length, 0, 'no request reached the APNs handler');
});

test('APNs: waitFor resolves on a new request and rejects after its timeout', async () => {
  const w = apns.waitFor((rs) => rs.find((r) => r.token === 'waited'), 3000);
  await sleep(50);
  await h2post('/3/device/waited', voipHeaders(), parleyBody);
  const rec = await w;
  assert.equal(rec.token, 'waited');
  await assert.rejects(apns.waitFor((rs) => rs.find((r) => r.token === 'never'), 200, 'never'), /no never within 200 ms/);
});

// ---- FCM ----------------------------------------------------------------------------------------

function assertion(sa, over = {}, { key = sa.private_key, header = { kid: sa.private_key_id } } = {}) {
  const iat = nowS();
  return signJwt({ iss: sa.client_email, scope: FCM_SCOPE, aud: fcm.tokenUrl, iat, exp: iat + 3600, ...over }, key, { alg: 'RS256', header });
}

const tokenRequest = (jwt, grantType = JWT_BEARER) =>
  httpsReq(fcm.tokenUrl, {
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: grantType, assertion: jwt }).toString(),
  });

const fcmMessage = (token, over = {}) => ({
  message: {
    token,
    data: { parley: JSON.stringify({ type: 'incoming_call', call_id: randomUUID() }) },
    android: { priority: 'HIGH', ttl: '60s' },
    ...over,
  },
});

const send = (project, accessToken, body) =>
  httpsReq(`${fcm.url}/v1/projects/${project}/messages:send`, {
    headers: { authorization: `Bearer ${accessToken}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });

test('FCM: the service account is Google-shaped with a fresh RSA-2048 PKCS#8 key and token_uri here', () => {
  const sa = fcm.serviceAccount({ projectId: 'proj-x' });
  assert.equal(sa.type, 'service_account');
  assert.equal(sa.project_id, 'proj-x');
  assert.match(sa.private_key, /^-----BEGIN PRIVATE KEY-----\n/);
  const k = createPrivateKey(sa.private_key);
  assert.equal(k.asymmetricKeyType, 'rsa');
  assert.equal(k.asymmetricKeyDetails.modulusLength, 2048);
  assert.match(sa.private_key_id, /^[0-9a-f]{40}$/);
  assert.match(sa.client_email, /@proj-x\.iam\.gserviceaccount\.com$/);
  assert.equal(sa.token_uri, fcm.tokenUrl);
  assert.notEqual(fcm.serviceAccount().private_key, sa.private_key, 'a fresh key each time');
});

test('FCM: JWT-bearer OAuth flow → access token; a send with it → 200 {name}; grants counted', async () => {
  const sa = fcm.serviceAccount({ projectId: 'proj-ok' });
  const grants = fcm.grants;
  const t = await tokenRequest(assertion(sa));
  assert.equal(t.status, 200, t.text);
  assert.equal(t.body.token_type, 'Bearer');
  assert.equal(typeof t.body.access_token, 'string');
  assert.ok(t.body.expires_in > 3000);
  assert.equal(fcm.grants, grants + 1);
  const r = await send('proj-ok', t.body.access_token, fcmMessage('dev-1'));
  assert.equal(r.status, 200, r.text);
  assert.match(r.body.name, /^projects\/proj-ok\/messages\//);
  const rec = fcm.forToken('dev-1').at(-1);
  assert.ok(rec.verdict.ok);
  assert.equal(rec.parley.type, 'incoming_call');
  assert.equal(rec.project, 'proj-ok');
});

test('FCM: bad assertions are refused (invalid_grant) and recorded as failures', async () => {
  const sa = fcm.serviceAccount();
  const other = fcm.serviceAccount();
  const failures = fcm.failures().length;
  const grants = fcm.grants;
  const cases = {
    'wrong aud': assertion(sa, { aud: 'https://oauth2.googleapis.com/token' }),
    'wrong iss': assertion(sa, { iss: other.client_email }),
    'wrong scope': assertion(sa, { scope: 'https://www.googleapis.com/auth/cloud-platform' }),
    'exp - iat over an hour': assertion(sa, { exp: nowS() + 7200 }),
    expired: assertion(sa, { iat: nowS() - 4000, exp: nowS() - 400 }),
    'iat in the future': assertion(sa, { iat: nowS() + 600, exp: nowS() + 1200 }),
    'signed by another key': assertion(sa, {}, { key: other.private_key }),
    'unknown kid': assertion(sa, {}, { header: { kid: 'nope' } }),
    'ES256 instead of RS256': signJwt({ iss: sa.client_email }, apnsKey.privateKey, { alg: 'ES256', header: { kid: sa.private_key_id } }),
  };
  for (const [what, jwt] of Object.entries(cases)) {
    const r = await tokenRequest(jwt);
    assert.equal(r.status, 400, what);
    assert.equal(r.body.error, 'invalid_grant', what);
  }
  const wrongGrant = await tokenRequest(assertion(sa), 'client_credentials');
  assert.equal(wrongGrant.status, 400);
  assert.equal(fcm.failures().length - failures, Object.keys(cases).length + 1);
  assert.equal(fcm.grants, grants);
  // A scope list that includes the messaging scope is fine.
  const multi = await tokenRequest(assertion(sa, { scope: `https://www.googleapis.com/auth/cloud-platform ${FCM_SCOPE}` }));
  assert.equal(multi.status, 200);
});

test('FCM: sends with a bad bearer, the wrong project or a bad body are refused and recorded', async () => {
  const sa = fcm.serviceAccount({ projectId: 'proj-a' });
  const tok = (await tokenRequest(assertion(sa))).body.access_token;
  const failures = fcm.failures().length;
  const unauth = await send('proj-a', 'ya29.forged', fcmMessage('x'));
  assert.equal(unauth.status, 401);
  assert.equal(unauth.body.error.status, 'UNAUTHENTICATED');
  const wrongProject = await send('proj-b', tok, fcmMessage('x'));
  assert.equal(wrongProject.status, 403);
  for (const body of [
    fcmMessage('x', { android: { priority: 'NORMAL', ttl: '60s' } }),
    fcmMessage('x', { android: { priority: 'HIGH', ttl: 60 } }),
    fcmMessage('x', { data: { parley: { type: 'incoming_call' } } }),
    fcmMessage('x', { data: { parley: 'not json' } }),
    fcmMessage('', {}),
    { token: 'x' },
  ]) {
    const r = await send('proj-a', tok, body);
    assert.equal(r.status, 400, JSON.stringify(body));
    assert.equal(r.body.error.status, 'INVALID_ARGUMENT');
  }
  assert.equal(fcm.failures().length - failures, 8);
  // After revokeAccessTokens() the old token is 401 until a new one is bought.
  fcm.revokeAccessTokens();
  assert.equal((await send('proj-a', tok, fcmMessage('x'))).status, 401);
  const tok2 = (await tokenRequest(assertion(sa))).body.access_token;
  assert.equal((await send('proj-a', tok2, fcmMessage('x'))).status, 200);
});

test('FCM: programmed answers: UNREGISTERED, 503 with Retry-After for the first attempt, always 503', async () => {
  const sa = fcm.serviceAccount({ projectId: 'proj-p' });
  const tok = (await tokenRequest(assertion(sa))).body.access_token;
  fcm.program('fcm-dead', 'unregistered');
  fcm.program('fcm-flaky', { status: 503, retryAfter: 2, times: 1 });
  fcm.program('fcm-down', { status: 503 });
  const dead = await send('proj-p', tok, fcmMessage('fcm-dead'));
  assert.equal(dead.status, 404);
  assert.deepEqual(dead.body.error.details, [{ '@type': 'type.googleapis.com/google.firebase.fcm.v1.FcmError', errorCode: 'UNREGISTERED' }]);
  assert.equal(dead.body.error.status, 'NOT_FOUND');
  assert.equal(dead.body.error.code, 404);
  const f1 = await send('proj-p', tok, fcmMessage('fcm-flaky'));
  assert.equal(f1.status, 503);
  assert.equal(f1.headers['retry-after'], '2');
  assert.equal((await send('proj-p', tok, fcmMessage('fcm-flaky'))).status, 200);
  for (let i = 0; i < 3; i++) assert.equal((await send('proj-p', tok, fcmMessage('fcm-down'))).status, 503);
  assert.deepEqual(fcm.forToken('fcm-flaky').map((r) => r.status), [503, 200]);
});

// ---- webhook receiver ---------------------------------------------------------------------------

function webhookBody(over = {}) {
  return JSON.stringify({
    event_id: randomUUID(),
    event: 'direct_call.dial',
    app_id: randomUUID(),
    occurred_at: Date.now(),
    data: { call: { call_id: randomUUID() } },
    ...over,
  });
}

async function deliver(rx, raw, { secret, t = nowS(), headers = {} } = {}) {
  const b = JSON.parse(raw);
  const res = await fetch(rx.url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'parley-event-id': b.event_id,
      'parley-event': b.event,
      'parley-signature': `t=${t},v1=${signatureOf(secret, t, raw)}`,
      ...headers,
    },
    body: raw,
  });
  await res.text();
  return res.status;
}

test('webhook receiver: a well-signed delivery is 200 and recorded; bad ones are refused and recorded as failures', async () => {
  const rx = await WebhookReceiver.start({ secret: 'whsec_one' });
  try {
    const raw = webhookBody({ data: { note: 'é ✓' } });
    assert.equal(await deliver(rx, raw, { secret: 'whsec_one' }), 200);
    assert.equal(rx.events.length, 1);
    assert.deepEqual(rx.events[0].body, JSON.parse(raw));
    assert.ok(rx.events[0].verdict.ok);
    assert.ok(verifies(rx.events[0], 'whsec_one'));
    assert.ok(!verifies(rx.events[0], 'whsec_two'));

    assert.equal(await deliver(rx, webhookBody(), { secret: 'whsec_wrong' }), 401);
    assert.equal(await deliver(rx, webhookBody(), { secret: 'whsec_one', t: nowS() - 3600 }), 401);
    assert.equal(await deliver(rx, webhookBody(), { secret: 'whsec_one', headers: { 'parley-signature': 'v1=abc' } }), 401);
    assert.equal(await deliver(rx, webhookBody(), { secret: 'whsec_one', headers: { 'parley-event': 'user.deleted' } }), 400);
    assert.equal(await deliver(rx, webhookBody(), { secret: 'whsec_one', headers: { 'parley-event-id': randomUUID() } }), 400);
    assert.equal(await deliver(rx, webhookBody({ event_id: 'nope' }), { secret: 'whsec_one' }), 400);
    assert.equal(await deliver(rx, webhookBody(), { secret: 'whsec_one', headers: { 'content-type': 'text/plain' } }), 400);
    // The signature covers the raw bytes: re-serialised JSON with other spacing does not verify.
    const spaced = JSON.stringify(JSON.parse(raw), null, 1);
    const t = nowS();
    const res = await fetch(rx.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'parley-event-id': JSON.parse(raw).event_id, 'parley-event': 'direct_call.dial', 'parley-signature': `t=${t},v1=${signatureOf('whsec_one', t, raw)}` },
      body: spaced,
    });
    assert.equal(res.status, 401);
    assert.equal(rx.failures().length, 8);
    assert.equal(rx.events.length, 1);

    // Per-app secrets, and a new default.
    const appId = randomUUID();
    rx.setSecret('whsec_app', appId);
    assert.equal(await deliver(rx, webhookBody({ app_id: appId }), { secret: 'whsec_app' }), 200);
    assert.equal(await deliver(rx, webhookBody({ app_id: appId }), { secret: 'whsec_one' }), 401);
    rx.setSecret('whsec_new');
    assert.equal(await deliver(rx, webhookBody(), { secret: 'whsec_new' }), 200);
    assert.equal(await deliver(rx, webhookBody(), { secret: 'whsec_one' }), 401);
  } finally {
    await rx.close();
  }
});

test('webhook receiver: answers 500/503 on demand, hangs, goes down (refused) and comes back on the same port', async () => {
  const rx = await WebhookReceiver.start({ secret: 's3cret' });
  try {
    const port = rx.port;
    rx.answer(503);
    assert.equal(await deliver(rx, webhookBody(), { secret: 's3cret' }), 503);
    rx.answer(500);
    assert.equal(await deliver(rx, webhookBody(), { secret: 's3cret' }), 500);
    assert.equal(rx.events.length, 0, 'non-2xx answers are not delivered events');
    assert.equal(rx.requests.length, 2);
    assert.equal(rx.failures().length, 0);
    rx.ok();
    const w = rx.waitForEvent((b) => b.event === 'user.deleted', 3000);
    assert.equal(await deliver(rx, webhookBody({ event: 'user.deleted', data: { user_id: 'u' } }), { secret: 's3cret' }), 200);
    assert.equal((await w).body.data.user_id, 'u');

    // A responder overrides per delivery.
    rx.setResponder((rec) => (rec.body?.event === 'push.send' ? 410 : null));
    assert.equal(await deliver(rx, webhookBody({ event: 'push.send' }), { secret: 's3cret' }), 410);
    assert.equal(await deliver(rx, webhookBody(), { secret: 's3cret' }), 200);
    rx.setResponder(null);

    // Hang: no answer; down() cuts the hanging connection.
    rx.hang();
    const hanging = deliver(rx, webhookBody(), { secret: 's3cret' });
    await rx.waitFor((rs) => rs.length === 6, 3000);
    const raced = await Promise.race([hanging.then(() => 'answered', () => 'failed'), sleep(300).then(() => 'pending')]);
    assert.equal(raced, 'pending');

    await rx.down();
    await assert.rejects(hanging);
    await assert.rejects(fetch(`http://127.0.0.1:${port}/hook`, { method: 'POST', body: '{}' }), (e) => /ECONNREFUSED/.test(String(e.cause?.code ?? e.cause ?? e)));
    await rx.up();
    assert.equal(rx.port, port);
    assert.equal(await deliver(rx, webhookBody(), { secret: 's3cret' }), 200, 'up answers 200 again');
    assert.equal(rx.events.length, 3);
  } finally {
    await rx.close();
  }
});
