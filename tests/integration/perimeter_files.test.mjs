// The data directory and the SQLite files are private whatever the umask, and a looser existing
// directory is named in a warning at start.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { startServer, makeTempDir, ms } from './lib/server.mjs';

const mode = async (p) => (await stat(p)).mode & 0o777;

/** Resolves once `pred(stderr)` holds, polling the captured log; fails after `timeoutMs`. */
async function waitForLog(server, pred, timeoutMs = ms(10000)) {
  const deadline = Date.now() + timeoutMs;
  while (!pred(server.stderrText())) {
    if (Date.now() > deadline) throw new Error(`log line not seen:\n${server.stderrText().slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('with umask 000 the data dir is 0700 and parley.db, -wal and -shm are 0600', async () => {
  const base = await makeTempDir('parley-files-');
  const dataDir = path.join(base, 'nested', 'data');
  const old = process.umask(0o000);
  let server;
  try {
    // Both the operator command (app create) and serve run with the child's inherited umask 000.
    server = await startServer({ apps: ['a'], dataDir });
  } finally {
    process.umask(old);
  }
  try {
    // A write, so that the WAL holds something.
    const u = await server.api.platform(server.apps.a).createUser('perm-user');
    assert.equal(u.status, 201);
    assert.equal(await mode(dataDir), 0o700);
    const db = path.join(dataDir, 'parley.db');
    assert.equal(await mode(db), 0o600, 'parley.db');
    assert.equal(await mode(`${db}-wal`), 0o600, 'parley.db-wal');
    assert.equal(await mode(`${db}-shm`), 0o600, 'parley.db-shm');
    assert.doesNotMatch(server.stderrText(), /"event":"data_(dir|file)_permissions"/);
  } finally {
    await server.stop();
    await rm(base, { recursive: true, force: true });
  }
});

test('an existing 0755 data dir and a 0644 database are named in warnings at start', async () => {
  const base = await makeTempDir('parley-files-');
  const dataDir = path.join(base, 'data');
  await mkdir(dataDir);
  await chmod(dataDir, 0o755);
  let server = await startServer({ apps: ['a'], dataDir });
  try {
    await waitForLog(server, (log) => /"event":"data_dir_permissions"/.test(log));
    const line = server.stderrText().split('\n').find((l) => l.includes('"data_dir_permissions"'));
    const entry = JSON.parse(line);
    assert.equal(entry.path, dataDir);
    assert.equal(entry.mode, '0755');
    // The server leaves an operator's directory as it found it.
    assert.equal(await mode(dataDir), 0o755);
    await server.stop();
    // A database made readable by others is named too.
    await chmod(path.join(dataDir, 'parley.db'), 0o644);
    server = await startServer({ apps: [], dataDir });
    await waitForLog(server, (log) => /"event":"data_file_permissions".*parley\.db"/.test(log));
  } finally {
    await server.stop();
    await rm(base, { recursive: true, force: true });
  }
});
