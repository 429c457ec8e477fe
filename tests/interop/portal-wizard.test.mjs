// The portal's IdP setup wizard in headless Chromium against real peers. An org admin signs
// into the portal (on localhost; Lobby's hosted login and issuer on 127.0.0.1) and
// - runs the SAML wizard: gives Debian's SimpleSAMLphp Lobby's SP metadata (downloaded from the
//   wizard), pastes SimpleSAMLphp's IdP metadata, maps its groups to roles, tests the
//   connection with a real test sign-in (the result page shows what the IdP sent; no session
//   for any app, no user created), activates it — and a member signs into an app
//   (openid-client) through it;
// - runs the OIDC wizard with oidc-provider (registered with the redirect URI the wizard shows),
//   the same test and activation, and a member signs in through it.
// axe-core on every wizard page (zero serious/critical), screenshots under
// target/portal-screenshots/wizard-*.png.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { openBrowser, waitForCallback } from './lib/browser.mjs';
import { startCallbackServer, rpConfig, authorize, exchange } from './lib/rp.mjs';
import { startPortalLobby, createAdmin, portalSignIn, checkPage } from './lib/portal.mjs';
import { startSamlIdp } from './lib/idp-saml.mjs';
import { startOidcIdp } from './lib/idp-oidc.mjs';

const PW = 'portal admin long passphrase';
const ALICE = { email: 'alice@acme.test', password: 'alice-idp-pass-1', name: 'Alice Acme', groups: ['crm-admins', 'staff'] };
const BEA = { sub: 'idp-bea', password: 'bea-idp-pass-22', email_verified: true, name: 'Bea Acme', groups: ['crm-finance'] };
let env, rp, app, ssp, op, admin;

function tenant(rpBase) {
  app = { id: 'app_crm', client_id: 'crm', client_secret: 'crm-interop-secret-0123456789-abcdef', redirect_uri: `${rpBase}/crm/cb` };
  return `apps:
  - id: ${app.id}
    name: CRM
    client_id: ${app.client_id}
    client_secret: ${app.client_secret}
    signing_alg: ES256
    redirect_uris: ["${app.redirect_uri}"]
    roles:
      - { value: sales, name: Sales, description: "" }
      - { value: finance, name: Finance, description: "" }
    role_groups:
      - { id: crm-all, name: All, roles: [sales, finance] }
orgs:
  - id: acme
    slug: acme
    name: Acme Corporation
    branding: { display_name: Acme, primary_color: "#1d4ed8" }
    domains: [{ domain: acme.test, verified: true }]
    apps:
      - { app_id: app_crm, allowed_role_groups: [crm-all], jit: true, default_roles: [sales] }
    connections:
      - { id: conn_acme_pw, name: Acme passwords, state: active, config: { kind: password } }
`;
}

before(async () => {
  rp = await startCallbackServer();
  env = await startPortalLobby({ importYaml: tenant(rp.base) });
  await createAdmin(env.lobby, { id: 'ada', email: 'ada@acme.test', password: PW, name: 'Ada Admin', org: 'acme' });
  ssp = await startSamlIdp({ users: { [ALICE.email]: ALICE } });
  // The admin signs in once: after the SAML connection is active, acme.test addresses sign in
  // through it (and the admin has no account at that IdP).
  admin = await openBrowser();
  await portalSignIn(admin.page, env.portal, { email: 'ada@acme.test', password: PW, url: conns() });
});

after(async () => {
  await admin?.close();
  await env?.stop();
  await ssp?.close();
  await op?.close();
  await rp?.close();
});

const conns = () => `${env.portal}/orgs/acme/connections`;

/** The value of the `lobby_session` cookie (the admin's SSO session on Lobby's host). */
async function ssoCookie(b) {
  const all = await b.context.cookies(env.lobby.url);
  return all.find((c) => c.name === 'lobby_session')?.value;
}

/** The person signs into the app; returns the ID token claims. */
async function appSignIn(email, idpLogin) {
  const config = await rpConfig(env.lobby.url, app);
  const b = await openBrowser();
  try {
    const req = await authorize(config, app);
    await b.page.goto(req.url.href);
    await b.page.fill('#email', email);
    await b.page.click('#submit');
    await idpLogin(b.page);
    const cb = await waitForCallback(b.page, app.redirect_uri);
    return (await exchange(config, req, cb)).claims();
  } finally {
    await b.close();
  }
}

/** The IdP's login form (SimpleSAMLphp and our oidc-provider page use the same ids). */
async function idpForm(page, base, email, password) {
  await page.waitForSelector('#username', { timeout: 30_000 });
  assert.ok(page.url().startsWith(base), `at the IdP: ${page.url()}`);
  await page.fill('#username', email);
  await page.fill('#password', password);
  await page.click('#submit_button');
}

/** Mapping step: a preset, one group → the `finance` role, save. */
async function mapGroup(page, name, preset, group) {
  await page.click(`[data-preset="${preset}"]`);
  await page.waitForSelector('#preset-hint');
  await checkPage(page, `wizard-${name}-mapping`);
  await page.fill('#group_0', group);
  await page.check(`#row-0 input[value="${app.id} finance"]`);
  await page.click('#save-mapping');
  await page.waitForURL((u) => u.pathname.endsWith('/test'));
}

/** Test step: the checks pass, the test sign-in shows what the IdP sent; then activate. */
async function testAndActivate(b, name, login, expect, refuse) {
  const { page } = b;
  assert.match(await page.textContent('#test-summary'), /Every check passed/, await page.textContent('#checks'));
  await checkPage(page, `wizard-${name}-test`);
  if (refuse) {
    // The person cancels at the IdP: back in the portal, told why.
    const testUrl = page.url();
    await page.click('#test-sign-in');
    await refuse(page);
    await page.waitForURL((u) => u.href.startsWith(env.portal) && u.pathname.endsWith('/test/result'), { timeout: 30_000 });
    assert.match(await page.textContent('#result-summary'), /The test sign-in did not work/);
    assert.match(await page.textContent('#failure'), /idp_error/);
    await checkPage(page, `wizard-${name}-result-failed`);
    await page.goto(testUrl);
  }
  const sso = await ssoCookie(b);
  const users = (await env.lobby.admin('GET', '/users')).items.length;
  await page.click('#test-sign-in');
  await login(page);
  await page.waitForURL((u) => u.href.startsWith(env.portal) && u.pathname.endsWith('/test/result'), { timeout: 30_000 });
  await checkPage(page, `wizard-${name}-result`);
  assert.equal((await page.textContent('#mapped-email')).trim(), expect.email);
  assert.match(await page.textContent('#mapped-roles'), /finance/);
  assert.match(await page.textContent('#attributes'), new RegExp(expect.attribute));
  assert.equal(await page.$('#warnings'), null, await page.textContent('main'));
  // Nothing happened besides: the admin's SSO session is the same, nobody was created.
  assert.equal(await ssoCookie(b), sso, 'no new session');
  assert.equal((await env.lobby.admin('GET', '/users')).items.length, users, 'no user created');
  await page.click('#activate');
  await page.waitForSelector('#connection-state');
  assert.match(await page.textContent('#connection-state'), /Active/);
  await checkPage(page, `wizard-${name}-active`);
  return page.url().split('/').pop();
}

test('the SAML wizard with SimpleSAMLphp: metadata pasted, tested, activated, used', async () => {
  const b = admin;
  let cid;
  {
    const { page } = b;
    await page.goto(conns());
    await checkPage(page, 'wizard-connections');
    await page.click('#new-connection');
    await page.waitForSelector('#choose-saml');
    await checkPage(page, 'wizard-choose');
    await page.click('#choose-saml');
    await page.waitForSelector('#sp-entity-id');
    await checkPage(page, 'wizard-saml-idp');
    // Down to 360 px wide.
    await page.setViewportSize({ width: 360, height: 800 });
    await checkPage(page, 'wizard-saml-idp-360');
    assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= 360), 'no horizontal scrolling at 360 px');
    await page.setViewportSize({ width: 1280, height: 720 });
    // Org IT gives SimpleSAMLphp Lobby's metadata, downloaded from the wizard.
    const entityId = await page.inputValue('#sp-entity-id');
    assert.ok(entityId.startsWith(`${env.lobby.url}/sso/saml/`), entityId);
    const href = await page.getAttribute('#sp-metadata-download', 'href');
    const spMd = await (await page.request.get(new URL(href, page.url()).href)).text();
    assert.match(spMd, new RegExp(`entityID="${entityId}"`));
    ssp.setSpMetadata(spMd);
    // …and pastes SimpleSAMLphp's metadata into the wizard.
    const idpMd = await (await fetch(ssp.metadataUrl.replace('//localhost:', '//127.0.0.1:'))).text();
    await page.fill('#name', 'Acme SimpleSAMLphp');
    await page.check('#source-xml');
    await page.fill('#metadata_xml', idpMd);
    await page.click('#save-idp');
    await page.waitForURL((u) => u.pathname.endsWith('/mapping'));
    await mapGroup(page, 'saml', 'generic', 'crm-admins');
    cid = await testAndActivate(b, 'saml', (p) => idpForm(p, ssp.base, ALICE.email, ALICE.password), {
      email: ALICE.email,
      attribute: 'crm-admins',
    });
    await page.goto(conns());
    assert.match(await page.textContent(`tr[data-connection="${cid}"]`), /Valid until|Expires on/);
    await checkPage(page, 'wizard-connections-after');
  }
  // A member signs into the app through the new connection (JIT; crm-admins → finance).
  const c = await appSignIn(ALICE.email, (p) => idpForm(p, ssp.base, ALICE.email, ALICE.password));
  assert.equal(c.email, ALICE.email);
  assert.equal(c.org_id, 'acme');
  assert.equal(c.idp, cid);
  assert.deepEqual([...c.roles].sort(), ['finance', 'sales']);
});

test('the OIDC wizard with oidc-provider: registered, tested, activated, used', async () => {
  const b = admin;
  let cid;
  {
    const { page } = b;
    await page.goto(conns());
    // One SSO connection at a time: the SAML one is disabled first.
    const saml = await page.getAttribute('#connections a[href*="/connections/conn_"]', 'href');
    await page.goto(new URL(saml, page.url()).href);
    await page.click('#disable');
    await page.waitForSelector('#flash');
    await page.goto(`${conns()}/new`);
    await page.click('#choose-oidc');
    await page.waitForSelector('#redirect-uri');
    await checkPage(page, 'wizard-oidc-idp');
    const redirectUri = await page.inputValue('#redirect-uri');
    assert.ok(redirectUri.startsWith(`${env.lobby.url}/sso/oidc/`), redirectUri);
    // Org IT registers Lobby at their OpenID Provider with that redirect URI.
    const client = { client_id: 'lobby-at-acme', client_secret: 'acme-op-secret-for-lobby-0123456789' };
    op = await startOidcIdp({ users: { 'bea@acme.test': BEA }, clients: [{ ...client, redirect_uris: [redirectUri] }] });
    await page.fill('#name', 'Acme OpenID Provider');
    // First with the issuer mistyped (a trailing slash): the error says what differs.
    await page.fill('#issuer', `${op.issuer}/`);
    await page.fill('#client_id', client.client_id);
    await page.fill('#client_secret', client.client_secret);
    await page.fill('#scopes', 'openid email profile groups');
    await page.click('#save-idp');
    await page.waitForSelector('#issuer-error');
    assert.match(await page.textContent('#issuer-error'), /The issuer in the discovery document is “http:\/\/localhost:\d+” but you entered “http:\/\/localhost:\d+\/”/);
    assert.equal(await page.getAttribute('#issuer', 'aria-invalid'), 'true');
    assert.equal(await page.inputValue('#client_secret'), '', 'the secret is never sent back');
    await checkPage(page, 'wizard-oidc-issuer-error');
    await page.fill('#issuer', op.issuer);
    await page.fill('#client_secret', client.client_secret);
    await page.click('#save-idp');
    await page.waitForURL((u) => u.pathname.endsWith('/mapping'));
    await mapGroup(page, 'oidc', 'okta', 'crm-finance');
    cid = await testAndActivate(b, 'oidc', (p) => idpForm(p, op.issuer, 'bea@acme.test', BEA.password), {
      email: 'bea@acme.test',
      attribute: 'crm-finance',
    }, async (p) => {
      await p.waitForSelector('#abort', { timeout: 30_000 });
      await p.click('#abort');
    });
  }
  const c = await appSignIn('bea@acme.test', (p) => idpForm(p, op.issuer, 'bea@acme.test', BEA.password));
  assert.equal(c.email, 'bea@acme.test');
  assert.equal(c.org_id, 'acme');
  assert.equal(c.idp, cid);
  assert.deepEqual([...c.roles].sort(), ['finance', 'sales']);
});
