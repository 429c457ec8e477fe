// The second factor in Chromium with a certified RP (openid-client): the acme–crm link requires
// MFA, alice signs in with her password, enrols an authenticator app by reading the base32 key
// from the page, and the codes are computed here (RFC 6238: HMAC-SHA-1 over the time step,
// dynamic truncation, 6 digits, 30 s — node's crypto only, the way an authenticator app does).
// The ID token's amr holds otp and its acr the PAPE multi-factor value. A second sign-in is
// challenged; a recovery code works once and is refused when used again.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { startLobby } from './lib/lobby.mjs';
import { openBrowser, waitForCallback } from './lib/browser.mjs';
import { startCallbackServer, rpConfig, authorize, exchange } from './lib/rp.mjs';
import { demoTenant, PASSWORDS } from './lib/tenant.mjs';

const MULTI_FACTOR = 'http://schemas.openid.net/pape/policies/2007/06/multi-factor';

let lobby, rp, t;

before(async () => {
  rp = await startCallbackServer();
  t = demoTenant(rp.base);
  lobby = await startLobby({ importYaml: t.yaml });
  const link = await lobby.admin('PATCH', '/orgs/acme/apps/app_crm', { mfa: 'required' });
  assert.equal(link.mfa, 'required');
});

after(async () => {
  await lobby?.stop();
  await rp?.close();
});

/** RFC 4648 base32 (no padding) to bytes. */
function base32(text) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0;
  let value = 0;
  const out = [];
  for (const ch of text.replace(/[\s=]/g, '').toUpperCase()) {
    const v = alphabet.indexOf(ch);
    assert.ok(v >= 0, `not base32: ${ch}`);
    value = (value << 5) | v;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}

/** RFC 6238 TOTP (RFC 4226 HOTP over the 30-second step), SHA-1, 6 digits. */
function totp(secret, step) {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(step));
  const mac = createHmac('sha1', secret).update(counter).digest();
  const offset = mac[mac.length - 1] & 0x0f;
  const bin = ((mac[offset] & 0x7f) << 24) | (mac[offset + 1] << 16) | (mac[offset + 2] << 8) | mac[offset + 3];
  return String(bin % 1_000_000).padStart(6, '0');
}

const nowStep = () => Math.floor(Date.now() / 1000 / 30);

// The RFC's own test vector (Appendix B, SHA-1): our computation is the standard one.
test('the test computes RFC 6238 codes', () => {
  const key = Buffer.from('12345678901234567890');
  assert.equal(totp(key, Math.floor(59 / 30)), '287082');
  assert.equal(totp(key, Math.floor(1111111109 / 30)), '081804');
});

async function password(page, email, pw) {
  await page.fill('#email', email);
  await page.click('#submit');
  await page.waitForSelector('#password');
  await page.fill('#password', pw);
  await page.click('#submit');
}

test('required second factor: enrol TOTP, then challenged; recovery codes work once', async () => {
  const app = t.apps.crm;
  const config = await rpConfig(lobby.url, app);
  assert.ok(config.serverMetadata().acr_values_supported.includes(MULTI_FACTOR));
  let secret;
  let codes;
  let lastStep;
  const b = await openBrowser();
  try {
    const req = await authorize(config, app);
    await b.page.goto(req.url.href);
    await password(b.page, t.users.alice.email, PASSWORDS.alice);
    await b.page.waitForSelector('#totp-secret');
    assert.ok(await b.page.$('svg#totp-qr'), 'the QR code is inline SVG');
    const link = await b.page.getAttribute('#totp-link', 'href');
    assert.match(link, /^otpauth:\/\/totp\//);
    secret = base32(await b.page.textContent('#totp-secret'));
    assert.equal(secret.length, 20, '160-bit secret');
    assert.ok(link.includes(`secret=${(await b.page.textContent('#totp-secret')).trim()}`));
    codes = await b.page.$$eval('#recovery-codes code', (els) => els.map((e) => e.textContent));
    assert.equal(codes.length, 10);
    // A wrong code first: the page says so, and stays.
    await b.page.fill('#code', '000000');
    await b.page.click('#submit');
    await b.page.waitForSelector('#error');
    lastStep = nowStep();
    await b.page.fill('#code', totp(secret, lastStep));
    await b.page.click('#submit');
    const cb = await waitForCallback(b.page, app.redirect_uri);
    const c = (await exchange(config, req, cb)).claims();
    assert.deepEqual(c.amr, ['pwd', 'otp', 'mfa']);
    assert.equal(c.acr, MULTI_FACTOR);
    assert.equal(c.email, t.users.alice.email);
  } finally {
    await b.close();
  }

  // A new browser: the password, then the challenge. A code of the step just used is refused.
  const b2 = await openBrowser();
  try {
    const req = await authorize(config, app);
    await b2.page.goto(req.url.href);
    await password(b2.page, t.users.alice.email, PASSWORDS.alice);
    await b2.page.waitForSelector('#code');
    assert.equal(await b2.page.$('#totp-secret'), null, 'no secret on the challenge page');
    await b2.page.fill('#code', totp(secret, lastStep));
    await b2.page.click('#submit');
    await b2.page.waitForSelector('#error');
    assert.match(await b2.page.textContent('#error'), /already used/);
    // The next step's code (accepted up to one step ahead).
    const step = Math.max(nowStep(), lastStep + 1);
    await b2.page.fill('#code', totp(secret, step));
    await b2.page.click('#submit');
    const cb = await waitForCallback(b2.page, app.redirect_uri);
    const c = (await exchange(config, req, cb)).claims();
    assert.deepEqual(c.amr, ['pwd', 'otp', 'mfa']);
  } finally {
    await b2.close();
  }

  // A recovery code instead of a code: accepted once.
  const b3 = await openBrowser();
  try {
    const req = await authorize(config, app);
    await b3.page.goto(req.url.href);
    await password(b3.page, t.users.alice.email, PASSWORDS.alice);
    await b3.page.waitForSelector('#code');
    assert.match(await b3.page.textContent('#recovery-remaining'), /10/);
    await b3.page.fill('#code', codes[3]);
    await b3.page.click('#submit');
    const cb = await waitForCallback(b3.page, app.redirect_uri);
    const c = (await exchange(config, req, cb)).claims();
    assert.deepEqual(c.amr, ['pwd', 'otp', 'mfa']);
  } finally {
    await b3.close();
  }
  const b4 = await openBrowser();
  try {
    const req = await authorize(config, app);
    await b4.page.goto(req.url.href);
    await password(b4.page, t.users.alice.email, PASSWORDS.alice);
    await b4.page.waitForSelector('#code');
    assert.match(await b4.page.textContent('#recovery-remaining'), /9/);
    await b4.page.fill('#code', codes[3]);
    await b4.page.click('#submit');
    await b4.page.waitForSelector('#error');
    assert.match(await b4.page.textContent('#error'), /already used/);
  } finally {
    await b4.close();
  }
});
