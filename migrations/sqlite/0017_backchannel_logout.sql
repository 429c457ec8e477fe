-- OIDC Back-Channel Logout 1.0 (issue 16 item 1): an app's registration, JSON of
-- domain::BackchannelLogout ({"uri": "...", "session_required": bool}); NULL = not registered.
-- Logout tokens are queued in `outbox` (kind 'backchannel_logout', target = the app id) in the
-- transaction that revokes the app's refresh-token families.
ALTER TABLE apps ADD COLUMN backchannel_logout TEXT;
