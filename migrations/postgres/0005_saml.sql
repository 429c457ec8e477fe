-- SAML: pinned IdP metadata per connection, and the SP signing keys (sealed).
CREATE TABLE saml_idp_state (
    connection_id TEXT COLLATE "C" NOT NULL PRIMARY KEY REFERENCES connections (id) ON DELETE CASCADE,
    state TEXT COLLATE "C" NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE saml_sp_keys (
    id TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    status TEXT COLLATE "C" NOT NULL,
    private_key TEXT COLLATE "C" NOT NULL,
    certificate TEXT COLLATE "C" NOT NULL,
    created_at BIGINT NOT NULL,
    retire_until BIGINT
);
