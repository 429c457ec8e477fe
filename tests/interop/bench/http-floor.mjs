// The floor under broker-cpu.mjs: Lobby's CPU for one plain HTTP exchange on this machine.
// N keep-alive GETs of `/healthz` (no storage, no session, only the middleware stack), the
// same fetch client and concurrency as the login bench, and Lobby's utime + stime per request.
// A brokered OIDC login is 3 (hinted) or 5 such exchanges at Lobby plus 1 from Lobby to the
// IdP, so this says how much of a login's CPU is per-request cost before any work is done.
//
//   LOBBY_BIN=<release binary> node bench/http-floor.mjs      (from tests/interop)
//
// Env: BENCH_N_HTTP (5000), BENCH_CONCURRENCY (6), BENCH_RUNS (3), BENCH_PATH (/healthz),
// BENCH_GAP_MS (0): a pause after each request, so requests arrive as sparsely as the legs of
// a login do (Lobby's threads go idle between them, and each request wakes them again).
import { startLobby } from '../lib/lobby.mjs';
import { cpuMs, env, load, lobbyEnv } from './proc.mjs';

const N = env('BENCH_N_HTTP', 5000);
const CONCURRENCY = env('BENCH_CONCURRENCY', 6);
const RUNS = env('BENCH_RUNS', 3);
const PATH = process.env.BENCH_PATH || '/healthz';
const GAP_MS = env('BENCH_GAP_MS', 0);

async function requests(url, n) {
  let next = 0;
  const worker = async () => {
    while (next < n) {
      next++;
      const res = await fetch(url, { headers: { 'user-agent': 'lobby-bench/1' } });
      await res.arrayBuffer();
      if (res.status !== 200) throw new Error(`${url} → ${res.status}`);
      if (GAP_MS > 0) await new Promise((r) => setTimeout(r, GAP_MS));
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
}

const results = [];
for (let i = 0; i < RUNS; i++) {
  const lobby = await startLobby({ env: lobbyEnv });
  try {
    const url = `${lobby.url}${PATH}`;
    await requests(url, 200);
    const loadStart = load();
    const c0 = cpuMs(lobby.pid), d0 = process.cpuUsage(), t0 = performance.now();
    await requests(url, N);
    const wall = (performance.now() - t0) / 1000;
    const c1 = cpuMs(lobby.pid), d1 = process.cpuUsage(d0);
    const r = {
      path: PATH, run: i + 1, n: N, concurrency: CONCURRENCY, gap_ms: GAP_MS,
      lobby_cpu_us_per_request: ((c1 - c0) * 1000) / N,
      driver_cpu_us_per_request: (d1.user + d1.system) / N,
      requests_per_s: N / wall,
      load_start: loadStart, load_end: load(),
    };
    console.log(JSON.stringify(r));
    results.push(r);
  } finally {
    await lobby.stop();
  }
}
const med = [...results.map((r) => r.lobby_cpu_us_per_request)].sort((a, b) => a - b)[Math.floor(RUNS / 2)];
console.log(`median Lobby CPU per ${PATH} request: ${med.toFixed(1)} µs`);
