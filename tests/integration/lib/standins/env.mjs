// The outbound world of a parleyd under test: a test certificate, an APNs stand-in (and one for
// the sandbox environment), an FCM stand-in, and the `serve` flags that point parleyd at them.
//
//   const out = await startOutbound();
//   const server = await startServer({flags: out.flags, ...});
//   PATCH /settings {push: {apns: out.apnsConfig(), fcm: {service_account: out.fcm.serviceAccount()}}}
//   ...
//   await out.close();

import { createHash, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { makeTestCert } from './certs.mjs';
import { ApnsStandin } from './apns.mjs';
import { FcmStandin } from './fcm.mjs';

/** First 16 hex digits of the SHA-256 of the public key (SubjectPublicKeyInfo, DER) of a PEM key. */
export function keyFingerprint(pem) {
  const der = createPublicKey(pem).export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(der).digest('hex').slice(0, 16);
}

/** A new APNs provider key (.p8: PKCS#8 PEM, EC P-256): {privateKeyPem, publicKey}. */
export function makeApnsKey() {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }), publicKey };
}

/** The base64 lines of a PEM (its key material), for "never shown, never logged" checks. */
export function pemSecretLines(pem) {
  return pem
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.length >= 40 && !l.startsWith('-----'));
}

export async function startOutbound({ keyId = 'KEYID12345', teamId = 'TEAMID1234', bundleId = 'com.example.parley' } = {}) {
  const cert = await makeTestCert();
  const key = makeApnsKey();
  const apns = await ApnsStandin.start({ cert, keyId, teamId, bundleId, publicKey: key.publicKey, name: 'apns' });
  const apnsSandbox = await ApnsStandin.start({ cert, keyId, teamId, bundleId, publicKey: key.publicKey, name: 'apns-sandbox' });
  const fcm = await FcmStandin.start({ cert });
  return {
    cert,
    apns,
    apnsSandbox,
    fcm,
    apnsKey: key,
    keyId,
    teamId,
    bundleId,
    flags: [
      '--apns-url', apns.url,
      '--apns-sandbox-url', apnsSandbox.url,
      '--fcm-url', fcm.url,
      '--outbound-ca-file', cert.certFile,
      // The stand-ins listen on loopback, which outbound requests may not reach by default.
      '--allow-private-outbound',
    ],
    /** The `push.apns` object of a PATCH /settings for this stand-in's key. */
    apnsConfig(over = {}) {
      return { key_id: keyId, team_id: teamId, bundle_id: bundleId, private_key: key.privateKeyPem, ...over };
    },
    /** Every credential the stand-ins saw (provider JWTs, access tokens, assertions). */
    seenCredentials() {
      const out = new Set();
      for (const r of [...apns.requests, ...apnsSandbox.requests]) if (r.jwt) out.add(r.jwt);
      for (const r of fcm.requests) {
        if (r.accessToken) out.add(r.accessToken);
        if (r.body?.assertion) out.add(r.body.assertion);
      }
      return out;
    },
    async close() {
      await Promise.allSettled([apns.close(), apnsSandbox.close(), fcm.close()]);
      await cert.remove();
    },
  };
}
