// Lobby's CPU while idle (no requests): the background work every instance does (the outbox
// worker's poll, timers), as CPU ms per second, over BENCH_IDLE_SECS (30) after a 3 s settle.
//   LOBBY_BIN=… node bench/idle-cpu.mjs      (from tests/interop; BENCH_STORE=embedded|pg not
//   offered here: embedded only)
import { startLobby } from '../lib/lobby.mjs';
import { cpuMs, env, lobbyEnv } from './proc.mjs';

const SECS = env('BENCH_IDLE_SECS', 30);
const lobby = await startLobby({ env: lobbyEnv });
try {
  await new Promise((r) => setTimeout(r, 3000));
  const c0 = cpuMs(lobby.pid);
  await new Promise((r) => setTimeout(r, SECS * 1000));
  const ms = cpuMs(lobby.pid) - c0;
  console.log(JSON.stringify({ idle_cpu_ms_per_s: ms / SECS, secs: SECS }));
} finally {
  await lobby.stop();
}
