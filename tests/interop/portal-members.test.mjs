// The portal's Members and Invitations pages in headless Chromium against real peers: an org
// admin signs into the portal (through Lobby's own hosted login; the portal on localhost, the
// login on 127.0.0.1), invites a member (the email arrives at a real SMTP server), the invitee
// accepts and signs in to the app (openid-client), the admin changes the member's role in the
// portal and the member's next token refresh carries it; a member_admin sees no connection
// pages and gets 404 on their URLs; an admin of another org gets 404 on this org's pages; an
// admin chooses Deutsch in the footer and the Members, Overview, Domains and IdP-wizard pages
// render in German.
// axe-core runs on every page built here (zero serious/critical); screenshots go to
// target/portal-screenshots/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as oidcClient from 'openid-client';
import { openBrowser, waitForCallback } from './lib/browser.mjs';
import { startCallbackServer, rpConfig, authorize, exchange } from './lib/rp.mjs';
import { startPortalLobby, createAdmin, portalSignIn, checkPage, invitationLink } from './lib/portal.mjs';

const PW = 'portal admin long passphrase';
let env, rp, app;

function tenant(rpBase) {
  app = { id: 'app_crm', client_id: 'crm', client_secret: 'crm-interop-secret-0123456789-abcdef', redirect_uri: `${rpBase}/crm/cb` };
  return `apps:
  - id: ${app.id}
    name: CRM
    client_id: ${app.client_id}
    client_secret: ${app.client_secret}
    signing_alg: ES256
    redirect_uris: ["${app.redirect_uri}"]
    revoke_on: [member_removed, member_suspended]
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
      - { app_id: app_crm, allowed_role_groups: [crm-all] }
    connections:
      - { id: conn_acme_pw, name: Acme passwords, state: active, config: { kind: password } }
  - id: globex
    slug: globex
    name: Globex Partners
    domains: [{ domain: globex.test, verified: true }]
    apps:
      - { app_id: app_crm, allowed_role_groups: [crm-all] }
    connections:
      - { id: conn_globex_pw, name: Globex passwords, state: active, config: { kind: password } }
`;
}

before(async () => {
  rp = await startCallbackServer();
  env = await startPortalLobby({ importYaml: tenant(rp.base) });
  await createAdmin(env.lobby, { id: 'ada', email: 'ada@acme.test', password: PW, name: 'Ada Admin', org: 'acme' });
  await createAdmin(env.lobby, { id: 'mia', email: 'mia@acme.test', password: PW, name: 'Mia Members', org: 'acme', orgRoles: ['member_admin'] });
  await createAdmin(env.lobby, { id: 'gus', email: 'gus@globex.test', password: PW, name: 'Gus Globex', org: 'globex' });
});

after(async () => {
  await env?.stop();
  await rp?.close();
});

/** The app's sign-in with a password in this page; returns the token set. */
async function appSignIn(page, email, password) {
  const config = await rpConfig(env.lobby.url, app);
  const req = await authorize(config, app);
  await page.goto(req.url.href);
  // Straight back when the browser is still signed in to Lobby (after accepting the invitation).
  if (!page.url().startsWith(app.redirect_uri)) {
    await page.fill('#email', email);
    await page.click('#submit');
    await page.waitForSelector('#password');
    await page.fill('#password', password);
    await page.click('#submit');
  }
  const cb = await waitForCallback(page, app.redirect_uri);
  return exchange(config, req, cb);
}

test('an org admin invites, the invitee accepts, a role change in the portal reaches the next token refresh', async () => {
  const b = await openBrowser();
  let memberUrl;
  try {
    const page = b.page;
    // Signed out: the portal sends the browser to Lobby's hosted login (on the other host).
    await page.goto(`${env.portal}/orgs/acme/members`);
    await page.waitForSelector('#email');
    assert.ok(page.url().startsWith(`${env.lobby.url}/login?flow=`), page.url());
    await portalSignIn(page, env.portal, { email: 'ada@acme.test', password: PW, url: page.url() });
    assert.equal(new URL(page.url()).pathname, '/portal/orgs/acme/members');
    assert.equal(await page.title(), 'Members · Acme · Lobby portal');
    const cookies = await b.context.cookies(env.portal);
    const portalCookie = cookies.find((c) => c.name === 'lobby-portal');
    assert.ok(portalCookie && portalCookie.httpOnly && portalCookie.sameSite === 'Lax', JSON.stringify(cookies));
    await checkPage(page, 'members');

    await page.click('#nav-overview');
    await page.waitForSelector('#my-roles');
    await checkPage(page, 'overview');

    // Invite: a bad address first (the error is tied to the field), then the real one.
    await page.click('#nav-invitations');
    await page.waitForSelector('#invite-form');
    await checkPage(page, 'invitations');
    await page.fill('#invite-email', 'not-an-address@');
    await page.evaluate(() => document.getElementById('invite-email').setAttribute('type', 'text'));
    await page.click('#send-invitation');
    await page.waitForSelector('#email-error');
    assert.equal(await page.getAttribute('#invite-email', 'aria-invalid'), 'true');
    await checkPage(page, 'invitations-error');
    await page.fill('#invite-email', 'newbie@acme.test');
    await page.selectOption('#invite-app', 'app_crm');
    await page.check('#invite-role-app_crm-sales');
    await page.click('#send-invitation');
    await page.waitForSelector('#flash');
    assert.match(await page.textContent('#flash'), /sent to newbie@acme\.test/);
    assert.ok(await page.isVisible('tr[data-email="newbie@acme.test"]'));
    await checkPage(page, 'invitations-sent');
  } finally {
    await b.close();
  }

  // The email arrives by SMTP; the invitee chooses a password in another browser.
  const mail = await env.smtp.messageTo('newbie@acme.test');
  const link = invitationLink(mail.raw);
  const password = 'newbie chose a long passphrase';
  const nb = await openBrowser();
  let tokens;
  try {
    await nb.page.goto(link);
    await nb.page.fill('#password', password);
    await nb.page.fill('#password2', password);
    await nb.page.click('#continue');
    await nb.page.waitForSelector('#invite-done');
    tokens = await appSignIn(nb.page, 'newbie@acme.test', password);
  } finally {
    await nb.close();
  }
  assert.deepEqual([...tokens.claims().roles], ['sales']);
  assert.ok(tokens.refresh_token);

  // The admin changes the member's role in the portal.
  const b2 = await openBrowser();
  try {
    const page = b2.page;
    await portalSignIn(page, env.portal, { email: 'ada@acme.test', password: PW, url: `${env.portal}/orgs/acme/members?q=newbie` });
    await page.click('a.member-link');
    await page.waitForSelector('#roles-form');
    memberUrl = page.url();
    assert.equal(await page.textContent('#member-email'), 'newbie@acme.test');
    await checkPage(page, 'member');
    await page.uncheck('#role-app_crm-sales');
    await page.check('#role-app_crm-finance');
    await page.click('#save-roles');
    await page.waitForSelector('#flash');
    assert.equal(await page.isChecked('#role-app_crm-finance'), true);
    assert.equal(await page.isChecked('#role-app_crm-sales'), false);
    // The confirmation pages say what happens (and change nothing until confirmed).
    await page.click('#suspend');
    await page.waitForSelector('#consequences');
    assert.match(await page.textContent('#consequences'), /refresh tokens are revoked now/);
    await checkPage(page, 'member-suspend');
    await page.click('#cancel');
    await page.click('#remove');
    await page.waitForSelector('#consequences');
    await checkPage(page, 'member-remove');
    await page.click('#cancel');
    await page.waitForSelector('#member-status');
    assert.equal(await page.textContent('#member-status'), 'active');
    // Narrow screens.
    await page.setViewportSize({ width: 360, height: 740 });
    await page.goto(`${env.portal}/orgs/acme/members`);
    await checkPage(page, 'members-360');
    await page.goto(memberUrl);
    await checkPage(page, 'member-360');
  } finally {
    await b2.close();
  }

  // The member's next refresh carries the new role.
  const config = await rpConfig(env.lobby.url, app);
  const refreshed = await oidcClient.refreshTokenGrant(config, tokens.refresh_token);
  assert.deepEqual([...refreshed.claims().roles], ['finance']);
});

test('a member_admin sees no connection pages and gets 404 on their URLs', async () => {
  const b = await openBrowser();
  try {
    const page = b.page;
    await portalSignIn(page, env.portal, { email: 'mia@acme.test', password: PW });
    assert.equal(new URL(page.url()).pathname, '/portal/orgs/acme');
    assert.ok(await page.isVisible('#nav-members'));
    for (const hidden of ['#nav-connections', '#nav-domains', '#nav-branding', '#nav-audit']) {
      assert.equal(await page.locator(hidden).count(), 0, hidden);
    }
    await checkPage(page, 'overview-member-admin');
    for (const path of ['/connections', '/connections/new', '/connections/conn_acme_pw', '/domains', '/audit']) {
      const r = await page.goto(`${env.portal}/orgs/acme${path}`);
      assert.equal(r.status(), 404, path);
    }
    await checkPage(page, 'not-found');
  } finally {
    await b.close();
  }
});

test('an admin of another org gets 404 on every page of this org', async () => {
  const b = await openBrowser();
  try {
    const page = b.page;
    await portalSignIn(page, env.portal, { email: 'gus@globex.test', password: PW });
    assert.equal(new URL(page.url()).pathname, '/portal/orgs/globex');
    const members = await env.lobby.admin('GET', '/orgs/acme/members');
    const someone = members.items[0].user_id;
    for (const path of ['', '/members', `/members/${someone}`, `/members/${someone}/suspend`, `/members/${someone}/remove`, '/invitations', '/connections', '/domains', '/branding', '/audit', '/children']) {
      const r = await page.goto(`${env.portal}/orgs/acme${path}`);
      assert.equal(r.status(), 404, path);
    }
    // Their own org works.
    const r = await page.goto(`${env.portal}/orgs/globex/members`);
    assert.equal(r.status(), 200);
  } finally {
    await b.close();
  }
});

test('the portal in German after choosing Deutsch in the footer (Chromium prefers English)', async () => {
  await createAdmin(env.lobby, { id: 'lena', email: 'lena@acme.test', password: PW, name: 'Lena Lang', org: 'acme' });
  const b = await openBrowser();
  try {
    const page = b.page;
    await page.setExtraHTTPHeaders({ 'Accept-Language': 'en-US,en;q=0.9' });
    await portalSignIn(page, env.portal, { email: 'lena@acme.test', password: PW, url: `${env.portal}/orgs/acme/members` });
    assert.equal(new URL(page.url()).pathname, '/portal/orgs/acme/members');
    assert.equal(await page.getAttribute('html', 'lang'), 'en');
    await page.selectOption('#language', 'de');
    await Promise.all([page.waitForURL(/\/portal\/orgs\/acme\/members$/, { waitUntil: 'load' }), page.click('#set-language')]);
    assert.equal(await page.getAttribute('html', 'lang'), 'de');
    assert.equal(await page.title(), 'Mitglieder · Acme · Lobby-Portal');
    assert.equal(await page.textContent('h1'), 'Mitglieder');
    assert.equal(await page.textContent('label[for="q"]'), 'Suchen');
    const text = await page.textContent('body');
    assert.match(text, /Zum Inhalt springen/);
    assert.match(text, /Mitglieder gefunden\./);
    assert.doesNotMatch(text, /Skip to content|Sign out|Any status/);
    await checkPage(page, 'portal-de-members');
    // The choice stays for the next page.
    await page.click('#nav-overview');
    await page.waitForSelector('#my-roles');
    assert.equal(await page.getAttribute('html', 'lang'), 'de');
    assert.equal(await page.textContent('h1'), 'Übersicht');
    await checkPage(page, 'portal-de-overview');
    // Domains and the IdP setup wizard's first steps speak German too.
    await Promise.all([page.waitForURL(/\/portal\/orgs\/acme\/domains$/, { waitUntil: 'load' }), page.click('#nav-domains')]);
    assert.equal(await page.getAttribute('html', 'lang'), 'de');
    assert.equal(await page.title(), 'Domains · Acme · Lobby-Portal');
    const domains = await page.textContent('main');
    assert.match(domains, /Ihre Domains/);
    assert.match(domains, /Bestätigt am \d{4}-\d{2}-\d{2}/);
    assert.match(domains, /Domain hinzufügen/);
    assert.doesNotMatch(domains, /Your domains|Add a domain|Verified|Record name|Copy|Remove /);
    await checkPage(page, 'portal-de-domains');
    await page.goto(`${env.portal}/orgs/acme/connections/new`);
    assert.equal(await page.textContent('h1'), 'Neue Verbindung');
    assert.match(await page.textContent('main'), /Welches Protokoll spricht Ihr Identity Provider\?/);
    await Promise.all([page.waitForURL(/\/connections\/new\/saml\?id=/, { waitUntil: 'load' }), page.click('#choose-saml')]);
    assert.equal(await page.getAttribute('html', 'lang'), 'de');
    assert.equal(await page.textContent('h1'), 'Neue SAML-Verbindung');
    assert.equal(await page.getAttribute('ol.steps', 'aria-label'), 'Einrichtungsschritte');
    const saml = await page.textContent('main');
    assert.match(saml, /Metadaten-XML einfügen/);
    assert.match(saml, /Speichern und weiter/);
    assert.doesNotMatch(saml, /Paste its metadata XML|Save and continue|Connection name|Setup steps|Download Lobby/);
    await checkPage(page, 'portal-de-wizard-saml');
  } finally {
    await b.close();
  }
});
