-- Lobby schema, SQLite dialect. Mirrors migrations/postgres/0001_init.sql table for table.
-- Ids and enums are TEXT, timestamps INTEGER unix milliseconds, booleans INTEGER 0/1 (the
-- sqlx Any driver cannot read SQLite's BOOLEAN declared type), sets and maps JSON TEXT.
-- Constraint and index names match the PostgreSQL ones (the storage layer maps them to
-- "what is duplicated" messages).

CREATE TABLE apps (
    id TEXT NOT NULL PRIMARY KEY,
    name TEXT NOT NULL,
    client_id TEXT NOT NULL,
    client_type TEXT NOT NULL,
    client_secret_hash TEXT,
    redirect_uris TEXT NOT NULL,
    post_logout_redirect_uris TEXT NOT NULL,
    signing_alg TEXT NOT NULL,
    token_lifetimes TEXT NOT NULL,
    invite_ttl_secs INTEGER NOT NULL,
    revoke_on TEXT NOT NULL,
    auth_policy TEXT NOT NULL,
    version INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX apps_client_id_key ON apps (client_id);

CREATE TABLE roles (
    app_id TEXT NOT NULL REFERENCES apps (id),
    value TEXT NOT NULL,
    name TEXT NOT NULL,
    description TEXT NOT NULL,
    PRIMARY KEY (app_id, value)
) WITHOUT ROWID;

CREATE TABLE role_groups (
    app_id TEXT NOT NULL REFERENCES apps (id),
    id TEXT NOT NULL,
    name TEXT NOT NULL,
    version INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (app_id, id)
) WITHOUT ROWID;

-- The roles of a role group. A role cannot be deleted while a group contains it.
CREATE TABLE role_group_roles (
    app_id TEXT NOT NULL,
    group_id TEXT NOT NULL,
    role_value TEXT NOT NULL,
    PRIMARY KEY (app_id, group_id, role_value),
    FOREIGN KEY (app_id, group_id) REFERENCES role_groups (app_id, id) ON DELETE CASCADE,
    FOREIGN KEY (app_id, role_value) REFERENCES roles (app_id, value)
) WITHOUT ROWID;
CREATE INDEX role_group_roles_role_idx ON role_group_roles (app_id, role_value);

CREATE TABLE orgs (
    id TEXT NOT NULL PRIMARY KEY,
    slug TEXT NOT NULL,
    name TEXT NOT NULL,
    status TEXT NOT NULL,
    parent_id TEXT REFERENCES orgs (id),
    branding TEXT NOT NULL,
    version INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX orgs_slug_key ON orgs (slug);
CREATE INDEX orgs_parent_idx ON orgs (parent_id, id);

CREATE TABLE org_app_links (
    org_id TEXT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    app_id TEXT NOT NULL REFERENCES apps (id),
    auth_policy TEXT NOT NULL,
    jit INTEGER NOT NULL,
    default_roles TEXT NOT NULL,
    version INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (org_id, app_id)
) WITHOUT ROWID;
CREATE INDEX org_app_links_app_idx ON org_app_links (app_id, org_id);

-- The role groups a link allows. A role group cannot be deleted while a link allows it.
CREATE TABLE link_role_groups (
    org_id TEXT NOT NULL,
    app_id TEXT NOT NULL,
    group_id TEXT NOT NULL,
    PRIMARY KEY (org_id, app_id, group_id),
    FOREIGN KEY (org_id, app_id) REFERENCES org_app_links (org_id, app_id) ON DELETE CASCADE,
    FOREIGN KEY (app_id, group_id) REFERENCES role_groups (app_id, id)
) WITHOUT ROWID;
CREATE INDEX link_role_groups_group_idx ON link_role_groups (app_id, group_id);

CREATE TABLE org_domains (
    org_id TEXT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    domain TEXT NOT NULL,
    verified INTEGER NOT NULL,
    verification_token TEXT NOT NULL,
    verified_at INTEGER,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (org_id, domain)
) WITHOUT ROWID;
-- Discovery, and the rule that two orgs can never both have verified one domain.
CREATE UNIQUE INDEX org_domains_verified_key ON org_domains (domain) WHERE verified;

CREATE TABLE connections (
    id TEXT NOT NULL PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    state TEXT NOT NULL,
    config TEXT NOT NULL,
    version INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX connections_org_idx ON connections (org_id, id);

CREATE TABLE users (
    id TEXT NOT NULL PRIMARY KEY,
    email TEXT NOT NULL,
    email_verified INTEGER NOT NULL,
    name TEXT,
    password_hash TEXT,
    version INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX users_email_idx ON users (email, id);

CREATE TABLE external_identities (
    connection_id TEXT NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
    issuer TEXT NOT NULL,
    subject TEXT NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (connection_id, issuer, subject)
) WITHOUT ROWID;
CREATE INDEX external_identities_user_idx ON external_identities (user_id);

CREATE TABLE memberships (
    org_id TEXT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    status TEXT NOT NULL,
    roles TEXT NOT NULL,
    org_roles TEXT NOT NULL,
    version INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (org_id, user_id)
) WITHOUT ROWID;
CREATE INDEX memberships_user_idx ON memberships (user_id, org_id);

CREATE TABLE invitations (
    id TEXT NOT NULL PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    email TEXT NOT NULL,
    roles TEXT NOT NULL,
    org_roles TEXT NOT NULL,
    token_hash TEXT NOT NULL,
    status TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    invited_by TEXT NOT NULL,
    version INTEGER NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX invitations_token_hash_key ON invitations (token_hash);
CREATE INDEX invitations_org_idx ON invitations (org_id, id);

-- Append-only; org_id is not a foreign key so the trail outlives the org.
CREATE TABLE audit_events (
    id TEXT NOT NULL PRIMARY KEY,
    time INTEGER NOT NULL,
    actor TEXT NOT NULL,
    org_id TEXT,
    action TEXT NOT NULL,
    target_type TEXT NOT NULL,
    target_id TEXT NOT NULL,
    outcome TEXT NOT NULL,
    details TEXT NOT NULL,
    request_id TEXT
);
CREATE INDEX audit_events_org_idx ON audit_events (org_id, id);
CREATE INDEX audit_events_action_idx ON audit_events (action, id);

CREATE TABLE signing_keys (
    kid TEXT NOT NULL PRIMARY KEY,
    alg TEXT NOT NULL,
    status TEXT NOT NULL,
    private_key TEXT NOT NULL,
    public_jwk TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    retire_until INTEGER
);

CREATE TABLE refresh_families (
    id TEXT NOT NULL PRIMARY KEY,
    app_id TEXT NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    org_id TEXT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    session_id TEXT NOT NULL,
    auth_time INTEGER NOT NULL,
    amr TEXT NOT NULL,
    scope TEXT NOT NULL,
    idp TEXT,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    revoked_at INTEGER
);
CREATE INDEX refresh_families_member_idx ON refresh_families (org_id, user_id);
CREATE INDEX refresh_families_session_idx ON refresh_families (session_id);
CREATE INDEX refresh_families_user_idx ON refresh_families (user_id);
CREATE INDEX refresh_families_app_idx ON refresh_families (app_id);

CREATE TABLE refresh_tokens (
    hash TEXT NOT NULL PRIMARY KEY,
    family_id TEXT NOT NULL REFERENCES refresh_families (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    used_at INTEGER
);
CREATE INDEX refresh_tokens_family_idx ON refresh_tokens (family_id);
