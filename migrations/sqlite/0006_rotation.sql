-- Refresh-token rotation in one statement. Marking a token used also records the hash of its
-- successor (`next_hash`); this trigger inserts the successor into the same family within
-- that UPDATE, so taking the token and storing its successor are one atomic statement (no
-- BEGIN/COMMIT round trips), and the chain of a family can be followed token by token.
ALTER TABLE refresh_tokens ADD COLUMN next_hash TEXT;

CREATE TRIGGER refresh_tokens_rotate AFTER UPDATE OF next_hash ON refresh_tokens
WHEN NEW.next_hash IS NOT NULL AND OLD.next_hash IS NULL
BEGIN
    INSERT INTO refresh_tokens (hash, family_id, created_at, used_at)
    VALUES (NEW.next_hash, NEW.family_id, NEW.used_at, NULL);
END;
