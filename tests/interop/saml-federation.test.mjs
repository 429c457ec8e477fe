// SAML federation interop: alice@acme.test signs into an OIDC app (openid-client) through acme's own
// SAML IdP — Debian's SimpleSAMLphp, which requires signed AuthnRequests and signs Response and
// Assertion (rsa-sha256) — in headless Chromium. The IdP and the RP are on `localhost`, Lobby on
// `127.0.0.1`: the ACS POST is cross-site, so on http the flow cookie (SameSite=Lax) does not
// come along and Lobby's RelayState handle + browser-bound `continue` step must carry the login.
// Metadata is loaded by URL; groups → roles; JIT; an IdP certificate rollover is picked up by
// the metadata refresh endpoint.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startLobby } from './lib/lobby.mjs';
import { openBrowser, waitForCallback } from './lib/browser.mjs';
import { startCallbackServer, rpConfig, authorize, exchange } from './lib/rp.mjs';
import { startSamlIdp, makeCert } from './lib/idp-saml.mjs';
import { acmeCrmTenant } from './lib/tenant.mjs';

const ALICE = { email: 'alice@acme.test', password: 'alice-pass-123', name: 'Alice Acme', groups: ['crm-admins', 'staff'] };
const CID = 'acme-saml';
let lobby, rp, idp, app;

before(async () => {
  rp = await startCallbackServer();
  idp = await startSamlIdp({ users: { [ALICE.email]: ALICE } });
  lobby = await startLobby();
  app = {
    client_id: 'crm',
    client_secret: 'crm-secret-interop-0123456789-abcdefgh',
    redirect_uri: `${rp.base}/cb`,
  };
  await acmeCrmTenant(lobby, { ...app, roles: ['sales', 'finance'] });
  // Metadata by URL (fetched through Lobby's SSRF-guarded client; loopback allowed by
  // LOBBY_UPSTREAM_ALLOW_PRIVATE in lib/lobby.mjs).
  await lobby.admin('POST', '/orgs/acme/connections', {
    id: CID, name: 'Acme SAML', state: 'active',
    config: {
      kind: 'saml',
      idp_metadata_url: idp.metadataUrl,
      attributes: { email: 'email', name: 'name', groups: 'groups' },
      role_mapping: [{ group: 'crm-admins', app_id: 'crm', roles: ['finance'] }],
    },
  });
  // Org IT loads our SP metadata into their IdP.
  const spMd = await (await fetch(`${lobby.url}/sso/saml/${CID}/metadata`)).text();
  assert.match(spMd, /AuthnRequestsSigned="true"/);
  idp.setSpMetadata(spMd);
});

after(async () => {
  await lobby?.stop();
  await idp?.close();
  await rp?.close();
});

/** Lobby's email page → SimpleSAMLphp's login form → signed in there. */
async function signIn(config, b) {
  const req = await authorize(config, app);
  await b.page.goto(req.url.href);
  await b.page.fill('#email', ALICE.email);
  await b.page.click('#submit');
  await idpLogin(b.page);
  return { req };
}

/** SimpleSAMLphp's login form, on localhost. */
async function idpLogin(page) {
  await page.waitForSelector('#username', { timeout: 30_000 });
  assert.ok(page.url().startsWith(idp.base), `at the IdP: ${page.url()}`);
  await page.fill('#username', ALICE.email);
  await page.fill('#password', ALICE.password);
  await page.click('#submit_button');
}

test('alice signs in through SimpleSAMLphp: JIT, groups → roles, cross-site ACS POST', async () => {
  const config = await rpConfig(lobby.url, app);
  const b = await openBrowser();
  try {
    const { req } = await signIn(config, b);
    const cb = await waitForCallback(b.page, app.redirect_uri);
    const tokens = await exchange(config, req, cb);
    const c = tokens.claims();
    assert.equal(c.iss, lobby.url);
    assert.equal(c.email, ALICE.email);
    assert.equal(c.org_id, 'acme');
    assert.equal(c.idp, CID);
    assert.deepEqual([...c.roles].sort(), ['finance', 'sales'], 'JIT default role + crm-admins → finance');
    // The external identity is keyed by the IdP entity id and the NameID with its format.
    const ids = await lobby.admin('GET', `/users/${c.sub}/identities`);
    const items = ids.items ?? ids;
    assert.equal(items[0].issuer, idp.entityId);
    assert.match(items[0].subject, /nameid-format:emailAddress\|alice@acme\.test$/);
  } finally {
    await b.close();
  }
});

test('an app that names the org (organization=acme) sends the browser straight to SimpleSAMLphp', async () => {
  const config = await rpConfig(lobby.url, app);
  const b = await openBrowser();
  try {
    const req = await authorize(config, app, { organization: 'acme' });
    const seen = [];
    b.page.on('request', (r) => { if (r.isNavigationRequest()) seen.push(r.url()); });
    await b.page.goto(req.url.href);
    await idpLogin(b.page);
    // No email page at Lobby: /authorize redirected to the IdP's SSO service with a signed
    // AuthnRequest (HTTP-Redirect binding).
    assert.ok(!seen.some((u) => u.startsWith(lobby.url) && new URL(u).pathname === '/login'), seen.join('\n'));
    const sso = seen.map((u) => new URL(u)).find((u) => u.href.startsWith(idp.base) && u.searchParams.has('SAMLRequest'));
    assert.ok(sso, `an AuthnRequest reached the IdP:\n${seen.join('\n')}`);
    assert.equal(sso.searchParams.get('SigAlg'), 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256');
    assert.ok(sso.searchParams.get('Signature'));
    const cb = await waitForCallback(b.page, app.redirect_uri);
    const tokens = await exchange(config, req, cb);
    assert.equal(tokens.claims().email, ALICE.email);
    assert.equal(tokens.claims().org_id, 'acme');
    assert.equal(tokens.claims().idp, CID);
  } finally {
    await b.close();
  }
});

test('an IdP certificate rollover is picked up by the metadata refresh', async () => {
  const config = await rpConfig(lobby.url, app);
  // The IdP switches to a new signing key, still publishing the old certificate beside it.
  const next = makeCert(idp.certDir, 'idp-b', 'Acme IdP B');
  idp.setCerts({ signing: next, extra: idp.firstCert });

  // Before the refresh, responses signed with the new key are refused (fixed page).
  let b = await openBrowser();
  try {
    await signIn(config, b);
    // Either Lobby's fixed error page or (a bug) the app's callback: whichever comes first.
    const refused = b.page.waitForSelector('#error-message', { timeout: 30_000 }).then(() => 'refused');
    const accepted = waitForCallback(b.page, app.redirect_uri).then(() => 'accepted');
    // The loser is still pending when the browser closes and then rejects: not an error here
    // (the race itself still rejects if its first settled promise does).
    refused.catch(() => {});
    accepted.catch(() => {});
    const outcome = await Promise.race([refused, accepted]);
    assert.equal(outcome, 'refused', 'a response signed with an unpinned key must be refused');
    assert.ok(b.page.url().startsWith(lobby.url), 'refused by Lobby');
    assert.ok(!b.page.url().startsWith(app.redirect_uri));
  } finally {
    await b.close();
  }

  const report = await lobby.admin('POST', `/orgs/acme/connections/${CID}/refresh-metadata`);
  assert.equal(report.ok, true);
  assert.equal(report.added_certs.length, 1, 'the new certificate is pinned');
  const testReport = await lobby.admin('GET', `/orgs/acme/connections/${CID}/test`);
  assert.equal(testReport.ok, true, JSON.stringify(testReport));
  assert.equal(testReport.checks.filter((c) => c.name === 'signing_certificate').length, 2);

  b = await openBrowser();
  try {
    const { req } = await signIn(config, b);
    const cb = await waitForCallback(b.page, app.redirect_uri);
    const tokens = await exchange(config, req, cb);
    assert.equal(tokens.claims().email, ALICE.email);
    assert.equal(tokens.claims().org_id, 'acme');
  } finally {
    await b.close();
  }
});
