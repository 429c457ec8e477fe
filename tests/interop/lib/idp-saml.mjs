// An organization's own SAML 2.0 IdP for interop tests: Debian's SimpleSAMLphp 1.19 under
// `php -S` with a config dir of our own (SIMPLESAMLPHP_CONFIG_DIR), exampleauth:UserPass users,
// Response and Assertion signed with rsa-sha256, and signed AuthnRequests required. SP metadata
// is read from an XML file on every request, so tests can (re)write it at any time, and the
// IdP's hosted metadata is a PHP file, so a certificate rollover is a rewrite too.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from './lobby.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const php = (v) => JSON.stringify(v); // JSON strings are valid PHP single-line string literals

export function makeCert(dir, name, cn = 'Test IdP') {
  const key = join(dir, `${name}.key`);
  const crt = join(dir, `${name}.crt`);
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-sha256', '-days', '30',
    '-subj', `/CN=${cn}`, '-keyout', key, '-out', crt], { stdio: 'ignore' });
  return { key: `${name}.key`, crt: `${name}.crt` };
}

function phpArray(obj) {
  return '[' + Object.entries(obj).map(([k, v]) => `${php(k)} => ${Array.isArray(v) ? '[' + v.map(php).join(', ') + ']' : php(v)}`).join(', ') + ']';
}

/**
 * users: { [email]: { password, name, groups: [..] } }
 * Returns { base, entityId, metadataUrl, ssoUrl, dir, setSpMetadata(xml), setCerts({signing, extra}), close }
 */
export async function startSamlIdp({ users, host = 'localhost' }) {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'lobby-ssp-'));
  for (const d of ['cert', 'log', 'data', 'tmp', 'metadata', 'sessions']) mkdirSync(join(dir, d));
  const base = `http://${host}:${port}/simplesaml/`;
  writeFileSync(join(dir, 'config.php'), `<?php
$config = [
  'baseurlpath' => ${php(base)},
  'certdir' => ${php(join(dir, 'cert') + '/')},
  'loggingdir' => ${php(join(dir, 'log') + '/')},
  'datadir' => ${php(join(dir, 'data') + '/')},
  'tempdir' => ${php(join(dir, 'tmp'))},
  'metadatadir' => ${php(join(dir, 'metadata') + '/')},
  'secretsalt' => ${php(Math.random().toString(36).slice(2) + Date.now())},
  'auth.adminpassword' => ${php(Math.random().toString(36).slice(2))},
  'admin.protectindexpage' => true,
  'admin.protectmetadata' => false,
  'technicalcontact_email' => 'na@example.org',
  'timezone' => 'UTC',
  'logging.level' => SimpleSAML\\Logger::INFO,
  'logging.handler' => 'file',
  'logging.logfile' => 'simplesamlphp.log',
  'enable.saml20-idp' => true,
  'module.enable' => ['exampleauth' => true, 'core' => true, 'saml' => true, 'admin' => true],
  'session.cookie.secure' => false,
  'session.cookie.samesite' => null,
  'session.phpsession.savepath' => ${php(join(dir, 'sessions'))},
  'store.type' => 'phpsession',
  'metadata.sources' => [
    ['type' => 'flatfile'],
    ['type' => 'xml', 'file' => ${php(join(dir, 'sp-metadata.xml'))}],
  ],
];
`);
  const entries = Object.entries(users).map(([email, u]) => `    ${php(`${email}:${u.password}`)} => ${phpArray({ email: [email], name: [u.name || email], groups: u.groups || [] })},`);
  writeFileSync(join(dir, 'authsources.php'), `<?php
$config = [
  'admin' => ['core:AdminPassword'],
  'example-userpass' => ['exampleauth:UserPass',
${entries.join('\n')}
  ],
];
`);
  writeFileSync(join(dir, 'sp-metadata.xml'), '<?xml version="1.0"?><EntitiesDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata"/>');
  const certDir = join(dir, 'cert');
  const first = makeCert(certDir, 'idp-a', 'Acme IdP A');

  const writeHosted = ({ signing, extra }) => {
    writeFileSync(join(dir, 'metadata', 'saml20-idp-hosted.php'), `<?php
$metadata['__DYNAMIC:1__'] = [
  'host' => '__DEFAULT__',
  'privatekey' => ${php(signing.key)},
  'certificate' => ${php(signing.crt)},
  ${extra ? `'new_certificate' => ${php(extra.crt)},` : ''}
  'auth' => 'example-userpass',
  'saml20.sign.response' => true,
  'saml20.sign.assertion' => true,
  'signature.algorithm' => 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
  'validate.authnrequest' => true,
  'NameIDFormat' => 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress',
  'attributes.NameFormat' => 'urn:oasis:names:tc:SAML:2.0:attrname-format:basic',
  'authproc' => [
    10 => ['class' => 'saml:AttributeNameID', 'attribute' => 'email', 'Format' => 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress'],
  ],
];
`);
  };
  writeHosted({ signing: first });

  // opcache is on for PHP's cli-server SAPI (Debian: opcache.enable=On, revalidate_freq=2): a
  // metadata file rewritten by setCerts() could be served stale for up to two seconds, so the
  // IdP would go on signing with the old key. The IdP must see every rewrite at once.
  const child = spawn('php', ['-d', 'opcache.enable=0', '-S', `127.0.0.1:${port}`, join(HERE, '..', 'ssp', 'router.php')], {
    env: { ...process.env, SIMPLESAMLPHP_CONFIG_DIR: dir, PHP_CLI_SERVER_WORKERS: '4' },
    stdio: ['ignore', 'ignore', 'pipe'],
    detached: true, // its own process group: workers are stopped with it
  });
  let log = '';
  child.stderr.on('data', (d) => { log += d; });
  const metadataUrl = `${base}saml2/idp/metadata.php`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      const r = await fetch(metadataUrl.replace(`//${host}:`, '//127.0.0.1:'));
      if (r.ok) break;
    } catch {}
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`SimpleSAMLphp did not start:\n${log}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    base,
    entityId: metadataUrl,
    metadataUrl,
    ssoUrl: `${base}saml2/idp/SSOService.php`,
    dir,
    pid: child.pid, // leader of the php -S process group (its workers share the group)
    certDir,
    firstCert: first,
    log: () => log,
    setSpMetadata(xml) {
      writeFileSync(join(dir, 'sp-metadata.xml'), xml);
    },
    // Rollover: publish `extra` beside the signing cert, or switch the signing key.
    setCerts({ signing, extra }) {
      writeHosted({ signing, extra });
    },
    async close() {
      try { process.kill(-child.pid, 'SIGTERM'); } catch {}
      await new Promise((r) => (child.exitCode !== null ? r() : child.once('exit', r)));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
