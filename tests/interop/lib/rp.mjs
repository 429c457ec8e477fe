// The app's side of the interop tests: openid-client helpers (discovery, authorization request,
// code exchange) and the app's callback endpoint, a tiny HTTP server reached as `localhost` (a
// different site from Lobby on 127.0.0.1, so cookies are really exercised cross-site) that
// answers 200. It listens on 127.0.0.1 and, when available, on [::1] with the same port, since
// Chromium may resolve `localhost` to either.
import http from 'node:http';
import * as client from 'openid-client';

/** The app's openid-client configuration, from Lobby's discovery document (plain http here). */
export async function rpConfig(lobbyUrl, app) {
  return client.discovery(new URL(lobbyUrl), app.client_id, app.client_secret, undefined, {
    execute: [client.allowInsecureRequests],
  });
}

/** An authorization request (PKCE S256, state, nonce, plus `extra` parameters). */
export async function authorize(config, app, extra = {}) {
  const verifier = client.randomPKCECodeVerifier();
  const params = {
    redirect_uri: app.redirect_uri,
    scope: 'openid email profile',
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state: client.randomState(),
    nonce: client.randomNonce(),
    ...extra,
  };
  return { url: client.buildAuthorizationUrl(config, params), verifier, params };
}

/** The app's code exchange at Lobby's token endpoint, checking state and nonce. */
export async function exchange(config, req, callbackUrl) {
  return client.authorizationCodeGrant(config, new URL(callbackUrl), {
    pkceCodeVerifier: req.verifier,
    expectedState: req.params.state,
    expectedNonce: req.params.nonce,
  });
}

export async function startCallbackServer() {
  const handler = (req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end('<!doctype html><title>rp</title><p>callback received</p>');
  };
  const v4 = http.createServer(handler);
  await new Promise((r) => v4.listen(0, '127.0.0.1', r));
  const { port } = v4.address();
  const v6 = http.createServer(handler);
  const v6ok = await new Promise((r) => {
    v6.once('error', () => r(false));
    v6.listen(port, '::1', () => r(true));
  });
  return {
    base: `http://localhost:${port}`,
    close: async () => {
      await new Promise((r) => v4.close(r));
      if (v6ok) await new Promise((r) => v6.close(r));
    },
  };
}
