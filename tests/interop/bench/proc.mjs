// What the benchmark scripts share: CPU time of processes read from /proc, the load average,
// a numeric setting from the environment, and the environment Lobby is started with.
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { loadavg } from 'node:os';

export const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());

/** A numeric setting from the environment, or `d`. */
export const env = (k, d) => Number(process.env[k] ?? d);

function statFields(pid) {
  const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return s.slice(s.lastIndexOf(')') + 2).split(' '); // [0] is field 3 (state)
}
/** utime + stime (fields 14, 15), plus cutime + cstime (16, 17) of reaped children, in ms. */
const fieldsMs = (f, children = false) =>
  ((Number(f[11]) + Number(f[12]) + (children ? Number(f[13]) + Number(f[14]) : 0)) * 1000) / CLK_TCK;

/** utime + stime of a process (all its threads, live and exited), in ms. */
export const cpuMs = (pid) => fieldsMs(statFields(pid));

/**
 * utime + stime of every process in a process group, plus the leader's reaped children;
 * `allChildren`: plus every member's reaped children (SATOSA's worker runs the `xmlsec1`
 * binary for every signature, and reaps it).
 */
export function groupCpuMs(pgrp, { allChildren = false } = {}) {
  let ms = 0;
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const f = statFields(d);
      if (Number(f[2]) === pgrp) ms += fieldsMs(f, allChildren || Number(d) === pgrp);
    } catch {} // exited meanwhile
  }
  return ms;
}

/**
 * Context switches (voluntary + involuntary) of a process's live threads, from
 * /proc/<pid>/task/<tid>/status: how often its threads went to sleep or were put off the CPU.
 * A request that wakes a second thread shows here before it shows in the (noisier) CPU time.
 */
export function ctxSwitches(pid) {
  let n = 0;
  for (const t of readdirSync(`/proc/${pid}/task`)) {
    try {
      const s = readFileSync(`/proc/${pid}/task/${t}/status`, 'utf8');
      for (const m of s.matchAll(/^(?:non)?voluntary_ctxt_switches:\s+(\d+)$/gm)) n += Number(m[1]);
    } catch {} // exited meanwhile
  }
  return n;
}

/** The median of a list of numbers (the mean of the middle two for an even count). */
export const median = (xs) => {
  const v = [...xs].sort((a, b) => a - b);
  const m = Math.floor(v.length / 2);
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
};

/** The load average, as printed in the results. */
export const load = () => loadavg().map((x) => x.toFixed(2)).join(' ');

/**
 * Lobby's environment in a benchmark: quiet logs, a per-IP rate limit no run reaches (the
 * default, 600 per minute per endpoint class, refuses a run of 300 OIDC logins from the one
 * loopback address with 429; the limiter itself still runs on every request, as in production),
 * and tokio's own worker-thread knob passed on.
 */
export const lobbyEnv = {
  LOBBY_LOG: process.env.LOBBY_LOG || 'warn',
  LOBBY_RATE_LIMIT_PER_IP: process.env.LOBBY_RATE_LIMIT_PER_IP || '1000000',
  // tokio's own knob for the runtime's worker threads (default: one per CPU)
  ...(process.env.TOKIO_WORKER_THREADS ? { TOKIO_WORKER_THREADS: process.env.TOKIO_WORKER_THREADS } : {}),
};
