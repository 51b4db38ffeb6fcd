// Small helpers: JWTs, TURN credentials, Prometheus text, waiting for wall-clock deadlines.

import { createHmac, randomBytes } from 'node:crypto';

export const b64url = (buf) => Buffer.from(buf).toString('base64url');

/**
 * Builds a JWT. Default HS256 signed with `secret` (the app's signing_secret string, UTF-8 bytes).
 * opts.alg: header alg; opts.sign === false: empty signature; opts.header: extra header fields.
 */
export function makeJwt(claims, secret, opts = {}) {
  const header = { alg: opts.alg ?? 'HS256', typ: 'JWT', ...(opts.header ?? {}) };
  const h = b64url(JSON.stringify(header));
  const p = b64url(JSON.stringify(claims));
  if (opts.sign === false) return `${h}.${p}.`;
  const sig = createHmac('sha256', Buffer.from(secret, 'utf8')).update(`${h}.${p}`).digest();
  return `${h}.${p}.${b64url(sig)}`;
}

export const nowS = () => Math.floor(Date.now() / 1000);

/** Standard JWT claims for a user of an app, expiring in `ttlS` seconds. */
export function jwtFor(app, userId, ttlS = 3600, extra = {}) {
  return makeJwt({ sub: userId, iss: app.app_id, exp: nowS() + ttlS, ...extra }, app.signing_secret);
}

export function turnCredential(secret, username) {
  return createHmac('sha1', Buffer.from(secret, 'utf8')).update(username).digest('base64');
}

export const uniq = (prefix = 'u') => `${prefix}-${randomBytes(5).toString('hex')}`;

/** Waits until the wall clock passes `deadlineMs` (for tests about time itself, e.g. expiry). */
export async function untilTime(deadlineMs) {
  for (;;) {
    const left = deadlineMs - Date.now();
    if (left <= 0) return;
    await new Promise((r) => setTimeout(r, Math.min(left, 250)));
  }
}

/**
 * Parses Prometheus text exposition into [{name, labels, value}].
 */
export function parseMetrics(text) {
  const out = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)(\s+\d+)?$/.exec(line.trim());
    if (!m) continue;
    const labels = {};
    if (m[3]) {
      const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;
      let lm;
      while ((lm = re.exec(m[3]))) labels[lm[1]] = lm[2];
    }
    out.push({ name: m[1], labels, value: Number(m[4]) });
  }
  return out;
}

/** Sum of the samples of `name` whose labels include `match`. */
export function metricValue(samples, name, match = {}) {
  let sum = 0;
  let found = false;
  for (const s of samples) {
    if (s.name !== name) continue;
    if (Object.entries(match).every(([k, v]) => s.labels[k] === v)) {
      sum += s.value;
      found = true;
    }
  }
  return found ? sum : undefined;
}
