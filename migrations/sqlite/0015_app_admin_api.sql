-- Which access an app may have to Lobby's own admin API (JSON of domain::AdminApiAccess):
-- delegated tokens for signed-in users (scope lobby:admin) and/or client-credentials scopes.
-- Existing apps get none.
ALTER TABLE apps ADD COLUMN admin_api TEXT NOT NULL DEFAULT '{"delegated":false,"client_scopes":[]}';
