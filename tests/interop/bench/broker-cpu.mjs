// Broker CPU per brokered login (OIDC and SAML federation): N full sign-ins through Lobby to an org's own
// IdP — oidc-provider (OIDC) or SimpleSAMLphp (SAML) — and the CPU time the Lobby process spent
// on them (utime + stime from /proc/<pid>/stat), divided by N.
//
// No browser: each login is driven with fetch and a fresh per-login cookie jar that follows the
// browser's SameSite rules, so every login is a full login (no SSO shortcut at Lobby or the
// IdP), by the same returning user (linked to the org by the warm-up):
//   app → Lobby /authorize → /login form (flow + CSRF) → email → IdP → IdP login form →
//   back to Lobby (OIDC callback, or SAML ACS POST + `continue`) → app redirect_uri with code →
//   app's code exchange at Lobby's /token (client_secret_basic, PKCE S256), ID token checked.
//
//   node broker-cpu.mjs [oidc|saml|all]     (LOBBY_BIN must point at a release binary; run.sh)
//
// Environment: BENCH_N_OIDC (500), BENCH_N_SAML (300), BENCH_WARMUP (20), BENCH_CONCURRENCY (6),
// BENCH_RUNS (3), BENCH_PERF=<dir>: record `perf` on Lobby during the first run's measured part.
import { fork, spawn } from 'node:child_process';
import { createHash, createPublicKey, randomBytes, verify } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { cpus } from 'node:os';
import { createInterface } from 'node:readline';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startLobby } from '../lib/lobby.mjs';
import { startSamlIdp } from '../lib/idp-saml.mjs';
import { acmeCrmTenant } from '../lib/tenant.mjs';
import { CLK_TCK, cpuMs, env, groupCpuMs, load, lobbyEnv } from './proc.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const WARMUP = env('BENCH_WARMUP', 20);
const CONCURRENCY = env('BENCH_CONCURRENCY', 6);
const RUNS = env('BENCH_RUNS', 3);
const ORG_HINT = process.env.BENCH_ORG_HINT === '1';
const STEP_TIMEOUT_MS = 15000;

const USER = { email: 'alice@acme.test', password: 'alice-idp-password-1', name: 'Alice Acme' };
const APP = { id: 'crm', client_id: 'crm', client_secret: 'crm-bench-secret-0123456789-abcdefgh' };
// The app's redirect_uri: never fetched (the driver stops at the redirect), so nothing listens.
APP.redirect_uri = 'http://localhost:9/cb';

// ---------------------------------------------------------------------------------------------
// A browser without JavaScript: a cookie jar with SameSite, redirects followed by hand, forms
// parsed from the HTML and submitted (auto-POST forms included).

const siteOf = (u) => `${u.protocol}//${u.hostname}`; // loopback hosts: the host is the site

class Jar {
  cookies = []; // { name, value, host, path, sameSite }

  store(url, res) {
    for (const line of res.headers.getSetCookie()) {
      const [pair, ...attrs] = line.split(';').map((s) => s.trim());
      const eq = pair.indexOf('=');
      const c = { name: pair.slice(0, eq), value: pair.slice(eq + 1), host: url.hostname, sameSite: 'lax' };
      c.path = url.pathname.slice(0, url.pathname.lastIndexOf('/')) || '/';
      let gone = false;
      for (const a of attrs) {
        const [k, v = ''] = a.split('=');
        const key = k.toLowerCase();
        if (key === 'path' && v.startsWith('/')) c.path = v;
        else if (key === 'samesite') c.sameSite = v.toLowerCase();
        else if (key === 'max-age' && Number(v) <= 0) gone = true;
        else if (key === 'expires' && Date.parse(v) < Date.now()) gone = true;
      }
      this.cookies = this.cookies.filter((o) => !(o.name === c.name && o.host === c.host && o.path === c.path));
      if (!gone) this.cookies.push(c);
    }
  }

  /** The Cookie header for a top-level navigation to `url` started from a page of `initiator`. */
  header(url, method, initiator) {
    const crossSite = initiator !== null && initiator !== siteOf(url);
    const sent = this.cookies.filter((c) => c.host === url.hostname
      && (url.pathname === c.path || url.pathname.startsWith(c.path.endsWith('/') ? c.path : c.path + '/'))
      && (!crossSite || c.sameSite === 'none' || (c.sameSite === 'lax' && method === 'GET')));
    return sent.map((c) => `${c.name}=${c.value}`).join('; ');
  }
}

const ENTITIES = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
const unescapeHtml = (s) => s.replace(/&(#x[0-9a-f]+|#\d+|\w+);/gi, (m, e) => {
  if (e[0] === '#') return String.fromCodePoint(e[1] === 'x' || e[1] === 'X' ? parseInt(e.slice(2), 16) : Number(e.slice(1)));
  return ENTITIES[e.toLowerCase()] ?? m;
});
const attrs = (tag) => Object.fromEntries([...tag.matchAll(/([\w-]+)\s*=\s*(?:"([^"]*)"|'([^']*)')/g)]
  .map(([, k, v1, v2]) => [k.toLowerCase(), unescapeHtml(v1 ?? v2)]));

/** The page's POST forms: { action, fields: {name: value}, names: Set }. */
function forms(html, base) {
  return [...html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/gi)].map(([, open, body]) => {
    const a = attrs(open);
    const fields = {};
    for (const [tag] of body.matchAll(/<(?:input|button)\b[^>]*>/gi)) {
      const i = attrs(tag);
      if (i.name && !(tag.toLowerCase().startsWith('<button') && !i.value)) fields[i.name] = i.value ?? '';
    }
    return { method: (a.method || 'get').toUpperCase(), action: new URL(a.action ?? '', base), fields };
  });
}

/**
 * Navigates like a browser from `url` until a redirect to the app's redirect_uri, filling the
 * forms met on the way: Lobby's email page, the IdP's login page, auto-POST forms. Returns the
 * callback URL and the steps taken (a failure shows them all).
 */
async function browse(jar, url, user) {
  let req = { url: new URL(url), method: 'GET', body: undefined, initiator: null };
  const trail = [];
  const fail = (why, text = '') => {
    throw new Error(`${why}\n  path: ${trail.join('\n        ')}\n  page: ${text.replace(/\s+/g, ' ').slice(0, 1500)}`);
  };
  for (let step = 0; step < 25; step++) {
    if (req.url.href.startsWith(APP.redirect_uri)) return { cb: req.url, trail };
    const headers = { 'user-agent': 'lobby-bench/1' };
    const cookie = jar.header(req.url, req.method, req.initiator);
    if (cookie) headers.cookie = cookie;
    if (req.body) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      headers.origin = req.initiator;
    }
    // A step that hangs fails the run with the path so far instead of stalling it.
    let res;
    try {
      res = await fetch(req.url, {
        method: req.method, headers, body: req.body, redirect: 'manual', signal: AbortSignal.timeout(STEP_TIMEOUT_MS),
      });
    } catch (e) {
      fail(`${req.method} ${req.url.href.slice(0, 140)}: ${e.message}`);
    }
    jar.store(req.url, res);
    trail.push(`${req.method} ${req.url.href.slice(0, 140)} → ${res.status}`);
    if (res.status >= 300 && res.status < 400) {
      await res.arrayBuffer();
      const keep = res.status === 307 || res.status === 308;
      req = { url: new URL(res.headers.get('location'), req.url), method: keep ? req.method : 'GET', body: keep ? req.body : undefined, initiator: req.initiator };
      continue;
    }
    const html = await res.text();
    if (res.status !== 200) fail(`unexpected ${res.status}`, html);
    const f = forms(html, req.url).find((x) => x.method === 'POST');
    if (!f) fail('page without a form', html);
    const fields = { ...f.fields };
    if ('SAMLResponse' in fields || 'SAMLRequest' in fields) {
      // auto-POST page (script-submitted): sent as is
    } else if ('password' in fields) {
      fields.username = user.email;
      fields.password = user.password;
    } else if ('email' in fields) {
      fields.email = user.email;
    } else {
      fail('unknown form', html);
    }
    req = { url: f.action, method: 'POST', body: new URLSearchParams(fields).toString(), initiator: siteOf(req.url) };
  }
  fail('too many steps');
}

// ---------------------------------------------------------------------------------------------
// The app's side: authorization request (PKCE S256), code exchange, ID token checks.

const b64url = (b) => Buffer.from(b).toString('base64url');

async function appSetup(lobby) {
  const meta = await (await fetch(`${lobby.url}/.well-known/openid-configuration`)).json();
  const jwks = await (await fetch(meta.jwks_uri)).json();
  return { meta, keys: new Map(jwks.keys.map((k) => [k.kid, createPublicKey({ key: k, format: 'jwk' })])) };
}

let traced = false;
async function login(app, user, expect) {
  const verifier = b64url(randomBytes(32));
  const state = b64url(randomBytes(16));
  const nonce = b64url(randomBytes(16));
  const auth = new URL(app.meta.authorization_endpoint);
  auth.search = new URLSearchParams({
    response_type: 'code', client_id: APP.client_id, redirect_uri: APP.redirect_uri,
    scope: 'openid email profile', state, nonce, code_challenge_method: 'S256',
    code_challenge: b64url(createHash('sha256').update(verifier).digest()),
    // BENCH_ORG_HINT=1: the app names the org (`organization`), as B2B apps that know their
    // tenant do; Lobby then skips the email page.
    ...(ORG_HINT ? { organization: 'acme' } : {}),
  }).toString();
  const { cb, trail } = await browse(new Jar(), auth, user);
  if (!traced) {
    traced = true;
    console.log(`  one login's requests:\n    ${trail.join('\n    ')}\n    POST ${app.meta.token_endpoint}`);
  }
  if (cb.searchParams.get('state') !== state || !cb.searchParams.get('code')) {
    throw new Error(`bad callback: ${cb.href}`);
  }
  const res = await fetch(app.meta.token_endpoint, {
    signal: AbortSignal.timeout(STEP_TIMEOUT_MS),
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: 'Basic ' + Buffer.from(`${APP.client_id}:${APP.client_secret}`).toString('base64'),
    },
    body: new URLSearchParams({ grant_type: 'authorization_code', code: cb.searchParams.get('code'), redirect_uri: APP.redirect_uri, code_verifier: verifier }),
  });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`/token → ${res.status}: ${text}`);
  const tok = JSON.parse(text);
  if (!tok.id_token || !tok.access_token) throw new Error(`token response without id_token/access_token: ${text}`);
  const [h, p, s] = tok.id_token.split('.');
  const header = JSON.parse(Buffer.from(h, 'base64url'));
  const claims = JSON.parse(Buffer.from(p, 'base64url'));
  const key = app.keys.get(header.kid);
  const ok = header.alg === 'ES256' && key
    && verify('sha256', Buffer.from(`${h}.${p}`), { key, dsaEncoding: 'ieee-p1363' }, Buffer.from(s, 'base64url'));
  if (!ok) throw new Error(`ID token not an ES256 signature by Lobby's key: ${JSON.stringify(header)}`);
  if (claims.iss !== app.meta.issuer || claims.aud !== APP.client_id && !claims.aud?.includes?.(APP.client_id)
      || claims.nonce !== nonce || claims.org_id !== 'acme' || claims.email !== user.email || claims.idp !== expect.idp) {
    throw new Error(`unexpected ID token claims: ${JSON.stringify(claims)}`);
  }
}

/** n logins, `CONCURRENCY` in flight; the first error stops the run. */
async function logins(n, app, user, expect) {
  let next = 0;
  const worker = async () => {
    while (next < n) {
      next++;
      await login(app, user, expect);
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, n) }, worker));
}

// ---------------------------------------------------------------------------------------------
// The tenant: app `crm` (ES256 tokens), org acme with verified domain acme.test, linked to the
// app with JIT (the warm-up's first login creates alice, all later logins are a returning user).

const tenant = (lobby) => acmeCrmTenant(lobby, { ...APP, signing_alg: 'ES256' });

const SCENARIOS = {
  async oidc() {
    const lobby = await startLobby({ env: lobbyEnv });
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
      lobby, idpPid: child.pid, idpCpu: () => cpuMs(child.pid), expect: { idp: conn },
      async stop() { child.disconnect(); await lobby.stop(); },
    };
  },
  async saml() {
    const idp = await startSamlIdp({ users: { [USER.email]: { password: USER.password, name: USER.name } } });
    const lobby = await startLobby({ env: lobbyEnv });
    const conn = 'acme-saml';
    await tenant(lobby);
    await lobby.admin('POST', '/orgs/acme/connections', {
      id: conn, name: 'Acme SAML', state: 'active',
      config: { kind: 'saml', idp_metadata_url: idp.metadataUrl, attributes: { email: 'email', name: 'name' } },
    });
    idp.setSpMetadata(await (await fetch(`${lobby.url}/sso/saml/${conn}/metadata`)).text());
    return {
      lobby, idpCpu: () => groupCpuMs(idp.pid), expect: { idp: conn },
      async stop() { await lobby.stop(); await idp.close(); },
    };
  },
};

// the default count is per scenario
const N = { oidc: env('BENCH_N_OIDC', 500), saml: env('BENCH_N_SAML', 300) };

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

async function run(name, i) {
  const loadStart = load();
  const s = await SCENARIOS[name]();
  try {
    const app = await appSetup(s.lobby);
    traced = i > 0; // show the path of the first login of each scenario
    await logins(WARMUP, app, USER, s.expect);
    // Control: Lobby's CPU while idle for 2 s (background tasks), for comparison.
    const idle0 = cpuMs(s.lobby.pid);
    await new Promise((r) => setTimeout(r, 2000));
    const idleMsPerS = (cpuMs(s.lobby.pid) - idle0) / 2;
    const stopPerf = process.env.BENCH_PERF && i === 0 ? await perfAttach(s.lobby.pid, process.env.BENCH_PERF, name) : null;
    const n = N[name];
    const c0 = cpuMs(s.lobby.pid), i0 = s.idpCpu(), d0 = process.cpuUsage(), t0 = performance.now();
    await logins(n, app, USER, s.expect);
    const wall = (performance.now() - t0) / 1000;
    const c1 = cpuMs(s.lobby.pid), i1 = s.idpCpu(), d1 = process.cpuUsage(d0);
    await stopPerf?.();
    const r = {
      scenario: name, run: i + 1, n, concurrency: CONCURRENCY,
      lobby_cpu_ms_per_login: (c1 - c0) / n,
      logins_per_s: n / wall,
      wall_s: wall,
      idp_cpu_ms_per_login: (i1 - i0) / n,
      driver_cpu_ms_per_login: (d1.user + d1.system) / 1000 / n,
      lobby_idle_cpu_ms_per_s: idleMsPerS,
      load_start: loadStart, load_end: load(),
    };
    console.log(JSON.stringify(r));
    return r;
  } finally {
    await s.stop();
  }
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const f2 = (x) => x.toFixed(2);

const which = process.argv[2] || 'all';
const names = which === 'all' ? ['oidc', 'saml'] : [which];
if (!names.every((n) => n in SCENARIOS)) throw new Error(`usage: broker-cpu.mjs [oidc|saml|all]`);
console.log(`# ${cpus().length} CPUs (${cpus()[0].model}), CLK_TCK ${CLK_TCK}, concurrency ${CONCURRENCY}, warm-up ${WARMUP}, runs ${RUNS}, load ${load()}`);
const table = ['| scenario | run | N | Lobby CPU ms/login | logins/s (wall) | IdP CPU ms/login | load avg start → end |', '|---|---|---|---|---|---|---|'];
for (const name of names) {
  const rs = [];
  for (let i = 0; i < RUNS; i++) rs.push(await run(name, i));
  for (const r of rs) {
    table.push(`| ${name} | ${r.run} | ${r.n} | ${f2(r.lobby_cpu_ms_per_login)} | ${r.logins_per_s.toFixed(1)} | ${f2(r.idp_cpu_ms_per_login)} | ${r.load_start} → ${r.load_end} |`);
  }
  table.push(`| **${name}** | **median** | | **${f2(median(rs.map((r) => r.lobby_cpu_ms_per_login)))}** | **${median(rs.map((r) => r.logins_per_s)).toFixed(1)}** | ${f2(median(rs.map((r) => r.idp_cpu_ms_per_login)))} | |`);
}
console.log('\n' + table.join('\n'));
