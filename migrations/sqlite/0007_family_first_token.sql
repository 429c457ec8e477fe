-- A new refresh-token family and its first token in one statement. The family row names the
-- hash of its first token (`first_hash`); this trigger inserts that token, created with the
-- family and unused, within the same INSERT, so creating a family needs no BEGIN/COMMIT round
-- trips and fails as a whole (a duplicate token hash rolls the family back too).
ALTER TABLE refresh_families ADD COLUMN first_hash TEXT;

CREATE TRIGGER refresh_families_first_token AFTER INSERT ON refresh_families
WHEN NEW.first_hash IS NOT NULL
BEGIN
    INSERT INTO refresh_tokens (hash, family_id, created_at, used_at)
    VALUES (NEW.first_hash, NEW.id, NEW.created_at, NULL);
END;
