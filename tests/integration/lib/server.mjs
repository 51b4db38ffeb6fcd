// Starts and stops a real parleyd process for a test file.
//
// startServer(opts) makes a temporary data dir, creates the apps with `parleyd app create --json`,
// spawns `parleyd serve --listen 127.0.0.1:0`, waits for the one stdout line
// `parleyd listening on http(s)://127.0.0.1:PORT` and returns a handle:
//   { url, wsUrl, port, host, dataDir, apps, proc, api, stop(), kill(), stderrText(), secrets, ... }
// stop() sends SIGTERM, waits for the exit and asserts exit code 0; it also asserts that no secret
// the test saw (api tokens, access tokens, session tokens, session keys, JWTs) is in the log.

import { spawn, execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import { Api } from './api.mjs';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

function resolveParleyd() {
  const p = process.env.PARLEYD || 'build/release/server/parleyd';
  if (path.isAbsolute(p)) return p;
  const fromCwd = path.resolve(process.cwd(), p);
  if (existsSync(fromCwd)) return fromCwd;
  return path.resolve(REPO_ROOT, p);
}

export const PARLEYD = resolveParleyd();

// Sanitizer builds are about 3x slower: every deadline a test waits on is scaled by this.
export const TIME_SCALE =
  Number(process.env.PARLEY_TEST_TIME_SCALE) || (/asan|tsan|ubsan/i.test(PARLEYD) ? 3 : 1);
export const ms = (n) => Math.round(n * TIME_SCALE);

// A sanitizer report in parleyd's stderr fails the test, whatever the exit code (a SIGKILLed or
// still-running process has none) and whatever TSAN_OPTIONS/ASAN_OPTIONS say.
const SANITIZER_REPORT = /(WARNING|ERROR): (Thread|Address|Leak|UndefinedBehavior)Sanitizer/;
export function assertNoSanitizerReport(stderr, what = 'parleyd') {
  const at = stderr.search(SANITIZER_REPORT);
  assert.ok(at < 0, `${what} printed a sanitizer report:\n${stderr.slice(Math.max(0, at - 100), at + 12000)}`);
}

/** Runs a parleyd subcommand. Resolves {code, signal, stdout, stderr}; never rejects on exit code. */
export function runCli(args, { env = {}, timeoutMs = ms(20000) } = {}) {
  return new Promise((resolve, reject) => {
    execFile(
      PARLEYD,
      args,
      { env: { ...process.env, ...env }, timeout: timeoutMs, maxBuffer: 4 << 20 },
      (err, stdout, stderr) => {
        if (err && typeof err.code !== 'number' && !err.signal) return reject(err);
        try {
          assertNoSanitizerReport(String(stderr), `parleyd ${args[0]}`);
        } catch (e) {
          return reject(e);
        }
        resolve({ code: err ? err.code ?? null : 0, signal: err?.signal ?? null, stdout, stderr });
      },
    );
  });
}

/** `parleyd app create --name NAME --json --data-dir DIR` → parsed JSON line. */
export async function createAppCli(dataDir, name) {
  const r = await runCli(['app', 'create', '--name', name, '--json', '--data-dir', dataDir]);
  assert.equal(r.code, 0, `app create exited ${r.code}: ${r.stderr}`);
  const lines = r.stdout.split('\n').filter((l) => l.trim() !== '');
  assert.equal(lines.length, 1, `app create --json must print one line, got: ${r.stdout}`);
  return JSON.parse(lines[0]);
}

export async function makeTempDir(prefix = 'parley-it-') {
  return mkdtemp(path.join(os.tmpdir(), prefix));
}

/**
 * @param {object} opts
 * @param {string[]} [opts.apps]   names of apps to create before serving (default ['a'])
 * @param {string[]} [opts.flags]  extra flags for `serve`
 * @param {object}   [opts.env]    extra environment
 * @param {string}   [opts.dataDir] reuse a data dir (else a new temp dir, removed on stop)
 * @param {string}   [opts.scheme] 'http' or 'https' expected in the listening line
 * @param {boolean}  [opts.allowPrivateOutbound] pass --allow-private-outbound, for tests whose
 *                   webhook or push receivers listen on loopback (refused by default)
 */
export async function startServer(opts = {}) {
  const { apps: appNames = ['a'], flags = [], env = {}, scheme = 'http' } = opts;
  if (!existsSync(PARLEYD)) {
    throw new Error(`parleyd not found at ${PARLEYD} (set PARLEYD)`);
  }
  const ownDir = !opts.dataDir;
  const dataDir = opts.dataDir ?? (await makeTempDir());
  const apps = {};
  for (const name of appNames) apps[name] = await createAppCli(dataDir, name);

  const args = ['serve', '--listen', '127.0.0.1:0', '--data-dir', dataDir, ...flags];
  if (opts.allowPrivateOutbound) args.push('--allow-private-outbound');
  const procEnv = { ...process.env, ...env };
  for (const [k, v] of Object.entries(procEnv)) if (v === undefined) delete procEnv[k];
  const proc = spawn(PARLEYD, args, {
    env: procEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  const exited = new Promise((resolve) => {
    proc.on('exit', (code, signal) => resolve({ code, signal }));
  });
  // 'close' comes after 'exit', once stderr has been read to its end (for the sanitizer check).
  const closed = new Promise((resolve) => proc.on('close', resolve));
  let exitInfo = null;
  exited.then((e) => {
    exitInfo = e;
  });
  proc.stderr.setEncoding('utf8');
  proc.stderr.on('data', (d) => {
    stderr += d;
  });
  proc.stdout.setEncoding('utf8');

  const re = new RegExp(`^parleyd listening on ${scheme}://127\\.0\\.0\\.1:(\\d+)\\s*$`, 'm');
  const port = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`parleyd did not print its listening line in time.\nstdout: ${stdout}\nstderr: ${stderr.slice(-4000)}`));
    }, ms(20000));
    proc.stdout.on('data', (d) => {
      stdout += d;
      const m = re.exec(stdout);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`parleyd exited (${code ?? signal}) before listening.\nstdout: ${stdout}\nstderr: ${stderr.slice(-4000)}`));
    });
  });

  const url = `${scheme}://127.0.0.1:${port}`;
  const wsUrl = `${scheme === 'https' ? 'wss' : 'ws'}://127.0.0.1:${port}/v1/ws`;
  const secrets = new Set();
  let termSent = false;
  for (const a of Object.values(apps)) {
    secrets.add(a.api_token);
    secrets.add(a.signing_secret);
  }
  const server = {
    url,
    wsUrl,
    port,
    dataDir,
    apps,
    proc,
    secrets,
    args,
    stdoutText: () => stdout,
    stderrText: () => stderr,
    exited,
    get exitInfo() {
      return exitInfo;
    },
    /** Records a secret the test used so that stop() can check it never reached the log. */
    addSecret(s) {
      if (typeof s === 'string' && s.length >= 16) secrets.add(s);
    },
    /** Asserts no recorded secret appears in the server's stderr (or stdout). */
    assertNoSecretsInLogs() {
      const log = stderr + stdout;
      for (const s of secrets) {
        assert.ok(!log.includes(s), `a secret (${s.slice(0, 6)}…) appears in the server log`);
      }
    },
    /** Sends SIGTERM once (a second SIGTERM could mean "stop now" to the server). */
    terminate() {
      if (!termSent && !exitInfo) {
        termSent = true;
        proc.kill('SIGTERM');
      }
    },
    /** SIGTERM, wait for exit, assert exit code 0 and clean logs; removes the temp data dir. */
    async stop({ timeoutMs = ms(15000), checkSecrets = true } = {}) {
      server.terminate();
      let timer;
      const e = await Promise.race([
        exited,
        new Promise((r) => {
          timer = setTimeout(() => r(null), timeoutMs);
        }),
      ]);
      clearTimeout(timer);
      if (!e) {
        proc.kill('SIGKILL');
        await exited;
        throw new Error(`parleyd did not exit within ${timeoutMs} ms of SIGTERM`);
      }
      if (ownDir) await rm(dataDir, { recursive: true, force: true });
      await closed;
      assertNoSanitizerReport(stderr);
      assert.equal(e.signal, null, `parleyd died of signal ${e.signal}.\nstderr tail: ${stderr.slice(-4000)}`);
      assert.equal(e.code, 0, `parleyd exited with ${e.code} after SIGTERM.\nstderr tail: ${stderr.slice(-4000)}`);
      if (checkSecrets) server.assertNoSecretsInLogs();
      return e;
    },
    async kill() {
      if (!exitInfo) proc.kill('SIGKILL');
      await exited;
      if (ownDir) await rm(dataDir, { recursive: true, force: true });
      await closed;
      assertNoSanitizerReport(stderr);
    },
  };
  server.api = new Api(url, { onSecret: (s) => server.addSecret(s) });
  return server;
}
