// OIDC federation interop: Acme's own IdP is the certified `oidc-provider` (on `localhost`), Lobby (on
// 127.0.0.1) federates to it, and a certified RP library (`openid-client`, on another
// `localhost` port) receives Lobby's tokens — all driven in headless Chromium.
// Covers: alice signs in via Acme's IdP and gets acme's org_id and the roles her IdP groups map
// to (and the same `sub` next time); a JIT-provisioned user; an invited user (invitation passed
// by the app, JIT off for that app); a user whose IdP says `email_verified: false` (refused,
// nothing created); the user cancelling at the IdP (`access_denied` shown cleanly, with the
// way back to the app).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startLobby } from './lib/lobby.mjs';
import { startOidcIdp } from './lib/idp-oidc.mjs';
import { openBrowser, waitForCallback } from './lib/browser.mjs';
import { startCallbackServer, rpConfig, authorize, exchange } from './lib/rp.mjs';

const CONN = 'conn_acme_idp';
const IDP_CLIENT = { client_id: 'lobby-at-acme', client_secret: 'acme-idp-secret-for-lobby-0123456789' };
const USERS = {
  'alice@acme.test': { sub: 'idp-alice', password: 'alice-idp-pw', email_verified: true, name: 'Alice Acme', groups: ['crm-finance'] },
  'dave@acme.test': { sub: 'idp-dave', password: 'dave-idp-pw', email_verified: true, name: 'Dave Acme' },
  'erin@acme.test': { sub: 'idp-erin', password: 'erin-idp-pw', email_verified: true, name: 'Erin Acme' },
  'frank@acme.test': { sub: 'idp-frank', password: 'frank-idp-pw', email_verified: false, name: 'Frank Acme' },
};

let lobby, rp, idp, apps;

function tenant(rpBase) {
  apps = {
    crm: { id: 'app_crm', client_id: 'crm', client_secret: 'crm-interop-secret-0123456789-abcdef', redirect_uri: `${rpBase}/crm/cb` },
    erp: { id: 'app_erp', client_id: 'erp', client_secret: 'erp-interop-secret-0123456789-abcdef', redirect_uri: `${rpBase}/erp/cb` },
  };
  const app = (a, alg) => `  - id: ${a.id}
    name: ${a.client_id.toUpperCase()}
    client_id: ${a.client_id}
    client_secret: ${a.client_secret}
    signing_alg: ${alg}
    redirect_uris: ["${a.redirect_uri}"]
    roles:
      - { value: sales, name: Sales, description: "" }
      - { value: finance, name: Finance, description: "" }
    role_groups:
      - { id: ${a.client_id}-all, name: All, roles: [sales, finance] }`;
  return `apps:
${app(apps.crm, 'ES256')}
${app(apps.erp, 'RS256')}
orgs:
  - id: acme
    slug: acme
    name: Acme Corporation
    domains: [{ domain: acme.test, verified: true }]
    apps:
      - { app_id: app_crm, allowed_role_groups: [crm-all], jit: true, default_roles: [sales] }
      - { app_id: app_erp, allowed_role_groups: [erp-all] }
`;
}

before(async () => {
  rp = await startCallbackServer();
  lobby = await startLobby({ importYaml: tenant(rp.base) });
  // The IdP needs Lobby's callback URL, and Lobby the IdP's issuer: start the IdP second and
  // register the connection through the admin API (which seals the client secret).
  idp = await startOidcIdp({
    users: USERS,
    clients: [{ ...IDP_CLIENT, redirect_uris: [`${lobby.url}/sso/oidc/${CONN}/callback`] }],
  });
  await lobby.admin('POST', '/orgs/acme/connections', {
    id: CONN,
    name: 'Acme corporate IdP',
    state: 'active',
    config: {
      kind: 'oidc',
      issuer: idp.issuer,
      ...IDP_CLIENT,
      scopes: ['openid', 'email', 'profile', 'groups'],
      claims: { groups: 'groups' },
      role_mapping: [{ group: 'crm-finance', app_id: 'app_crm', roles: ['finance'] }],
    },
  });
});

after(async () => {
  await lobby?.stop();
  await idp?.close();
  await rp?.close();
});

/** Lobby's identifier page → Acme's IdP login page. */
async function toIdp(page, email) {
  await page.fill('#email', email);
  await page.click('#submit');
  await atIdp(page);
}

/** Wait for Acme's IdP login page. */
async function atIdp(page) {
  await page.waitForURL((u) => u.toString().startsWith(idp.issuer), { waitUntil: 'commit' });
  await page.waitForSelector('#username');
}

/** Sign in on Acme's IdP login page. */
async function idpForm(page, email) {
  await page.fill('#username', email);
  await page.fill('#password', USERS[email].password);
  await page.click('#submit_button');
}

async function idpLogin(page, email) {
  await toIdp(page, email);
  await idpForm(page, email);
}

/** A full sign-in of `email` at `app`; returns the tokens. */
async function signIn(appName, email, extra = {}) {
  const b = await openBrowser();
  try {
    const app = apps[appName];
    const config = await rpConfig(lobby.url, app);
    const req = await authorize(config, app, extra);
    await b.page.goto(req.url.href);
    await idpLogin(b.page, email);
    const cb = await waitForCallback(b.page, app.redirect_uri);
    return await exchange(config, req, cb);
  } finally {
    await b.close();
  }
}

/** The newest audit events of an action. */
async function audits(action) {
  return (await lobby.admin('GET', `/audit-events?action=${encodeURIComponent(action)}&limit=50`)).items;
}

test('alice signs in through Acme\'s IdP: acme\'s org_id and the roles her IdP groups map to', async () => {
  const tokens = await signIn('crm', 'alice@acme.test');
  const c = tokens.claims();
  assert.equal(c.iss, lobby.url);
  assert.equal(c.aud, 'crm');
  assert.equal(c.org_id, 'acme');
  assert.equal(c.org_slug, 'acme');
  assert.equal(c.email, 'alice@acme.test');
  assert.equal(c.email_verified, true);
  assert.equal(c.name, 'Alice Acme');
  assert.equal(c.idp, CONN);
  // The link's default role plus `finance` from her `crm-finance` group at the IdP.
  assert.deepEqual([...c.roles].sort(), ['finance', 'sales']);
  assert.deepEqual(idp.logins.filter((l) => l === 'alice@acme.test').length, 1);
  // The external identity is (connection, issuer, subject): the IdP's sub, never the email.
  const ids = await lobby.admin('GET', `/users/${c.sub}/identities`);
  const list = ids.items || ids;
  assert.equal(list.length, 1);
  assert.equal(list[0].connection_id, CONN);
  assert.equal(list[0].issuer, idp.issuer);
  assert.equal(list[0].subject, 'idp-alice');
  // Next time (a new browser): the same Lobby user.
  const again = await signIn('crm', 'alice@acme.test');
  assert.equal(again.claims().sub, c.sub);
  const ev = await audits('login.federated');
  assert.equal(ev[0].details.via, 'existing');
});

test('an app that names the org (organization=acme) sends the browser straight to Acme\'s IdP', async () => {
  const b = await openBrowser();
  try {
    const app = apps.crm;
    const config = await rpConfig(lobby.url, app);
    const req = await authorize(config, app, { organization: 'acme', login_hint: 'alice@acme.test' });
    const seen = [];
    b.page.on('request', (r) => { if (r.isNavigationRequest()) seen.push(r.url()); });
    await b.page.goto(req.url.href);
    await atIdp(b.page);
    // No email page at Lobby: /authorize redirected to the IdP, with the app's login_hint.
    assert.ok(!seen.some((u) => new URL(u).pathname === '/login'), seen.join('\n'));
    const authRequest = new URL(seen.find((u) => u.startsWith(`${idp.issuer}/auth`)));
    assert.equal(authRequest.searchParams.get('login_hint'), 'alice@acme.test');
    await idpForm(b.page, 'alice@acme.test');
    const tokens = await exchange(config, req, await waitForCallback(b.page, app.redirect_uri));
    assert.equal(tokens.claims().org_id, 'acme');
    assert.equal(tokens.claims().idp, CONN);
  } finally {
    await b.close();
  }
});

test('a JIT-provisioned user gets a membership with the link\'s default roles', async () => {
  const tokens = await signIn('crm', 'dave@acme.test');
  const c = tokens.claims();
  assert.equal(c.org_id, 'acme');
  assert.deepEqual([...c.roles], ['sales']);
  const m = await lobby.admin('GET', `/orgs/acme/members/${c.sub}`);
  assert.equal(m.status, 'active');
  const ev = (await audits('login.federated')).find((e) => e.target_id === c.sub);
  assert.equal(ev.details.via, 'jit');
});

test('an invited user redeems the invitation through the IdP (the app has no JIT)', async () => {
  // Without an invitation: no access to erp.
  const b = await openBrowser();
  try {
    const config = await rpConfig(lobby.url, apps.erp);
    const req = await authorize(config, apps.erp);
    await b.page.goto(req.url.href);
    await idpLogin(b.page, 'erin@acme.test');
    await b.page.waitForSelector('#error-message');
    assert.match(await b.page.textContent('#error-message'), /Ask your organization's administrator to invite you/);
  } finally {
    await b.close();
  }
  const inv = await lobby.admin('POST', '/orgs/acme/invitations', {
    email: 'erin@acme.test',
    roles: { app_erp: ['finance'] },
  });
  assert.ok(inv.token, 'the invitation token is shown once');
  const tokens = await signIn('erp', 'erin@acme.test', { invitation: inv.token });
  const c = tokens.claims();
  assert.equal(c.org_id, 'acme');
  assert.deepEqual([...c.roles], ['finance']);
  const stored = await lobby.admin('GET', `/orgs/acme/invitations/${inv.id}`);
  assert.equal(stored.status, 'accepted');
  const ev = (await audits('login.federated')).find((e) => e.target_id === c.sub);
  assert.equal(ev.details.via, 'invitation');
});

test('a user whose IdP says email_verified: false is not linked or provisioned', async () => {
  const before = (await lobby.admin('GET', '/users?limit=500')).items.length;
  const b = await openBrowser();
  try {
    const config = await rpConfig(lobby.url, apps.crm);
    const req = await authorize(config, apps.crm);
    await b.page.goto(req.url.href);
    await idpLogin(b.page, 'frank@acme.test');
    await b.page.waitForSelector('#error-message');
    assert.match(await b.page.textContent('#error-message'), /did not confirm your email address/);
    assert.ok(!b.page.url().startsWith(apps.crm.redirect_uri), 'no code went to the app');
    assert.ok(b.page.url().startsWith(`${lobby.url}/sso/oidc/${CONN}/callback`));
  } finally {
    await b.close();
  }
  const after = (await lobby.admin('GET', '/users?limit=500')).items.length;
  assert.equal(after, before, 'no user was created');
  const ev = await audits('login.federated');
  assert.equal(ev[0].outcome, 'denied');
  assert.equal(ev[0].details.reason, 'email_not_verified');
});

test('cancelling at the IdP (access_denied) is shown cleanly, with the way back to the app', async () => {
  const b = await openBrowser();
  try {
    const config = await rpConfig(lobby.url, apps.crm);
    const req = await authorize(config, apps.crm);
    await b.page.goto(req.url.href);
    await toIdp(b.page, 'alice@acme.test');
    await b.page.click('#abort');
    await b.page.waitForSelector('#error-message');
    assert.match(await b.page.textContent('#error-message'), /Sign-in was cancelled or refused at your organization's sign-in page/);
    // The IdP's own description, shown as text.
    assert.match(await b.page.textContent('#idp-detail'), /End-User aborted interaction/);
    assert.ok(await b.page.textContent('#request-id'));
    // The way back: the app receives a standard OAuth error, with its state and Lobby's iss.
    await b.page.click('#back-to-app');
    const cb = await waitForCallback(b.page, apps.crm.redirect_uri);
    const u = new URL(cb);
    assert.equal(u.searchParams.get('error'), 'access_denied');
    assert.equal(u.searchParams.get('state'), req.params.state);
    assert.equal(u.searchParams.get('iss'), lobby.url);
    await assert.rejects(exchange(config, req, cb), (e) => e.error === 'access_denied');
  } finally {
    await b.close();
  }
  const ev = await audits('login.oidc');
  assert.equal(ev[0].details.reason, 'idp_error');
  assert.equal(ev[0].details.detail.error, 'access_denied');
});

test('the admin connection test passes against the real IdP, and the secret never comes back', async () => {
  const r = await lobby.admin('GET', `/orgs/acme/connections/${CONN}/test`);
  assert.equal(r.ok, true, JSON.stringify(r));
  const c = await lobby.admin('GET', `/orgs/acme/connections/${CONN}`);
  assert.equal(c.config.client_secret_set, true);
  assert.ok(!JSON.stringify(c).includes(IDP_CLIENT.client_secret));
});
