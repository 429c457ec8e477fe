// The portal's Domains, Branding, Audit log and Child organizations pages and the vendor
// operator's pages in headless Chromium against real peers: an org admin adds a domain and
// verifies it against a DNS server run by this test (Lobby's real resolver asks it:
// LOBBY_DNS_SERVER), changes the branding after a preview and sees it on the hosted sign-in
// page of an app (openid-client builds the authorization request), reads the audit log and
// creates a child org; an operator (org_admin of LOBBY_OPERATOR_ORG) searches and creates
// orgs, links an app with allowed role groups and manages apps, roles and role groups; an org
// admin gets 404 on the operator pages. axe-core runs on every page (zero serious/critical);
// screenshots go to target/portal-screenshots/pages-*.png.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { openBrowser } from './lib/browser.mjs';
import { startCallbackServer, rpConfig, authorize } from './lib/rp.mjs';
import { startPortalLobby, createAdmin, portalSignIn, checkPage } from './lib/portal.mjs';
import { startDns } from './lib/dns.mjs';

const PW = 'portal pages long passphrase';
let env, rp, dns, app;

function tenant(rpBase) {
  app = { id: 'app_crm', client_id: 'crm', client_secret: 'crm-interop-secret-0123456789-abcdef', redirect_uri: `${rpBase}/crm/cb` };
  return `apps:
  - id: ${app.id}
    name: CRM
    client_id: ${app.client_id}
    client_secret: ${app.client_secret}
    redirect_uris: ["${app.redirect_uri}"]
    roles:
      - { value: sales, name: Sales, description: "" }
      - { value: finance, name: Finance, description: "" }
    role_groups:
      - { id: crm-sales, name: Sales only, roles: [sales] }
      - { id: crm-all, name: Everything, roles: [sales, finance] }
orgs:
  - id: acme
    slug: acme
    name: Acme Corporation
    domains: [{ domain: acme.test, verified: true }]
    apps:
      - { app_id: app_crm, allowed_role_groups: [crm-all] }
    connections:
      - { id: conn_acme_pw, name: Acme passwords, state: active, config: { kind: password } }
  - id: vendor
    slug: vendor
    name: Vendor Inc
    domains: [{ domain: vendor.test, verified: true }]
    connections:
      - { id: conn_vendor_pw, name: Vendor passwords, state: active, config: { kind: password } }
`;
}

before(async () => {
  rp = await startCallbackServer();
  dns = await startDns();
  env = await startPortalLobby({
    importYaml: tenant(rp.base),
    env: { LOBBY_DNS_SERVER: dns.addr, LOBBY_OPERATOR_ORG: 'vendor' },
  });
  await createAdmin(env.lobby, { id: 'ada', email: 'ada@acme.test', password: PW, name: 'Ada Admin', org: 'acme' });
  await createAdmin(env.lobby, { id: 'olga', email: 'olga@vendor.test', password: PW, name: 'Olga Operator', org: 'vendor' });
});

after(async () => {
  await env?.stop();
  await dns?.close();
  await rp?.close();
});

const path = (page) => new URL(page.url()).pathname;

test('an org admin verifies a domain over real DNS, rebrands the sign-in page, reads the audit log and creates a child org', async () => {
  const b = await openBrowser();
  try {
    const page = b.page;
    await portalSignIn(page, env.portal, { email: 'ada@acme.test', password: PW, url: `${env.portal}/orgs/acme/domains` });
    assert.equal(path(page), '/portal/orgs/acme/domains');
    assert.equal(await page.title(), 'Domains · Acme Corporation · Lobby portal');
    await checkPage(page, 'pages-domains');

    // A bad domain: the error is tied to the field.
    await page.fill('#domain', 'not a domain');
    await page.click('text=Add domain');
    await page.waitForSelector('#domain-error');
    assert.equal(await page.getAttribute('#domain', 'aria-invalid'), 'true');
    await checkPage(page, 'pages-domains-error');

    await page.fill('#domain', 'shop.acme-corp.test');
    await page.click('text=Add domain');
    await page.waitForSelector('#flash');
    const name = await page.inputValue('#d-shop\\.acme-corp\\.test-name');
    const value = await page.inputValue('#d-shop\\.acme-corp\\.test-value');
    assert.equal(name, '_lobby-challenge.shop.acme-corp.test');
    assert.match(value, /^lobby-domain-verification=/);

    // Not published yet; DNS failing; then published: each outcome in words.
    await page.click('text=Verify shop.acme-corp.test');
    await page.waitForSelector('#d-shop\\.acme-corp\\.test-notice');
    assert.match(await page.textContent('#d-shop\\.acme-corp\\.test-notice'), /not found yet/);
    await checkPage(page, 'pages-domains-not-found');
    dns.fail(name);
    await page.click('text=Verify shop.acme-corp.test');
    await page.waitForSelector('#d-shop\\.acme-corp\\.test-notice');
    assert.match(await page.textContent('#d-shop\\.acme-corp\\.test-notice'), /could not reach DNS/);
    dns.set(name, [value]);
    await page.click('text=Verify shop.acme-corp.test');
    await page.waitForSelector('#flash');
    assert.match(await page.textContent('#flash'), /shop\.acme-corp\.test is verified/);
    assert.ok(dns.queries.includes(name), 'Lobby asked the test DNS server');
    await checkPage(page, 'pages-domains-verified');
    await page.setViewportSize({ width: 360, height: 740 });
    await checkPage(page, 'pages-domains-360');
    await page.setViewportSize({ width: 1280, height: 800 });

    // Removing asks first.
    await page.click('text=Remove shop.acme-corp.test');
    await page.waitForSelector('button.danger');
    await checkPage(page, 'pages-domains-remove');
    await page.click('button.danger');
    await page.waitForSelector('#flash');
    assert.equal(await page.locator('#d-shop\\.acme-corp\\.test').count(), 0);

    // Branding: preview, an invalid colour, then save.
    await page.click('#nav-branding');
    await page.waitForSelector('#display_name');
    await checkPage(page, 'pages-branding');
    await page.fill('#display_name', 'Acme Europe');
    await page.fill('#primary_color', '#0f766e');
    await page.click('button[value=preview]');
    await page.waitForSelector('#brand-preview');
    await page.waitForLoadState('load');
    assert.equal(await page.textContent('#brand-preview .brand-name'), 'Acme Europe');
    const previewColor = await page.$eval('#brand-preview .preview-button', (e) => getComputedStyle(e).backgroundColor);
    assert.equal(previewColor, 'rgb(15, 118, 110)');
    await checkPage(page, 'pages-branding-preview');
    await page.fill('#primary_color', 'teal');
    await page.click('button[value=save]');
    await page.waitForSelector('#primary_color-error');
    assert.equal(await page.getAttribute('#primary_color', 'aria-invalid'), 'true');
    await checkPage(page, 'pages-branding-error');
    await page.fill('#primary_color', '#0f766e');
    await page.click('button[value=save]');
    await page.waitForSelector('#flash');
    assert.match(await page.textContent('#flash'), /Branding saved/);

    // The hosted sign-in page of an app shows it once the org is known (password page), in
    // another browser (this one has an SSO session and would go straight through).
    const other = await openBrowser();
    try {
      const config = await rpConfig(env.lobby.url, app);
      const req = await authorize(config, app);
      await other.page.goto(req.url.href);
      await other.page.fill('#email', 'ada@acme.test');
      await other.page.click('#submit');
      await other.page.waitForSelector('#password');
      await other.page.waitForLoadState('load');
      assert.equal((await other.page.textContent('.brand-name')).trim(), 'Acme Europe');
      const buttonColor = await other.page.$eval('#submit', (e) => getComputedStyle(e).backgroundColor);
      assert.equal(buttonColor, 'rgb(15, 118, 110)');
      await checkPage(other.page, 'pages-branding-signin');
    } finally {
      await other.close();
    }

    // The audit log, filtered.
    await page.goto(`${env.portal}/orgs/acme/audit`);
    await checkPage(page, 'pages-audit');
    await page.fill('#action', 'domain.verify');
    await page.click('button:has-text("Filter")');
    await page.waitForSelector('table.list');
    const actions = await page.$$eval('table.list tbody tr td:nth-child(3)', (tds) => tds.map((t) => t.textContent.trim()));
    assert.deepEqual(actions, ['domain.verify']);
    await page.click('table.list summary');
    await checkPage(page, 'pages-audit-filtered');

    // A child org: created, listed, opened.
    await page.click('#nav-children');
    await page.waitForSelector('#slug');
    await checkPage(page, 'pages-children');
    await page.fill('#name', 'Acme Europe GmbH');
    await page.fill('#slug', 'Not Valid');
    await page.click('text=Create organization');
    await page.waitForSelector('#slug-error');
    await checkPage(page, 'pages-children-error');
    await page.fill('#slug', 'acme-eu');
    await page.click('text=Create organization');
    await page.waitForSelector('#flash');
    assert.match(path(page), /^\/portal\/orgs\/[^/]+$/);
    await page.goto(`${env.portal}/orgs/acme/children`);
    await page.click('text=Open');
    await page.waitForSelector('h1');
    assert.notEqual(path(page), '/portal/orgs/acme');

    // Not an operator: the operator pages do not exist for this person.
    for (const p of ['/admin', '/admin/apps', '/admin/apps/app_crm', '/admin/orgs/acme/apps']) {
      const r = await page.goto(`${env.portal}${p}`);
      assert.equal(r.status(), 404, p);
    }
  } finally {
    await b.close();
  }
});

test('an operator searches and creates orgs, links an app with role groups, and manages apps, roles and role groups', async () => {
  const b = await openBrowser();
  try {
    const page = b.page;
    await portalSignIn(page, env.portal, { email: 'olga@vendor.test', password: PW, url: `${env.portal}/admin` });
    assert.equal(path(page), '/portal/admin');
    await checkPage(page, 'pages-admin-orgs');
    await page.fill('#q', 'acme');
    await page.click('button:has-text("Search")');
    await page.waitForSelector('table.list');
    assert.match(await page.textContent('table.list'), /Acme Corporation/);
    assert.doesNotMatch(await page.textContent('table.list'), /Vendor Inc/);

    await page.fill('#name', 'Initech');
    await page.fill('#slug', 'initech');
    await page.click('text=Create organization');
    await page.waitForSelector('#flash');
    assert.match(path(page), /^\/portal\/admin\/orgs\/[^/]+\/apps$/);
    await page.selectOption('#app_id', 'app_crm');
    await page.click('text=Link app');
    await page.waitForSelector('#flash');
    await page.check('input[name="g.crm-sales"]');
    await page.click('text=Save role groups');
    await page.waitForSelector('#flash');
    assert.equal(await page.isChecked('input[name="g.crm-sales"]'), true);
    await checkPage(page, 'pages-admin-links');
    // The link's sign-in settings: JIT with a default role from the allowed group.
    await page.check('input[name="jit"]');
    await page.check('input[name="role"][value="sales"]');
    await page.click('button:has-text("Save sign-in settings")');
    await page.waitForSelector('#flash');
    assert.equal(await page.isChecked('input[name="jit"]'), true);
    assert.equal(await page.isChecked('input[name="role"][value="sales"]'), true);
    await page.click('text=Unlink CRM');
    await page.waitForSelector('button.danger');
    await checkPage(page, 'pages-admin-unlink');
    await page.goBack();

    // Apps.
    await page.click('#nav-apps');
    await page.waitForSelector('#redirect_uris');
    await checkPage(page, 'pages-admin-apps');
    await page.fill('#name', 'Billing');
    await page.fill('#redirect_uris', 'https://billing.example/cb');
    await page.click('text=Create app');
    await page.waitForSelector('#client-secret');
    assert.ok((await page.inputValue('#client-secret')).length >= 32);
    await checkPage(page, 'pages-admin-secret');
    await page.click('text=Continue to Billing');
    await page.waitForSelector('#value');
    await page.fill('#value', 'payer');
    await page.fill('#role-name', 'Payer');
    await page.getByRole('button', { name: 'Add role', exact: true }).click();
    await page.waitForSelector('#flash');
    await page.fill('#group-name', 'Payers');
    await page.check('#new-r-payer');
    await page.getByRole('button', { name: 'Add role group', exact: true }).click();
    await page.waitForSelector('#flash');
    assert.match(await page.textContent('#groups ~ form.card'), /Payers/);
    await checkPage(page, 'pages-admin-app');
    await page.setViewportSize({ width: 360, height: 740 });
    await checkPage(page, 'pages-admin-app-360');
    await page.setViewportSize({ width: 1280, height: 800 });
    await page.goto(`${env.portal}/admin/apps/app_crm/roles/sales/delete`);
    await checkPage(page, 'pages-admin-role-delete');
    // Deleting an app: a confirmation page first, then it is gone from the list.
    await page.goto(`${env.portal}/admin/apps`);
    await page.click('text=Billing');
    await page.click('#delete-app');
    await page.waitForSelector('button.danger');
    assert.match(await page.textContent('main'), /Delete the app Billing\?/);
    await checkPage(page, 'pages-admin-app-delete');
    await page.click('button.danger');
    await page.waitForSelector('#flash');
    assert.equal(path(page), '/portal/admin/apps');
    assert.match(await page.textContent('#flash'), /Billing was deleted/);
    assert.doesNotMatch(await page.textContent('table.list'), /Billing/);

    // Signing out of the portal ends the Lobby session too: signing in again asks who you are.
    await page.click('#sign-out');
    await page.waitForSelector('#signed-out-sso');
    await checkPage(page, 'pages-signed-out');
    await page.goto(`${env.portal}/login`);
    await page.waitForSelector('#email');
  } finally {
    await b.close();
  }
});
