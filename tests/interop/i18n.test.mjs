// Languages in a real browser: an app (openid-client, the certified RP library) asks for German
// with `ui_locales=de` while Chromium itself prefers English. The identifier page, the password
// page (with its wrong-password error), the org chooser and an error page must render in
// German with <html lang="de">, and the sign-in must still end with tokens at the app.
// Screenshots: target/portal-screenshots/i18n-*.png.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startLobby } from './lib/lobby.mjs';
import { openBrowser, waitForCallback } from './lib/browser.mjs';
import { startCallbackServer, rpConfig, authorize, exchange } from './lib/rp.mjs';
import { demoTenant, PASSWORDS } from './lib/tenant.mjs';

const SHOTS = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'target', 'portal-screenshots');

let lobby, rp, t;

before(async () => {
  mkdirSync(SHOTS, { recursive: true });
  rp = await startCallbackServer();
  t = demoTenant(rp.base);
  lobby = await startLobby({ importYaml: t.yaml });
});

after(async () => {
  await lobby?.stop();
  await rp?.close();
});

async function shot(page, name) {
  await page.screenshot({ path: join(SHOTS, `i18n-${name}.png`), fullPage: true });
}

async function expectGerman(page) {
  assert.equal(await page.getAttribute('html', 'lang'), 'de');
  const text = await page.textContent('body');
  assert.match(text, /Zum Inhalt springen/);
  assert.match(text, /Gesichert durch Lobby/);
  assert.doesNotMatch(text, /Secured by Lobby|Skip to content/);
}

test('ui_locales=de: identifier, password and chooser pages in German; the app gets its tokens', async () => {
  const b = await openBrowser();
  try {
    await b.page.setExtraHTTPHeaders({ 'Accept-Language': 'en-US,en;q=0.9' });
    const app = t.apps.crm;
    const config = await rpConfig(lobby.url, app);
    assert.deepEqual(config.serverMetadata().ui_locales_supported, ['en', 'de']);
    const req = await authorize(config, app, { ui_locales: 'de' });
    await b.page.goto(req.url.href);

    // Identifier page.
    await b.page.waitForSelector('#email');
    await expectGerman(b.page);
    assert.equal(await b.page.textContent('h1'), 'Anmelden');
    assert.equal(await b.page.textContent('label[for="email"]'), 'E-Mail-Adresse');
    assert.match(await b.page.textContent('.lead'), /^Weiter zu CRM mit Ihrer geschäftlichen E-Mail-Adresse\.$/);
    assert.equal((await b.page.textContent('#submit')).trim(), 'Weiter');
    assert.match(await b.page.title(), /^Anmelden · /);
    await shot(b.page, 'identifier-de');

    // Password page, first with a wrong password.
    await b.page.fill('#email', t.users.alice.email);
    await b.page.click('#submit');
    await b.page.waitForSelector('#password');
    await expectGerman(b.page);
    assert.equal(await b.page.textContent('h1'), 'Passwort eingeben');
    assert.equal(await b.page.textContent('label[for="password"]'), 'Passwort');
    assert.equal(await b.page.textContent('#forgot-password'), 'Passwort vergessen?');
    await b.page.fill('#password', 'not-the-password');
    await b.page.click('#submit');
    await b.page.waitForSelector('#error');
    await expectGerman(b.page);
    assert.equal(await b.page.textContent('#error'), 'Die E-Mail-Adresse oder das Passwort ist falsch.');
    await shot(b.page, 'password-de');

    // The right password: back at the app with tokens.
    await b.page.fill('#password', PASSWORDS.alice);
    await b.page.click('#submit');
    const cb = await waitForCallback(b.page, app.redirect_uri);
    const tokens = await exchange(config, req, cb);
    assert.equal(tokens.claims().email, t.users.alice.email);
  } finally {
    await b.close();
  }
});

test('ui_locales=de: the org chooser in German', async () => {
  const b = await openBrowser();
  try {
    const app = t.apps.crm;
    const config = await rpConfig(lobby.url, app);
    const req = await authorize(config, app, { ui_locales: 'de' });
    await b.page.goto(req.url.href);
    await b.page.fill('#email', t.users.bob.email);
    await b.page.click('#submit');
    await b.page.waitForSelector('#password');
    await b.page.fill('#password', PASSWORDS.bob);
    await b.page.click('#submit');
    await b.page.waitForSelector('[data-org-slug="globex"]');
    await expectGerman(b.page);
    assert.equal(await b.page.textContent('h1'), 'Organisation auswählen');
    assert.match(await b.page.textContent('.lead'), /Ihr Konto gehört zu mehreren Organisationen/);
    await shot(b.page, 'chooser-de');
    await b.page.click('[data-org-slug="globex"]');
    const cb = await waitForCallback(b.page, app.redirect_uri);
    const tokens = await exchange(config, req, cb);
    assert.equal(tokens.claims().org_slug, 'globex');
  } finally {
    await b.close();
  }
});

test('ui_locales=de: an error page in German (a sign-in link with a wrong return address)', async () => {
  const b = await openBrowser();
  try {
    await b.page.setExtraHTTPHeaders({ 'Accept-Language': 'en-US,en;q=0.9' });
    const app = t.apps.crm;
    const config = await rpConfig(lobby.url, app);
    const req = await authorize(config, app, { ui_locales: 'de', redirect_uri: `${app.redirect_uri}/elsewhere` });
    const res = await b.page.goto(req.url.href);
    assert.equal(res.status(), 400);
    await b.page.waitForSelector('#error-message');
    await expectGerman(b.page);
    assert.equal(await b.page.textContent('h1'), 'Problem bei der Anmeldung');
    assert.match(await b.page.textContent('#error-message'), /^Dieser Anmeldelink ist ungültig: Seine Rücksprungadresse passt nicht/);
    assert.match(await b.page.textContent('.request-id'), /nennen Sie bitte diese Anfrage-ID/);
    await shot(b.page, 'error-de');

    // The same link without ui_locales follows the browser: English.
    const en = await authorize(config, app, { redirect_uri: `${app.redirect_uri}/elsewhere` });
    await b.page.goto(en.url.href);
    assert.equal(await b.page.getAttribute('html', 'lang'), 'en');
    assert.equal(await b.page.textContent('h1'), 'Sign-in problem');
    // And a browser that prefers German gets German without ui_locales.
    await b.page.setExtraHTTPHeaders({ 'Accept-Language': 'de-DE,de;q=0.9,en;q=0.5' });
    await b.page.goto(en.url.href);
    assert.equal(await b.page.getAttribute('html', 'lang'), 'de');
  } finally {
    await b.close();
  }
});
