// Hosted login interop: a certified RP library (openid-client) signs users in through Lobby's hosted
// pages, driven in headless Chromium. Lobby runs on 127.0.0.1, the RP on localhost (another
// site). Covers: single-org user, multi-org user choosing org B, prompt=none SSO into a second
// app, refresh, RP-initiated logout.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as client from 'openid-client';
import { startLobby } from './lib/lobby.mjs';
import { openBrowser, waitForCallback } from './lib/browser.mjs';
import { startCallbackServer, rpConfig, authorize, exchange } from './lib/rp.mjs';
import { demoTenant, PASSWORDS } from './lib/tenant.mjs';

let lobby, rp, t;

before(async () => {
  rp = await startCallbackServer();
  t = demoTenant(rp.base);
  lobby = await startLobby({ importYaml: t.yaml });
});

after(async () => {
  await lobby?.stop();
  await rp?.close();
});

async function passwordLogin(page, email, password) {
  await page.fill('#email', email);
  await page.click('#submit');
  await page.waitForSelector('#password');
  await page.fill('#password', password);
  await page.click('#submit');
}

test('single-org user signs in with a password; tokens carry the org and roles; refresh rotates', async () => {
  const b = await openBrowser();
  try {
    const app = t.apps.crm;
    const config = await rpConfig(lobby.url, app);
    assert.equal(config.serverMetadata().issuer, lobby.url);
    assert.equal(config.serverMetadata().authorization_response_iss_parameter_supported, true);
    const req = await authorize(config, app);
    await b.page.goto(req.url.href);
    await passwordLogin(b.page, t.users.alice.email, PASSWORDS.alice);
    const cb = await waitForCallback(b.page, app.redirect_uri);
    assert.match(cb, /[?&]iss=/, 'authorization response carries iss (RFC 9207)');
    const tokens = await exchange(config, req, cb);
    const c = tokens.claims();
    assert.equal(c.iss, lobby.url);
    assert.equal(c.aud, app.client_id);
    assert.equal(c.email, t.users.alice.email);
    assert.equal(c.org_id, t.orgs.acme.id);
    assert.equal(c.org_slug, 'acme');
    assert.equal(c.org_name, t.orgs.acme.name);
    assert.deepEqual([...c.roles].sort(), ['sales']);
    assert.ok(c.sid && c.auth_time && Array.isArray(c.amr));
    assert.ok(tokens.refresh_token, 'a refresh token is issued');

    const info = await client.fetchUserInfo(config, tokens.access_token, c.sub);
    assert.equal(info.sub, c.sub);
    assert.equal(info.email, t.users.alice.email);

    const r1 = await client.refreshTokenGrant(config, tokens.refresh_token);
    assert.notEqual(r1.refresh_token, tokens.refresh_token, 'refresh tokens rotate');
    assert.equal(r1.claims().org_id, t.orgs.acme.id);
    // The rotated-out token is dead.
    await assert.rejects(client.refreshTokenGrant(config, tokens.refresh_token), (e) => e.error === 'invalid_grant');
  } finally {
    await b.close();
  }
});

test('multi-org user chooses org B: token carries only B and B\'s roles; prompt=none SSO into a second app; logout', async () => {
  const b = await openBrowser();
  try {
    const crm = t.apps.crm;
    const config = await rpConfig(lobby.url, crm);
    const req = await authorize(config, crm);
    await b.page.goto(req.url.href);
    await passwordLogin(b.page, t.users.bob.email, PASSWORDS.bob);
    await b.page.waitForSelector('[data-org-slug="globex"]');
    assert.ok(await b.page.$('[data-org-slug="acme"]'), 'the chooser lists both orgs');
    await b.page.click('[data-org-slug="globex"]');
    const cb = await waitForCallback(b.page, crm.redirect_uri);
    const tokens = await exchange(config, req, cb);
    const c = tokens.claims();
    assert.equal(c.org_id, t.orgs.globex.id);
    assert.equal(c.org_slug, 'globex');
    assert.deepEqual([...c.roles].sort(), ['finance']);

    // prompt=none into a second app: the SSO session signs bob in without any page.
    const erp = t.apps.erp;
    const config2 = await rpConfig(lobby.url, erp);
    const req2 = await authorize(config2, erp, { prompt: 'none', organization: 'globex' });
    await b.page.goto(req2.url.href);
    const cb2 = await waitForCallback(b.page, erp.redirect_uri);
    const tokens2 = await exchange(config2, req2, cb2);
    const c2 = tokens2.claims();
    assert.equal(c2.sub, c.sub);
    assert.equal(c2.sid, c.sid, 'same browser session');
    assert.equal(c2.org_id, t.orgs.globex.id);
    assert.equal(c2.aud, erp.client_id);

    // RP-initiated logout back to the registered post-logout URI, with state.
    const endUrl = client.buildEndSessionUrl(config, {
      id_token_hint: tokens.id_token,
      post_logout_redirect_uri: crm.post_logout_redirect_uri,
      state: 'bye-123',
    });
    await b.page.goto(endUrl.href);
    const out = await waitForCallback(b.page, crm.post_logout_redirect_uri);
    assert.equal(new URL(out).searchParams.get('state'), 'bye-123');
    // The session is gone: prompt=none now fails with login_required.
    const req3 = await authorize(config2, erp, { prompt: 'none' });
    await b.page.goto(req3.url.href);
    const cb3 = await waitForCallback(b.page, erp.redirect_uri);
    assert.equal(new URL(cb3).searchParams.get('error'), 'login_required');
    // Logout revoked the session's refresh tokens.
    await assert.rejects(client.refreshTokenGrant(config, tokens.refresh_token), (e) => e.error === 'invalid_grant');
  } finally {
    await b.close();
  }
});
