// docker-compose.yml's topology without Docker — its CI twin. Two Lobby processes on 127.0.0.1
// (own ports, own metrics listeners) share one PostgreSQL database (created here on the CI
// server, dropped at the end), one Redis (a database number of its own) and one
// LOBBY_SECRET_KEY, behind a small reverse proxy that round-robins (no session affinity) and
// appends X-Forwarded-For (LOBBY_TRUSTED_PROXIES=127.0.0.1). The app is openid-client; the org's
// IdP is oidc-provider. One login is split on purpose across the instances — /authorize and
// the email page on 1, the IdP's callback on 2, the code exchange on 1, the refresh on 2 — then
// logins run through plain round-robin, each request on the other instance from the one before.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as client from 'openid-client';
import { startLobby } from './lib/lobby.mjs';
import { startOidcIdp } from './lib/idp-oidc.mjs';
import { acmeCrmTenant } from './lib/tenant.mjs';
import { rpConfig, authorize, exchange } from './lib/rp.mjs';
import { Jar, browse } from './lib/nojs-browser.mjs';

const PG_URL = process.env.LOBBY_TEST_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test';
const REDIS_URL = process.env.LOBBY_TEST_REDIS_URL || 'redis://127.0.0.1:6379';
// Lobby's Redis keys have no configurable prefix: a database number of its own keeps this
// test's keys apart from the other suites' (which use database 0).
const REDIS_DB = 13;
const USER = { email: 'alice@acme.test', password: 'alice-topology-password-1', name: 'Alice Acme' };
const APP = {
  client_id: 'crm', client_secret: 'crm-topology-secret-0123456789-abcdef',
  redirect_uri: 'http://localhost:9/topology/cb', signing_alg: 'ES256',
};
const CONN = 'acme-oidc';

function psql(url, sql) {
  const r = spawnSync('psql', [url, '-v', 'ON_ERROR_STOP=1', '-tAc', sql], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`psql ${sql}: ${r.stderr || r.error}`);
  return r.stdout.trim();
}

/** The load balancer: round-robin by default; `route(req)` may pick the backend instead. */
async function startProxy(backends) {
  let next = 0;
  const proxy = { log: [], route: null };
  const server = http.createServer((req, res) => {
    const i = proxy.route ? proxy.route(req) : next++ % backends.length;
    const target = new URL(backends[i]);
    const url = new URL(req.url, 'http://x');
    proxy.log.push({ instance: i + 1, method: req.method, path: url.pathname });
    const headers = { ...req.headers };
    headers['x-forwarded-for'] = [req.headers['x-forwarded-for'], req.socket.remoteAddress].filter(Boolean).join(', ');
    const up = http.request({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers }, (r) => {
      res.writeHead(r.statusCode, r.headers);
      r.pipe(res);
    });
    up.on('error', (e) => { res.writeHead(502); res.end(String(e)); });
    req.pipe(up);
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  proxy.url = `http://127.0.0.1:${server.address().port}`;
  proxy.close = () => new Promise((r) => { server.closeAllConnections(); server.close(r); });
  return proxy;
}

const metric = (text, name, labels) => {
  const re = new RegExp(`^${name}\\{([^}]*)\\} (\\S+)$`, 'gm');
  let sum = 0;
  for (const [, l, v] of text.matchAll(re)) if (Object.entries(labels).every(([k, x]) => l.includes(`${k}="${x}"`))) sum += Number(v);
  return sum;
};
const scrape = async (lobby) => (await fetch(lobby.metricsUrl)).text();

test('two instances on PostgreSQL + Redis behind a round-robin proxy: a login split across both', async (t) => {
  const dbName = `lobby_topology_${randomBytes(6).toString('hex')}`;
  psql(PG_URL, `CREATE DATABASE ${dbName}`);
  const dbUrl = Object.assign(new URL(PG_URL), { pathname: `/${dbName}` }).href;
  const redisUrl = Object.assign(new URL(REDIS_URL), { pathname: `/${REDIS_DB}` }).href;
  const stops = {};
  t.after(async () => {
    // The instances first: the IdP's server.close() waits for their pooled connections.
    for (const k of ['lobby2', 'lobby1', 'idp', 'proxy']) await stops[k]?.().catch(() => {});
    psql(PG_URL, `DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
    spawnSync('redis-cli', ['-u', redisUrl, 'flushdb']);
  });

  // The proxy first: both instances' public URL is its address (the balancer's, as in compose).
  const backends = [];
  const proxy = await startProxy(backends);
  stops.proxy = proxy.close;
  // The same variables as docker-compose.yml's lobby-1 / lobby-2 (listen, metrics listen and
  // data dir are per process; LOBBY_ADMIN_TOKEN is startLobby's own, per instance).
  const shared = {
    LOBBY_PUBLIC_URL: proxy.url,
    LOBBY_DATABASE_URL: dbUrl,
    LOBBY_REDIS_URL: redisUrl,
    LOBBY_SECRET_KEY: randomBytes(32).toString('base64'),
    LOBBY_LOG_FORMAT: 'json',
    LOBBY_TRUSTED_PROXIES: '127.0.0.1',
  };
  // One after the other: the first applies the migrations to the fresh database.
  const lobby1 = await startLobby({ env: shared });
  stops.lobby1 = () => lobby1.stop();
  const lobby2 = await startLobby({ env: shared });
  stops.lobby2 = () => lobby2.stop();
  backends.push(`http://127.0.0.1:${lobby1.port}`, `http://127.0.0.1:${lobby2.port}`);
  assert.notEqual(lobby1.metricsUrl, lobby2.metricsUrl);

  const idp = await startOidcIdp({
    users: { [USER.email]: { sub: 'idp-alice', password: USER.password, email_verified: true, name: USER.name } },
    clients: [{ client_id: 'lobby-at-acme', client_secret: 'acme-idp-secret-for-topology-0123456789', redirect_uris: [`${proxy.url}/sso/oidc/${CONN}/callback`] }],
  });
  stops.idp = () => idp.close();
  // Configured through instance 1's admin API; instance 2 reads it from the shared database.
  await acmeCrmTenant(lobby1, APP);
  await lobby1.admin('POST', '/orgs/acme/connections', {
    id: CONN, name: 'Acme corporate IdP', state: 'active',
    config: { kind: 'oidc', issuer: idp.issuer, client_id: 'lobby-at-acme', client_secret: 'acme-idp-secret-for-topology-0123456789', scopes: ['openid', 'email', 'profile'] },
  });
  const m1 = await scrape(lobby1);
  const m2 = await scrape(lobby2);

  // -- 1. The split login: each step pinned to the instance the issue names.
  const config = await rpConfig(proxy.url, APP);
  assert.equal(config.serverMetadata().issuer, proxy.url, "the issuer is the balancer's address");
  const req = await authorize(config, APP);
  proxy.log.length = 0;
  proxy.route = (r) => (r.url.startsWith('/sso/') ? 1 : 0);
  const { cb } = await browse(new Jar(), req.url, USER, { until: APP.redirect_uri });
  proxy.route = () => 0;
  const tokens = await exchange(config, req, cb.href);
  proxy.route = () => 1;
  const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token);
  proxy.route = null;

  const served = proxy.log.map((e) => `${e.instance} ${e.method} ${e.path}`);
  const on = (re) => proxy.log.filter((e) => re.test(`${e.method} ${e.path}`)).map((e) => e.instance);
  assert.deepEqual(on(/^GET \/authorize$/), [1], served.join('\n'));
  assert.ok(on(/ \/login/).length >= 2 && on(/ \/login/).every((i) => i === 1), served.join('\n'));
  assert.deepEqual(on(/^GET \/sso\/oidc\/acme-oidc\/callback$/), [2], served.join('\n'));
  assert.deepEqual(on(/^POST \/token$/), [1, 2], served.join('\n'));

  const claims = tokens.claims();
  assert.equal(claims.iss, proxy.url);
  assert.equal(claims.email, USER.email);
  assert.equal(claims.org_id, 'acme');
  assert.equal(claims.idp, CONN);
  assert.ok(refreshed.access_token && refreshed.refresh_token);
  assert.notEqual(refreshed.refresh_token, tokens.refresh_token, 'refresh tokens rotate');
  // The rotated-away token is spent on every instance: a replay on instance 1 is refused.
  proxy.route = () => 0;
  await assert.rejects(client.refreshTokenGrant(config, tokens.refresh_token), (e) => e.error === 'invalid_grant');
  proxy.route = null;

  // Each instance counted its own half: instance 1 started the login, instance 2 finished it.
  const n1 = await scrape(lobby1);
  const n2 = await scrape(lobby2);
  const moved = (a, b, name, labels) => metric(b, name, labels) - metric(a, name, labels);
  assert.equal(moved(m1, n1, 'lobby_logins_started_total', { kind: 'oidc' }), 1);
  assert.equal(moved(m2, n2, 'lobby_logins_started_total', { kind: 'oidc' }), 0);
  assert.equal(moved(m2, n2, 'lobby_logins_finished_total', { kind: 'oidc', outcome: 'success' }), 1);
  assert.equal(moved(m1, n1, 'lobby_logins_finished_total', { kind: 'oidc', outcome: 'success' }), 0);
  assert.equal(moved(m1, n1, 'lobby_token_grants_total', { grant_type: 'authorization_code', outcome: 'success' }), 1);
  assert.equal(moved(m2, n2, 'lobby_token_grants_total', { grant_type: 'refresh_token', outcome: 'success' }), 1);

  // -- 2. Plain round-robin: every request goes to the other instance from the one before.
  for (let i = 0; i < 3; i++) {
    proxy.log.length = 0;
    const r = await authorize(config, APP);
    const { cb: c } = await browse(new Jar(), r.url, USER, { until: APP.redirect_uri });
    const tk = await exchange(config, r, c.href);
    assert.equal(tk.claims().email, USER.email);
    const rt = await client.refreshTokenGrant(config, tk.refresh_token);
    assert.ok(rt.access_token);
    const seq = proxy.log.map((e) => e.instance);
    assert.ok(seq.includes(1) && seq.includes(2), seq.join(','));
    for (let k = 1; k < seq.length; k++) assert.notEqual(seq[k], seq[k - 1], 'round-robin alternates');
  }

  // Both instances are ready and read the same database and Redis.
  for (const l of [lobby1, lobby2]) assert.equal((await fetch(`${l.url}/readyz`)).status, 200);
});
