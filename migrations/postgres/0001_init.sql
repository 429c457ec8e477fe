-- Lobby schema, PostgreSQL dialect. Mirrors migrations/sqlite/0001_init.sql table for table.
-- Ids and enums are TEXT, timestamps BIGINT unix milliseconds, booleans BOOLEAN, sets and maps
-- JSON in TEXT columns (the sqlx Any driver reads only bool/int/float/text/bytes, not JSONB).
-- Index names match the SQLite ones; primary keys get PostgreSQL's default `<table>_pkey`
-- (the storage layer maps both to "what is duplicated" messages). Text columns use the "C"
-- collation: keys sort bytewise, as in SQLite, whatever the server locale.

CREATE TABLE apps (
    id TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    name TEXT COLLATE "C" NOT NULL,
    client_id TEXT COLLATE "C" NOT NULL,
    client_type TEXT COLLATE "C" NOT NULL,
    client_secret_hash TEXT COLLATE "C",
    redirect_uris TEXT COLLATE "C" NOT NULL,
    post_logout_redirect_uris TEXT COLLATE "C" NOT NULL,
    signing_alg TEXT COLLATE "C" NOT NULL,
    token_lifetimes TEXT COLLATE "C" NOT NULL,
    invite_ttl_secs BIGINT NOT NULL,
    revoke_on TEXT COLLATE "C" NOT NULL,
    auth_policy TEXT COLLATE "C" NOT NULL,
    version BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX apps_client_id_key ON apps (client_id);

CREATE TABLE roles (
    app_id TEXT COLLATE "C" NOT NULL REFERENCES apps (id),
    value TEXT COLLATE "C" NOT NULL,
    name TEXT COLLATE "C" NOT NULL,
    description TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (app_id, value)
);

CREATE TABLE role_groups (
    app_id TEXT COLLATE "C" NOT NULL REFERENCES apps (id),
    id TEXT COLLATE "C" NOT NULL,
    name TEXT COLLATE "C" NOT NULL,
    version BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (app_id, id)
);

-- The roles of a role group. A role cannot be deleted while a group contains it.
CREATE TABLE role_group_roles (
    app_id TEXT COLLATE "C" NOT NULL,
    group_id TEXT COLLATE "C" NOT NULL,
    role_value TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (app_id, group_id, role_value),
    FOREIGN KEY (app_id, group_id) REFERENCES role_groups (app_id, id) ON DELETE CASCADE,
    FOREIGN KEY (app_id, role_value) REFERENCES roles (app_id, value)
);
CREATE INDEX role_group_roles_role_idx ON role_group_roles (app_id, role_value);

CREATE TABLE orgs (
    id TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    slug TEXT COLLATE "C" NOT NULL,
    name TEXT COLLATE "C" NOT NULL,
    status TEXT COLLATE "C" NOT NULL,
    parent_id TEXT COLLATE "C" REFERENCES orgs (id),
    branding TEXT COLLATE "C" NOT NULL,
    version BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX orgs_slug_key ON orgs (slug);
CREATE INDEX orgs_parent_idx ON orgs (parent_id, id);

CREATE TABLE org_app_links (
    org_id TEXT COLLATE "C" NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    app_id TEXT COLLATE "C" NOT NULL REFERENCES apps (id),
    auth_policy TEXT COLLATE "C" NOT NULL,
    jit BOOLEAN NOT NULL,
    default_roles TEXT COLLATE "C" NOT NULL,
    version BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (org_id, app_id)
);
CREATE INDEX org_app_links_app_idx ON org_app_links (app_id, org_id);

-- The role groups a link allows. A role group cannot be deleted while a link allows it.
CREATE TABLE link_role_groups (
    org_id TEXT COLLATE "C" NOT NULL,
    app_id TEXT COLLATE "C" NOT NULL,
    group_id TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (org_id, app_id, group_id),
    FOREIGN KEY (org_id, app_id) REFERENCES org_app_links (org_id, app_id) ON DELETE CASCADE,
    FOREIGN KEY (app_id, group_id) REFERENCES role_groups (app_id, id)
);
CREATE INDEX link_role_groups_group_idx ON link_role_groups (app_id, group_id);

CREATE TABLE org_domains (
    org_id TEXT COLLATE "C" NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    domain TEXT COLLATE "C" NOT NULL,
    verified BOOLEAN NOT NULL,
    verification_token TEXT COLLATE "C" NOT NULL,
    verified_at BIGINT,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (org_id, domain)
);
-- Discovery, and the rule that two orgs can never both have verified one domain.
CREATE UNIQUE INDEX org_domains_verified_key ON org_domains (domain) WHERE verified;

CREATE TABLE connections (
    id TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    org_id TEXT COLLATE "C" NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    name TEXT COLLATE "C" NOT NULL,
    kind TEXT COLLATE "C" NOT NULL,
    state TEXT COLLATE "C" NOT NULL,
    config TEXT COLLATE "C" NOT NULL,
    version BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX connections_org_idx ON connections (org_id, id);

CREATE TABLE users (
    id TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    email TEXT COLLATE "C" NOT NULL,
    email_verified BOOLEAN NOT NULL,
    name TEXT COLLATE "C",
    password_hash TEXT COLLATE "C",
    version BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX users_email_idx ON users (email, id);

CREATE TABLE external_identities (
    connection_id TEXT COLLATE "C" NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
    issuer TEXT COLLATE "C" NOT NULL,
    subject TEXT COLLATE "C" NOT NULL,
    user_id TEXT COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (connection_id, issuer, subject)
);
CREATE INDEX external_identities_user_idx ON external_identities (user_id);

CREATE TABLE memberships (
    org_id TEXT COLLATE "C" NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    user_id TEXT COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    status TEXT COLLATE "C" NOT NULL,
    roles TEXT COLLATE "C" NOT NULL,
    org_roles TEXT COLLATE "C" NOT NULL,
    version BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (org_id, user_id)
);
CREATE INDEX memberships_user_idx ON memberships (user_id, org_id);

CREATE TABLE invitations (
    id TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    org_id TEXT COLLATE "C" NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    email TEXT COLLATE "C" NOT NULL,
    roles TEXT COLLATE "C" NOT NULL,
    org_roles TEXT COLLATE "C" NOT NULL,
    token_hash TEXT COLLATE "C" NOT NULL,
    status TEXT COLLATE "C" NOT NULL,
    expires_at BIGINT NOT NULL,
    invited_by TEXT COLLATE "C" NOT NULL,
    version BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX invitations_token_hash_key ON invitations (token_hash);
CREATE INDEX invitations_org_idx ON invitations (org_id, id);

-- Append-only; org_id is not a foreign key so the trail outlives the org.
CREATE TABLE audit_events (
    id TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    time BIGINT NOT NULL,
    actor TEXT COLLATE "C" NOT NULL,
    org_id TEXT COLLATE "C",
    action TEXT COLLATE "C" NOT NULL,
    target_type TEXT COLLATE "C" NOT NULL,
    target_id TEXT COLLATE "C" NOT NULL,
    outcome TEXT COLLATE "C" NOT NULL,
    details TEXT COLLATE "C" NOT NULL,
    request_id TEXT COLLATE "C"
);
CREATE INDEX audit_events_org_idx ON audit_events (org_id, id);
CREATE INDEX audit_events_action_idx ON audit_events (action, id);

CREATE TABLE signing_keys (
    kid TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    alg TEXT COLLATE "C" NOT NULL,
    status TEXT COLLATE "C" NOT NULL,
    private_key TEXT COLLATE "C" NOT NULL,
    public_jwk TEXT COLLATE "C" NOT NULL,
    created_at BIGINT NOT NULL,
    retire_until BIGINT
);

CREATE TABLE refresh_families (
    id TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    app_id TEXT COLLATE "C" NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    user_id TEXT COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    org_id TEXT COLLATE "C" NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    session_id TEXT COLLATE "C" NOT NULL,
    auth_time BIGINT NOT NULL,
    amr TEXT COLLATE "C" NOT NULL,
    scope TEXT COLLATE "C" NOT NULL,
    idp TEXT COLLATE "C",
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE INDEX refresh_families_member_idx ON refresh_families (org_id, user_id);
CREATE INDEX refresh_families_session_idx ON refresh_families (session_id);
CREATE INDEX refresh_families_user_idx ON refresh_families (user_id);
CREATE INDEX refresh_families_app_idx ON refresh_families (app_id);

CREATE TABLE refresh_tokens (
    hash TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    family_id TEXT COLLATE "C" NOT NULL REFERENCES refresh_families (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    used_at BIGINT
);
CREATE INDEX refresh_tokens_family_idx ON refresh_tokens (family_id);
