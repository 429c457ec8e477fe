// Checks the test IdP itself (oidc-provider) with the certified RP library, so that a failure in
// the federation tests is known to be Lobby's, not the harness's.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as client from 'openid-client';
import { startOidcIdp } from './lib/idp-oidc.mjs';
import { startCallbackServer } from './lib/rp.mjs';
import { openBrowser, waitForCallback } from './lib/browser.mjs';

test('oidc-provider test IdP: login page, wrong password, code flow with email_verified and groups', async () => {
  const rp = await startCallbackServer();
  const redirect_uri = `${rp.base}/cb`;
  const idp = await startOidcIdp({
    users: { 'alice@acme.test': { password: 'pw-alice', email_verified: true, name: 'Alice', groups: ['sales-team'] } },
    clients: [{ client_id: 'lobby', client_secret: 'lobby-secret-0123456789', redirect_uris: [redirect_uri] }],
  });
  const b = await openBrowser();
  try {
    const config = await client.discovery(new URL(idp.issuer), 'lobby', 'lobby-secret-0123456789', undefined, {
      execute: [client.allowInsecureRequests],
    });
    const verifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri,
      scope: 'openid email profile groups',
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
    });
    await b.page.goto(url.href);
    await b.page.fill('#username', 'alice@acme.test');
    await b.page.fill('#password', 'wrong');
    await b.page.click('#submit_button');
    await b.page.waitForSelector('#error');
    await b.page.fill('#username', 'alice@acme.test');
    await b.page.fill('#password', 'pw-alice');
    await b.page.click('#submit_button');
    const cb = await waitForCallback(b.page, redirect_uri);
    const tokens = await client.authorizationCodeGrant(config, new URL(cb), { pkceCodeVerifier: verifier, expectedState: state });
    const c = tokens.claims();
    assert.equal(c.email, 'alice@acme.test');
    assert.equal(c.email_verified, true);
    assert.deepEqual(c.groups, ['sales-team']);
  } finally {
    await b.close();
    await idp.close();
    await rp.close();
  }
});
