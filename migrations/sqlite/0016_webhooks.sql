-- Event webhooks (issue 15 item 3) and the durable delivery outbox they are sent from.
--
-- webhook_endpoints: receivers the operator registered; the signing secret is sealed
-- (keys::seal), the delivery health (last status/error, consecutive failures) is updated after
-- every attempt.
CREATE TABLE webhook_endpoints (
    id TEXT NOT NULL PRIMARY KEY,
    url TEXT NOT NULL,
    app_id TEXT REFERENCES apps (id) ON DELETE CASCADE,
    events TEXT NOT NULL,
    enabled INTEGER NOT NULL,
    description TEXT NOT NULL,
    secret_sealed TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    last_status INTEGER,
    last_error TEXT,
    last_attempt_at INTEGER,
    last_success_at INTEGER,
    consecutive_failures INTEGER NOT NULL
);

-- The outbox: one row per payload per target, written in the transaction of the change it
-- reports. `kind` says what delivers it (webhook; later others), `target` whom to (for a
-- webhook, the endpoint id). A worker leases a due row (lease_owner, lease_until) before it
-- sends it, so two instances never send the same row at once; a lease that runs out (the
-- instance died) makes the row due again. (kind, target, event_id) is unique: an event is
-- queued once per target.
CREATE TABLE outbox (
    id TEXT NOT NULL PRIMARY KEY,
    kind TEXT NOT NULL,
    target TEXT NOT NULL,
    event_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    payload TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    next_attempt_at INTEGER NOT NULL,
    lease_owner TEXT,
    lease_until INTEGER,
    last_status INTEGER,
    last_error TEXT,
    last_attempt_at INTEGER
);
CREATE UNIQUE INDEX outbox_event_key ON outbox (kind, target, event_id);
CREATE INDEX outbox_due_idx ON outbox (state, next_attempt_at);
CREATE INDEX outbox_target_idx ON outbox (kind, target, id);
