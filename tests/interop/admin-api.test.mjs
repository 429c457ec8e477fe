// Lobby's own admin API with Lobby-issued tokens, through a certified client library
// (openid-client): the vendor's backend, an app with admin client scopes, gets a token with
// grant_type=client_credentials (RFC 6749 §4.4) and lists the organizations; a read-only token
// cannot change anything.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as client from 'openid-client';
import { startLobby } from './lib/lobby.mjs';
import { rpConfig } from './lib/rp.mjs';

let lobby;
const backend = {
  client_id: 'backend',
  client_secret: 'backend-interop-secret-0123456789-abcdef',
  redirect_uri: 'http://localhost:9/cb',
};

before(async () => {
  lobby = await startLobby();
  await lobby.admin('POST', '/apps', {
    id: 'backend', name: 'Backend', client_id: backend.client_id, client_secret: backend.client_secret,
    redirect_uris: [backend.redirect_uri],
    admin_api: { client_scopes: ['lobby:admin:read'] },
  });
  await lobby.admin('POST', '/orgs', { id: 'acme', slug: 'acme', name: 'Acme' });
});

after(async () => {
  await lobby?.stop();
});

const jwtPart = (t, i) => JSON.parse(Buffer.from(t.split('.')[i], 'base64url').toString());

test('client_credentials token from openid-client lists orgs on the admin API', async () => {
  const config = await rpConfig(lobby.url, backend);
  const meta = config.serverMetadata();
  assert.ok(meta.grant_types_supported.includes('client_credentials'));
  assert.ok(meta.scopes_supported.includes('lobby:admin:read'));
  const tokens = await client.clientCredentialsGrant(config, { scope: 'lobby:admin:read' });
  assert.equal(tokens.token_type.toLowerCase(), 'bearer');
  assert.equal(tokens.scope, 'lobby:admin:read');
  assert.equal(tokens.refresh_token, undefined);
  assert.equal(tokens.id_token, undefined);
  assert.equal(jwtPart(tokens.access_token, 0).typ, 'at+jwt');
  const claims = jwtPart(tokens.access_token, 1);
  assert.equal(claims.aud, `${lobby.url}/api/v1`);
  assert.equal(claims.sub, backend.client_id);

  const auth = { authorization: `Bearer ${tokens.access_token}` };
  const r = await fetch(`${lobby.url}/api/v1/orgs`, { headers: auth });
  assert.equal(r.status, 200);
  const orgs = await r.json();
  assert.deepEqual(orgs.items.map((o) => o.id), ['acme']);
  const w = await fetch(`${lobby.url}/api/v1/orgs/acme`, {
    method: 'PATCH',
    headers: { ...auth, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'Changed' }),
  });
  assert.equal(w.status, 403, 'a read-only token changes nothing');

  // A scope the app does not have: invalid_scope.
  await assert.rejects(
    client.clientCredentialsGrant(config, { scope: 'lobby:admin:write' }),
    (e) => e.error === 'invalid_scope',
  );
});
