-- The second factor of password sign-ins (issue 16 item 4).
--
-- The policy: the app's default ('required' | 'optional' | 'off') and the org–app link's
-- override (NULL: the app's).
ALTER TABLE apps ADD COLUMN mfa TEXT NOT NULL DEFAULT 'off';
ALTER TABLE org_app_links ADD COLUMN mfa TEXT;

-- A user's TOTP factor (RFC 6238): the secret sealed at rest (keys::seal), and the last time
-- step whose code was accepted (a code is never accepted twice).
CREATE TABLE mfa_totp (
    user_id TEXT NOT NULL PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    secret TEXT NOT NULL,
    last_step INTEGER,
    created_at INTEGER NOT NULL
) WITHOUT ROWID;

-- Single-use recovery codes: only SHA-256(user id ':' code) is stored; used ones are deleted.
CREATE TABLE mfa_recovery_codes (
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash TEXT NOT NULL,
    PRIMARY KEY (user_id, code_hash)
) WITHOUT ROWID;

-- Browsers that skip the challenge ("remember this device"): the cookie token's SHA-256.
CREATE TABLE mfa_remembered_devices (
    token_hash TEXT NOT NULL PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX mfa_remembered_devices_user_idx ON mfa_remembered_devices (user_id);
