// An organization's own OpenID Provider for interop tests: the certified `oidc-provider` npm
// package on 127.0.0.1, with its dev login disabled and a small login page of our own (so a
// wrong password really fails), an abort button (→ access_denied), persisted RS256 keys for
// the run, and users whose claims the test chooses (email_verified, groups…).
import http from 'node:http';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import Provider from 'oidc-provider';
import { freePort } from './lobby.mjs';

const esc = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function page(uid, message = '') {
  return `<!doctype html><html><head><title>Acme IdP</title></head><body><main>
<h1>Acme corporate sign-in</h1>${message ? `<p id="error">${esc(message)}</p>` : ''}
<form method="post" action="/interaction/${esc(uid)}/login">
<label for="username">Email</label><input id="username" name="username" autocomplete="username">
<label for="password">Password</label><input id="password" name="password" type="password">
<button id="submit_button" type="submit">Sign in</button></form>
<form method="post" action="/interaction/${esc(uid)}/abort"><button id="abort" type="submit">Cancel</button></form>
</main></body></html>`;
}

async function readForm(req) {
  let body = '';
  for await (const chunk of req) body += chunk;
  return Object.fromEntries(new URLSearchParams(body));
}

/**
 * users: { [email]: { password, sub?, email_verified, name, groups } }
 * clients: [{ client_id, client_secret, redirect_uris }]
 */
export async function startOidcIdp({ users, clients, host = 'localhost' }) {
  const port = await freePort();
  const issuer = `http://${host}:${port}`;
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = { ...privateKey.export({ format: 'jwk' }), use: 'sig', alg: 'RS256', kid: 'idp-key-1' };
  const byId = new Map(Object.entries(users).map(([email, u]) => [u.sub || email, { email, ...u }]));
  const provider = new Provider(issuer, {
    clients: clients.map((c) => ({
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
      ...c,
    })),
    jwks: { keys: [jwk] },
    cookies: { keys: [randomBytes(16).toString('hex')] },
    features: { devInteractions: { enabled: false } },
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'], groups: ['groups'] },
    scopes: ['openid', 'email', 'profile', 'groups'],
    conformIdTokenClaims: false,
    pkce: { required: () => false },
    interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
    async findAccount(ctx, id) {
      const u = byId.get(id);
      if (!u) return undefined;
      return {
        accountId: id,
        async claims() {
          const c = { sub: id, email: u.email, email_verified: u.email_verified, name: u.name };
          if (u.groups) c.groups = u.groups;
          return c;
        },
      };
    },
    // No consent screen: first-party corporate IdP.
    async loadExistingGrant(ctx) {
      const grantId = ctx.oidc.result?.consent?.grantId || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
      if (grantId) return ctx.oidc.provider.Grant.find(grantId);
      const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
      grant.addOIDCScope('openid email profile groups');
      grant.addOIDCClaims(['email', 'email_verified', 'name', 'groups']);
      await grant.save();
      return grant;
    },
  });
  const callback = provider.callback();
  const logins = [];
  const server = http.createServer(async (req, res) => {
    try {
      const m = req.url.match(/^\/interaction\/([^/?]+)(\/login|\/abort)?/);
      if (!m) return callback(req, res);
      const [, uid, action] = m;
      if (req.method === 'GET' && !action) {
        await provider.interactionDetails(req, res);
        res.writeHead(200, { 'content-type': 'text/html' });
        return res.end(page(uid));
      }
      if (req.method === 'POST' && action === '/abort') {
        return provider.interactionFinished(req, res, { error: 'access_denied', error_description: 'End-User aborted interaction' }, { mergeWithLastSubmission: false });
      }
      if (req.method === 'POST' && action === '/login') {
        const form = await readForm(req);
        const u = users[form.username];
        if (!u || u.password !== form.password) {
          res.writeHead(200, { 'content-type': 'text/html' });
          return res.end(page(uid, 'Invalid email or password.'));
        }
        logins.push(form.username);
        return provider.interactionFinished(req, res, { login: { accountId: u.sub || form.username } }, { mergeWithLastSubmission: false });
      }
      res.writeHead(405);
      res.end();
    } catch (e) {
      res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(`idp error: ${e.message}`);
    }
  });
  await new Promise((r) => server.listen(port, '127.0.0.1', r));
  return { issuer, provider, logins, close: () => new Promise((r) => server.close(r)) };
}
