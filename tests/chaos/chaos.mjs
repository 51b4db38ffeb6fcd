// Chaos run (issue 11): direct calls and webhooks under load while parleyd is killed with
// SIGKILL and started again on the same data dir, N times; then a final clean start, time for
// the timers to fire and the outbox to drain, a clean stop, and invariants checked against the
// store (sqlite3 on parley.db), the Platform API and a loopback webhook receiver.
//
//   node tests/chaos/chaos.mjs [--restarts N] [--pairs P] [--seed S] [--min-load-ms A] [--max-load-ms B]
//
// Prints the counts checked per invariant, then `N passed, N failed` (one per invariant); exits 1
// on any violation, 2 when the run itself could not be carried out.
//
// What is recorded during the load, to be checked at the end:
// - every answer the server gave: a dial/accept/decline/end/media_connected ack carries the call
//   after the request, so the stored call must hold at least that state (exactly those times and
//   that end); a created user (201) must exist; a session (200) must still open a WebSocket;
// - every call event a client was told (`ringing`, `accepted`, `connected`, `ended`): the server
//   commits a change before telling anyone (docs/architecture.md), so it too must be stored;
// - every webhook delivery, checked by the receiver (signature, headers, body).
// Requests whose answer never came (the server died first) are in doubt and only checked for
// consistency.
//
// Waits are on events (a message, a process exit, a listening line) or polls of a condition with
// a deadline; the only timed pauses are the load intervals between kills, which are the chaos.

import { execFile } from 'node:child_process';
import { open, rm } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { startServer, makeTempDir, createAppCli, runCli } from '../integration/lib/server.mjs';
import { WsClient } from '../integration/lib/ws.mjs';
import { WebhookReceiver } from '../integration/lib/standins/webhook_receiver.mjs';

const execFileP = promisify(execFile);

// ---- options ------------------------------------------------------------------------------------

function parseArgs(argv) {
  const o = { restarts: 100, pairs: 6, seed: Date.now() % 1_000_000, minLoadMs: 500, maxLoadMs: 3000, keep: false };
  for (let i = 2; i < argv.length; i++) {
    const a = argv[i];
    const num = () => {
      const v = Number(argv[++i]);
      if (!Number.isInteger(v) || v < 0) usage(`bad value for ${a}`);
      return v;
    };
    if (a === '--restarts') o.restarts = num();
    else if (a === '--pairs') o.pairs = Math.max(1, num());
    else if (a === '--seed') o.seed = num();
    else if (a === '--min-load-ms') o.minLoadMs = num();
    else if (a === '--max-load-ms') o.maxLoadMs = num();
    else if (a === '--keep-data') o.keep = true;
    else usage(`unknown argument ${a}`);
  }
  if (o.maxLoadMs < o.minLoadMs) usage('--max-load-ms below --min-load-ms');
  return o;
}

function usage(why) {
  console.error(`chaos: ${why}\nusage: chaos.mjs [--restarts N] [--pairs P] [--seed S] [--min-load-ms A] [--max-load-ms B] [--keep-data]`);
  process.exit(2);
}

const opts = parseArgs(process.argv);

// A small seeded generator (mulberry32), so that a run's choices can be replayed with --seed.
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const random = rng(opts.seed);
const between = (lo, hi) => lo + Math.floor(random() * (hi - lo + 1));

const log = (...a) => console.log(`[chaos ${new Date().toISOString().slice(11, 23)}]`, ...a);

// ---- the server under test ---------------------------------------------------------------------

// A fixed admin token of at least 32 bytes (the admin API requires that length).
const ADMIN_TOKEN = 'chaos-admin-token-0123456789abcdef0123456789';
// Ringing, connection and grace timers as short as the settings allow, so that the final drain
// sees them fire.
// The pairs leave calls ringing on purpose, many per caller over a run: the ringing limits
// (which exist against one user flooding another) are raised so the load is not refused.
const SETTINGS = {
  ringing_timeout_s: 10,
  connection_timeout_s: 5,
  reconnect_grace_s: 1,
  max_ringing_per_caller: 1000,
  max_ringing_per_callee: 1000,
};

// The pairs send calls back to back, above the default per-connection message rate (which exists
// against abusive clients, not to pace a busy one), as in scripts/bench.sh.
let serveFlags = ['--admin-token', ADMIN_TOKEN, '--ws-msg-rate', '100000'];

async function detectFlags() {
  // The receiver is on loopback: a server that refuses private webhook URLs by default has an
  // opt-in flag for that. Pass it when this build has it.
  const r = await runCli(['serve', '--help']);
  if (`${r.stdout}${r.stderr}`.includes('--allow-private-outbound')) serveFlags.push('--allow-private-outbound');
}

let server = null; // the running parleyd handle (lib/server.mjs)
let epoch = 0; // bumped at every start; workers reconnect when it moves
let epochWaiters = [];
let stopping = false;

function waitEpoch(after) {
  if (epoch > after && server) return Promise.resolve(epoch);
  return new Promise((resolve) => epochWaiters.push({ after, resolve }));
}

async function start(dataDir) {
  server = await startServer({ apps: [], dataDir, flags: serveFlags });
  epoch++;
  const ws = epochWaiters;
  epochWaiters = [];
  for (const w of ws) w.resolve(epoch);
  return server;
}

async function kill9() {
  const s = server;
  server = null;
  s.proc.kill('SIGKILL');
  const e = await s.exited;
  if (e.signal !== 'SIGKILL') throw new Error(`parleyd exited by itself (${e.code ?? e.signal}) before the kill:\n${s.stderrText().slice(-3000)}`);
}

// ---- what the run records -----------------------------------------------------------------------

/** call_id → {acks: [{op, call}], told: [{type, call}], inDoubt: [op], plan} */
const calls = new Map();
const callRec = (id) => {
  let c = calls.get(id);
  if (!c) calls.set(id, (c = { acks: [], told: [], inDoubt: [] }));
  return c;
};
const ackedUsers = new Set(); // user ids created with 201 during the load
let sessionsReopened = 0; // hellos after a restart with a session acked before it
const sessionLost = []; // hellos refused after a restart
const errorsSeen = new Map(); // error frames by code (expected ones: races with the timers)
const timerCalls = []; // {call_id, expect} of the final phase

function noteError(code) {
  errorsSeen.set(code, (errorsSeen.get(code) ?? 0) + 1);
}

/** Records a call event a client was told. */
function observe(msg) {
  if (!msg || typeof msg !== 'object' || !msg.call || typeof msg.call.call_id !== 'string') return;
  if (!['ringing', 'accepted', 'connected', 'ended'].includes(msg.type)) return;
  callRec(msg.call.call_id).told.push({ type: msg.type, call: msg.call });
}

// ---- clients ------------------------------------------------------------------------------------

class Device {
  constructor(app, userId, sessionKey) {
    this.app = app;
    this.userId = userId;
    this.sessionKey = sessionKey;
    this.deviceId = `${userId}-dev`;
    this.ws = null;
    this.epoch = 0;
  }

  /** Opens a WebSocket to the current server (same session, same device). */
  async connect() {
    const ws = await WsClient.connect(server.wsUrl);
    ws.ws.on('message', (data) => {
      try {
        observe(JSON.parse(data.toString('utf8')));
      } catch {
        /* not JSON: the harness queues it as __unparsable__ */
      }
    });
    const w = await ws.hello(this.sessionKey, this.deviceId, { timeoutMs: 5000 });
    if (w.type !== 'welcome') {
      ws.terminate();
      const e = new Error(`hello refused: ${JSON.stringify(w)}`);
      e.helloRefused = w;
      throw e;
    }
    this.ws = ws;
    return ws;
  }
}

/** Sends a request; records the ack or error; throws when no answer comes (server gone). */
async function request(dev, type, fields, callId) {
  let m;
  try {
    m = await dev.ws.request(type, fields, 4000);
  } catch (e) {
    if (callId) callRec(callId).inDoubt.push(type);
    throw e;
  }
  if (m.type === 'ack') {
    if (m.call?.call_id) callRec(m.call.call_id).acks.push({ op: type, call: m.call });
    return m;
  }
  noteError(m.code);
  return m;
}

const about = (type, callId) => (m) => m && m.type === type && m.call?.call_id === callId;

/**
 * One call between a pair, with a random course: left ringing, canceled, declined, accepted and
 * left, accepted and ended, connected and left, connected and ended (by either party).
 */
async function oneCall(caller, callee) {
  const d = await request(caller, 'dial', { callee_id: callee.userId, is_video: random() < 0.3 });
  if (d.type !== 'ack') return;
  const id = d.call.call_id;
  const r = random();
  if (r < 0.08) return; // left ringing: the restart (unknown) or the ringing timer ends it
  await callee.ws.next(about('ringing', id), 4000);
  if (r < 0.2) return void (await request(caller, 'end', { call_id: id }, id)); // canceled
  if (r < 0.32) return void (await request(callee, 'decline', { call_id: id }, id)); // declined
  const a = await request(callee, 'accept', { call_id: id }, id);
  if (a.type !== 'ack') return;
  const r2 = random();
  if (r2 < 0.08) return; // left accepted: restart or the connection timer
  if (r2 < 0.2) return void (await request(random() < 0.5 ? caller : callee, 'end', { call_id: id }, id));
  await caller.ws.next(about('accepted', id), 4000);
  const mc = await request(caller, 'media_connected', { call_id: id }, id);
  if (mc.type !== 'ack') return;
  if (random() < 0.15) return; // left connected
  await request(random() < 0.5 ? caller : callee, 'end', { call_id: id }, id);
}

/** Throws away queued messages that no one will wait for (events of finished calls). */
function trim(dev) {
  if (dev.ws && dev.ws.queue.length > 200) dev.ws.queue = dev.ws.queue.slice(-50);
}

/** Opens `dev`'s WebSocket to the server of epoch `e`; a refused hello after a restart is recorded. */
async function reconnect(dev, e) {
  dev.ws?.terminate();
  dev.ws = null;
  try {
    await dev.connect();
  } catch (err) {
    if (err.helloRefused && server && epoch === e) {
      sessionLost.push({ user: dev.userId, epoch: e, answer: err.helloRefused });
      dev.lost = true;
    }
    throw err;
  }
  dev.epoch = e;
  if (e > 1) sessionsReopened++;
}

/** A pair's loop: calls back to back; on a lost server, waits for the next one and reconnects. */
async function pairLoop(caller, callee) {
  while (!stopping && !caller.lost && !callee.lost) {
    if (!server) {
      await waitEpoch(epoch);
      continue;
    }
    const e = epoch;
    try {
      for (const dev of [caller, callee]) if (dev.epoch !== e || !dev.ws?.isOpen) await reconnect(dev, e);
      await oneCall(caller, callee);
      trim(caller);
      trim(callee);
    } catch {
      // The server went away (the next turn waits for the next one), or a connection broke or a
      // wait timed out on a live server (the next turn reconnects).
      if (server && epoch === e) caller.epoch = callee.epoch = 0;
    }
  }
}

/** Creates users through the Platform API while the load runs; records each 201. */
async function platformLoop(app) {
  let n = 0;
  while (!stopping) {
    const s = server;
    if (!s) {
      await waitEpoch(epoch);
      continue;
    }
    const id = `chaos-user-${n++}`;
    try {
      const r = await s.api.platform(app).createUser(id);
      if (r.status === 201) ackedUsers.add(id);
    } catch {
      /* the server died under the request: in doubt; the next turn waits for the next server */
    }
  }
}

// ---- the final phase: the timers end what is left ----------------------------------------------

async function timerPhase(pairs) {
  // Six pairs, one call each.
  // Two calls left ringing (no_answer), two accepted and never connected (timed_out), two
  // connected whose caller's connection drops (connection_lost after the grace).
  const plan = [];
  for (let i = 0; i < 6; i++) {
    const { caller, callee } = pairs[i]; // one pair per call: a dropped caller ends only its call
    const d = await request(caller, 'dial', { callee_id: callee.userId, is_video: false });
    if (d.type !== 'ack') throw new Error(`timer phase: dial refused ${JSON.stringify(d)}`);
    const id = d.call.call_id;
    if (i < 2) {
      plan.push({ call_id: id, expect: 'no_answer' });
      continue;
    }
    await callee.ws.next(about('ringing', id), 4000);
    const a = await request(callee, 'accept', { call_id: id }, id);
    if (a.type !== 'ack') throw new Error(`timer phase: accept refused ${JSON.stringify(a)}`);
    if (i < 4) {
      plan.push({ call_id: id, expect: 'timed_out' });
      continue;
    }
    await caller.ws.next(about('accepted', id), 4000);
    const mc = await request(caller, 'media_connected', { call_id: id }, id);
    if (mc.type !== 'ack') throw new Error(`timer phase: media_connected refused ${JSON.stringify(mc)}`);
    plan.push({ call_id: id, expect: 'connection_lost', dropped: caller });
  }
  for (const p of plan) if (p.dropped) p.dropped.ws.terminate();
  timerCalls.push(...plan);
}

// ---- store access -------------------------------------------------------------------------------

async function sql(dbPath, query) {
  const { stdout } = await execFileP('sqlite3', ['-readonly', '-json', dbPath, query], { maxBuffer: 512 << 20 });
  return stdout.trim() === '' ? [] : JSON.parse(stdout);
}

// store::call_state and store::end_result, in declaration order (server/src/store/call_record.hpp).
const STATES = ['ringing', 'accepted', 'connected', 'ended'];
const RESULTS = ['none', 'completed', 'canceled', 'declined', 'no_answer', 'other_device_accepted', 'timed_out', 'connection_lost', 'unknown'];

/** Polls `cond` (async) every 200 ms until it holds or the deadline passes. */
async function until(cond, timeoutMs, what) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await cond();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`no ${what} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

// ---- the webhook receiver -----------------------------------------------------------------------

/** The harness's receiver, indexing deliveries by event id and call as they arrive. */
class ChaosReceiver extends WebhookReceiver {
  constructor(o) {
    super(o);
    this.byEvent = new Map(); // event_id → {count, body}
    this.firstOrder = new Map(); // call_id → [event names in order of first arrival]
    this.invalid = [];
  }

  check(req, rawBody) {
    const rec = super.check(req, rawBody);
    if (!rec.verdict.ok) {
      this.invalid.push(rec.verdict.errors.join('; '));
      return rec;
    }
    const b = rec.body;
    const seen = this.byEvent.get(b.event_id);
    if (seen) {
      seen.count++;
      return rec;
    }
    this.byEvent.set(b.event_id, { count: 1, body: b });
    const callId = b.data?.call?.call_id;
    if (callId) {
      let l = this.firstOrder.get(callId);
      if (!l) this.firstOrder.set(callId, (l = []));
      l.push({ event: b.event, event_id: b.event_id });
    }
    return rec;
  }
}

// ---- the run ------------------------------------------------------------------------------------

const results = [];
function verdict(name, checked, failures) {
  const ok = failures.length === 0;
  results.push({ name, ok });
  const head = `${ok ? 'ok  ' : 'FAIL'} ${name}: ${checked}`;
  console.log(ok ? head : `${head}; ${failures.length} violation(s):`);
  for (const f of failures.slice(0, 10)) console.log(`       - ${f}`);
  if (failures.length > 10) console.log(`       … and ${failures.length - 10} more`);
}

async function main() {
  log(`seed ${opts.seed}, ${opts.restarts} restarts, ${opts.pairs} pairs, ${opts.minLoadMs}-${opts.maxLoadMs} ms of load between kills`);
  const dataDir = await makeTempDir('parley-chaos-');
  const dbPath = path.join(dataDir, 'parley.db');
  const rx = new ChaosReceiver({ name: 'chaos' });
  await rx.up();
  let exitCode = 0;
  try {
    await detectFlags();
    log(`serve flags: ${serveFlags.filter((f) => f !== ADMIN_TOKEN).join(' ')}`);
    const app = await createAppCli(dataDir, 'chaos');
    await start(dataDir);
    const P = () => server.api.platform(app);
    const s = await P().patchSettings({ ...SETTINGS, webhook_url: rx.url });
    if (s.status !== 200) throw new Error(`PATCH /settings: ${s.status} ${s.text}`);
    const secret = (await P().getSettings()).body.webhook_secret;
    rx.setSecret(secret);

    // Users and their sessions, all acknowledged before the first kill.
    const makePairs = async (n, prefix) => {
      const out = [];
      for (let i = 0; i < n; i++) {
        const devs = [];
        for (const role of ['caller', 'callee']) {
          const uid = `${prefix}-${role}-${i}`;
          const { access_token } = await server.api.userWithAccessToken(app, uid);
          const auth = await server.api.authOk(app, { user_id: uid, access_token, device_id: `${uid}-dev` });
          devs.push(new Device(app, uid, auth.session_key));
        }
        out.push({ caller: devs[0], callee: devs[1] });
      }
      return out;
    };
    const pairs = await makePairs(opts.pairs, 'chaos');

    const loops = pairs.map(({ caller, callee }) => pairLoop(caller, callee));
    loops.push(platformLoop(app));

    const t0 = Date.now();
    for (let k = 1; k <= opts.restarts; k++) {
      await new Promise((r) => setTimeout(r, between(opts.minLoadMs, opts.maxLoadMs)));
      await kill9();
      await start(dataDir);
      if (k % 10 === 0 || k === opts.restarts) log(`restart ${k}/${opts.restarts} (${calls.size} calls so far, ${Math.round((Date.now() - t0) / 1000)} s)`);
    }

    // The last start is the final clean one: stop the load, then let the timers end what the
    // load left and a planned set of calls, and let the outbox drain.
    stopping = true;
    for (const w of epochWaiters) w.resolve(epoch);
    epochWaiters = [];
    await Promise.all(loops);
    // The load's connections go: a call the load left connected (no timer runs while both
    // sides are up, as in a real call) ends connection_lost after the 1 s grace. The planned
    // calls use new users, whose devices do not take those calls back.
    for (const { caller, callee } of pairs) for (const dev of [caller, callee]) dev.ws?.terminate();
    const timerPairs = await makePairs(6, 'chaos-timers');
    for (const { caller, callee } of timerPairs) for (const dev of [caller, callee]) await dev.connect();
    await timerPhase(timerPairs);
    log(`load stopped; ${calls.size} calls; waiting for every call to end and the outbox to drain`);
    try {
      await until(async () => (await sql(dbPath, 'SELECT count(*) AS n FROM calls WHERE state<3'))[0].n === 0, 60_000, 'end of every call');
    } catch (e) {
      const open = await sql(dbPath, `SELECT call_id, state, created_at, accepted_at, connected_at, caller_conn, caller_device, caller_lost_at, callee_conn, callee_device, callee_lost_at, ringing_ms, connection_ms, grace_ms, deadline, version FROM calls WHERE state<3`);
      const now = Date.now();
      e.message += `; calls not ended (now ${now}):\n${open.slice(0, 10).map((r) => JSON.stringify(r)).join('\n')}`;
      throw e;
    }
    await until(async () => {
      const pending = (await sql(dbPath, 'SELECT count(*) AS n FROM outbox WHERE kind=0 AND state=0'))[0].n;
      return pending === 0;
    }, 120_000, 'empty webhook outbox');
    for (const { caller, callee } of timerPairs) for (const dev of [caller, callee]) dev.ws?.close();

    // Checks through the API while the server runs: the call log and usage.
    const apiChecks = await checkLogAndUsage(P());
    await server.stop({ timeoutMs: 30_000 });
    server = null;

    console.log('\n== invariants');
    await checkStore(dbPath, rx, apiChecks);
    if (errorsSeen.size) log(`error frames answered during the load (races with restarts and timers): ${[...errorsSeen].map(([k, v]) => `${k} ${v}`).join(', ')}`);
    await selfTest(dbPath, rx, apiChecks);
  } catch (e) {
    console.error(`chaos: the run could not be completed: ${e.stack ?? e}`);
    if (server) console.error(`server log tail:\n${server.stderrText().slice(-3000)}`);
    exitCode = 2;
  } finally {
    stopping = true;
    if (server && !server.exitInfo) {
      server.proc.kill('SIGKILL');
      await server.exited;
    }
    await rx.close();
    if (!opts.keep) await rm(dataDir, { recursive: true, force: true });
    else log(`data dir kept: ${dataDir}`);
  }
  const passed = results.filter((r) => r.ok).length;
  if (exitCode) {
    // The run itself failed: one more failed check, so that a summary parser counts it.
    console.log(`\n${passed} passed, ${results.length - passed + 1} failed`);
    process.exit(exitCode);
  }
  const failed = results.length - passed;
  console.log(`\n${passed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
}

/** Every page of the app's call log, and usage for the days of the run. */
async function checkLogAndUsage(P) {
  const listed = [];
  let next = null;
  for (let guard = 0; guard < 100000; guard++) {
    let q = '?limit=100';
    if (next !== null) q += `&next=${encodeURIComponent(next)}`;
    const r = await P.listCalls(q);
    if (r.status !== 200) throw new Error(`GET /direct_calls: ${r.status} ${r.text}`);
    listed.push(...r.body.calls);
    next = r.body.next;
    if (next === null) break;
  }
  const from = new Date(Date.now() - 86_400_000 * 2).toISOString().slice(0, 10);
  const to = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
  const u = await P.usage(from, to);
  if (u.status !== 200) throw new Error(`GET /usage: ${u.status} ${u.text}`);
  return { listed, usage: u.body };
}

async function checkStore(dbPath, rx, { listed, usage }, report = verdict) {
  // 1. The database is sound.
  let icText;
  try {
    icText = (await sql(dbPath, 'PRAGMA integrity_check')).map((r) => Object.values(r)[0]).join('; ');
  } catch (e) {
    icText = `sqlite3 failed: ${String(e.stderr ?? e.message).trim()}`;
  }
  report('PRAGMA integrity_check', `1 database, "${icText}"`, icText === 'ok' ? [] : [icText]);

  const rows = await sql(dbPath, 'SELECT call_id, caller_id, callee_id, state, result, created_at, accepted_at, connected_at, ended_at, ended_by, deadline FROM calls');
  const byId = new Map(rows.map((r) => [r.call_id, r]));
  const outbox = await sql(dbPath, "SELECT seq, event_id, event, order_key, state, payload FROM outbox WHERE kind=0 ORDER BY seq");
  const users = new Set((await sql(dbPath, 'SELECT user_id FROM users')).map((r) => r.user_id));

  // 2. Nothing left ringing, accepted or connected; no timer left.
  {
    const bad = rows.filter((r) => r.state !== 3 || r.deadline !== null).map((r) => `${r.call_id} ${STATES[r.state]} deadline ${r.deadline}`);
    report('no call left ringing/accepted/connected', `${rows.length} calls`, bad);
  }

  // 3. Every call ended once, with a valid end result consistent with its history.
  {
    const bad = [];
    const endEvents = new Map();
    for (const e of outbox) {
      if (e.event !== 'direct_call.end') continue;
      const id = JSON.parse(e.payload).data?.call?.call_id;
      endEvents.set(id, (endEvents.get(id) ?? 0) + 1);
    }
    const tally = {};
    for (const r of rows) {
      const res = RESULTS[r.result];
      tally[res] = (tally[res] ?? 0) + 1;
      const why = endProblem(r, res);
      if (why) bad.push(`${r.call_id}: ${why}`);
      const n = endEvents.get(r.call_id) ?? 0;
      if (n !== 1) bad.push(`${r.call_id}: ${n} direct_call.end events in the outbox`);
    }
    for (const id of endEvents.keys()) if (!byId.has(id)) bad.push(`direct_call.end of a call not in the store: ${id}`);
    const t = Object.entries(tally).sort().map(([k, v]) => `${k} ${v}`).join(', ');
    report('every call ended exactly once with a valid result', `${rows.length} calls (${t}), ${[...endEvents.values()].reduce((a, b) => a + b, 0)} end events`, bad);
  }

  // 4. The timers ended the calls left to them with the documented results.
  {
    const bad = [];
    for (const t of timerCalls) {
      const r = byId.get(t.call_id);
      if (!r) bad.push(`${t.call_id}: missing`);
      else if (RESULTS[r.result] !== t.expect) bad.push(`${t.call_id}: ${RESULTS[r.result]}, expected ${t.expect}`);
    }
    report('timers end calls (no_answer, timed_out, connection_lost)', `${timerCalls.length} calls`, bad);
  }

  // 5. Logged once: the call log lists every stored call exactly once, as stored; usage counts
  //    each call once.
  {
    const bad = [];
    const count = new Map();
    for (const c of listed) count.set(c.call_id, (count.get(c.call_id) ?? 0) + 1);
    for (const r of rows) {
      const n = count.get(r.call_id) ?? 0;
      if (n !== 1) bad.push(`${r.call_id} listed ${n} times`);
    }
    for (const c of listed) {
      const r = byId.get(c.call_id);
      if (!r) bad.push(`listed but not stored: ${c.call_id}`);
      else if (c.state !== 'ended' || c.end_result !== RESULTS[r.result] || c.ended_at !== r.ended_at) bad.push(`${c.call_id}: log says ${c.state}/${c.end_result}, store ${STATES[r.state]}/${RESULTS[r.result]}`);
    }
    const sum = (k) => usage.days.reduce((a, d) => a + d[k], 0);
    const connected = rows.filter((r) => r.connected_at !== null);
    const minutes = connected.reduce((a, r) => a + Math.ceil((r.ended_at - r.connected_at) / 60000), 0);
    if (sum('calls') !== rows.length) bad.push(`usage counts ${sum('calls')} calls, the store has ${rows.length}`);
    if (sum('connected_calls') !== connected.length) bad.push(`usage counts ${sum('connected_calls')} connected calls, the store has ${connected.length}`);
    if (sum('billable_minutes') !== minutes) bad.push(`usage counts ${sum('billable_minutes')} billable minutes, the store ${minutes}`);
    report('every call logged once (call log, usage)', `${listed.length} log entries, usage ${sum('calls')} calls / ${sum('connected_calls')} connected / ${sum('billable_minutes')} min`, bad);
  }

  // 6. Every acknowledged write (and every event a client was told) is in the store.
  {
    const bad = [];
    let acks = 0;
    let told = 0;
    let inDoubt = 0;
    for (const [id, c] of calls) {
      const r = byId.get(id);
      inDoubt += c.inDoubt.length;
      for (const a of [...c.acks.map((x) => ({ ...x, kind: 'ack' })), ...c.told.map((x) => ({ op: x.type, call: x.call, kind: 'event' }))]) {
        if (a.kind === 'ack') acks++;
        else told++;
        if (!r) {
          bad.push(`${id}: ${a.kind} ${a.op} but no stored call`);
          continue;
        }
        const why = ackProblem(r, a.call, a.op);
        if (why) bad.push(`${id}: ${a.kind} ${a.op}: ${why}`);
      }
    }
    for (const u of ackedUsers) if (!users.has(u)) bad.push(`user ${u} created (201) but not stored`);
    for (const l of sessionLost) bad.push(`session of ${l.user} refused after restart ${l.epoch}: ${JSON.stringify(l.answer)}`);
    report(
      'every acknowledged write present',
      `${acks} call acks, ${told} call events told, ${ackedUsers.size} users created, ${sessionsReopened} sessions reopened after a restart (${inDoubt} requests in doubt, not checked)`,
      bad,
    );
  }

  // 7. Webhooks: every event queued was delivered, reached the receiver at least once with a
  //    valid signature, and the events of each call arrived in order.
  {
    const bad = [];
    let dupes = 0;
    for (const e of outbox) {
      if (e.state !== 1) bad.push(`${e.event_id} (${e.event}) outbox state ${e.state}, not delivered`);
      const got = rx.byEvent.get(e.event_id);
      if (!got) bad.push(`${e.event_id} (${e.event}) never reached the receiver`);
      else dupes += got.count - 1;
    }
    const queued = new Set(outbox.map((e) => e.event_id));
    for (const id of rx.byEvent.keys()) if (!queued.has(id)) bad.push(`received ${id}, which the outbox does not hold`);
    for (const why of rx.invalid) bad.push(`invalid delivery: ${why}`);
    // Per call: the events the store implies, each once, first arrivals in order.
    let ordered = 0;
    for (const r of rows) {
      const want = ['direct_call.dial', ...(r.accepted_at !== null ? ['direct_call.accept'] : []), 'direct_call.end'];
      const got = (rx.firstOrder.get(r.call_id) ?? []).map((x) => x.event);
      if (got.join() !== want.join()) bad.push(`${r.call_id}: received ${got.join(' → ') || 'nothing'}, expected ${want.join(' → ')}`);
      else ordered++;
    }
    report(
      'every webhook delivered, signed, in order per call',
      `${outbox.length} events queued, ${rx.byEvent.size} received (${dupes} redeliveries), ${ordered} calls in order`,
      bad,
    );
  }
}

/**
 * Proves that each check can fail: on a copy of the database (and copies of what the run
 * recorded), one violation of each invariant is made, and the check of that invariant must report
 * it. Counted as one more check.
 */
async function selfTest(dbPath, rx, apiChecks) {
  const dir = path.dirname(dbPath);
  const mutant = path.join(dir, 'mutant.db');
  const rows = await sql(dbPath, 'SELECT call_id, accepted_at FROM calls ORDER BY rowid');
  const acceptedAck = [...calls].find(([, c]) => c.acks.some((a) => a.op === 'accept'))?.[0];
  const firstEnd = (await sql(dbPath, "SELECT seq FROM outbox WHERE event='direct_call.end' ORDER BY seq LIMIT 1"))[0]?.seq;
  const firstEvent = rx.byEvent.keys().next().value;
  const sqlOn = (q) => execFileP('sqlite3', [mutant, q]);
  const pageSize = (await sql(dbPath, 'PRAGMA page_size'))[0].page_size;
  const view = (o = {}) => ({ byEvent: new Map(rx.byEvent), firstOrder: new Map(rx.firstOrder), invalid: [...rx.invalid], ...o });
  const mutations = [
    {
      target: 'PRAGMA integrity_check',
      what: 'an index page overwritten',
      db: async () => {
        const root = (await sql(mutant, "SELECT rootpage FROM sqlite_master WHERE name='calls_callee'"))[0].rootpage;
        // The whole page, its b-tree header included: a root page with few cells keeps them in
        // its last bytes, so overwriting only the middle could leave nothing to find.
        const fh = await open(mutant, 'r+');
        await fh.write(Buffer.alloc(pageSize, 0x5a), 0, pageSize, (root - 1) * pageSize);
        await fh.close();
      },
    },
    { target: 'no call left ringing/accepted/connected', what: 'a call set back to ringing', db: () => sqlOn(`UPDATE calls SET state=0 WHERE call_id='${rows[0].call_id}'`) },
    {
      target: 'every call ended exactly once with a valid result',
      what: 'a second direct_call.end queued for a call',
      db: () =>
        sqlOn(`INSERT INTO outbox(event_id,app_id,kind,order_key,event,payload,state,attempts,created_at,next_attempt_at,give_up_at)
               SELECT lower(hex(randomblob(16))),app_id,kind,order_key,event,payload,1,1,created_at,next_attempt_at,give_up_at FROM outbox WHERE seq=${firstEnd}`),
    },
    { target: 'timers end calls (no_answer, timed_out, connection_lost)', what: 'a timer call ended unknown', db: () => sqlOn(`UPDATE calls SET result=8 WHERE call_id='${timerCalls[0].call_id}'`) },
    { target: 'every call logged once (call log, usage)', what: 'a call missing from the call log', api: { listed: apiChecks.listed.slice(1), usage: apiChecks.usage } },
    { target: 'every acknowledged write present', what: 'an acknowledged accept lost', db: () => sqlOn(`UPDATE calls SET accepted_at=NULL WHERE call_id='${acceptedAck}'`) },
    { target: 'every webhook delivered, signed, in order per call', what: 'a delivery the receiver never got', rx: () => { const v = view(); v.byEvent.delete(firstEvent); return v; } },
  ];
  const missed = [];
  for (const m of mutations) {
    await rm(mutant, { force: true });
    await execFileP('sqlite3', [dbPath, `VACUUM INTO '${mutant}'`]);
    if (m.db) await m.db();
    const found = [];
    try {
      await checkStore(mutant, m.rx ? m.rx() : view(), m.api ?? apiChecks, (name, _checked, failures) => {
        if (name === m.target && failures.length) found.push(failures[0]);
      });
    } catch (e) {
      // A check after the target one may stumble on the damage made for it (a corrupt page):
      // what counts is whether the target check reported it first.
      if (!found.length) missed.push(`${m.target}: checks failed before reporting ${m.what}: ${e.message}`);
      continue;
    }
    if (!found.length) missed.push(`${m.target}: not reported after ${m.what}`);
  }
  await rm(mutant, { force: true });
  verdict('each check reports a violation made on purpose', `${mutations.length} mutations of a copy of the results`, missed);
}

/** Why a stored, ended call is not a valid end, or null. */
function endProblem(r, res) {
  if (r.state !== 3) return `state ${STATES[r.state]}`;
  if (r.ended_at === null) return 'no ended_at';
  if (r.ended_at < r.created_at) return 'ended before it was created';
  const acc = r.accepted_at !== null;
  const by = r.ended_by;
  const party = by === r.caller_id || by === r.callee_id;
  switch (res) {
    case 'completed':
      return acc && party ? null : 'completed without accept or by a non-party';
    case 'canceled':
      return !acc && by === r.caller_id ? null : 'canceled but accepted or not by the caller';
    case 'declined':
      return !acc && by === r.callee_id ? null : 'declined but accepted or not by the callee';
    case 'no_answer':
      return !acc && by === null ? null : 'no_answer but accepted or ended by someone';
    case 'timed_out':
      return acc && r.connected_at === null && by === null ? null : 'timed_out but not accepted-unconnected';
    case 'connection_lost':
    case 'unknown':
      return by === null ? null : `${res} with ended_by`;
    default:
      return `end result ${res}`;
  }
}

/** Why the stored call `r` does not hold what an ack or an event said (`call`), or null. */
function ackProblem(r, call, op) {
  if (r.caller_id !== call.caller_id || r.callee_id !== call.callee_id || r.created_at !== call.created_at) return 'parties or created_at differ';
  if (call.accepted_at !== null && r.accepted_at !== call.accepted_at) return `accepted_at ${r.accepted_at}, told ${call.accepted_at}`;
  if (call.connected_at !== null && r.connected_at !== call.connected_at) return `connected_at ${r.connected_at}, told ${call.connected_at}`;
  if (call.state === 'ended' && call.end_result !== 'other_device_accepted') {
    if (RESULTS[r.result] !== call.end_result) return `end_result ${RESULTS[r.result]}, told ${call.end_result}`;
    if (r.ended_at !== call.ended_at) return `ended_at ${r.ended_at}, told ${call.ended_at}`;
    if (r.ended_by !== call.ended_by) return `ended_by ${r.ended_by}, told ${call.ended_by}`;
  }
  void op;
  return null;
}

process.on('exit', () => {
  if (server && !server.exitInfo) server.proc.kill('SIGKILL');
});

await main();
