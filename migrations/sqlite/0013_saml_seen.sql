-- SAML assertion ids already consumed (the replay cache), kept until the assertion's
-- NotOnOrAfter, so a captured response cannot be replayed after a restart.
CREATE TABLE saml_seen (
    key TEXT NOT NULL PRIMARY KEY,
    until INTEGER NOT NULL
);
CREATE INDEX saml_seen_until ON saml_seen (until);
