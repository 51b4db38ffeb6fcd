// What the stand-ins share: a record list one can wait on, JWT signing and checking with
// node:crypto, programmable per-token answers, and a polling helper for the tests.
//
// Waits here take plain milliseconds: the tests pass them through the harness's ms() scaling.

import { createHash, randomBytes, sign as cryptoSign, verify as cryptoVerify } from 'node:crypto';

export const b64url = (buf) => Buffer.from(buf).toString('base64url');
export const sha256hex = (data) => createHash('sha256').update(data).digest('hex');
export const randomHex = (n = 16) => randomBytes(n).toString('hex');

/** A list of records; waitFor() resolves once a predicate over the list holds. */
export class Recorder {
  constructor(name) {
    this.name = name;
    this.items = [];
    this.waiters = new Set();
  }

  push(item) {
    this.items.push(item);
    for (const w of [...this.waiters]) w.check();
    return item;
  }

  /**
   * Resolves with the first truthy value of `predicate(items)`, checked now, on every new record
   * and every 100 ms (for predicates about time or outside state). Rejects after timeoutMs with a
   * summary of what was recorded.
   */
  waitFor(predicate, timeoutMs = 5000, what = 'condition') {
    return new Promise((resolve, reject) => {
      const w = {
        check: () => {
          let v;
          try {
            v = predicate(this.items);
          } catch (e) {
            finish();
            reject(e);
            return;
          }
          if (v) {
            finish();
            resolve(v);
          }
        },
      };
      const timer = setTimeout(() => {
        finish();
        reject(
          new Error(
            `${this.name}: no ${what} within ${timeoutMs} ms; ${this.items.length} records:\n` +
              this.items
                .slice(-30)
                .map((r) => summarize(r))
                .join('\n'),
          ),
        );
      }, timeoutMs);
      const tick = setInterval(() => w.check(), 100);
      const finish = () => {
        clearTimeout(timer);
        clearInterval(tick);
        this.waiters.delete(w);
      };
      this.waiters.add(w);
      w.check();
    });
  }
}

function summarize(r) {
  const parts = [new Date(r.time).toISOString().slice(11, 23), r.kind ?? '', r.path ?? '', `→ ${r.status}`];
  if (r.verdict && !r.verdict.ok) parts.push(`INVALID: ${r.verdict.errors.join('; ')}`);
  if (r.body?.event) parts.push(r.body.event);
  if (r.body?.parley?.type) parts.push(r.body.parley.type);
  return '  ' + parts.filter(Boolean).join(' ');
}

/** Polls an async function until it returns a truthy value; rejects after timeoutMs. */
export async function eventually(fn, timeoutMs = 5000, what = 'condition', everyMs = 200) {
  const end = Date.now() + timeoutMs;
  let last;
  for (;;) {
    last = await fn();
    if (last) return last;
    if (Date.now() >= end) throw new Error(`no ${what} within ${timeoutMs} ms (last: ${JSON.stringify(last)})`);
    await sleep(everyMs);
  }
}

export const sleep = (n) => new Promise((r) => setTimeout(r, n));

// ---- JWTs ---------------------------------------------------------------------------------------

/**
 * Signs a JWT with a node KeyObject or PEM. alg ES256 (JOSE r||s signature) or RS256.
 * `header` is merged over {alg, typ: 'JWT'}.
 */
export function signJwt(claims, privateKey, { alg = 'ES256', header = {} } = {}) {
  const h = b64url(JSON.stringify({ alg, typ: 'JWT', ...header }));
  const p = b64url(JSON.stringify(claims));
  const data = Buffer.from(`${h}.${p}`);
  let sig;
  if (alg === 'ES256') sig = cryptoSign('sha256', data, { key: privateKey, dsaEncoding: 'ieee-p1363' });
  else if (alg === 'RS256') sig = cryptoSign('sha256', data, privateKey);
  else throw new Error(`signJwt: unsupported alg ${alg}`);
  return `${h}.${p}.${b64url(sig)}`;
}

/**
 * Decodes and checks a JWT's signature. Returns {header, claims, error}: error is null when the
 * token is well formed, of `alg` and signed by `publicKey`; else a sentence.
 */
export function checkJwt(jwt, publicKey, alg) {
  const out = { header: null, claims: null, error: null };
  if (typeof jwt !== 'string') return { ...out, error: 'no JWT' };
  const parts = jwt.split('.');
  if (parts.length !== 3) return { ...out, error: `JWT has ${parts.length} parts` };
  try {
    out.header = JSON.parse(Buffer.from(parts[0], 'base64url').toString('utf8'));
    out.claims = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
  } catch (e) {
    return { ...out, error: `JWT header or claims are not base64url JSON: ${e.message}` };
  }
  if (!/^[A-Za-z0-9_-]*$/.test(parts.join(''))) return { ...out, error: 'JWT is not base64url (padding or other characters)' };
  if (out.header?.alg !== alg) return { ...out, error: `JWT alg is ${out.header?.alg}, want ${alg}` };
  if (!publicKey) return { ...out, error: 'no key to check the JWT with' };
  const sig = Buffer.from(parts[2], 'base64url');
  const data = Buffer.from(`${parts[0]}.${parts[1]}`);
  let ok = false;
  try {
    if (alg === 'ES256') {
      if (sig.length !== 64) return { ...out, error: `ES256 signature is ${sig.length} bytes, want 64 (JOSE r||s)` };
      ok = cryptoVerify('sha256', data, { key: publicKey, dsaEncoding: 'ieee-p1363' }, sig);
    } else {
      ok = cryptoVerify('sha256', data, publicKey, sig);
    }
  } catch (e) {
    return { ...out, error: `JWT signature check failed: ${e.message}` };
  }
  if (!ok) return { ...out, error: 'JWT signature does not verify' };
  return out;
}

// ---- programmable answers -----------------------------------------------------------------------

/**
 * Per-token behaviours. A behaviour is:
 *   'ok'                                  answer success
 *   'unregistered'                        the provider's "dead token" answer
 *   'bad_token'                           APNs 400 BadDeviceToken (FCM: INVALID_ARGUMENT)
 *   {status, reason?, retryAfter?, times?}  answer `status` for the first `times` attempts
 *                                          (default: always), then success
 * attempt(token) returns {behaviour, attempt} for the next attempt of that token.
 */
export class Behaviours {
  constructor() {
    this.byToken = new Map();
    this.attempts = new Map();
    this.fallback = 'ok';
  }

  set(token, behaviour) {
    this.byToken.set(token, behaviour);
    this.attempts.set(token, 0);
  }

  setDefault(behaviour) {
    this.fallback = behaviour;
  }

  /** The answer for the next attempt on `token`: 'ok', 'unregistered', 'bad_token' or {status, ...}. */
  next(token) {
    const n = (this.attempts.get(token) ?? 0) + 1;
    this.attempts.set(token, n);
    const b = this.byToken.get(token) ?? this.fallback;
    if (typeof b === 'string') return b;
    const times = b.times ?? Infinity;
    return n <= times ? b : 'ok';
  }
}
