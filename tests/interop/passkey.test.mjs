// Passkeys as the second factor (issue 16 item 4) in Chromium with its virtual authenticator
// (CDP `WebAuthn.addVirtualAuthenticator`: a CTAP2 authenticator with resident keys and user
// verification, on USB, i.e. a security key). Lobby runs on http://localhost (a secure
// context, and a domain for the RP ID), the acme–crm link requires a second factor:
// - first sign-in: password, then the enrolment page's "Set up a passkey" makes a credential;
//   openid-client gets an ID token whose `amr` is pwd + hwk + mfa (a credential that cannot be
//   synced: not backup eligible) and whose `acr` is multi-factor;
// - a new flow (prompt=login, no remembered device): the challenge page's "Use a passkey"
//   passes with the same credential, and its signature counter moved on;
// - a credential removed from the authenticator is not offered: the page says so in a fixed
//   sentence and stays on the challenge;
// - a credential the admin's reset removed from Lobby is refused even when the browser still
//   has it and the ceremony started before the reset; the next sign-in enrols again.
// - a synced passkey (backup eligible) gives `swk`.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startLobby } from './lib/lobby.mjs';
import { openBrowser, waitForCallback } from './lib/browser.mjs';
import { startCallbackServer, rpConfig, authorize, exchange } from './lib/rp.mjs';
import { demoTenant, PASSWORDS } from './lib/tenant.mjs';

const MULTI_FACTOR = 'http://schemas.openid.net/pape/policies/2007/06/multi-factor';
let lobby, rp, t;

before(async () => {
  rp = await startCallbackServer();
  t = demoTenant(rp.base);
  // WebAuthn needs a domain for the RP ID: Lobby's public URL is http://localhost:<port>.
  lobby = await startLobby({ importYaml: t.yaml, host: 'localhost' });
  await lobby.admin('PATCH', `/orgs/acme/apps/${t.apps.crm.id}`, { mfa: 'required' });
});

after(async () => {
  await lobby?.stop();
  await rp?.close();
});

/** A browser with a virtual authenticator; `backup` makes its passkeys synced ones. */
async function browserWithAuthenticator({ backup = false } = {}) {
  const b = await openBrowser();
  const cdp = await b.context.newCDPSession(b.page);
  await cdp.send('WebAuthn.enable', { enableUI: false });
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2',
      transport: 'usb',
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
      defaultBackupEligibility: backup,
      defaultBackupState: backup,
    },
  });
  const credentials = async () => (await cdp.send('WebAuthn.getCredentials', { authenticatorId })).credentials;
  return { ...b, cdp, authenticatorId, credentials };
}

/** Password sign-in up to the second-factor page; returns the authorization request. */
async function toSecondFactor(page, extra = {}) {
  const app = t.apps.crm;
  const config = await rpConfig(lobby.url, app);
  const req = await authorize(config, app, extra);
  await page.goto(req.url.href);
  await page.fill('#email', t.users.alice.email);
  await page.click('#submit');
  await page.waitForSelector('#password');
  await page.fill('#password', PASSWORDS.alice);
  await page.click('#submit');
  await page.waitForURL((u) => u.pathname === '/login/mfa');
  return { app, config, req };
}

async function tokensAfter(page, { app, config, req }) {
  const cb = await waitForCallback(page, app.redirect_uri);
  return exchange(config, req, cb);
}

test('enrol a passkey on first sign-in, then pass the challenge with it; amr says hwk', async () => {
  const b = await browserWithAuthenticator();
  try {
    // First sign-in: enrolment, with a passkey.
    const first = await toSecondFactor(b.page);
    await b.page.waitForSelector('#passkey-button:not([hidden])');
    assert.equal(await b.page.isVisible('#passkey-status'), false);
    await b.page.click('#passkey-button');
    const tokens = await tokensAfter(b.page, first);
    const c = tokens.claims();
    assert.deepEqual(c.amr, ['pwd', 'hwk', 'mfa']);
    assert.equal(c.acr, MULTI_FACTOR);
    assert.equal(c.org_id, 'acme');
    const creds = await b.credentials();
    assert.equal(creds.length, 1, 'one credential made');
    assert.equal(creds[0].rpId, 'localhost');
    assert.equal(creds[0].isResidentCredential, false, 'a second factor needs no discoverable credential');
    const counter = creds[0].signCount;

    // A new flow that must authenticate again (prompt=login; no remembered device): the
    // challenge page, passed with the passkey.
    const second = await toSecondFactor(b.page, { prompt: 'login' });
    assert.equal(await b.page.isVisible('#code'), false, 'no authenticator app: no code form');
    await b.page.waitForSelector('#passkey-button:not([hidden])');
    await b.page.click('#passkey-button');
    const again = (await tokensAfter(b.page, second)).claims();
    assert.deepEqual(again.amr, ['pwd', 'hwk', 'mfa']);
    assert.ok(again.auth_time >= c.auth_time);
    assert.ok((await b.credentials())[0].signCount > counter, 'the authenticator counted the use');

    // The credential removed from the authenticator: nothing to sign with; a fixed sentence,
    // still on the challenge page.
    const [cred] = await b.credentials();
    await b.cdp.send('WebAuthn.removeCredential', { authenticatorId: b.authenticatorId, credentialId: cred.credentialId });
    await toSecondFactor(b.page, { prompt: 'login' });
    await b.page.waitForSelector('#passkey-button:not([hidden])');
    await b.page.click('#passkey-button');
    await b.page.waitForSelector('#passkey-status:not([hidden])', { timeout: 60_000 });
    assert.equal(
      (await b.page.textContent('#passkey-status')).trim(),
      'The passkey was not used. Try again, or use another way below.',
    );
    assert.equal(new URL(b.page.url()).pathname, '/login/mfa');

    // Back in the authenticator, but the admin resets alice's second factors after the
    // ceremony started: Lobby refuses the (valid) assertion.
    await b.cdp.send('WebAuthn.addCredential', { authenticatorId: b.authenticatorId, credential: cred });
    const flow = new URL(b.page.url()).searchParams.get('flow');
    const csrf = await b.page.getAttribute('#passkey', 'data-csrf');
    const options = await b.page.evaluate(async ({ flow, csrf }) => {
      const r = await fetch('/login/mfa/passkey/authenticate/options', {
        method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ flow, csrf }),
      });
      return { status: r.status, body: await r.json() };
    }, { flow, csrf });
    assert.equal(options.status, 200, JSON.stringify(options.body));
    await lobby.admin('DELETE', `/orgs/acme/members/${t.users.alice.id}/mfa`);
    const finish = await b.page.evaluate(async ({ flow, csrf, options }) => {
      const b64 = (buf) => btoa(String.fromCharCode(...new Uint8Array(buf))).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
      const bin = (s) => Uint8Array.from(atob(s.replace(/-/g, '+').replace(/_/g, '/') + '==='.slice((s.length + 3) % 4)), (c) => c.charCodeAt(0));
      const pk = options.publicKey;
      pk.challenge = bin(pk.challenge);
      pk.allowCredentials = pk.allowCredentials.map((d) => ({ ...d, id: bin(d.id) }));
      const cred = await navigator.credentials.get({ publicKey: pk });
      const credential = {
        id: cred.id, rawId: b64(cred.rawId), type: cred.type, extensions: {},
        response: {
          authenticatorData: b64(cred.response.authenticatorData),
          clientDataJSON: b64(cred.response.clientDataJSON),
          signature: b64(cred.response.signature),
          userHandle: cred.response.userHandle ? b64(cred.response.userHandle) : null,
        },
      };
      const r = await fetch('/login/mfa/passkey/authenticate/finish', {
        method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ flow, csrf, credential }),
      });
      return { status: r.status, body: await r.json() };
    }, { flow, csrf, options: options.body });
    assert.equal(finish.status, 401, JSON.stringify(finish.body));
    assert.equal(finish.body.error, 'passkey_rejected');

    // The next sign-in enrols again (the reset left no factor).
    await toSecondFactor(b.page, { prompt: 'login' });
    assert.ok(await b.page.isVisible('#totp-secret'), 'the enrolment page');
    await b.page.waitForSelector('#passkey-button:not([hidden])');
  } finally {
    await b.close();
  }
});

test('a synced passkey (backup eligible) counts as a software key: amr swk', async () => {
  // A fresh user state: the first test's reset left alice without a factor.
  const b = await browserWithAuthenticator({ backup: true });
  try {
    const first = await toSecondFactor(b.page);
    await b.page.waitForSelector('#passkey-button:not([hidden])');
    await b.page.click('#passkey-button');
    const c = (await tokensAfter(b.page, first)).claims();
    assert.deepEqual(c.amr, ['pwd', 'swk', 'mfa']);
    assert.equal(c.acr, MULTI_FACTOR);
  } finally {
    await b.close();
    await lobby.admin('DELETE', `/orgs/acme/members/${t.users.alice.id}/mfa`);
  }
});

test('German pages: the passkey part speaks German, and a browser without WebAuthn gets the fixed sentence', async () => {
  const b = await openBrowser();
  try {
    // No virtual authenticator, and WebAuthn taken away before any script runs.
    await b.page.addInitScript(() => {
      delete window.PublicKeyCredential;
    });
    await toSecondFactor(b.page, { ui_locales: 'de' });
    await b.page.waitForSelector('#passkey-status:not([hidden])');
    assert.equal(
      (await b.page.textContent('#passkey-status')).trim(),
      'Dieser Browser kann auf dieser Seite keine Passkeys verwenden. Wählen Sie unten einen anderen Weg.',
    );
    assert.equal(await b.page.isVisible('#passkey-button'), false);
    // The authenticator app remains.
    assert.ok(await b.page.isVisible('#code'));
  } finally {
    await b.close();
  }
});
