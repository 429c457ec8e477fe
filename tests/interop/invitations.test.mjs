// Invitations end to end against real peers: a real SMTP server (npm `smtp-server`, on
// 127.0.0.1) receives Lobby's invitation emails (LOBBY_SMTP_URL), the link is opened in headless
// Chromium, the invitee of an SSO org signs in at the org's real IdP (`oidc-provider`), the
// invitee of a password org chooses a password, and the app (`openid-client`) receives tokens
// carrying the invited roles. A second click on a used link gets the "already accepted" page.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startSmtp, mailPart as part } from './lib/mail.mjs';
import { startLobby } from './lib/lobby.mjs';
import { startOidcIdp } from './lib/idp-oidc.mjs';
import { openBrowser, waitForCallback } from './lib/browser.mjs';
import { startCallbackServer, rpConfig, authorize, exchange } from './lib/rp.mjs';
import * as oidcClient from 'openid-client';

const CONN = 'conn_acme_idp';
const IDP_CLIENT = { client_id: 'lobby-at-acme', client_secret: 'acme-idp-secret-for-lobby-0123456789' };
const USERS = {
  'newbie@acme.test': { sub: 'idp-newbie', password: 'newbie-idp-pw', email_verified: true, name: 'Newbie Acme' },
};

let lobby, rp, idp, smtp, app;
function header(raw, name) {
  const m = raw.match(new RegExp(`^${name}: (.*)$`, 'mi'));
  return m && m[1].trim();
}

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
    branding: { display_name: Acme, primary_color: "#d62828" }
    domains: [{ domain: acme.test, verified: true }]
    apps:
      - { app_id: app_crm, allowed_role_groups: [crm-all] }
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
  smtp = await startSmtp();
  rp = await startCallbackServer();
  lobby = await startLobby({
    importYaml: tenant(rp.base),
    env: { LOBBY_SMTP_URL: `smtp://127.0.0.1:${smtp.port}`, LOBBY_MAIL_FROM: 'Acme Login <login@lobby.test>' },
  });
  idp = await startOidcIdp({
    users: USERS,
    clients: [{ ...IDP_CLIENT, redirect_uris: [`${lobby.url}/sso/oidc/${CONN}/callback`] }],
  });
  await lobby.admin('POST', '/orgs/acme/connections', {
    id: CONN,
    name: 'Acme corporate IdP',
    state: 'active',
    config: { kind: 'oidc', issuer: idp.issuer, ...IDP_CLIENT, scopes: ['openid', 'email', 'profile'] },
  });
});

after(async () => {
  await lobby?.stop();
  await idp?.close();
  await rp?.close();
  await smtp?.close();
});

/** The app's sign-in in this browser; returns the token set. */
async function appSignIn(page, signInSteps = async () => {}) {
  const config = await rpConfig(lobby.url, app);
  const req = await authorize(config, app);
  await page.goto(req.url.href);
  await signInSteps(page);
  const cb = await waitForCallback(page, app.redirect_uri);
  return exchange(config, req, cb);
}

test('an SSO-org invitation arrives by SMTP, its link signs the invitee in at the org IdP once, and the first token carries the invited roles', async () => {
  const inv = await lobby.admin('POST', '/orgs/acme/invitations', {
    email: 'newbie@acme.test',
    roles: { app_crm: ['finance'] },
    inviter_name: 'Alice Admin',
  });
  assert.equal(inv.email_sent, true);
  assert.equal(inv.status, 'pending');
  // Listed as invited from the start.
  assert.equal((await lobby.admin('GET', `/orgs/acme/members/${inv.user_id}`)).status, 'invited');

  const mail = await smtp.messageTo('newbie@acme.test');
  assert.equal(mail.from, 'login@lobby.test');
  assert.match(header(mail.raw, 'Subject'), /Alice Admin invited you to Acme on CRM/);
  const text = part(mail.raw, 'text/plain');
  const html = part(mail.raw, 'text/html');
  const link = text.match(/https?:\/\/\S+\/invite\/[A-Za-z0-9_-]{43}/)[0];
  assert.equal(link, inv.link);
  assert.ok(html.includes(link), 'the HTML part has the same link');
  assert.ok(html.includes('#d62828'), 'branded with the org colour');

  const b = await openBrowser();
  try {
    await b.page.goto(link);
    assert.equal(await b.page.textContent('#org-name'), 'Acme');
    assert.equal(await b.page.textContent('#inviter'), 'Alice Admin');
    assert.equal(await b.page.textContent('#app-name'), 'CRM');
    await b.page.click('#continue');
    await b.page.waitForURL((u) => u.toString().startsWith(idp.issuer), { waitUntil: 'commit' });
    await b.page.waitForSelector('#username');
    await b.page.fill('#username', 'newbie@acme.test');
    await b.page.fill('#password', USERS['newbie@acme.test'].password);
    await b.page.click('#submit_button');
    await b.page.waitForSelector('#invite-done');
    assert.ok(b.page.url().startsWith(`${lobby.url}/sso/oidc/${CONN}/callback`), b.page.url());

    // The app's first sign-in: no IdP round trip (the SSO session), the invited roles.
    const tokens = await appSignIn(b.page);
    const c = tokens.claims();
    assert.equal(c.org_id, 'acme');
    assert.equal(c.sub, inv.user_id, 'the profile made with the invitation');
    assert.equal(c.email, 'newbie@acme.test');
    assert.deepEqual([...c.roles], ['finance']);
    assert.equal(idp.logins.filter((l) => l === 'newbie@acme.test').length, 1);

    // A second click on the link.
    await b.page.goto(link);
    assert.match(await b.page.textContent('#error-message'), /already accepted/);
  } finally {
    await b.close();
  }
  assert.equal((await lobby.admin('GET', `/orgs/acme/invitations/${inv.id}`)).status, 'accepted');
  assert.equal((await lobby.admin('GET', `/orgs/acme/members/${inv.user_id}`)).status, 'active');
});

test('a password-org invitation: the invitee chooses a password in Chromium, then signs in with it', async () => {
  const inv = await lobby.admin('POST', '/orgs/globex/invitations', {
    email: 'pat@globex.test',
    roles: { app_crm: ['sales'] },
  });
  const mail = await smtp.messageTo('pat@globex.test');
  const link = part(mail.raw, 'text/plain').match(/https?:\/\/\S+\/invite\/[A-Za-z0-9_-]{43}/)[0];
  const password = 'pat chose a long passphrase';
  const b = await openBrowser();
  try {
    await b.page.goto(link);
    assert.match(await b.page.textContent('#inviter'), /An administrator of Globex Partners/);
    await b.page.fill('#password', password);
    await b.page.fill('#password2', password);
    await b.page.click('#continue');
    await b.page.waitForSelector('#invite-done');
  } finally {
    await b.close();
  }
  // A new browser: the app's sign-in with the chosen password.
  const b2 = await openBrowser();
  try {
    const tokens = await appSignIn(b2.page, async (page) => {
      await page.fill('#email', 'pat@globex.test');
      await page.click('#submit');
      await page.waitForSelector('#password');
      await page.fill('#password', password);
      await page.click('#submit');
    });
    const c = tokens.claims();
    assert.equal(c.org_id, 'globex');
    assert.equal(c.sub, inv.user_id);
    assert.deepEqual([...c.roles], ['sales']);
    // The used link.
    await b2.page.goto(link);
    assert.match(await b2.page.textContent('#error-message'), /already accepted/);
  } finally {
    await b2.close();
  }
});

test('a password reset: "Forgot your password?" in Chromium, the link arrives by SMTP and works once, the old refresh token dies', async () => {
  // pat (the password-org invitee above) signs in and the app keeps a refresh token.
  const oldPassword = 'pat chose a long passphrase';
  const newPassword = 'pat picked another passphrase';
  const signIn = (password) => async (page) => {
    await page.fill('#email', 'pat@globex.test');
    await page.click('#submit');
    await page.waitForSelector('#password');
    await page.fill('#password', password);
    await page.click('#submit');
  };
  const b0 = await openBrowser();
  let before;
  try {
    before = await appSignIn(b0.page, signIn(oldPassword));
  } finally {
    await b0.close();
  }
  assert.ok(before.refresh_token, 'a refresh token before the reset');

  const b = await openBrowser();
  try {
    // From the password page of a sign-in: "Forgot your password?".
    const config = await rpConfig(lobby.url, app);
    const req = await authorize(config, app);
    await b.page.goto(req.url.href);
    await b.page.fill('#email', 'pat@globex.test');
    await b.page.click('#submit');
    await b.page.waitForSelector('#forgot-password');
    await b.page.click('#forgot-password');
    await b.page.waitForSelector('#email');
    assert.equal(await b.page.inputValue('#email'), 'pat@globex.test');
    await b.page.click('#submit');
    await b.page.waitForSelector('#reset-sent');

    const mail = await smtp.messageTo('pat@globex.test');
    assert.match(header(mail.raw, 'Subject'), /Reset your Globex Partners password/);
    const link = part(mail.raw, 'text/plain').match(/https?:\/\/\S+\/login\/password\/reset\/[A-Za-z0-9_-]{43}/)[0];
    assert.ok(part(mail.raw, 'text/html').includes(link), 'the HTML part has the same link');

    await b.page.goto(link);
    assert.equal(await b.page.textContent('#reset-email'), 'pat@globex.test');
    // A common password is refused with its sentence; the link still works.
    await b.page.fill('#password', 'password123');
    await b.page.fill('#confirm', 'password123');
    await b.page.click('#submit');
    assert.match(await b.page.textContent('#error'), /too common/);
    await b.page.fill('#password', newPassword);
    await b.page.fill('#confirm', newPassword);
    await b.page.click('#submit');
    await b.page.waitForSelector('#password-changed');

    // The link works once.
    await b.page.goto(link);
    assert.match(await b.page.textContent('#error-message'), /already used/);
  } finally {
    await b.close();
  }

  // The refresh token issued before the reset: invalid_grant.
  const config = await rpConfig(lobby.url, app);
  await assert.rejects(oidcClient.refreshTokenGrant(config, before.refresh_token), (e) => {
    assert.equal(e.error, 'invalid_grant');
    return true;
  });

  // The new password signs in; the old one does not.
  const b2 = await openBrowser();
  try {
    const tokens = await appSignIn(b2.page, signIn(newPassword));
    assert.equal(tokens.claims().org_id, 'globex');
  } finally {
    await b2.close();
  }
  const b3 = await openBrowser();
  try {
    const config3 = await rpConfig(lobby.url, app);
    const req3 = await authorize(config3, app);
    await b3.page.goto(req3.url.href);
    await signIn(oldPassword)(b3.page);
    assert.match(await b3.page.textContent('#error'), /email or password is incorrect/);
  } finally {
    await b3.close();
  }
});
