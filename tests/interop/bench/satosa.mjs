// SATOSA (the GÉANT/IdentityPython proxy, PyPI `satosa`) as the peer broker of the SAML
// benchmark: an OpenID Connect frontend (pyop) in front of a SAML2 backend (pysaml2) pointed at
// the same SimpleSAMLphp as Lobby's SAML connection. Runs under gunicorn (sync workers, one per
// CPU by default, like Lobby's one tokio worker per CPU) from a venv under
// $HOME/.cache/lobby-bench/satosa-venv (bench/compare.sh creates it with pip). The frontend's
// codes, tokens and user data live in Redis (pyop's RedisWrapper, a database number of its own)
// so every worker sees them; SATOSA keeps the login's state in an encrypted cookie.
//
// SAML settings follow Lobby's: signed AuthnRequests (rsa-sha256, HTTP-Redirect), Response and
// Assertion signatures both required, emailAddress NameID; the app is a confidential client
// (client_secret_basic) that gets an RS256 ID token, an access token and a refresh token
// (pyop signs RS256 only; Lobby's bench app uses ES256).
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir, cpus } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { freePort } from '../lib/lobby.mjs';

export const SATOSA_VENV = process.env.BENCH_SATOSA_VENV || join(process.env.HOME, '.cache', 'lobby-bench', 'satosa-venv');

const yaml = (v) => JSON.stringify(v, null, 2); // JSON is YAML

/**
 * idp: a started lib/idp-saml.mjs IdP (its SP metadata is set to SATOSA's here).
 * app: { client_id, client_secret, redirect_uri }. redisUrl: redis://host:port/<db>.
 */
export async function startSatosa({ idp, app, redisUrl, threads = 2 * cpus().length, host = '127.0.0.1' }) {
  const port = await freePort();
  const base = `http://${host}:${port}`;
  const dir = mkdtempSync(join(tmpdir(), 'lobby-satosa-'));
  const key = (name) => {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-sha256', '-days', '30',
      '-subj', `/CN=satosa ${name}`, '-keyout', join(dir, `${name}.key`), '-out', join(dir, `${name}.crt`)], { stdio: 'ignore' });
  };
  key('frontend');
  key('backend');
  writeFileSync(join(dir, 'idp.xml'), await (await fetch(idp.metadataUrl.replace('//localhost:', '//127.0.0.1:'))).text());
  writeFileSync(join(dir, 'clients.json'), JSON.stringify({
    [app.client_id]: {
      client_id: app.client_id, client_secret: app.client_secret, redirect_uris: [app.redirect_uri],
      response_types: ['code'], token_endpoint_auth_method: 'client_secret_basic',
    },
  }));
  writeFileSync(join(dir, 'internal_attributes.yaml'), yaml({
    attributes: {
      mail: { openid: ['email'], saml: ['email'] },
      name: { openid: ['name'], saml: ['name'] },
    },
  }));
  writeFileSync(join(dir, 'oidc_frontend.yaml'), yaml({
    module: 'satosa.frontends.openid_connect.OpenIDConnectFrontend',
    name: 'OIDC',
    config: {
      signing_key_path: join(dir, 'frontend.key'),
      signing_key_id: 'satosa-frontend',
      db_uri: redisUrl,
      client_db_path: join(dir, 'clients.json'),
      sub_mirror_public: true,
      provider: {
        client_registration_supported: false,
        response_types_supported: ['code'],
        subject_types_supported: ['public'],
        scopes_supported: ['openid', 'email', 'profile'],
        refresh_token_lifetime: 86400,
        // email and name in the ID token, as Lobby's (pyop puts them only in userinfo otherwise)
        extra_id_token_claims: { [app.client_id]: ['email', 'name'] },
      },
    },
  }));
  writeFileSync(join(dir, 'saml2_backend.yaml'), yaml({
    module: 'satosa.backends.saml2.SAMLBackend',
    name: 'Saml2',
    config: {
      entityid_endpoint: true,
      memorize_idp: false,
      sp_config: {
        key_file: join(dir, 'backend.key'),
        cert_file: join(dir, 'backend.crt'),
        xmlsec_binary: '/usr/bin/xmlsec1',
        metadata: { local: [join(dir, 'idp.xml')] },
        entityid: `${base}/Saml2/proxy_saml2_backend.xml`,
        accepted_time_diff: 60,
        // SimpleSAMLphp sends `email` and `name` with the basic name format, which pysaml2's
        // attribute maps do not list (a pysaml2 setting of the whole config, not of `service.sp`)
        allow_unknown_attributes: true,
        signing_algorithm: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
        digest_algorithm: 'http://www.w3.org/2001/04/xmlenc#sha256',
        service: {
          sp: {
            authn_requests_signed: true,
            want_response_signed: true,
            want_assertions_signed: true,
            allow_unsolicited: false,
            name_id_format: 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress',
            endpoints: {
              assertion_consumer_service: [[`${base}/Saml2/acs/post`, 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST']],
            },
          },
        },
      },
    },
  }));
  writeFileSync(join(dir, 'proxy_conf.yaml'), yaml({
    BASE: base,
    COOKIE_STATE_NAME: 'SATOSA_STATE',
    COOKIE_SECURE: false, // plain http on loopback, as Lobby's bench
    COOKIE_SAMESITE: 'None', // the IdP's ACS POST is cross-site
    CONTEXT_STATE_DELETE: true,
    STATE_ENCRYPTION_KEY: randomBytes(24).toString('hex'),
    INTERNAL_ATTRIBUTES: join(dir, 'internal_attributes.yaml'),
    BACKEND_MODULES: [join(dir, 'saml2_backend.yaml')],
    FRONTEND_MODULES: [join(dir, 'oidc_frontend.yaml')],
    LOGGING: { version: 1, root: { level: process.env.BENCH_SATOSA_LOG || 'WARNING', handlers: ['stderr'] }, handlers: { stderr: { class: 'logging.StreamHandler', stream: 'ext://sys.stderr' } } },
  }));
  // pyoidc refuses a provider configuration whose issuer is not https; this run is plain http
  // on loopback (as Lobby's). The check runs once, when the frontend is built, so the wrapper
  // costs nothing per request.
  writeFileSync(join(dir, 'bench_wsgi.py'), `from oic.oic import message
from oic.oauth2.message import SchemeError
_verify = message.ProviderConfigurationResponse.verify
def _verify_http(self, **kwargs):
    try:
        return _verify(self, **kwargs)
    except SchemeError:
        return True
message.ProviderConfigurationResponse.verify = _verify_http
from satosa.wsgi import app
`);
  const child = spawn(join(SATOSA_VENV, 'bin', 'gunicorn'), ['-b', `127.0.0.1:${port}`, '-w', '1', '--threads', String(threads),
    // gunicorn closes idle keep-alive connections after 2 s by default: a pooled connection
    // reused just then fails a POST ("other side closed"). Lobby's server keeps them open, so
    // SATOSA gets a longer keep-alive too; the timeout keeps a loaded host from killing the one
    // worker.
    '--keep-alive', '75', '--timeout', '120',
    '--log-level', 'warning', '--chdir', dir, 'bench_wsgi:app'], {
    cwd: dir,
    env: { PATH: process.env.PATH, SATOSA_CONFIG: join(dir, 'proxy_conf.yaml') },
    stdio: ['ignore', 'ignore', 'pipe'],
    detached: true, // its own process group: master and workers, for the CPU count and the stop
  });
  let log = '';
  child.stderr.on('data', (d) => {
    log += d;
    if (process.env.BENCH_VERBOSE) process.stderr.write(d);
  });
  const metadataUrl = `${base}/Saml2/proxy_saml2_backend.xml`;
  const deadline = Date.now() + 60_000;
  let metadata;
  for (;;) {
    try {
      const r = await fetch(metadataUrl);
      if (r.ok) { metadata = await r.text(); break; }
    } catch {}
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`SATOSA did not start:\n${log}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  idp.setSpMetadata(metadata);
  return {
    url: base,
    issuer: base,
    pid: child.pid, // gunicorn master, leader of the process group (workers share it)
    log: () => log,
    async stop() {
      try { process.kill(-child.pid, 'SIGTERM'); } catch {}
      await new Promise((r) => (child.exitCode !== null ? r() : child.once('exit', r)));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
