// A throw-away TLS certificate for the stand-ins (APNs, FCM): self-signed, no separate CA, valid
// one day for 127.0.0.1 and localhost, made with the `openssl` CLI. parleyd trusts it through
// `serve --outbound-ca-file <certFile>`; node clients through `{ca: certPem}`.
//
//   const c = await makeTestCert();   // {certPem, keyPem, certFile, keyFile, dir, remove()}

import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

function run(cmd, args) {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { timeout: 20000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${cmd} ${args.join(' ')} failed: ${err.message}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

/**
 * Makes a self-signed EC P-256 certificate (subjectAltName IP:127.0.0.1, DNS:localhost) in a new
 * temporary directory. The directory is removed by remove().
 */
export async function makeTestCert({ prefix = 'parley-cert-' } = {}) {
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix));
  const certFile = path.join(dir, 'cert.pem');
  const keyFile = path.join(dir, 'key.pem');
  await run('openssl', [
    'req', '-x509',
    '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256',
    '-nodes', '-days', '1',
    '-subj', '/CN=localhost',
    '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost',
    '-keyout', keyFile,
    '-out', certFile,
  ]);
  const [certPem, keyPem] = await Promise.all([readFile(certFile, 'utf8'), readFile(keyFile, 'utf8')]);
  return {
    certPem,
    keyPem,
    certFile,
    keyFile,
    dir,
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}
