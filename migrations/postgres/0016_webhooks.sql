-- Event webhooks (issue 15 item 3) and the durable delivery outbox they are sent from.
--
-- webhook_endpoints: receivers the operator registered; the signing secret is sealed
-- (keys::seal), the delivery health (last status/error, consecutive failures) is updated after
-- every attempt.
CREATE TABLE webhook_endpoints (
    id TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    url TEXT NOT NULL,
    app_id TEXT COLLATE "C" REFERENCES apps (id) ON DELETE CASCADE,
    events TEXT NOT NULL,
    enabled BOOLEAN NOT NULL,
    description TEXT NOT NULL,
    secret_sealed TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    last_status BIGINT,
    last_error TEXT,
    last_attempt_at BIGINT,
    last_success_at BIGINT,
    consecutive_failures BIGINT NOT NULL
);

-- The outbox: one row per payload per target, written in the transaction of the change it
-- reports. `kind` says what delivers it (webhook; later others), `target` whom to (for a
-- webhook, the endpoint id). A worker leases a due row (lease_owner, lease_until) before it
-- sends it, so two instances never send the same row at once; a lease that runs out (the
-- instance died) makes the row due again. (kind, target, event_id) is unique: an event is
-- queued once per target.
CREATE TABLE outbox (
    id TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    kind TEXT COLLATE "C" NOT NULL,
    target TEXT COLLATE "C" NOT NULL,
    event_id TEXT COLLATE "C" NOT NULL,
    event_type TEXT NOT NULL,
    payload TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    state TEXT COLLATE "C" NOT NULL,
    attempts BIGINT NOT NULL,
    next_attempt_at BIGINT NOT NULL,
    lease_owner TEXT,
    lease_until BIGINT,
    last_status BIGINT,
    last_error TEXT,
    last_attempt_at BIGINT
);
CREATE UNIQUE INDEX outbox_event_key ON outbox (kind, target, event_id);
CREATE INDEX outbox_due_idx ON outbox (state, next_attempt_at);
CREATE INDEX outbox_target_idx ON outbox (kind, target, id);
