// Broker CPU per brokered login: N full sign-ins through a broker to an org's own IdP, and the
// CPU time the broker's process(es) spent on them (utime + stime from /proc/<pid>/stat),
// divided by N. Brokers: Lobby (OIDC federation to oidc-provider, SAML federation to
// SimpleSAMLphp) and, as the peer, SATOSA (OIDC frontend → SAML backend → the same
// SimpleSAMLphp; bench/satosa.mjs).
//
// No browser: each login is driven with fetch and a fresh per-login cookie jar that follows the
// browser's SameSite rules (lib/nojs-browser.mjs), so every login is a full login (no SSO
// shortcut at the broker or the IdP), by the same returning user (linked by the warm-up):
//   app → broker /authorize → [Lobby: /login form (flow + CSRF) → email] → IdP → IdP login form
//   → back to the broker (OIDC callback, or SAML ACS POST [+ Lobby's `continue`]) → app
//   redirect_uri with code → app's code exchange at the broker's token endpoint
//   (client_secret_basic), ID token signature and claims checked.
//
//   node broker-cpu.mjs [oidc|saml|satosa|refresh|all|compare]   (LOBBY_BIN: a release binary;
//                                                                  run.sh, compare.sh)
// `refresh` measures the refresh grant alone over HTTP (CPU per refresh, and refreshes per
// CPU-second), on the OIDC set-up: BENCH_N_REFRESH (3000) refreshes in CONCURRENCY chains.
// `compare` runs, interleaved round by round, every Lobby scenario on both stores next to
// SATOSA, in both connection modes, and prints the summary table (bench/compare.sh).
// Each run also prints one JSON line: besides the CPU figures, the IdP's own CPU per login
// (`idp_cpu_ms_per_login`: the same work in every case, so Lobby's figure divided by it takes
// out most of a noisy machine's drift) and Lobby's context switches per login
// (`broker_switches_per_login`, all its threads: a request waking a second thread shows there).
//
// Environment: BENCH_N_OIDC (500), BENCH_N_SAML (300), BENCH_WARMUP (20), BENCH_CONCURRENCY (6),
// BENCH_RUNS (3), BENCH_PERF=<dir>: record `perf` on Lobby during the first run's measured part,
// BENCH_ORG_HINT=1: the app names the org (`organization=acme`), so Lobby skips its email page,
// BENCH_STORE=embedded|pg (embedded: SQLite + memory state; pg: a fresh PostgreSQL database on
// BENCH_DATABASE_URL's server + Redis at BENCH_REDIS_URL, database 14),
// BENCH_CONNS=keepalive|fresh (keepalive: one connection pool for the whole run; fresh: a new
// connection set for every login, closed after it).
import { fork, spawn, spawnSync } from 'node:child_process';
import { createHash, createPublicKey, randomBytes, verify } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { cpus } from 'node:os';
import { createInterface } from 'node:readline';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Agent } from 'undici';
import { startLobby } from '../lib/lobby.mjs';
import { startSamlIdp } from '../lib/idp-saml.mjs';
import { acmeCrmTenant } from '../lib/tenant.mjs';
import { Jar, browse, fetchVia } from '../lib/nojs-browser.mjs';
import { startSatosa } from './satosa.mjs';
import { CLK_TCK, cpuMs, ctxSwitches, env, groupCpuMs, load, lobbyEnv, median } from './proc.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const WARMUP = env('BENCH_WARMUP', 20);
const CONCURRENCY = env('BENCH_CONCURRENCY', 6);
const RUNS = env('BENCH_RUNS', 3);
const ORG_HINT = process.env.BENCH_ORG_HINT === '1';
const STEP_TIMEOUT_MS = 15000;
const PG_URL = process.env.BENCH_DATABASE_URL || process.env.LOBBY_TEST_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test';
const REDIS_URL = process.env.BENCH_REDIS_URL || process.env.LOBBY_TEST_REDIS_URL || 'redis://127.0.0.1:6379';
const redisDb = (db) => Object.assign(new URL(REDIS_URL), { pathname: `/${db}` }).href;

const USER = { email: 'alice@acme.test', password: 'alice-idp-password-1', name: 'Alice Acme' };
const APP = { id: 'crm', client_id: 'crm', client_secret: 'crm-bench-secret-0123456789-abcdefgh' };
// The app's redirect_uri: never fetched (the driver stops at the redirect), so nothing listens.
APP.redirect_uri = 'http://localhost:9/cb';

// ---------------------------------------------------------------------------------------------
// The app's side: authorization request (PKCE S256), code exchange, ID token checks.

const b64url = (b) => Buffer.from(b).toString('base64url');

/** The broker's discovery document and JWKS; `claimsOk(claims)` checks the broker's claims. */
async function appSetup(url, claimsOk) {
  const meta = await (await fetch(`${url}/.well-known/openid-configuration`)).json();
  const jwks = await (await fetch(meta.jwks_uri)).json();
  return { meta, claimsOk, keys: new Map(jwks.keys.map((k) => [k.kid, createPublicKey({ key: k, format: 'jwk' })])) };
}

const sigOk = (header, key, input, sig) => key && (
  header.alg === 'ES256' ? verify('sha256', input, { key, dsaEncoding: 'ieee-p1363' }, sig)
    : header.alg === 'RS256' ? verify('sha256', input, key, sig) : false);

let traced = false;
async function login(app, user, dispatcher) {
  const verifier = b64url(randomBytes(32));
  const state = b64url(randomBytes(16));
  const nonce = b64url(randomBytes(16));
  const auth = new URL(app.meta.authorization_endpoint);
  auth.search = new URLSearchParams({
    response_type: 'code', client_id: APP.client_id, redirect_uri: APP.redirect_uri,
    scope: 'openid email profile', state, nonce, code_challenge_method: 'S256',
    code_challenge: b64url(createHash('sha256').update(verifier).digest()),
    // BENCH_ORG_HINT=1: the app names the org (`organization`), as B2B apps that know their
    // tenant do; Lobby then skips the email page (SATOSA ignores the parameter).
    ...(ORG_HINT ? { organization: 'acme' } : {}),
  }).toString();
  const { cb, trail } = await browse(new Jar(), auth, user, { until: APP.redirect_uri, dispatcher, timeoutMs: STEP_TIMEOUT_MS });
  if (!traced) {
    traced = true;
    console.log(`  one login's requests:\n    ${trail.join('\n    ')}\n    POST ${app.meta.token_endpoint}`);
  }
  if (cb.searchParams.get('state') !== state || !cb.searchParams.get('code')) {
    throw new Error(`bad callback: ${cb.href}`);
  }
  const res = await fetchVia(dispatcher)(app.meta.token_endpoint, {
    signal: AbortSignal.timeout(STEP_TIMEOUT_MS),
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: 'Basic ' + Buffer.from(`${APP.client_id}:${APP.client_secret}`).toString('base64'),
    },
    body: new URLSearchParams({ grant_type: 'authorization_code', code: cb.searchParams.get('code'), redirect_uri: APP.redirect_uri, code_verifier: verifier }),
    ...(dispatcher ? { dispatcher } : {}),
  });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`token endpoint → ${res.status}: ${text}`);
  const tok = JSON.parse(text);
  if (!tok.id_token || !tok.access_token) throw new Error(`token response without id_token/access_token: ${text}`);
  const [h, p, s] = tok.id_token.split('.');
  const header = JSON.parse(Buffer.from(h, 'base64url'));
  const claims = JSON.parse(Buffer.from(p, 'base64url'));
  if (!sigOk(header, app.keys.get(header.kid), Buffer.from(`${h}.${p}`), Buffer.from(s, 'base64url'))) {
    throw new Error(`ID token not signed by a key of the broker's JWKS: ${JSON.stringify(header)}`);
  }
  if (claims.iss !== app.meta.issuer || claims.aud !== APP.client_id && !claims.aud?.includes?.(APP.client_id)
      || claims.nonce !== nonce || claims.email !== user.email || !app.claimsOk(claims)) {
    throw new Error(`unexpected ID token claims: ${JSON.stringify(claims)}`);
  }
  return tok;
}

/**
 * `refresh`: the refresh grant alone. One login per chain (CONCURRENCY chains) gives each its
 * refresh token; then n refreshes in all, each chain refreshing with the token it received
 * last (client_secret_basic; new ID token signature checked as at login).
 */
async function refreshChains(app, user, dispatcher) {
  const chains = [];
  for (let i = 0; i < CONCURRENCY; i++) chains.push((await login(app, user, dispatcher)).refresh_token);
  return chains;
}

async function refreshes(n, app, chains, dispatcher) {
  let next = 0;
  const chain = async (k) => {
    while (next < n) {
      next++;
      const res = await fetchVia(dispatcher)(app.meta.token_endpoint, {
        signal: AbortSignal.timeout(STEP_TIMEOUT_MS),
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          authorization: 'Basic ' + Buffer.from(`${APP.client_id}:${APP.client_secret}`).toString('base64'),
        },
        body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: chains[k] }),
        ...(dispatcher ? { dispatcher } : {}),
      });
      const text = await res.text();
      if (res.status !== 200) throw new Error(`refresh → ${res.status}: ${text}`);
      const tok = JSON.parse(text);
      const [h, p, sg] = tok.id_token.split('.');
      const header = JSON.parse(Buffer.from(h, 'base64url'));
      if (!sigOk(header, app.keys.get(header.kid), Buffer.from(`${h}.${p}`), Buffer.from(sg, 'base64url'))) {
        throw new Error('refreshed ID token not signed by a key of the broker\'s JWKS');
      }
      chains[k] = tok.refresh_token;
    }
  };
  await Promise.all(chains.map((_, k) => chain(k)));
}

/**
 * n logins, `CONCURRENCY` in flight; the first error stops the run. Connection modes:
 * keepalive — one pool for all logins (connections reused across logins); fresh — every login
 * opens its own connections (reused within that login only) and closes them at its end.
 */
async function logins(n, app, user, conns) {
  let next = 0;
  const shared = conns === 'keepalive' ? new Agent() : null;
  const worker = async () => {
    while (next < n) {
      next++;
      const own = shared ? null : new Agent();
      try {
        await login(app, user, shared || own);
      } finally {
        await own?.close();
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(CONCURRENCY, n) }, worker));
  } finally {
    await shared?.close();
  }
}

// ---------------------------------------------------------------------------------------------
// Lobby's storage: embedded (SQLite in a fresh data dir + memory state), or pg (a fresh
// PostgreSQL database, dropped at the end, + Redis database 14).

function psql(sql) {
  const r = spawnSync('psql', [PG_URL, '-v', 'ON_ERROR_STOP=1', '-qtAc', sql], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`psql ${sql}: ${r.stderr || r.error}`);
}

/** Empties one of the bench's own Redis databases (12: SATOSA, 14: Lobby) after a run. */
function flushRedis(db) {
  const r = spawnSync('redis-cli', ['-u', redisDb(db), 'flushdb'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`redis-cli flushdb: ${r.stderr || r.error}`);
}

async function lobbyOn(store) {
  if (store === 'embedded') return startLobby({ env: lobbyEnv });
  if (store !== 'pg') throw new Error(`BENCH_STORE: embedded or pg, not ${store}`);
  const db = `lobby_bench_${randomBytes(5).toString('hex')}`;
  psql(`CREATE DATABASE ${db}`);
  try {
    const lobby = await startLobby({
      env: {
        ...lobbyEnv,
        LOBBY_DATABASE_URL: Object.assign(new URL(PG_URL), { pathname: `/${db}` }).href,
        LOBBY_REDIS_URL: redisDb(14),
        LOBBY_SECRET_KEY: randomBytes(32).toString('base64'),
      },
    });
    const stop = lobby.stop;
    lobby.stop = async () => {
      await stop();
      psql(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
      flushRedis(14);
    };
    return lobby;
  } catch (e) {
    psql(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
    throw e;
  }
}

// ---------------------------------------------------------------------------------------------
// The tenant: app `crm` (ES256 tokens), org acme with verified domain acme.test, linked to the
// app with JIT (the warm-up's first login creates alice, all later logins are a returning user).

const tenant = (lobby) => acmeCrmTenant(lobby, { ...APP, signing_alg: 'ES256' });
const lobbyClaims = (idp) => (c) => c.org_id === 'acme' && c.idp === idp;

async function samlIdp() {
  return startSamlIdp({ users: { [USER.email]: { password: USER.password, name: USER.name } } });
}

/** Each scenario: { broker, brokerCpu(), idpCpu(), app, stop() }. */
const SCENARIOS = {
  async oidc({ store }) {
    const lobby = await lobbyOn(store);
    const conn = 'acme-oidc';
    const idpClient = { client_id: 'lobby-at-acme', client_secret: 'acme-idp-secret-for-lobby-0123456789' };
    const child = fork(join(HERE, 'oidc-idp-process.mjs'), { stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
    // oidc-provider's start-up notices (dev adapter, default TTLs) are noise here.
    for (const out of [child.stdout, child.stderr]) {
      createInterface({ input: out }).on('line', (l) => /^(\x1b\[[\d;]*m)*oidc-provider /.test(l) || console.error(l));
    }
    const exited = new Promise((_, j) => child.once('exit', (c) => j(new Error(`the IdP process exited (${c})`))));
    exited.catch(() => {}); // an exit after start-up (the normal stop) is nobody's error
    await Promise.race([new Promise((r) => child.once('message', r)), exited]); // { ready }
    child.send({
      users: { [USER.email]: { sub: 'idp-alice', password: USER.password, email_verified: true, name: USER.name } },
      clients: [{ ...idpClient, redirect_uris: [`${lobby.url}/sso/oidc/${conn}/callback`] }],
    });
    const { issuer, error } = await Promise.race([new Promise((r) => child.once('message', r)), exited]);
    if (error) throw new Error(error);
    await tenant(lobby);
    await lobby.admin('POST', '/orgs/acme/connections', {
      id: conn, name: 'Acme corporate IdP', state: 'active',
      config: { kind: 'oidc', issuer, ...idpClient, scopes: ['openid', 'email', 'profile'] },
    });
    return {
      lobby, brokerCpu: () => cpuMs(lobby.pid), idpCpu: () => cpuMs(child.pid),
      app: await appSetup(lobby.url, lobbyClaims(conn)),
      async stop() { child.disconnect(); await lobby.stop(); },
    };
  },
  async saml({ store }) {
    const idp = await samlIdp();
    const lobby = await lobbyOn(store);
    const conn = 'acme-saml';
    await tenant(lobby);
    await lobby.admin('POST', '/orgs/acme/connections', {
      id: conn, name: 'Acme SAML', state: 'active',
      config: { kind: 'saml', idp_metadata_url: idp.metadataUrl, attributes: { email: 'email', name: 'name' } },
    });
    idp.setSpMetadata(await (await fetch(`${lobby.url}/sso/saml/${conn}/metadata`)).text());
    return {
      lobby, brokerCpu: () => cpuMs(lobby.pid), idpCpu: () => groupCpuMs(idp.pid),
      app: await appSetup(lobby.url, lobbyClaims(conn)),
      async stop() { await lobby.stop(); await idp.close(); },
    };
  },
  // The peer: SATOSA under gunicorn, its frontend's state in Redis database 12. `store` does not
  // apply (SATOSA keeps no database); its broker CPU is every process of gunicorn's group (the
  // master, the worker) and the `xmlsec1` processes pysaml2 runs for each signature.
  async satosa() {
    const idp = await samlIdp();
    try {
      const satosa = await startSatosa({ idp, app: APP, redisUrl: redisDb(12) });
      return {
        brokerCpu: () => groupCpuMs(satosa.pid, { allChildren: true }), brokerOwnCpu: () => groupCpuMs(satosa.pid), idpCpu: () => groupCpuMs(idp.pid),
        app: await appSetup(satosa.url, () => true),
        async stop() { await satosa.stop(); await idp.close(); flushRedis(12); },
      };
    } catch (e) {
      await idp.close();
      throw e;
    }
  },
};

// the default count is per login kind (`refresh`: refresh grants, after one login per chain)
const N = { oidc: env('BENCH_N_OIDC', 500), saml: env('BENCH_N_SAML', 300), satosa: env('BENCH_N_SAML', 300), refresh: env('BENCH_N_REFRESH', 3000) };
// `refresh` runs on the OIDC set-up (app crm with ES256 tokens, org acme, oidc-provider)
SCENARIOS.refresh = SCENARIOS.oidc;

async function perfAttach(pid, dir, name) {
  mkdirSync(dir, { recursive: true });
  const out = join(dir, `perf-${name}.data`);
  const p = spawn('perf', ['record', '-e', 'cpu-clock', '-F', '499', '--call-graph', 'dwarf,32768', '-p', String(pid), '-o', out], { stdio: ['ignore', 'ignore', 'inherit'] });
  await new Promise((r) => setTimeout(r, 500));
  return async () => {
    p.kill('SIGINT');
    await new Promise((r) => (p.exitCode !== null ? r() : p.once('exit', r)));
    console.log(`  perf data: ${out}`);
  };
}

/** One run of one case { scenario, store, conns }: a fresh broker and IdP, warm-up, N logins. */
async function run(c, i) {
  const loadStart = load();
  const s = await SCENARIOS[c.scenario](c);
  try {
    traced = i > 0; // show the path of the first login of each case
    await logins(WARMUP, s.app, USER, c.conns);
    // Control: the broker's CPU while idle for 2 s (background tasks), for comparison.
    const idle0 = s.brokerCpu();
    await new Promise((r) => setTimeout(r, 2000));
    const idleMsPerS = (s.brokerCpu() - idle0) / 2;
    const stopPerf = process.env.BENCH_PERF && i === 0 && s.lobby ? await perfAttach(s.lobby.pid, process.env.BENCH_PERF, c.scenario) : null;
    const n = N[c.scenario];
    const own = s.brokerOwnCpu || s.brokerCpu;
    // `refresh`: one keep-alive pool; the chains' logins happen before the measured part.
    const pool = c.scenario === 'refresh' ? new Agent() : null;
    const chains = pool ? await refreshChains(s.app, USER, pool) : null;
    const switches = () => (s.lobby ? ctxSwitches(s.lobby.pid) : NaN);
    const c0 = s.brokerCpu(), o0 = own(), i0 = s.idpCpu(), x0 = switches(), d0 = process.cpuUsage(), t0 = performance.now();
    if (pool) {
      try {
        await refreshes(n, s.app, chains, pool);
      } finally {
        await pool.close();
      }
    } else {
      await logins(n, s.app, USER, c.conns);
    }
    const wall = (performance.now() - t0) / 1000;
    const c1 = s.brokerCpu(), o1 = own(), i1 = s.idpCpu(), x1 = switches(), d1 = process.cpuUsage(d0);
    await stopPerf?.();
    const r = {
      ...c, run: i + 1, n, concurrency: CONCURRENCY, org_hint: ORG_HINT,
      broker_cpu_ms_per_login: (c1 - c0) / n,
      // without the processes the broker ran and reaped (SATOSA's xmlsec1); Lobby runs none
      broker_own_cpu_ms_per_login: (o1 - o0) / n,
      // Lobby's threads only (not SATOSA's processes)
      broker_switches_per_login: (x1 - x0) / n,
      logins_per_s: n / wall,
      wall_s: wall,
      idp_cpu_ms_per_login: (i1 - i0) / n,
      driver_cpu_ms_per_login: (d1.user + d1.system) / 1000 / n,
      broker_idle_cpu_ms_per_s: idleMsPerS,
      load_start: loadStart, load_end: load(),
    };
    console.log(JSON.stringify(r));
    return r;
  } finally {
    await s.stop();
  }
}

const f2 = (x) => x.toFixed(2);
const label = (c) => (c.scenario === 'satosa' ? 'SATOSA (SAML)' : `Lobby ${c.scenario.toUpperCase()}, ${c.store}`) + `, ${c.conns}`;

const which = process.argv[2] || 'all';
const conns = process.env.BENCH_CONNS || 'keepalive';
const store = process.env.BENCH_STORE || 'embedded';
let cases;
if (which === 'compare') {
  cases = [];
  for (const cm of ['keepalive', 'fresh']) {
    for (const st of ['embedded', 'pg']) cases.push({ scenario: 'saml', store: st, conns: cm });
    cases.push({ scenario: 'satosa', store: '-', conns: cm });
    for (const st of ['embedded', 'pg']) cases.push({ scenario: 'oidc', store: st, conns: cm });
  }
} else {
  const names = which === 'all' ? ['oidc', 'saml'] : [which];
  if (!names.every((n) => n in SCENARIOS)) throw new Error('usage: broker-cpu.mjs [oidc|saml|satosa|refresh|all|compare]');
  cases = names.map((scenario) => ({ scenario, store: scenario === 'satosa' ? '-' : store, conns }));
}
console.log(`# ${cpus().length} CPUs (${cpus()[0].model}), CLK_TCK ${CLK_TCK}, concurrency ${CONCURRENCY}, warm-up ${WARMUP}, runs ${RUNS}, N oidc ${N.oidc} saml ${N.saml}, org hint ${ORG_HINT}, load ${load()}`);
// Round by round, every case once per round, so the machine's drift hits all cases alike.
const results = cases.map(() => []);
for (let i = 0; i < RUNS; i++) {
  for (const [k, c] of cases.entries()) results[k].push(await run(c, i));
}
const table = ['| case | run | N | broker CPU ms/login | logins/s (wall) | IdP CPU ms/login | load avg start → end |', '|---|---|---|---:|---:|---:|---|'];
const med = new Map();
for (const [k, c] of cases.entries()) {
  const rs = results[k];
  for (const r of rs) {
    table.push(`| ${label(c)} | ${r.run} | ${r.n} | ${f2(r.broker_cpu_ms_per_login)} | ${r.logins_per_s.toFixed(1)} | ${f2(r.idp_cpu_ms_per_login)} | ${r.load_start} → ${r.load_end} |`);
  }
  const m = { cpu: median(rs.map((r) => r.broker_cpu_ms_per_login)), own: median(rs.map((r) => r.broker_own_cpu_ms_per_login)), idp: median(rs.map((r) => r.idp_cpu_ms_per_login)), lps: median(rs.map((r) => r.logins_per_s)) };
  med.set(`${c.scenario}/${c.store}/${c.conns}`, m);
  table.push(`| **${label(c)}** | **median** | | **${f2(m.cpu)}** | **${m.lps.toFixed(1)}** | ${f2(m.idp)} | |`);
}
console.log('\n' + table.join('\n'));
if (which === 'compare') {
  // The summary: Lobby against the peer measured in the same rounds.
  const rows = ['| figure | connections | Lobby store | Lobby CPU ms/login (median) | peer | peer CPU ms/login (median) | Lobby ÷ peer |', '|---|---|---|---:|---|---:|---:|'];
  for (const cm of ['keepalive', 'fresh']) {
    const sat = med.get(`satosa/-/${cm}`);
    for (const st of ['embedded', 'pg']) {
      const l = med.get(`saml/${st}/${cm}`);
      rows.push(`| broker CPU per SAML login | ${cm} | ${st} | ${f2(l.cpu)} | SATOSA (gunicorn + its xmlsec1 runs) | ${f2(sat.cpu)} | **${(l.cpu / sat.cpu).toFixed(3)}** |`);
      rows.push(`| … SATOSA's Python processes only | ${cm} | ${st} | ${f2(l.cpu)} | SATOSA (gunicorn only) | ${f2(sat.own)} | ${(l.cpu / sat.own).toFixed(3)} |`);
    }
    for (const st of ['embedded', 'pg']) {
      const l = med.get(`oidc/${st}/${cm}`);
      rows.push(`| Lobby CPU per OIDC login vs the IdP's for the same logins | ${cm} | ${st} | ${f2(l.cpu)} | oidc-provider (IdP) | ${f2(l.idp)} | **${(l.cpu / l.idp).toFixed(3)}** |`);
    }
  }
  console.log('\n' + rows.join('\n'));
}
