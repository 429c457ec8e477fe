-- SAML: pinned IdP metadata per connection, and the SP signing keys (sealed).
CREATE TABLE saml_idp_state (
    connection_id TEXT NOT NULL PRIMARY KEY REFERENCES connections (id) ON DELETE CASCADE,
    state TEXT NOT NULL,
    updated_at INTEGER NOT NULL
);

CREATE TABLE saml_sp_keys (
    id TEXT NOT NULL PRIMARY KEY,
    status TEXT NOT NULL,
    private_key TEXT NOT NULL,
    certificate TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    retire_until INTEGER
);
