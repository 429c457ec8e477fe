// The floor under broker-cpu.mjs: the CPU one plain HTTP exchange costs a server on this
// machine, for Lobby and — with HTTP_FLOOR_BIN — for a bare axum server on the same axum, hyper,
// tokio runtime and allocator (`examples/http_floor.rs`), in interleaved rounds. A brokered
// OIDC login is 3 (hinted) or 5 exchanges at Lobby plus 1 from Lobby to the IdP, so this says
// how much of a login's CPU is per-request cost before any work is done, and how much of that
// is Lobby's own layers rather than what any axum server pays.
//
//   [HTTP_FLOOR_BIN=<target>/release/examples/http_floor] LOBBY_BIN=<release binary> \
//     node bench/http-floor.mjs                                  (from tests/interop)
//
// Cases, each round in a rotated order, every server started once for the whole run:
//   Lobby `GET /healthz`: no storage, no session, only the layers every route has (request
//     id and span, security headers, panic catch, body cap);
//   Lobby `GET /.well-known/openid-configuration`: the browser surface's layers as well (the
//     per-IP rate limit, the session layer, which loads nothing when the handler does not read
//     the session) and a JSON body;
//   Lobby BENCH_PATH, when set (another GET answered with 200);
//   bare `GET /healthz` (the same handler, no layers) and bare `GET /redirect` (a 302 shaped
//     like Lobby's redirect to an IdP: its Location, a Set-Cookie, the security headers).
// Env: BENCH_N_HTTP (5000 per case and round), BENCH_CONCURRENCY (6, the login bench's),
// BENCH_RUNS (3 rounds), BENCH_GAP_MS (0): a pause after each request, so requests arrive as
// sparsely as the legs of a login do (the server's threads go idle between them, and each
// request wakes them again).
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { startLobby } from '../lib/lobby.mjs';
import { cpuMs, env, load, lobbyEnv, median } from './proc.mjs';

const N = env('BENCH_N_HTTP', 5000);
const CONCURRENCY = env('BENCH_CONCURRENCY', 6);
const RUNS = env('BENCH_RUNS', 3);
const GAP_MS = env('BENCH_GAP_MS', 0);

async function requests(url, n, status) {
  let next = 0;
  const worker = async () => {
    while (next < n) {
      next++;
      const res = await fetch(url, { redirect: 'manual', headers: { 'user-agent': 'lobby-bench/1' } });
      await res.arrayBuffer();
      if (res.status !== status) throw new Error(`${url} → ${res.status}, expected ${status}`);
      if (GAP_MS > 0) await new Promise((r) => setTimeout(r, GAP_MS));
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
}

/** The bare server: prints `listening on ADDR`, stopped with SIGKILL (it holds no state). */
async function startBare(bin) {
  const child = spawn(bin, [], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: {
      PATH: process.env.PATH,
      ...(process.env.TOKIO_WORKER_THREADS ? { TOKIO_WORKER_THREADS: process.env.TOKIO_WORKER_THREADS } : {}),
    },
  });
  const line = await new Promise((resolve, reject) => {
    createInterface({ input: child.stdout }).once('line', resolve);
    child.once('error', (e) => reject(new Error(`cannot start ${bin}: ${e.message}`)));
    child.once('exit', (c) => reject(new Error(`${bin} exited with ${c}`)));
  });
  const m = /listening on (\S+)/.exec(line);
  if (!m) throw new Error(`${bin} said: ${line}`);
  return { url: `http://${m[1]}`, pid: child.pid, stop: async () => child.kill('SIGKILL') };
}

// The bare server first: if it cannot start, no Lobby is left running.
const bare = process.env.HTTP_FLOOR_BIN ? await startBare(process.env.HTTP_FLOOR_BIN) : null;
let lobby;
try {
  lobby = await startLobby({ env: lobbyEnv });
} catch (e) {
  await bare?.stop();
  throw e;
}
const cases = [
  ['Lobby GET /healthz', lobby, '/healthz', 200],
  ['Lobby GET /.well-known/openid-configuration', lobby, '/.well-known/openid-configuration', 200],
  ...(process.env.BENCH_PATH ? [[`Lobby GET ${process.env.BENCH_PATH}`, lobby, process.env.BENCH_PATH, 200]] : []),
  ...(bare
    ? [
        ['bare axum GET /healthz', bare, '/healthz', 200],
        ['bare axum GET /redirect (302)', bare, '/redirect', 302],
      ]
    : []),
];
const results = cases.map(() => []);
try {
  for (const [, server, path, status] of cases) await requests(server.url + path, 200, status);
  for (let round = 0; round < RUNS; round++) {
    for (let j = 0; j < cases.length; j++) {
      const i = (j + round) % cases.length;
      const [name, server, path, status] = cases[i];
      const loadStart = load();
      const c0 = cpuMs(server.pid), d0 = process.cpuUsage(), t0 = performance.now();
      await requests(server.url + path, N, status);
      const wall = (performance.now() - t0) / 1000;
      const c1 = cpuMs(server.pid), d1 = process.cpuUsage(d0);
      const r = {
        case: name, round: round + 1, n: N, concurrency: CONCURRENCY, gap_ms: GAP_MS,
        server_cpu_us_per_request: ((c1 - c0) * 1000) / N,
        driver_cpu_us_per_request: (d1.user + d1.system) / N,
        requests_per_s: N / wall,
        load_start: loadStart, load_end: load(),
      };
      console.log(JSON.stringify(r));
      results[i].push(r.server_cpu_us_per_request);
    }
  }
} finally {
  await lobby.stop();
  await bare?.stop();
}
console.log(`\n${N} requests per case and round, ${RUNS} rounds, ${CONCURRENCY} in flight, gap ${GAP_MS} ms`);
console.log('| case | server µs CPU per request, per round | **median** |');
console.log('|---|---|---:|');
cases.forEach(([name], i) => {
  console.log(`| ${name} | ${results[i].map((x) => x.toFixed(1)).join(', ')} | **${median(results[i]).toFixed(1)}** |`);
});
