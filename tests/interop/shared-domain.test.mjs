// A domain several orgs share (issue 16 item 3), against real peers: a real SMTP server
// (npm `smtp-server`) receives the link, a certified OpenID Provider (`oidc-provider`) is Acme's
// IdP, a certified RP (`openid-client`) gets the tokens, and headless Chromium is the person.
// acme.test is verified by Acme and marked shared (in the imported configuration); Alice
// (alice@acme.test) is a member of Acme and of Globex (imported; her first sign-in at Acme's IdP
// makes her federated account just in time, as email alone never links accounts). Her email is routed to no org: the
// password page offers "Email me a link to my organization's sign-in"; every address gets the
// same answer; the link arrives by SMTP, is refused in another browser, and in hers opens a
// chooser of exactly Acme and Globex. Picking Acme goes to Acme's IdP (the address as
// login_hint) and ends with an ID token for org acme.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startLobby } from './lib/lobby.mjs';
import { startOidcIdp } from './lib/idp-oidc.mjs';
import { openBrowser, waitForCallback } from './lib/browser.mjs';
import { startCallbackServer, rpConfig, authorize, exchange } from './lib/rp.mjs';
import { startSmtp, mailPart } from './lib/mail.mjs';
import { axeCheck, screenshot } from './lib/portal.mjs';

const CONN = 'conn_acme_idp';
const IDP_CLIENT = { client_id: 'lobby-at-acme', client_secret: 'acme-idp-secret-for-lobby-0123456789' };
const USERS = {
  'alice@acme.test': { sub: 'idp-alice', password: 'alice-idp-pw', email_verified: true, name: 'Alice Acme' },
};

let lobby, rp, idp, smtp, app;

before(async () => {
  smtp = await startSmtp();
  rp = await startCallbackServer();
  app = { id: 'app_crm', client_id: 'crm', client_secret: 'crm-interop-secret-0123456789-abcdef', redirect_uri: `${rp.base}/crm/cb` };
  lobby = await startLobby({
    env: { LOBBY_SMTP_URL: `smtp://127.0.0.1:${smtp.port}`, LOBBY_MAIL_FROM: 'Lobby <login@lobby.test>' },
    importYaml: `apps:
  - id: ${app.id}
    name: CRM
    client_id: ${app.client_id}
    client_secret: ${app.client_secret}
    redirect_uris: ["${app.redirect_uri}"]
    roles: [{ value: sales, name: Sales, description: "" }]
    role_groups: [{ id: crm-all, name: All, roles: [sales] }]
users:
  - { id: usr_alice, email: alice@acme.test, email_verified: true, name: Alice Acme }
orgs:
  - id: acme
    slug: acme
    name: Acme Corporation
    domains: [{ domain: acme.test, verified: true, shared: true }]
    apps:
      - { app_id: app_crm, allowed_role_groups: [crm-all], jit: true, default_roles: [sales] }
    members:
      - { user_id: usr_alice, roles: { app_crm: [sales] } }
  - id: globex
    slug: globex
    name: Globex
    apps:
      - { app_id: app_crm, allowed_role_groups: [crm-all] }
    members:
      - { user_id: usr_alice, roles: { app_crm: [sales] } }
  - id: initech
    slug: initech
    name: Initech
    apps:
      - { app_id: app_crm, allowed_role_groups: [crm-all] }
`,
  });
  idp = await startOidcIdp({
    users: USERS,
    clients: [{ ...IDP_CLIENT, redirect_uris: [`${lobby.url}/sso/oidc/${CONN}/callback`] }],
  });
  await lobby.admin('POST', '/orgs/acme/connections', {
    id: CONN,
    name: 'Acme IdP',
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

/** The identifier page with `email`, then the "email me a link" button: the answer's text. */
async function askForLink(page, email) {
  await page.waitForSelector('#email');
  await page.fill('#email', email);
  await page.click('#submit');
  await page.waitForSelector('#email-org-link');
  assert.ok(await page.isVisible('#sso-by-org'), 'the org-name link is offered too');
  await page.click('#email-org-link');
  await page.waitForSelector('#org-link-sent');
  return page.textContent('#org-link-sent');
}

test('the shared mark of the imported configuration shows in the admin API', async () => {
  const d = await lobby.admin('GET', '/orgs/acme/domains/acme.test');
  assert.equal(d.shared, true);
  assert.equal(d.verified, true);
});

test('a shared domain: the emailed link opens a chooser of exactly her orgs, and Acme\'s IdP signs her in', async () => {
  const config = await rpConfig(lobby.url, app);

  // An address nobody has: the same answer, and no message.
  const stranger = await openBrowser();
  let strangerSaid;
  try {
    const req = await authorize(config, app);
    await stranger.page.goto(req.url.href);
    strangerSaid = await askForLink(stranger.page, 'nobody@acme.test');
  } finally {
    await stranger.close();
  }

  const b = await openBrowser();
  const other = await openBrowser();
  try {
    const req = await authorize(config, app);
    await b.page.goto(req.url.href);
    const said = await askForLink(b.page, 'alice@acme.test');
    assert.match(said, /If this address belongs to an organization/);
    assert.equal(said, strangerSaid, 'one answer for every address');
    await axeCheck(b.page, 'login-org-link-sent');

    const mail = await smtp.messageTo('alice@acme.test');
    assert.equal(mail.from, 'login@lobby.test');
    const text = mailPart(mail.raw, 'text/plain');
    const link = text.match(/https?:\/\/\S+\/login\/shared\/[A-Za-z0-9_-]{43}/)?.[0];
    assert.ok(link, text);
    assert.ok(!smtp.inbox.some((m) => m.to.includes('nobody@acme.test')), 'no message to an address without an org');

    // Another browser: refused, and the link still works in hers.
    await other.page.goto(link);
    assert.match(await other.page.textContent('main'), /asked for in another browser/);

    await b.page.goto(link);
    await b.page.waitForSelector('#org-acme');
    const listed = await b.page.$$eval('button[name="org"]', (bs) => bs.map((x) => x.value).sort());
    assert.deepEqual(listed, ['acme', 'globex'], 'her two orgs, not initech');
    await axeCheck(b.page, 'login-org-link-chooser');
    await screenshot(b.page, 'login-org-link-chooser');
    const toIdp = [];
    b.page.on('request', (r) => { if (r.isNavigationRequest() && r.url().startsWith(idp.issuer)) toIdp.push(new URL(r.url())); });
    await b.page.click('#org-acme');

    await b.page.waitForURL((u) => u.toString().startsWith(idp.issuer), { waitUntil: 'commit' });
    assert.equal(toIdp[0].searchParams.get('login_hint'), 'alice@acme.test', 'the address goes on as login_hint');
    await b.page.waitForSelector('#username');
    await b.page.fill('#username', 'alice@acme.test');
    await b.page.fill('#password', USERS['alice@acme.test'].password);
    await b.page.click('#submit_button');
    const tokens = await exchange(config, req, await waitForCallback(b.page, app.redirect_uri).catch(async (e) => {
      throw new Error(`${e.message}\nat ${b.page.url()}:\n${await b.page.textContent('body')}`);
    }));
    assert.equal(tokens.claims().org_id, 'acme');
    assert.equal(tokens.claims().idp, CONN);
    assert.equal(tokens.claims().email, 'alice@acme.test');

    // Used once: opening it again is refused.
    await b.page.goto(link);
    assert.match(await b.page.textContent('main'), /expired or was already used/);
  } finally {
    await other.close();
    await b.close();
  }
});
