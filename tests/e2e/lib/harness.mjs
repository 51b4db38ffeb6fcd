// Harness of the browser end-to-end suite: a real parleyd (demo mode, serving web/demo and the
// built SDK), an optional real coturn, and Debian's Chromium driven by playwright-core.
//
// Every wait here has a deadline; nothing sleeps for a fixed time.

import { spawn, execFile } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import dgram from 'node:dgram';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import crypto from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const ARTIFACTS = path.join(REPO_ROOT, 'tests/artifacts');

const repoPath = (p) => (path.isAbsolute(p) ? p : path.resolve(REPO_ROOT, p));
export const PARLEYD = repoPath(process.env.PARLEYD || 'build/release/server/parleyd');
export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
export const TURNSERVER = process.env.TURNSERVER || '/usr/bin/turnserver';
export const WEB_ROOT = repoPath(process.env.PARLEY_WEB_ROOT || 'web/demo');
export const SDK_DIR = repoPath(process.env.PARLEY_SDK_DIR || 'sdk/js/dist');

/** The flags of design.md ("Tests that matter"), fake media devices included. */
export const CHROMIUM_FLAGS = [
  '--use-fake-device-for-media-stream',
  '--use-fake-ui-for-media-stream',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** What the suite needs on this machine; a reason string when something is missing, else null. */
export function missingPrerequisite({ turn = false } = {}) {
  if (!existsSync(PARLEYD)) return `parleyd not built at ${PARLEYD}`;
  if (!existsSync(CHROMIUM)) return `${CHROMIUM} missing (run scripts/e2e-deps.sh)`;
  if (turn && !existsSync(TURNSERVER)) return `${TURNSERVER} missing (run scripts/e2e-deps.sh)`;
  if (!existsSync(path.join(SDK_DIR, 'parley.js'))) return `${SDK_DIR}/parley.js missing (cd sdk/js && npm ci && npm run build)`;
  if (!existsSync(path.join(WEB_ROOT, 'index.html'))) return `${WEB_ROOT}/index.html missing`;
  return null;
}

// ---- small utilities ------------------------------------------------------------------------

export function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** Polls `fn` (async) until it returns a truthy value; returns it. Throws with `what` at the deadline. */
export async function waitFor(fn, { timeoutMs = 10000, intervalMs = 100, what = 'condition' } = {}) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    if (Date.now() >= deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last: ${last instanceof Error ? last.message : JSON.stringify(last)})`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

function run(cmd, args, { timeoutMs = 20000 } = {}) {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { timeout: timeoutMs, maxBuffer: 4 << 20 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${path.basename(cmd)} ${args.join(' ')} failed: ${err.message}\n${stderr}`));
      else resolve({ stdout, stderr });
    });
  });
}

/** A port that is free on 127.0.0.1 for both TCP and UDP right now. */
export async function freePort() {
  for (let attempt = 0; attempt < 20; attempt++) {
    const port = await new Promise((resolve, reject) => {
      const srv = net.createServer();
      srv.once('error', reject);
      srv.listen(0, '127.0.0.1', () => {
        const p = srv.address().port;
        srv.close(() => resolve(p));
      });
    });
    const udpFree = await new Promise((resolve) => {
      const s = dgram.createSocket('udp4');
      s.once('error', () => resolve(false));
      s.bind(port, '127.0.0.1', () => s.close(() => resolve(true)));
    });
    if (udpFree) return port;
  }
  throw new Error('no free TCP+UDP port found');
}

/** Stops a child: SIGTERM, then SIGKILL after `graceMs`. Resolves with its exit. */
function stopChild(proc, exited, graceMs = 5000) {
  if (proc.exitCode !== null || proc.signalCode !== null) return exited;
  proc.kill('SIGTERM');
  const timer = setTimeout(() => proc.kill('SIGKILL'), graceMs);
  return exited.finally(() => clearTimeout(timer));
}

// ---- parleyd ----------------------------------------------------------------------------------

/**
 * Starts `parleyd serve --demo` on 127.0.0.1:0 with the demo page and the SDK, after creating the
 * app "demo". Returns {url, app, dataDir, stderrText(), stop(), platform(method, path, body)}.
 */
export async function startParleyd({ flags = [] } = {}) {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'parley-e2e-'));
  const { stdout: created } = await run(PARLEYD, ['app', 'create', '--name', 'demo', '--json', '--data-dir', dataDir]);
  const app = JSON.parse(created.trim().split('\n').pop());

  const args = ['serve', '--demo', '--listen', '127.0.0.1:0', '--data-dir', dataDir,
    '--web-root', WEB_ROOT, '--sdk-dir', SDK_DIR, ...flags];
  const proc = spawn(PARLEYD, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal })));
  let stdout = '';
  let stderr = '';
  proc.stdout.setEncoding('utf8');
  proc.stderr.setEncoding('utf8');
  proc.stderr.on('data', (d) => { stderr = (stderr + d).slice(-200000); });
  const port = await withTimeout(new Promise((resolve, reject) => {
    proc.stdout.on('data', (d) => {
      stdout += d;
      const m = /parleyd listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(stdout);
      if (m) resolve(Number(m[1]));
    });
    exited.then((e) => reject(new Error(`parleyd exited (${e.code ?? e.signal}) before listening:\n${stderr.slice(-4000)}`)));
  }), 15000, 'parleyd listening line').catch((e) => { proc.kill('SIGKILL'); throw e; });

  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    app,
    dataDir,
    args,
    stderrText: () => stderr,
    /** Platform API call with the app's Api-Token; resolves {status, body}. */
    async platform(method, p, body) {
      const res = await withTimeout(fetch(`${url}/v1/apps/${app.app_id}${p}`, {
        method,
        headers: { 'Api-Token': app.api_token, 'Content-Type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      }), 10000, `${method} ${p}`);
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : null };
    },
    async stop() {
      const e = await stopChild(proc, exited, 12000);
      await rm(dataDir, { recursive: true, force: true });
      return e;
    },
  };
}

// ---- coturn -----------------------------------------------------------------------------------

/** Sends a STUN Binding request over UDP and resolves true once something answers. */
function stunPing(port, timeoutMs) {
  return new Promise((resolve) => {
    const s = dgram.createSocket('udp4');
    const req = Buffer.alloc(20);
    req.writeUInt16BE(0x0001, 0); // Binding request
    req.writeUInt16BE(0, 2);
    req.writeUInt32BE(0x2112a442, 4);
    crypto.randomBytes(12).copy(req, 8);
    const done = (v) => { clearTimeout(t); s.close(); resolve(v); };
    const t = setTimeout(() => done(false), timeoutMs);
    s.on('message', (msg) => done(msg.length >= 20 && msg.readUInt16BE(0) === 0x0101));
    s.on('error', () => done(false));
    s.send(req, port, '127.0.0.1');
  });
}

/**
 * Starts coturn on 127.0.0.1 with `use-auth-secret`, relaying on 127.0.0.1 (loopback peers allowed,
 * a small relay port range). Resolves {port, url, secret, logText(), stop()} once it answers STUN.
 */
export async function startCoturn({ secret }) {
  const port = await freePort();
  const dir = await mkdtemp(path.join(os.tmpdir(), 'parley-e2e-turn-'));
  // A relay range of 100 ports somewhere in 50000–59899; coturn skips ports in use.
  const minPort = 50000 + 100 * crypto.randomInt(0, 99);
  const args = [
    '-n',
    '--listening-ip=127.0.0.1', `--listening-port=${port}`,
    '--relay-ip=127.0.0.1',
    `--min-port=${minPort}`, `--max-port=${minPort + 99}`,
    '--use-auth-secret', `--static-auth-secret=${secret}`,
    '--realm=parley',
    '--no-tls', '--no-dtls', '--no-cli',
    '--allow-loopback-peers',
    '--no-multicast-peers',
    '--log-file=stdout', '--simple-log',
    `--pidfile=${path.join(dir, 'turnserver.pid')}`,
    `--userdb=${path.join(dir, 'turndb')}`, // not the system's /var/lib/turn/turndb
  ];
  const proc = spawn(TURNSERVER, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal })));
  let log = '';
  const onData = (d) => { log = (log + d).slice(-400000); };
  proc.stdout.setEncoding('utf8');
  proc.stderr.setEncoding('utf8');
  proc.stdout.on('data', onData);
  proc.stderr.on('data', onData);
  let exitedEarly = null;
  exited.then((e) => { exitedEarly = e; });
  try {
    await waitFor(async () => {
      if (exitedEarly) throw new Error(`turnserver exited (${exitedEarly.code ?? exitedEarly.signal}):\n${log.slice(-4000)}`);
      return stunPing(port, 200);
    }, { timeoutMs: 10000, intervalMs: 50, what: 'coturn to answer STUN' });
  } catch (e) {
    proc.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
  return {
    port,
    url: `turn:127.0.0.1:${port}?transport=udp`,
    secret,
    args,
    logText: () => log,
    async stop() {
      const e = await stopChild(proc, exited, 3000);
      await rm(dir, { recursive: true, force: true });
      return e;
    },
  };
}

// ---- Chromium ---------------------------------------------------------------------------------

/**
 * Runs in every page before its scripts: wraps RTCPeerConnection so that the test can find the
 * page's peer connections (window.__e2e.pcs) for getStats(), and, when `relayOnly` is set, forces
 * iceTransportPolicy "relay" on every peer connection the page makes.
 */
function pageInit({ relayOnly }) {
  const Orig = window.RTCPeerConnection;
  const e2e = { pcs: [], configs: [], relayOnly, states: [] };
  Object.defineProperty(window, '__e2e', { value: e2e });
  // Every text #state has shown, in order (so a test can tell a state never appeared).
  const recordState = () => {
    const el = document.getElementById('state');
    const text = el ? (el.textContent || '').trim() : null;
    if (text !== null && e2e.states[e2e.states.length - 1] !== text) e2e.states.push(text);
  };
  new MutationObserver(recordState).observe(document, { subtree: true, childList: true, characterData: true });
  if (!Orig) return;
  class E2ePeerConnection extends Orig {
    constructor(config, ...rest) {
      const cfg = { ...(config || {}) };
      if (relayOnly) cfg.iceTransportPolicy = 'relay';
      super(cfg, ...rest);
      e2e.configs.push(JSON.parse(JSON.stringify(cfg)));
      e2e.pcs.push(this);
    }
    setConfiguration(config) {
      const cfg = { ...(config || {}) };
      if (relayOnly) cfg.iceTransportPolicy = 'relay';
      return super.setConfiguration(cfg);
    }
  }
  window.RTCPeerConnection = E2ePeerConnection;
}

/** Launches headless Chromium with the design.md flags. */
export async function launchBrowser() {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_FLAGS,
    timeout: 30000,
  });
}

/**
 * A new context + page (own storage) with the RTCPeerConnection hook installed. Console errors
 * and page errors are collected in page.__logs for failure messages.
 */
export async function newPage(browser, { relayOnly = false, name = 'page' } = {}) {
  const context = await browser.newContext({ viewport: { width: 1100, height: 800 } });
  context.setDefaultTimeout(10000);
  context.setDefaultNavigationTimeout(15000);
  await context.addInitScript(pageInit, { relayOnly });
  const page = await context.newPage();
  const logs = [];
  page.on('console', (m) => logs.push(`[${name} console.${m.type()}] ${m.text()}`));
  page.on('pageerror', (e) => logs.push(`[${name} pageerror] ${e.message}`));
  page.__logs = logs;
  page.__name = name;
  return page;
}

/**
 * getStats() of the page's newest open peer connection, summarised:
 * {audioIn, videoIn, audioOut, videoOut (bytes), pair: {state, local, remote} | null,
 *  localCandidateTypes: [...]}.
 */
export async function mediaStats(page) {
  return page.evaluate(async () => {
    const open = window.__e2e.pcs.filter((pc) => pc.connectionState !== 'closed');
    const pc = open[open.length - 1];
    if (!pc) return null;
    const report = await pc.getStats();
    const out = { audioIn: 0, videoIn: 0, audioOut: 0, videoOut: 0, pair: null, localCandidateTypes: [],
      connectionState: pc.connectionState, iceConnectionState: pc.iceConnectionState };
    const byId = new Map();
    report.forEach((s) => byId.set(s.id, s));
    let selectedPairId = null;
    report.forEach((s) => {
      if (s.type === 'inbound-rtp') {
        if (s.kind === 'audio') out.audioIn += s.bytesReceived || 0;
        if (s.kind === 'video') out.videoIn += s.bytesReceived || 0;
      } else if (s.type === 'outbound-rtp') {
        if (s.kind === 'audio') out.audioOut += s.bytesSent || 0;
        if (s.kind === 'video') out.videoOut += s.bytesSent || 0;
      } else if (s.type === 'transport' && s.selectedCandidatePairId) {
        selectedPairId = s.selectedCandidatePairId;
      } else if (s.type === 'local-candidate') {
        out.localCandidateTypes.push(s.candidateType);
      }
    });
    const pair = selectedPairId ? byId.get(selectedPairId) : null;
    if (pair) {
      const l = byId.get(pair.localCandidateId);
      const r = byId.get(pair.remoteCandidateId);
      out.pair = { state: pair.state, local: l?.candidateType, remote: r?.candidateType,
        localAddress: `${l?.address}:${l?.port}`, relayProtocol: l?.relayProtocol };
    }
    return out;
  });
}

/** Waits until both audio and video inbound bytes grow on the page; returns the last sample. */
export async function expectMediaFlowing(page, { timeoutMs = 20000 } = {}) {
  const first = await waitFor(async () => {
    const s = await mediaStats(page);
    return s && s.audioIn > 0 && s.videoIn > 0 ? s : null;
  }, { timeoutMs, intervalMs: 250, what: `${page.__name}: inbound audio and video bytes` });
  return waitFor(async () => {
    const s = await mediaStats(page);
    return s && s.audioIn > first.audioIn && s.videoIn > first.videoIn ? s : null;
  }, { timeoutMs: 10000, intervalMs: 250, what: `${page.__name}: inbound audio and video bytes growing` });
}

export function ensureArtifactsDir() {
  mkdirSync(ARTIFACTS, { recursive: true });
  return ARTIFACTS;
}
