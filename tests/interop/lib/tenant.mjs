// The tenant the sign-in interop tests run against, as a `lobby import` document (the admin
// API's shapes). Redirect URIs point at the test's RP callback server.
export const PASSWORDS = {
  alice: 'alice-interop-password-1',
  bob: 'bob-interop-password-22',
};

export function demoTenant(rpBase) {
  const apps = {
    crm: {
      id: 'app_crm', client_id: 'crm', client_secret: 'crm-interop-secret-0123456789-abcdef',
      redirect_uri: `${rpBase}/crm/cb`, post_logout_redirect_uri: `${rpBase}/crm/bye`, signing_alg: 'RS256',
    },
    erp: {
      id: 'app_erp', client_id: 'erp', client_secret: 'erp-interop-secret-0123456789-abcdef',
      redirect_uri: `${rpBase}/erp/cb`, post_logout_redirect_uri: `${rpBase}/erp/bye`, signing_alg: 'ES256',
    },
  };
  const orgs = { acme: { id: 'acme', name: 'Acme Corporation' }, globex: { id: 'globex', name: 'Globex Partners' } };
  const users = { alice: { id: 'usr_alice', email: 'alice@acme.test' }, bob: { id: 'usr_bob', email: 'bob@acme.test' } };
  const app = (a) => `  - id: ${a.id}
    name: ${a.client_id.toUpperCase()}
    client_id: ${a.client_id}
    client_secret: ${a.client_secret}
    signing_alg: ${a.signing_alg}
    redirect_uris: ["${a.redirect_uri}"]
    post_logout_redirect_uris: ["${a.post_logout_redirect_uri}"]
    roles:
      - { value: sales, name: Sales, description: "" }
      - { value: finance, name: Finance, description: "" }
    role_groups:
      - { id: ${a.client_id}-all, name: All, roles: [sales, finance] }`;
  const yaml = `apps:
${app(apps.crm)}
${app(apps.erp)}
orgs:
  - id: acme
    slug: acme
    name: ${orgs.acme.name}
    branding: { display_name: Acme, primary_color: "#d62828" }
    domains: [{ domain: acme.test, verified: true }]
    apps:
      - { app_id: app_crm, allowed_role_groups: [crm-all] }
      - { app_id: app_erp, allowed_role_groups: [erp-all] }
    connections:
      - { id: conn_acme_pw, name: Acme passwords, state: active, config: { kind: password } }
    members:
      - { user_id: usr_alice, roles: { app_crm: [sales], app_erp: [sales] } }
      - { user_id: usr_bob, roles: { app_crm: [sales] } }
  - id: globex
    slug: globex
    name: ${orgs.globex.name}
    domains: [{ domain: globex.test, verified: true }]
    apps:
      - { app_id: app_crm, allowed_role_groups: [crm-all] }
      - { app_id: app_erp, allowed_role_groups: [erp-all] }
    connections:
      - { id: conn_globex_pw, name: Globex passwords, state: active, config: { kind: password } }
    members:
      - { user_id: usr_bob, roles: { app_crm: [finance], app_erp: [finance] } }
users:
  - { id: usr_alice, email: ${users.alice.email}, email_verified: true, name: Alice, password: ${PASSWORDS.alice} }
  - { id: usr_bob, email: ${users.bob.email}, email_verified: true, name: Bob, password: ${PASSWORDS.bob} }
`;
  return { yaml, apps, orgs, users };
}

/**
 * The federation tenant, through the admin API: app `crm` (confidential) with `roles`, all in
 * role group `all`; org `acme` with the verified domain acme.test, linked to the app with JIT
 * and default role `sales`. Used by the SAML interop test and the broker CPU benchmark.
 */
export async function acmeCrmTenant(lobby, { client_id, client_secret, redirect_uri, signing_alg, roles = ['sales'] }) {
  await lobby.admin('POST', '/apps', {
    id: 'crm', name: 'CRM', client_id, client_type: 'confidential', client_secret,
    redirect_uris: [redirect_uri], ...(signing_alg ? { signing_alg } : {}),
  });
  for (const value of roles) await lobby.admin('POST', '/apps/crm/roles', { value, name: value });
  await lobby.admin('POST', '/apps/crm/role-groups', { id: 'all', name: 'All', roles });
  await lobby.admin('POST', '/orgs', { id: 'acme', slug: 'acme', name: 'Acme' });
  await lobby.admin('POST', '/orgs/acme/domains', { domain: 'acme.test', verified: true });
  await lobby.admin('POST', '/orgs/acme/apps', {
    app_id: 'crm', allowed_role_groups: ['all'], jit: true, default_roles: ['sales'],
  });
}
