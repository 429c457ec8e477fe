-- Passkeys as a second factor (issue 16 item 4): WebAuthn credentials per user.
--
-- credential_id is the unpadded base64url of the credential id; unique across all users
-- (WebAuthn §7.1 step 26: a credential id registered to another account is refused).
-- credential is the WebAuthn library's serialized passkey (JSON), rewritten when an
-- authentication moves its signature counter or backup state.
CREATE TABLE passkeys (
    credential_id TEXT NOT NULL PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    credential TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    last_used_at INTEGER
) WITHOUT ROWID;
CREATE INDEX passkeys_user_idx ON passkeys (user_id, created_at);
