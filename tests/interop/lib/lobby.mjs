// Starts a real Lobby process for interop tests: a fresh data dir (SQLite) and memory state,
// on a free loopback port, with the admin API enabled. Talks to it only over HTTP.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import net from 'node:net';

export async function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

// `env` is an object, or a function of the chosen port and public URL returning one (for
// settings that name Lobby's own address, such as LOBBY_PORTAL_URL).
export async function startLobby({ env = {}, host = '127.0.0.1', importYaml } = {}) {
  const bin = process.env.LOBBY_BIN;
  if (!bin) throw new Error('LOBBY_BIN must point at the lobby binary (tests/interop/run.sh sets it)');
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), 'lobby-interop-'));
  const adminToken = 'interop-admin-token-' + Math.random().toString(36).slice(2);
  const publicUrl = `http://${host}:${port}`;
  const fullEnv = {
    PATH: process.env.PATH,
    LOBBY_LISTEN: `127.0.0.1:${port}`,
    LOBBY_PUBLIC_URL: publicUrl,
    LOBBY_DATA_DIR: dataDir,
    LOBBY_ADMIN_TOKEN: adminToken,
    LOBBY_UPSTREAM_ALLOW_PRIVATE: 'true',
    LOBBY_LOG: process.env.LOBBY_LOG || 'warn,lobby=info',
    ...(typeof env === 'function' ? env(port, publicUrl) : env),
  };
  if (importYaml) {
    // The same configuration as the server, so `lobby import` writes to its database.
    const file = join(dataDir, 'tenant.yaml');
    writeFileSync(file, importYaml);
    const r = spawnSync(bin, ['import', file], { env: fullEnv, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`lobby import failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
  }
  const child = spawn(bin, ['serve'], { env: fullEnv, stdio: ['ignore', 'inherit', 'pipe'] });
  let log = '';
  child.stderr.on('data', (d) => {
    log += d;
    if (process.env.LOBBY_INTEROP_VERBOSE) process.stderr.write(d);
  });
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`lobby exited with ${child.exitCode}:\n${log}`);
    try {
      const r = await fetch(`${publicUrl}/readyz`);
      if (r.ok) break;
    } catch {}
    if (Date.now() > deadline) throw new Error(`lobby did not become ready:\n${log}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const admin = async (method, path, body) => {
    const r = await fetch(`${publicUrl}/api/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await r.text();
    const json = text ? JSON.parse(text) : null;
    if (!r.ok) throw new Error(`${method} ${path} → ${r.status}: ${text}`);
    return json;
  };
  return {
    url: publicUrl,
    port,
    pid: child.pid, // for benchmarks that read the process's CPU time
    admin,
    log: () => log,
    async stop() {
      child.kill('SIGTERM');
      await new Promise((r) => (child.exitCode !== null ? r() : child.once('exit', r)));
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
