-- The three tables every sign-in writes become WITHOUT ROWID: each was a rowid table plus a
-- separate index for its TEXT primary key, so every insert changed one B-tree more than it
-- needed to (a page more per table in each commit's WAL frames). A family's insert goes from
-- nine B-trees to seven (the family and its first token), an audit event's from four to three.
-- Same columns, constraints, indexes and triggers as before; rows are copied as they are.
--
-- Order matters with foreign keys on (they are, and a migration runs in one transaction):
-- the tokens' table is dropped before the families' so dropping the families cascades to
-- nothing, and renaming `refresh_families_new` rewrites the tokens' REFERENCES clause.

CREATE TABLE refresh_families_new (
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
    revoked_at INTEGER,
    first_hash TEXT
) WITHOUT ROWID;
INSERT INTO refresh_families_new (id, app_id, user_id, org_id, session_id, auth_time, amr, scope,
    idp, created_at, expires_at, revoked_at, first_hash)
SELECT id, app_id, user_id, org_id, session_id, auth_time, amr, scope, idp, created_at,
    expires_at, revoked_at, first_hash
FROM refresh_families;

CREATE TABLE refresh_tokens_new (
    hash TEXT NOT NULL PRIMARY KEY,
    family_id TEXT NOT NULL REFERENCES refresh_families_new (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    used_at INTEGER,
    next_hash TEXT
) WITHOUT ROWID;
INSERT INTO refresh_tokens_new (hash, family_id, created_at, used_at, next_hash)
SELECT hash, family_id, created_at, used_at, next_hash FROM refresh_tokens;

DROP TABLE refresh_tokens;
DROP TABLE refresh_families;
ALTER TABLE refresh_families_new RENAME TO refresh_families;
ALTER TABLE refresh_tokens_new RENAME TO refresh_tokens;

CREATE INDEX refresh_families_member_idx ON refresh_families (org_id, user_id);
CREATE INDEX refresh_families_session_idx ON refresh_families (session_id);
CREATE INDEX refresh_families_user_idx ON refresh_families (user_id);
CREATE INDEX refresh_families_app_idx ON refresh_families (app_id);
CREATE INDEX refresh_tokens_family_idx ON refresh_tokens (family_id);

-- As in 0006 and 0007.
CREATE TRIGGER refresh_tokens_rotate AFTER UPDATE OF next_hash ON refresh_tokens
WHEN NEW.next_hash IS NOT NULL AND OLD.next_hash IS NULL
BEGIN
    INSERT INTO refresh_tokens (hash, family_id, created_at, used_at)
    VALUES (NEW.next_hash, NEW.family_id, NEW.used_at, NULL);
END;

CREATE TRIGGER refresh_families_first_token AFTER INSERT ON refresh_families
WHEN NEW.first_hash IS NOT NULL
BEGIN
    INSERT INTO refresh_tokens (hash, family_id, created_at, used_at)
    VALUES (NEW.first_hash, NEW.id, NEW.created_at, NULL);
END;

-- Append-only; org_id is not a foreign key so the trail outlives the org.
CREATE TABLE audit_events_new (
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
) WITHOUT ROWID;
INSERT INTO audit_events_new (id, time, actor, org_id, action, target_type, target_id, outcome,
    details, request_id)
SELECT id, time, actor, org_id, action, target_type, target_id, outcome, details, request_id
FROM audit_events;
DROP TABLE audit_events;
ALTER TABLE audit_events_new RENAME TO audit_events;
CREATE INDEX audit_events_org_idx ON audit_events (org_id, id);
CREATE INDEX audit_events_action_idx ON audit_events (action, id);
