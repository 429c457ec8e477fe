// App sessions against real peers (issue 16 items 1 and 2):
// - OIDC Back-Channel Logout 1.0: the app registers a backchannel_logout_uri; a user signs in
//   through Chromium with openid-client; removing the member through the admin API makes Lobby
//   POST a logout_token that a receiver validates with `jose` (a certified JOSE library, the
//   one openid-client itself uses) against Lobby's /jwks exactly as §2.6 asks: signature,
//   typ logout+jwt, iss, aud, iat/exp, the events claim, sid matching the ID token's, no nonce
//   — within a second of the removal.
// - Org switch: openid-client's refreshTokenGrant with the extra `organization` parameter gets
//   tokens for the other org while the first refresh token keeps working for the first org.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import * as client from 'openid-client';
import * as jose from 'jose';
import { startLobby } from './lib/lobby.mjs';
import { openBrowser, waitForCallback } from './lib/browser.mjs';
import { startCallbackServer, rpConfig, authorize, exchange } from './lib/rp.mjs';
import { demoTenant, PASSWORDS } from './lib/tenant.mjs';

const EVENT = 'http://schemas.openid.net/event/backchannel-logout';
let lobby, rp, t, rx;

/** The app's back-channel logout endpoint: validates each logout token (§2.6) and records it. */
function receiver(lobbyUrl, audience) {
  const jwks = jose.createRemoteJWKSet(new URL(`${lobbyUrl}/jwks`));
  const seen = [];
  const waiters = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c) => (body += c));
    req.on('end', async () => {
      const at = Date.now();
      try {
        assert.equal(req.method, 'POST');
        assert.equal(req.headers['content-type'], 'application/x-www-form-urlencoded');
        const token = new URLSearchParams(body).get('logout_token');
        const { payload, protectedHeader } = await jose.jwtVerify(token, jwks, {
          issuer: lobbyUrl,
          audience,
          typ: 'logout+jwt',
          maxTokenAge: '2 minutes',
          requiredClaims: ['iat', 'exp', 'jti', 'events'],
        });
        assert.ok(payload.events && typeof payload.events[EVENT] === 'object', 'events claim');
        assert.equal(payload.nonce, undefined, 'no nonce (§2.4)');
        assert.ok(payload.sid || payload.sub);
        seen.push({ payload, protectedHeader, at, validatedAt: Date.now() });
        res.writeHead(200).end();
      } catch (e) {
        seen.push({ error: e, at });
        res.writeHead(400).end(String(e));
      }
      for (const w of waiters.splice(0)) w();
    });
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => resolve({
      url: `http://127.0.0.1:${server.address().port}/bcl`,
      seen,
      next: (n) => new Promise((r, j) => {
        const timer = setTimeout(() => j(new Error(`no logout token #${n} within 10 s`)), 10_000);
        const check = () => (seen.length >= n ? (clearTimeout(timer), r(seen[n - 1])) : waiters.push(check));
        check();
      }),
      close: () => new Promise((r) => { server.closeAllConnections?.(); server.close(r); }),
    }));
  });
}

before(async () => {
  rp = await startCallbackServer();
  t = demoTenant(rp.base);
  lobby = await startLobby({ importYaml: t.yaml });
  rx = await receiver(lobby.url, t.apps.crm.client_id);
});

after(async () => {
  await rx?.close();
  await lobby?.stop();
  await rp?.close();
});

async function signIn(page, app, email, password, orgSlug) {
  const config = await rpConfig(lobby.url, app);
  const req = await authorize(config, app);
  await page.goto(req.url.href);
  await page.fill('#email', email);
  await page.click('#submit');
  await page.waitForSelector('#password');
  await page.fill('#password', password);
  await page.click('#submit');
  if (orgSlug) {
    await page.waitForSelector(`[data-org-slug="${orgSlug}"]`);
    await page.click(`[data-org-slug="${orgSlug}"]`);
  }
  const cb = await waitForCallback(page, app.redirect_uri);
  return { config, tokens: await exchange(config, req, cb) };
}

test('discovery advertises back-channel logout; a removed member\'s session ends at the app within a second', async (tt) => {
  const meta = await (await fetch(`${lobby.url}/.well-known/openid-configuration`)).json();
  assert.equal(meta.backchannel_logout_supported, true);
  assert.equal(meta.backchannel_logout_session_supported, true);
  const crm = t.apps.crm;
  const app = await lobby.admin('PATCH', `/apps/${crm.id}`, {
    backchannel_logout_uri: rx.url,
    backchannel_logout_session_required: true,
  });
  assert.equal(app.backchannel_logout_uri, rx.url);

  const b = await openBrowser();
  let tokens;
  try {
    ({ tokens } = await signIn(b.page, crm, t.users.alice.email, PASSWORDS.alice));
  } finally {
    await b.close();
  }
  const c = tokens.claims();
  assert.ok(c.sid);

  const removedAt = Date.now();
  await lobby.admin('DELETE', `/orgs/acme/members/${t.users.alice.id}`);
  const got = await rx.next(1);
  assert.equal(got.error, undefined, String(got.error));
  const took = got.validatedAt - removedAt;
  assert.ok(took < 1000, `validated ${took} ms after the removal`);
  tt.diagnostic(`logout token validated ${took} ms after the removal call started`);
  assert.equal(got.payload.sid, c.sid, 'the sid of the ID token');
  assert.equal(got.payload.sub, c.sub);
  assert.equal(got.payload.org_id, 'acme');
  assert.equal(got.protectedHeader.typ, 'logout+jwt');
  assert.equal(got.protectedHeader.alg, 'RS256');

  // The delivery is visible in the admin API (the worker records it once the app's 200 is
  // back, a moment after the receiver has the token: poll briefly).
  let list;
  for (let i = 0; i < 50; i++) {
    list = await lobby.admin('GET', `/apps/${crm.id}/backchannel-logout/deliveries`);
    if (list.items[0]?.state === 'delivered') break;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(list.items[0].state, 'delivered');
  assert.equal(list.items[0].last_status, 200);
  // The refresh token died with the session.
  const config = await rpConfig(lobby.url, crm);
  await assert.rejects(client.refreshTokenGrant(config, tokens.refresh_token), (e) => e.error === 'invalid_grant');
});

test('org switch: openid-client\'s refresh with organization=globex gets globex tokens; the acme family keeps working', async () => {
  const crm = t.apps.crm;
  const b = await openBrowser();
  let config, tokens;
  try {
    ({ config, tokens } = await signIn(b.page, crm, t.users.bob.email, PASSWORDS.bob, 'acme'));
  } finally {
    await b.close();
  }
  const c = tokens.claims();
  assert.equal(c.org_id, 'acme');
  const switched = await client.refreshTokenGrant(config, tokens.refresh_token, { organization: 'globex' });
  const s = switched.claims();
  assert.equal(s.org_id, 'globex');
  assert.equal(s.org_slug, 'globex');
  assert.deepEqual([...s.roles], ['finance']);
  assert.equal(s.sub, c.sub);
  assert.equal(s.sid, c.sid, 'the same SSO session');
  assert.notEqual(switched.refresh_token, tokens.refresh_token);
  // The first tab's token was not touched.
  const again = await client.refreshTokenGrant(config, tokens.refresh_token);
  assert.equal(again.claims().org_id, 'acme');
  const stays = await client.refreshTokenGrant(config, switched.refresh_token);
  assert.equal(stays.claims().org_id, 'globex');
  // Not a member: a clean invalid_grant with a description.
  await assert.rejects(
    client.refreshTokenGrant(config, again.refresh_token, { organization: 'initech' }),
    (e) => e.error === 'invalid_grant' && /member/.test(e.error_description),
  );
});
