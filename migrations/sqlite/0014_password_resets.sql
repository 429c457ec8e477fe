-- Self-service passwords (issue 12 item 5, issue 13 item 9).
--
-- One password credential per email: the password page looks a user up by normalized email
-- among users that have a password, and that lookup must be unique. Before this migration a
-- second user with the same email and a password could exist but never sign in (the lookup
-- took the first by id); their password is cleared so the index can be built, which keeps
-- who can sign in exactly as it was.
UPDATE users SET password_hash = NULL
WHERE password_hash IS NOT NULL
  AND id <> (SELECT MIN(u2.id) FROM users u2
             WHERE u2.email = users.email AND u2.password_hash IS NOT NULL);
CREATE UNIQUE INDEX users_password_email_key ON users (email) WHERE password_hash IS NOT NULL;

-- Reset links: only the SHA-256 of the token is stored; single use (used_at set atomically).
CREATE TABLE password_resets (
    token_hash TEXT NOT NULL PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    org_id TEXT REFERENCES orgs (id) ON DELETE SET NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at INTEGER
) WITHOUT ROWID;
CREATE INDEX password_resets_user_idx ON password_resets (user_id, used_at);
