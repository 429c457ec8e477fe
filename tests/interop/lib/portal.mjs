// Shared helpers of the portal's browser tests (tests/interop/portal-*.test.mjs):
// - startSmtp(): a real SMTP server (npm `smtp-server`) on 127.0.0.1:0 keeping every message;
// - startPortalLobby(): that SMTP server plus a Lobby whose portal is reached as
//   http://localhost:<port>/portal while its hosted login and issuer stay on
//   http://127.0.0.1:<port> (two sites, as an "admin portal domain" would be), so the portal
//   cookie and the SSO cookie really live on different hosts;
// - createAdmin(): a person with a password and org roles (through the admin API);
// - portalSignIn(): sign into the portal in Chromium with the hosted email + password pages;
// - checkPage(): axe-core on the current page (zero "serious"/"critical" violations) and a
//   full-page screenshot under target/portal-screenshots/<name>.png.
//
// Cookies: on plain-http loopback the portal cookie is `lobby-portal` (no `Secure`, no
// `__Host-` prefix), like the SSO cookie `lobby_session`; over https it is
// `__Host-lobby-portal`. Chromium itself keeps `Secure`/`__Host-` cookies set over http on
// both localhost and 127.0.0.1, but other browsers do not, so Lobby only drops them on loopback.
//
// axe-core is injected with page.evaluate(source) (CDP evaluation is not subject to the page's
// CSP; addScriptTag would be an inline script, which the portal's CSP refuses).
import assert from 'node:assert/strict';
import { readFileSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { startLobby } from './lobby.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const AXE = readFileSync(join(HERE, '..', 'node_modules', 'axe-core', 'axe.min.js'), 'utf8');
export const SCREENSHOTS = join(HERE, '..', '..', '..', 'target', 'portal-screenshots');

import { startSmtp, mailPart } from './mail.mjs';

export { startSmtp, mailPart };

/** The invitation link in a message. */
export function invitationLink(raw) {
  return mailPart(raw, 'text/plain').match(/https?:\/\/\S+\/invite\/[A-Za-z0-9_-]{43}/)[0];
}

/**
 * SMTP sink + Lobby (tenant from `importYaml`), the portal on http://localhost:<port>/portal.
 * `env` adds settings (e.g. LOBBY_OPERATOR_ORG). Returns { lobby, smtp, portal, stop }.
 */
export async function startPortalLobby({ importYaml, env = {} } = {}) {
  const smtp = await startSmtp();
  const lobby = await startLobby({
    importYaml,
    env: (port) => ({
      LOBBY_SMTP_URL: `smtp://127.0.0.1:${smtp.port}`,
      LOBBY_MAIL_FROM: 'Lobby <login@lobby.test>',
      LOBBY_PORTAL_URL: `http://localhost:${port}/portal`,
      ...env,
    }),
  });
  return {
    lobby,
    smtp,
    portal: `http://localhost:${lobby.port}/portal`,
    async stop() {
      await lobby.stop();
      await smtp.close();
    },
  };
}

/** A person with a password and org roles in `org` (admin API, operator token). */
export async function createAdmin(lobby, { id, email, password, name, org, orgRoles = ['org_admin'], roles = {} }) {
  const user = await lobby.admin('POST', '/users', { id, email, email_verified: true, name, password });
  await lobby.admin('POST', `/orgs/${org}/members`, { user_id: user.id, org_roles: orgRoles, roles });
  return user;
}

/**
 * Sign into the portal in `page`: open `url` (a portal URL), sign in on Lobby's hosted pages
 * with email and password, and wait until the browser is back in the portal.
 */
export async function portalSignIn(page, portal, { email, password, url = portal }) {
  await page.goto(url);
  await page.waitForSelector('#email');
  await page.fill('#email', email);
  await page.click('#submit');
  await page.waitForSelector('#password');
  await page.fill('#password', password);
  await page.click('#submit');
  await page.waitForURL((u) => u.toString().startsWith(portal) && !u.toString().includes('/callback'), { waitUntil: 'load' });
}

/** axe-core on the current page: no violation of impact "serious" or "critical". */
export async function axeCheck(page, name) {
  const has = await page.evaluate(() => typeof window.axe !== 'undefined');
  if (!has) await page.evaluate(AXE);
  const result = await page.evaluate(async () => {
    // eslint-disable-next-line no-undef
    const r = await axe.run(document, { resultTypes: ['violations'] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => n.target.join(' ')) }));
  });
  const bad = result.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  assert.deepEqual(bad, [], `axe on ${name} (${page.url()}): ${JSON.stringify(bad, null, 2)}`);
  return result;
}

/** A full-page screenshot under target/portal-screenshots/<name>.png. */
export async function screenshot(page, name) {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

/** axe-core and a screenshot of the current page. */
export async function checkPage(page, name) {
  await axeCheck(page, name);
  await screenshot(page, name);
}
