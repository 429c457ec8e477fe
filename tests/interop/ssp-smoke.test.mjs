// Checks the SAML test IdP itself (Debian SimpleSAMLphp under php -S): it starts from our own
// config dir, publishes signed-IdP metadata with its pinned certificate, and a certificate
// rollover (a second, "new" certificate) shows up in the metadata as a second signing key.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startSamlIdp, makeCert } from './lib/idp-saml.mjs';

test('SimpleSAMLphp test IdP publishes metadata and a rollover certificate', async () => {
  const idp = await startSamlIdp({ users: { 'alice@acme.test': { password: 'pw', name: 'Alice', groups: ['sales-team'] } } });
  try {
    const url = idp.metadataUrl.replace('//localhost:', '//127.0.0.1:');
    const before = await (await fetch(url)).text();
    assert.match(before, new RegExp(`entityID="${idp.entityId.replace(/[.?]/g, '\\$&')}"`));
    const certs = (xml) => new Set([...xml.matchAll(/<ds:X509Certificate>([^<]+)</g)].map((m) => m[1].replace(/\s/g, '')));
    assert.equal(certs(before).size, 1);
    assert.match(before, /SingleSignOnService/);
    const next = makeCert(idp.certDir, 'idp-b', 'Acme IdP B');
    idp.setCerts({ signing: idp.firstCert, extra: next });
    const after = await (await fetch(url)).text();
    assert.equal(certs(after).size, 2, 'old and new certificate are both published');
  } finally {
    await idp.close();
  }
});
