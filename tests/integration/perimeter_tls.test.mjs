// TLS 1.2 offers only Mozilla's "intermediate" suites (ECDHE with AES-GCM or ChaCha20-Poly1305):
// a client offering only a static-RSA or CBC-SHA1 suite cannot connect; TLS 1.3 still works.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { startServer, makeTempDir, ms } from './lib/server.mjs';

let server;
let certDir;

function run(cmd, args) {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, (err, stdout, stderr) => (err ? reject(new Error(`${cmd}: ${stderr}`)) : resolve(stdout)));
  });
}

/** openssl s_client with these options; resolves {ok, out} once it exits (ok: a session was made). */
function sClient(args) {
  return new Promise((resolve, reject) => {
    const p = spawn('openssl', ['s_client', '-connect', `127.0.0.1:${server.port}`, '-servername', 'localhost', ...args], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (out += d));
    const timer = setTimeout(() => {
      p.kill('SIGKILL');
      reject(new Error(`s_client did not finish: ${out}`));
    }, ms(10000));
    p.on('exit', (code) => {
      clearTimeout(timer);
      const cipher = /Cipher is (\S+)/.exec(out)?.[1];
      resolve({ ok: code === 0 && cipher !== undefined && cipher !== '(NONE)', cipher, out });
    });
    p.stdin.end('');
  });
}

before(async () => {
  certDir = await makeTempDir('parley-tls-');
  const cert = path.join(certDir, 'cert.pem');
  const key = path.join(certDir, 'key.pem');
  await run('openssl', [
    'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=localhost', '-days', '1',
    '-keyout', key, '-out', cert,
  ]);
  server = await startServer({ apps: ['a'], flags: ['--tls-cert', cert, '--tls-key', key], scheme: 'https' });
});

after(async () => {
  await server?.stop();
  if (certDir) await rm(certDir, { recursive: true, force: true });
});

for (const cipher of ['AES128-SHA', 'AES256-SHA', 'AES128-GCM-SHA256', 'ECDHE-RSA-AES128-SHA', 'ECDHE-RSA-AES256-SHA384']) {
  test(`TLS 1.2 offering only ${cipher} is refused`, async () => {
    const r = await sClient(['-tls1_2', '-cipher', `${cipher}:@SECLEVEL=0`]);
    assert.equal(r.ok, false, `handshake succeeded with ${r.cipher}`);
  });
}

for (const cipher of ['ECDHE-RSA-AES128-GCM-SHA256', 'ECDHE-RSA-AES256-GCM-SHA384', 'ECDHE-RSA-CHACHA20-POLY1305']) {
  test(`TLS 1.2 with ${cipher} connects`, async () => {
    const r = await sClient(['-tls1_2', '-cipher', cipher]);
    assert.equal(r.ok, true, r.out.slice(-1500));
    assert.equal(r.cipher, cipher);
  });
}

test('TLS 1.3 connects', async () => {
  const r = await sClient(['-tls1_3']);
  assert.equal(r.ok, true, r.out.slice(-1500));
  assert.match(r.cipher, /^TLS_/);
});
