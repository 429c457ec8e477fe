// Discovery beyond "one verified domain = one org with one IdP" (issue 16 item 3), against two
// certified OpenID Providers (`oidc-provider`, on `localhost`) and a certified RP
// (`openid-client`), in headless Chromium:
// - `domain_hint=acme.test` routes like a verified domain: straight to Acme's IdP, no email page;
// - "Sign in with your organization's name": a person types "Acme" and lands at Acme's IdP;
// - Acme with two IdPs for the app: the email page leads to "Sign in with …" buttons and the
//   chosen IdP signs the person in (the token's `idp` names it).
// axe-core checks the two new pages (no serious or critical violations).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startLobby } from './lib/lobby.mjs';
import { startOidcIdp } from './lib/idp-oidc.mjs';
import { openBrowser, waitForCallback } from './lib/browser.mjs';
import { startCallbackServer, rpConfig, authorize, exchange } from './lib/rp.mjs';
import { axeCheck, screenshot } from './lib/portal.mjs';

const STAFF = 'conn_acme_staff';
const PARTNERS = 'conn_acme_partners';
const IDP_CLIENT = { client_id: 'lobby-at-acme', client_secret: 'acme-idp-secret-for-lobby-0123456789' };
const USERS = {
  'alice@acme.test': { sub: 'idp-alice', password: 'alice-idp-pw', email_verified: true, name: 'Alice Acme' },
};

let lobby, rp, staff, partners, app;

before(async () => {
  rp = await startCallbackServer();
  app = { id: 'app_crm', client_id: 'crm', client_secret: 'crm-interop-secret-0123456789-abcdef', redirect_uri: `${rp.base}/crm/cb` };
  lobby = await startLobby({
    importYaml: `apps:
  - id: ${app.id}
    name: CRM
    client_id: ${app.client_id}
    client_secret: ${app.client_secret}
    redirect_uris: ["${app.redirect_uri}"]
    roles: [{ value: sales, name: Sales, description: "" }]
    role_groups: [{ id: crm-all, name: All, roles: [sales] }]
orgs:
  - id: acme
    slug: acme
    name: Acme Corporation
    domains: [{ domain: acme.test, verified: true }]
    apps:
      - { app_id: app_crm, allowed_role_groups: [crm-all], jit: true, default_roles: [sales] }
`,
  });
  const idpFor = (conn) => startOidcIdp({
    users: USERS,
    clients: [{ ...IDP_CLIENT, redirect_uris: [`${lobby.url}/sso/oidc/${conn}/callback`] }],
  });
  staff = await idpFor(STAFF);
  partners = await idpFor(PARTNERS);
  await connect(STAFF, 'Acme staff', staff);
});

after(async () => {
  await lobby?.stop();
  await staff?.close();
  await partners?.close();
  await rp?.close();
});

async function connect(id, name, idp) {
  await lobby.admin('POST', '/orgs/acme/connections', {
    id,
    name,
    state: 'active',
    config: { kind: 'oidc', issuer: idp.issuer, ...IDP_CLIENT, scopes: ['openid', 'email', 'profile'] },
  });
}

async function atIdp(page, idp) {
  await page.waitForURL((u) => u.toString().startsWith(idp.issuer), { waitUntil: 'commit' });
  await page.waitForSelector('#username');
}

async function idpForm(page, email) {
  await page.fill('#username', email);
  await page.fill('#password', USERS[email].password);
  await page.click('#submit_button');
}

/** Start a sign-in at the app, let `steps` drive the browser to `idp`, sign in there; the tokens. */
async function signIn(extra, idp, steps) {
  const b = await openBrowser();
  try {
    const config = await rpConfig(lobby.url, app);
    const req = await authorize(config, app, extra);
    const seen = [];
    b.page.on('request', (r) => { if (r.isNavigationRequest()) seen.push(new URL(r.url()).pathname); });
    await b.page.goto(req.url.href);
    await steps(b.page);
    await atIdp(b.page, idp);
    await idpForm(b.page, 'alice@acme.test');
    const tokens = await exchange(config, req, await waitForCallback(b.page, app.redirect_uri));
    return { tokens, seen };
  } finally {
    await b.close();
  }
}

test('domain_hint=acme.test goes straight to the IdP of the org that verified acme.test', async () => {
  const { tokens, seen } = await signIn({ domain_hint: 'acme.test' }, staff, async () => {});
  assert.ok(!seen.includes('/login'), `no email page: ${seen.join(' ')}`);
  assert.equal(tokens.claims().org_id, 'acme');
  assert.equal(tokens.claims().idp, STAFF);
});

test('"Sign in with your organization\'s name": typing "Acme" reaches Acme\'s IdP', async () => {
  const { tokens } = await signIn({}, staff, async (page) => {
    await page.waitForSelector('#email');
    await page.click('#sso-by-org');
    await page.waitForSelector('#organization');
    // A name nobody has: one fixed sentence, tied to the field.
    await page.fill('#organization', 'no-such-org');
    await page.click('#submit');
    await page.waitForSelector('#error');
    assert.match(await page.textContent('#error'), /No organization by that name/);
    assert.equal(await page.getAttribute('#organization', 'aria-invalid'), 'true');
    await axeCheck(page, 'login-sso-by-org');
    await screenshot(page, 'login-sso-by-org');
    await page.fill('#organization', 'Acme');
    await page.click('#submit');
  });
  assert.equal(tokens.claims().org_id, 'acme');
});

test('an org with two IdPs shows "Sign in with …" and the chosen IdP signs the person in', async () => {
  await connect(PARTNERS, 'Partner accounts', partners);
  try {
    const { tokens, seen } = await signIn({}, partners, async (page) => {
      await page.fill('#email', 'alice@acme.test');
      await page.click('#submit');
      await page.waitForSelector(`#connection-${PARTNERS}`);
      assert.match(await page.textContent(`#connection-${STAFF}`), /Sign in with Acme staff/);
      assert.match(await page.textContent(`#connection-${PARTNERS}`), /Sign in with Partner accounts/);
      await axeCheck(page, 'login-connection-choice');
      await screenshot(page, 'login-connection-choice');
      await page.click(`#connection-${PARTNERS}`);
    });
    assert.ok(seen.includes('/login/connection'), seen.join(' '));
    assert.equal(tokens.claims().org_id, 'acme');
    assert.equal(tokens.claims().idp, PARTNERS);
    assert.equal(partners.logins.length, 1);
  } finally {
    await lobby.admin('PATCH', `/orgs/acme/connections/${PARTNERS}`, { state: 'disabled' });
  }
});
